// Audit: the log newest first, filtered by action, token, VM, actor and
// time; a record's detail; and "verify chain" with the first broken record.
// GET /v1/audit pages by sequence number only, so the filters are applied
// here, reading back from the newest record a bounded number at a time.
import * as api from './api.js';
import * as events from './events.js';
import { h, clear, field, busy, showError, empty, table, section, time, errorText } from './ui.js';

const SHOW = 50;        // matches per screen
const BATCH = 500;      // records per request
const SCAN_MAX = 20000; // records read per search before asking to go on

const ACTIONS = ['token.create', 'token.delete', 'vm.add', 'vm.update', 'vm.delete', 'assign', 'revoke',
  'attach', 'detach', 'attach.denied', 'api.auth_failed', 'api.forbidden', 'auth.ok', 'auth.fail',
  'token.export', 'apikey.create', 'apikey.delete', 'alarm.ack'];

async function resolve(kind, q) {
  if (!q) return null;
  try {
    const o = await api.get('/v1/' + kind + '/' + api.enc(q));
    return o.id;
  } catch (e) {
    if (e.status === 404) return q.toUpperCase(); // deleted since: match its id
    throw e;
  }
}

function matcher(f) {
  return (r) => {
    const d = r.detail || {};
    if (f.action && r.action !== f.action) return false;
    if (f.token && r.subject !== 'token:' + f.token && d.token !== f.token) return false;
    if (f.vm && r.subject !== 'vm:' + f.vm && d.vm !== f.vm) return false;
    if (f.actor && !r.actor.toLowerCase().includes(f.actor)) return false;
    const t = Date.parse(r.time);
    if (f.from && t < f.from) return false;
    if (f.to && t > f.to) return false;
    return true;
  };
}

