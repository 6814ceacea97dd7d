// Tokens: the paged list (searchable), create one or many, assign to a VM,
// revoke, delete, and each token's usbip attach line.
import * as api from './api.js';
import * as events from './events.js';
import { h, clear, field, checkbox, busy, showError, showOk, empty, loading, table, bytes,
  confirmAction, debounce, section, uid } from './ui.js';
import { attachLine } from './usbip.js';

const PAGE = 50;
const SEARCH_MAX = 20000;
const LIVE = new Set(['token.create', 'token.delete', 'assign', 'revoke', 'attach', 'detach', 'vm.delete']);

function createForms(ctx, reload) {
  const name = field('Name', { required: true, maxlength: 64, placeholder: 'build-license', name: 'name' });
  const size = field('Size', { value: '4M', name: 'size' }, '1M to 64M, e.g. 4M');
  const wr = checkbox('Writable');
  const out = h('div', { class: 'out' });
  const btn = h('button', { type: 'submit', id: 'token-create' }, 'Create token');
  const one = h('form', { class: 'form-row', id: 'token-create-form' }, name.wrap, size.wrap, wr.wrap, btn);
  one.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(name.error);
    if (!name.input.value.trim()) { name.error.textContent = 'A name is needed.'; name.input.focus(); return; }
    const t = await busy(btn, out, () => api.post('/v1/tokens', {
      name: name.input.value.trim(), size: size.input.value.trim() || undefined, writable: wr.input.checked,
    }));
    if (t) { showOk(out, 'Token ' + t.name + ' created as busid ' + t.busid + '.'); name.input.value = ''; reload(); }
  });

  const prefix = field('Prefix', { required: true, placeholder: 'lab', name: 'prefix' });
  const count = field('Count', { type: 'number', min: 1, max: 10000, value: 10, name: 'count' });
  const bsize = field('Size', { value: '4M', name: 'bulk-size' });
  const bwr = checkbox('Writable');
  const bout = h('div', { class: 'out' });
  const bbtn = h('button', { type: 'submit', id: 'token-bulk' }, 'Create tokens');
  const many = h('form', { class: 'form-row', id: 'token-bulk-form' }, prefix.wrap, count.wrap, bsize.wrap, bwr.wrap, bbtn);
  many.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(prefix.error);
    if (!prefix.input.value.trim()) { prefix.error.textContent = 'A prefix is needed.'; prefix.input.focus(); return; }
    const r = await busy(bbtn, bout, () => api.post('/v1/tokens', {
      prefix: prefix.input.value.trim(), count: Number(count.input.value),
      size: bsize.input.value.trim() || undefined, writable: bwr.input.checked,
    }));
    if (!r) return;
    if (r.error) showError(bout, { message: 'Only ' + r.count + ' made: ' + r.error.message });
    else showOk(bout, r.count + ' tokens created (' + r.tokens[0].name + ' … ' + r.tokens[r.tokens.length - 1].name + ').');
    reload();
  });
  return section('Create',
    h('h3', {}, 'One token'), one, out,
    h('h3', {}, 'Many tokens'), h('p', { class: 'hint' }, 'Named PREFIX-0001, PREFIX-0002, …'), many, bout);
}

