// Sessions: every node's attached tokens, refreshed when the stream says
// a session began or ended, and every few seconds for the byte counters.
import * as api from './api.js';
import * as events from './events.js';
import { h, clear, busy, empty, loading, table, bytes, debounce, section, time } from './ui.js';

const LIVE = new Set(['attach', 'detach', 'revoke', 'token.delete', 'vm.delete', 'vm.update']);
const COUNTERS_MS = 5000;

export default {
  id: 'sessions',
  title: 'Sessions',
  perm: 'read',
  render(root, ctx) {
    let gone = false;
    const listOut = h('div', { id: 'sessions-list', 'aria-live': 'polite' });
    const listErr = h('div');
    const stamp = h('p', { class: 'hint' });

    function actions(s) {
      if (!ctx.can('assign')) return h('span', { class: 'muted' }, '—');
      const out = h('div', { class: 'out' });
      const b = h('button', { type: 'button', class: 'small warn', dataset: { action: 'revoke' } }, 'Revoke');
      b.addEventListener('click', async () => {
        if (await busy(b, out, () => api.del('/v1/assignments/' + api.enc(s.token)).then(() => true))) load();
      });
      return h('div', { class: 'actions' }, b, out);
    }

    const cols = [
      { label: 'VM', cell: (s) => s.vm_name || h('span', { class: 'mono' }, s.vm) },
      { label: 'Token', cell: (s) => h('span', {}, s.token_name || h('span', { class: 'mono' }, s.token), s.busid ? h('span', { class: 'muted mono' }, ' ' + s.busid) : null) },
      { label: 'Peer', cell: (s) => h('span', { class: 'mono' }, s.peer) },
      { label: 'Node', cell: (s) => s.node + (s.live ? '' : ' (reported)') },
      { label: 'Since', cell: (s) => time(s.since) },
      { label: 'In', cell: (s) => bytes(s.bytes_in), class: 'num' },
      { label: 'Out', cell: (s) => bytes(s.bytes_out), class: 'num' },
      { label: 'Actions', cell: actions, class: 'col-actions' },
    ];

    async function load() {
      if (!listOut.firstChild) clear(listOut, loading());
      await busy(null, listErr, async () => {
        const r = await api.all('/v1/sessions', 'sessions', 10000);
        if (gone) return;
        if (!r.items.length) {
          clear(listOut, empty('No token is attached. A guest attaches with the usbip attach line shown on the Tokens page.'));
        } else {
          clear(listOut, table(cols, r.items, { rowAttrs: (s) => ({ dataset: { token: s.token_name || s.token } }) }));
        }
        clear(stamp, 'Updated ', time(new Date().toISOString()), r.more ? ' (first ' + r.items.length + ' shown)' : '');
      });
    }

    const later = debounce(() => load(), 200);
    const unsub = events.subscribe((ev) => { if (LIVE.has(ev.type)) later(); });
    clear(root, section('Live sessions', listErr, listOut, stamp));
    load();
    const timer = setInterval(() => { if (!document.hidden) load(); }, COUNTERS_MS);
    return () => { gone = true; unsub(); later.cancel(); clearInterval(timer); };
  },
};