export default {
  id: 'audit',
  title: 'Audit',
  perm: 'audit',
  render(root, ctx) {
    let gone = false;
    let below = null; // the next search reads records with seq < below
    let filter = null;
    const action = field('Action', { tag: 'select', id: 'audit-action',
      options: [{ value: '', label: 'any' }, ...ACTIONS.map((a) => ({ value: a, label: a }))] });
    const token = field('Token', { placeholder: 'name or id', id: 'audit-token' });
    const vm = field('VM', { placeholder: 'name or id', id: 'audit-vm' });
    const actor = field('Key or actor', { placeholder: 'e.g. help-desk or usbip:', id: 'audit-actor' });
    const from = field('From', { type: 'datetime-local', id: 'audit-from' });
    const to = field('To', { type: 'datetime-local', id: 'audit-to' });
    const go = h('button', { type: 'submit', id: 'audit-apply' }, 'Apply filters');
    const reset = h('button', { type: 'button', class: 'secondary' }, 'Reset');
    const form = h('form', { class: 'form-row filters', id: 'audit-filters' },
      action.wrap, token.wrap, vm.wrap, actor.wrap, from.wrap, to.wrap, go, reset);
    const listErr = h('div');
    const listOut = h('div', { id: 'audit-list' });
    const more = h('div', { class: 'pager' });
    const detail = h('div', { id: 'audit-detail' });
    const vbtn = h('button', { type: 'button', id: 'audit-verify', class: 'secondary' }, 'Verify chain');
    const vout = h('div', { id: 'audit-verify-result', 'aria-live': 'polite' });

    function showDetail(r) {
      clear(detail, section('Record ' + r.seq,
        h('dl', { class: 'kv' },
          h('dt', {}, 'Time'), h('dd', {}, time(r.time)),
          h('dt', {}, 'Actor'), h('dd', {}, r.actor),
          h('dt', {}, 'Action'), h('dd', {}, r.action),
          h('dt', {}, 'Subject'), h('dd', {}, r.subject || '—'),
          h('dt', {}, 'Node'), h('dd', {}, r.node || '—'),
          h('dt', {}, 'Hash'), h('dd', { class: 'mono wrap' }, r.hash),
          h('dt', {}, 'Previous'), h('dd', { class: 'mono wrap' }, r.prev_hash)),
        h('pre', { class: 'json' }, JSON.stringify(r.detail, null, 2))));
      detail.scrollIntoView({ block: 'nearest' });
    }

    const cols = [
      { label: 'Seq', cell: (r) => String(r.seq), class: 'num' },
      { label: 'Time', cell: (r) => time(r.time) },
      { label: 'Action', cell: (r) => h('span', { class: 'badge' }, r.action) },
      { label: 'Subject', cell: (r) => h('span', { class: 'mono' }, r.subject || '—') },
      { label: 'Actor', cell: (r) => r.actor },
      { label: 'Detail', cell: (r) => {
        const b = h('button', { type: 'button', class: 'small secondary', 'aria-label': 'Details of record ' + r.seq }, 'Details');
        b.addEventListener('click', () => showDetail(r));
        return b;
      } },
    ];

    async function readFilter() {
      const f = {
        action: action.input.value,
        token: await resolve('tokens', token.input.value.trim()),
        vm: await resolve('vms', vm.input.value.trim()),
        actor: actor.input.value.trim().toLowerCase(),
        from: from.input.value ? new Date(from.input.value).getTime() : null,
        to: to.input.value ? new Date(to.input.value).getTime() : null,
      };
      return f;
    }

    // Reads back from seq < below until SHOW matches or SCAN_MAX records.
    async function scan(btn, append) {
      await busy(btn, listErr, async () => {
        if (!append) {
          filter = await readFilter();
          const head = await api.get('/v1/audit?limit=1');
          below = head.last_seq + 1;
        }
        const ok = matcher(filter);
        const hits = [];
        let read = 0;
        while (below > 1 && hits.length < SHOW && read < SCAN_MAX) {
          const after = Math.max(0, below - 1 - BATCH);
          const page = await api.get('/v1/audit' + api.qs({ after, limit: below - 1 - after }));
          read += page.records.length;
          const recs = page.records.filter((r) => r.seq < below).reverse();
          for (const r of recs) {
            if (hits.length >= SHOW) break;
            below = r.seq;
            if (filter.from && Date.parse(r.time) < filter.from) { below = 1; break; }
            if (ok(r)) hits.push(r);
          }
          if (!recs.length) below = 1;
        }
        if (gone) return;
        const tbody = listOut.querySelector('tbody');
        if (append && tbody && hits.length) {
          const t = table(cols, hits, { rowAttrs: (r) => ({ dataset: { seq: r.seq, action: r.action } }) });
          tbody.append(...t.querySelectorAll('tbody tr'));
        } else if (!append) {
          clear(listOut, hits.length ? table(cols, hits, { rowAttrs: (r) => ({ dataset: { seq: r.seq, action: r.action } }) })
            : empty('No record matches these filters. Widen them, or press “Older” to search further back.'));
        }
        clear(more);
        if (below > 1) {
          const older = h('button', { type: 'button', class: 'secondary', id: 'audit-older' }, 'Older');
          older.addEventListener('click', () => scan(older, true));
          more.append(h('span', { class: 'muted' }, 'Searched back to record ' + below + '. '), older);
        } else {
          more.append(h('span', { class: 'muted' }, 'The beginning of the log.'));
        }
      });
    }

    form.addEventListener('submit', (e) => { e.preventDefault(); scan(go, false); });
    reset.addEventListener('click', () => { form.reset(); scan(reset, false); });

    vbtn.addEventListener('click', async () => {
      clear(vout);
      try {
        const r = await busy(vbtn, null, () => api.get('/v1/audit/verify'));
        clear(vout, h('div', { class: 'ok', role: 'status' },
          'The chain is intact: ' + r.records + ' records, last hash ', h('code', { class: 'wrap' }, r.last_hash), '.'));
      } catch (e) {
        if (e.status === 409 && e.code === 'audit_broken') {
          const seq = e.body.error.seq;
          clear(vout, h('div', { class: 'error', role: 'alert' }, 'The chain is BROKEN at record ' + seq + ': ' + e.message));
          const page = await api.get('/v1/audit' + api.qs({ after: Math.max(0, seq - 1), limit: 1 })).catch(() => null);
          if (page && page.records.length) showDetail(page.records[0]);
        } else {
          clear(vout, h('div', { class: 'error', role: 'alert' }, errorText(e)));
        }
      }
    });

    // New records matching the filter appear at the top.
    const unsub = events.subscribe((ev) => {
      if (!filter || typeof ev.data !== 'object' || !matcher(filter)(ev.data)) return;
      const tbody = listOut.querySelector('tbody');
      if (!tbody) { scan(null, false); return; }
      const t = table(cols, [ev.data], { rowAttrs: (r) => ({ dataset: { seq: r.seq, action: r.action } }) });
      tbody.prepend(...t.querySelectorAll('tbody tr'));
    });

    clear(root, section('Verify', h('p', { class: 'hint' }, 'Walks the hash chain of the whole log.'), vbtn, vout),
      section('Records', form, listErr, listOut, more), detail);
    scan(null, false).catch((e) => showError(listErr, e));
    return () => { gone = true; unsub(); };
  },
};