export default {
  id: 'tokens',
  title: 'Tokens',
  perm: 'read',
  render(root, ctx) {
    let gone = false;
    const cursors = [null]; // after= of each page seen
    let pageNo = 0;
    let next = null;
    let query = '';
    const listOut = h('div', { id: 'tokens-list' });
    const listErr = h('div');
    const pager = h('div', { class: 'pager' });
    const vmList = h('datalist', { id: uid('vms') });

    const q = field('Search', { type: 'search', placeholder: 'name, busid, id or VM', id: 'token-search' });
    const sbtn = h('button', { type: 'submit', class: 'secondary' }, 'Search');
    const search = h('form', { class: 'form-row', role: 'search' }, q.wrap, sbtn);
    search.addEventListener('submit', (e) => { e.preventDefault(); query = q.input.value.trim().toLowerCase(); pageNo = 0; load(sbtn); });

    async function loadVms() {
      if (!ctx.can('assign')) return;
      const r = await api.all('/v1/vms', 'vms', 5000).catch(() => ({ items: [] }));
      clear(vmList, r.items.map((v) => h('option', { value: v.name })));
    }

    function actions(t) {
      const out = h('div', { class: 'out' });
      const cell = h('div', { class: 'actions' });
      if (ctx.can('assign') && !t.vm) {
        const f = field('Assign to VM', { list: vmList.id, placeholder: 'VM name', class: 'short', name: 'vm' });
        f.wrap.classList.add('inline');
        const b = h('button', { type: 'submit', class: 'small', dataset: { action: 'assign' } }, 'Assign');
        const form = h('form', { class: 'assign' }, f.wrap, b);
        form.addEventListener('submit', async (e) => {
          e.preventDefault();
          const vm = f.input.value.trim();
          if (!vm) { f.error.textContent = 'Name a VM.'; return; }
          if (await busy(b, out, () => api.post('/v1/assignments', { token: t.id, vm }))) load();
        });
        cell.append(form);
      }
      if (ctx.can('assign') && t.vm) {
        const b = h('button', { type: 'button', class: 'small warn', dataset: { action: 'revoke' } }, 'Revoke');
        b.addEventListener('click', async () => {
          const ok = await busy(b, out, () => api.del('/v1/assignments/' + api.enc(t.id)).then(() => true));
          if (ok) load();
        });
        cell.append(b);
      }
      if (ctx.can('tokens')) {
        const b = h('button', { type: 'button', class: 'small danger', dataset: { action: 'delete' } }, 'Delete');
        b.addEventListener('click', async () => {
          if (!await confirmAction('Delete token ' + t.name + ' (' + t.busid + ')? An attached guest loses it at once. This cannot be undone.', 'Delete')) return;
          const ok = await busy(b, out, () => api.del('/v1/tokens/' + api.enc(t.id)).then(() => true));
          if (ok) load();
        });
        cell.append(b);
      }
      cell.append(out);
      return cell;
    }

    const cols = [
      { label: 'Name', cell: (t) => h('span', {}, h('strong', {}, t.name), h('br'), h('span', { class: 'muted mono' }, t.id)) },
      { label: 'Busid', cell: (t) => h('span', { class: 'mono' }, t.busid) },
      { label: 'Size', cell: (t) => bytes(t.size) },
      { label: 'Writable', cell: (t) => (t.writable ? 'yes' : 'no') },
      { label: 'VM', cell: (t) => (t.vm ? t.vm_name || t.vm : h('span', { class: 'muted' }, t.revoked ? 'revoked' : '—')) },
      { label: 'Attached', cell: (t) => (t.session ? h('span', { class: 'badge on' }, 'yes · ' + t.session.peer) : h('span', { class: 'badge' }, 'no')) },
      { label: 'Guest command', cell: (t) => h('code', { class: 'attach-line' }, attachLine(ctx.usbip, t.busid)) },
      { label: 'Actions', cell: actions, class: 'col-actions' },
    ];

    function show(tokens, note) {
      if (!tokens.length) {
        clear(listOut, empty(query ? 'No token matches “' + query + '”.'
          : ctx.can('tokens') ? 'No tokens yet: create one above.' : 'No tokens yet: an operator creates them.'));
        return;
      }
      clear(listOut, note ? h('p', { class: 'hint' }, note) : null,
        table(cols, tokens, { rowAttrs: (t) => ({ dataset: { token: t.name, id: t.id } }) }));
    }

    function pagerButtons(btn) {
      const prev = h('button', { type: 'button', class: 'secondary', disabled: pageNo === 0 }, '← Previous');
      const nxt = h('button', { type: 'button', class: 'secondary', disabled: !next }, 'Next →');
      prev.addEventListener('click', () => { pageNo -= 1; load(prev); });
      nxt.addEventListener('click', () => { cursors[pageNo + 1] = next; pageNo += 1; load(nxt); });
      clear(pager, prev, h('span', { class: 'muted' }, 'Page ' + (pageNo + 1)), nxt);
      return btn;
    }

    async function load(btn) {
      if (!listOut.firstChild) clear(listOut, loading());
      await busy(btn || null, listErr, async () => {
        if (query) {
          const r = await api.all('/v1/tokens', 'tokens', SEARCH_MAX);
          if (gone) return;
          const hits = r.items.filter((t) => [t.name, t.busid, t.id, t.vm_name || ''].some((s) => s.toLowerCase().includes(query)));
          next = null;
          clear(pager);
          show(hits.slice(0, 200), (hits.length > 200 ? 'The first 200 of ' + hits.length + ' matches.' : hits.length + ' matching.')
            + (r.more ? ' Only the first ' + r.items.length + ' tokens were searched.' : ''));
          return;
        }
        const page = await api.get('/v1/tokens' + api.qs({ after: cursors[pageNo], limit: PAGE }));
        if (gone) return;
        next = page.next;
        pagerButtons();
        show(page.tokens);
      });
    }

    const later = debounce(() => load(), 300);
    const unsub = events.subscribe((ev) => { if (LIVE.has(ev.type)) later(); });
    clear(root, ctx.can('tokens') ? createForms(ctx, () => { loadVms(); load(); }) : null,
      section('Tokens', search, listErr, listOut, pager), vmList);
    loadVms();
    load();
    const timer = ctx.can('audit') ? null : setInterval(() => load(), 15000);
    return () => { gone = true; unsub(); later.cancel(); clearInterval(timer); };
  },
};
