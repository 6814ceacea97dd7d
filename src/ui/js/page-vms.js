// VMs: the paged list with each VM's tokens, add (addresses checked by
// the API, its answer shown next to the field), change addresses, remove.
import * as api from './api.js';
import * as events from './events.js';
import { h, clear, field, busy, showOk, empty, loading, table, confirmAction,
  debounce, section, time, errorText } from './ui.js';

const PAGE = 50;
const AGENT_SCAN = 2000; // newest audit records searched for agent authentications
const LIVE = new Set(['vm.add', 'vm.update', 'vm.delete', 'assign', 'revoke', 'token.delete', 'auth.ok', 'auth.fail']);

// "10.0.0.1, 10.0.0.0/24" or one per line -> ["10.0.0.1", "10.0.0.0/24"].
function addressList(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

// Puts an API refusal next to the field it is about.
function fieldError(e, fields, out) {
  const msg = errorText(e);
  if (e.status === 400 || e.status === 409) {
    const about = /address|cidr|prefix|netmask/i.test(e.message) ? fields.addresses : fields.name;
    if (about) { about.error.textContent = e.message; about.input.setAttribute('aria-invalid', 'true'); about.input.focus(); return; }
  }
  clear(out, h('div', { class: 'error', role: 'alert' }, msg));
}

function addForm(reload) {
  const name = field('Name', { required: true, maxlength: 64, placeholder: 'ci-runner-1', name: 'vm-name', id: 'vm-name' });
  const addresses = field('Addresses', { required: true, placeholder: '192.0.2.10, 192.0.2.0/28', name: 'vm-addresses', id: 'vm-addresses' },
    'Addresses or CIDR blocks the VM connects from, separated by commas or spaces.');
  const out = h('div', { class: 'out' });
  const btn = h('button', { type: 'submit', id: 'vm-add' }, 'Add VM');
  const form = h('form', { class: 'form-row', id: 'vm-add-form' }, name.wrap, addresses.wrap, btn);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const f of [name, addresses]) { f.error.textContent = ''; f.input.removeAttribute('aria-invalid'); }
    clear(out);
    const list = addressList(addresses.input.value);
    if (!name.input.value.trim()) { name.error.textContent = 'A name is needed.'; name.input.focus(); return; }
    if (!list.length) { addresses.error.textContent = 'At least one address is needed.'; addresses.input.focus(); return; }
    let vm;
    try {
      vm = await busy(btn, null, () => api.post('/v1/vms', { name: name.input.value.trim(), addresses: list }));
    } catch (err) {
      fieldError(err, { name, addresses }, out);
      return;
    }
    showOk(out, 'VM ' + vm.name + ' added with ' + vm.addresses.join(', ') + '.');
    name.input.value = '';
    addresses.input.value = '';
    reload();
  });
  return section('Add a VM', form, out);
}

// The latest auth.ok / auth.fail per token among the newest AGENT_SCAN
// records, brought up to date by each token's "agent" member (the last
// success the answering node saw: unchanged successes leave no record),
// and the tokens with a firing agent_silent alarm.
async function agentState(ctx) {
  const last = new Map();
  const silent = new Set();
  if (ctx.can('audit')) {
    const head = await api.get('/v1/audit?limit=1');
    for (let below = head.last_seq + 1, read = 0; below > 1 && read < AGENT_SCAN;) {
      const after = Math.max(0, below - 1 - 1000);
      const page = await api.get('/v1/audit' + api.qs({ after, limit: below - 1 - after }));
      if (!page.records.length) break;
      read += page.records.length;
      for (const r of page.records) {
        if ((r.action === 'auth.ok' || r.action === 'auth.fail') && r.subject.startsWith('token:')) {
          const id = r.subject.slice(6);
          if (!last.has(id) || last.get(id).seq < r.seq) last.set(id, r);
        }
      }
      below = page.records[0].seq;
    }
  }
  const toks = await api.all('/v1/tokens', 'tokens', 20000);
  for (const t of toks.items) {
    if (!t.agent) continue;
    const cur = last.get(t.id);
    if (!cur || Date.parse(cur.time) <= Date.parse(t.agent.last_ok)) {
      last.set(t.id, t.agent.failing && cur ? cur
        : { action: 'auth.ok', time: t.agent.last_ok, seq: cur ? cur.seq : 0 });
    }
  }
  if (ctx.can('alarms')) {
    const a = await api.get('/v1/alarms?state=active');
    for (const al of a.alarms) if (al.rule === 'agent_silent') silent.add(al.key);
  }
  return { last, silent };
}

function agentCell(vm, agents) {
  if (!agents) return h('span', { class: 'muted', title: 'needs the audit permission' }, '—');
  let rec = null;
  for (const id of vm.tokens) {
    const r = agents.last.get(id);
    if (r && (!rec || Date.parse(r.time) > Date.parse(rec.time))) rec = r;
  }
  const silent = vm.tokens.some((id) => agents.silent.has(id));
  return h('span', {},
    silent ? h('span', { class: 'badge alert' }, 'silent') : null,
    rec ? h('span', {}, rec.action === 'auth.ok' ? h('span', { class: 'badge on' }, 'ok')
      : h('span', { class: 'badge alert' }, 'failed: ' + ((rec.detail && rec.detail.reason) || '?')), ' ', time(rec.time))
      : h('span', { class: 'muted', title: 'no agent authentication among the newest ' + AGENT_SCAN + ' audit records' }, 'none recently'));
}

export default {
  id: 'vms',
  title: 'VMs',
  perm: 'read',
  render(root, ctx) {
    let gone = false;
    const cursors = [null];
    let pageNo = 0;
    let next = null;
    const listOut = h('div', { id: 'vms-list' });
    const listErr = h('div');
    const pager = h('div', { class: 'pager' });
    let tokenNames = new Map();
    let agents = null;

    function editor(vm, cell, out) {
      const f = field('New addresses for ' + vm.name, { value: vm.addresses.join(', '), name: 'addresses' });
      const save = h('button', { type: 'submit', class: 'small' }, 'Save');
      const cancel = h('button', { type: 'button', class: 'small secondary' }, 'Cancel');
      const form = h('form', { class: 'edit' }, f.wrap, h('div', { class: 'row' }, save, cancel));
      cancel.addEventListener('click', () => load());
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        f.error.textContent = '';
        const list = addressList(f.input.value);
        if (!list.length) { f.error.textContent = 'At least one address is needed.'; return; }
        try {
          await busy(save, null, () => api.patch('/v1/vms/' + api.enc(vm.id), { addresses: list }));
        } catch (err) {
          fieldError(err, { addresses: f }, out);
          return;
        }
        load();
      });
      clear(cell, form, out);
      f.input.focus();
    }

    function actions(vm) {
      const out = h('div', { class: 'out' });
      const cell = h('div', { class: 'actions' });
      if (!ctx.can('vms')) return h('span', { class: 'muted' }, '—');
      const edit = h('button', { type: 'button', class: 'small secondary', dataset: { action: 'edit' } }, 'Change addresses');
      edit.addEventListener('click', () => editor(vm, cell, out));
      const rm = h('button', { type: 'button', class: 'small danger', dataset: { action: 'remove' } }, 'Remove');
      rm.addEventListener('click', async () => {
        const n = vm.tokens.length;
        if (!await confirmAction('Remove VM ' + vm.name + '?' + (n ? ' Its ' + n + ' token(s) are revoked first and their sessions end.' : ''), 'Remove')) return;
        if (await busy(rm, out, () => api.del('/v1/vms/' + api.enc(vm.id)).then(() => true))) load();
      });
      cell.append(edit, rm, out);
      return cell;
    }

    const cols = [
      { label: 'Name', cell: (v) => h('span', {}, h('strong', {}, v.name), h('br'), h('span', { class: 'muted mono' }, v.id)) },
      { label: 'Addresses', cell: (v) => h('span', { class: 'mono' }, v.addresses.join(', ')) },
      { label: 'Tokens', cell: (v) => (v.tokens.length ? v.tokens.map((id) => tokenNames.get(id) || id).join(', ') : h('span', { class: 'muted' }, 'none')) },
      { label: 'Last agent auth', cell: (v) => agentCell(v, agents) },
      { label: 'Added', cell: (v) => time(v.created) },
      { label: 'Actions', cell: actions, class: 'col-actions' },
    ];

    async function load(btn) {
      if (!listOut.firstChild) clear(listOut, loading());
      await busy(btn || null, listErr, async () => {
        const [page, asg, ag] = await Promise.all([
          api.get('/v1/vms' + api.qs({ after: cursors[pageNo], limit: PAGE })),
          api.all('/v1/assignments', 'assignments', 20000),
          agentState(ctx).catch(() => null),
        ]);
        agents = ag;
        if (gone) return;
        tokenNames = new Map(asg.items.map((a) => [a.token, a.token_name]));
        next = page.next;
        const prev = h('button', { type: 'button', class: 'secondary', disabled: pageNo === 0 }, '← Previous');
        const nxt = h('button', { type: 'button', class: 'secondary', disabled: !next }, 'Next →');
        prev.addEventListener('click', () => { pageNo -= 1; load(prev); });
        nxt.addEventListener('click', () => { cursors[pageNo + 1] = next; pageNo += 1; load(nxt); });
        clear(pager, prev, h('span', { class: 'muted' }, 'Page ' + (pageNo + 1)), nxt);
        if (!page.vms.length) {
          clear(listOut, empty(ctx.can('vms') ? 'No VMs yet: add one above with the addresses it connects from.' : 'No VMs yet.'));
          return;
        }
        clear(listOut, table(cols, page.vms, { rowAttrs: (v) => ({ dataset: { vm: v.name } }) }));
      });
    }

    const later = debounce(() => load(), 300);
    const unsub = events.subscribe((ev) => { if (LIVE.has(ev.type)) later(); });
    clear(root, ctx.can('vms') ? addForm(() => load()) : null, section('VMs', listErr, listOut, pager));
    load();
    const timer = ctx.can('audit') ? null : setInterval(() => load(), 15000);
    return () => { gone = true; unsub(); later.cancel(); clearInterval(timer); };
  },
};
