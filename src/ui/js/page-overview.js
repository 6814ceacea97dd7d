// Overview: counts of tokens, VMs, live sessions, nodes and firing alarms,
// and the most recent events, kept current by the event stream.
import * as api from './api.js';
import * as events from './events.js';
import { h, clear, debounce, showError, empty, section } from './ui.js';
import { eventItem } from './feed.js';

const RECENT = 15;
// Actions after which a count may have changed.
const COUNTED = new Set(['token.create', 'token.delete', 'vm.add', 'vm.delete', 'attach', 'detach',
  'revoke', 'auth.fail', 'attach.denied', 'alarm.ack', 'assign']);

// Tokens and VMs: from /metrics when the role may read it (a gauge, cheap
// with 100,000 tokens), else by walking the list.
async function counts(can) {
  const out = {};
  let metrics = null;
  if (can('metrics')) metrics = await api.get('/metrics').catch(() => null);
  const gauge = (name) => {
    if (typeof metrics !== 'string') return null;
    const m = new RegExp('^' + name + '(\\{[^}]*\\})? (\\d+)', 'm').exec(metrics);
    return m ? Number(m[2]) : null;
  };
  out.tokens = gauge('vtoken_tokens');
  out.vms = gauge('vtoken_vms');
  const jobs = [];
  if (out.tokens === null) jobs.push(api.all('/v1/tokens', 'tokens').then((r) => { out.tokens = r.items.length + (r.more ? '+' : ''); }));
  if (out.vms === null) jobs.push(api.all('/v1/vms', 'vms').then((r) => { out.vms = r.items.length + (r.more ? '+' : ''); }));
  jobs.push(api.all('/v1/sessions', 'sessions').then((r) => { out.sessions = r.items.length + (r.more ? '+' : ''); }));
  jobs.push(api.get('/v1/nodes').then((r) => {
    out.nodes = r.nodes.filter((n) => n.state === 'up').length;
    out.nodesTotal = r.nodes.length;
  }));
  if (can('alarms')) jobs.push(api.get('/v1/alarms?state=active').then((r) => { out.alarms = r.alarms.length; }));
  await Promise.all(jobs);
  return out;
}

function card(label, value, href, extra) {
  return h('a', { class: 'card', href, id: 'count-' + label.toLowerCase().replace(/\s+/g, '-') },
    h('span', { class: 'card-value' }, value === undefined ? '—' : String(value)),
    h('span', { class: 'card-label' }, label), extra ? h('span', { class: 'muted' }, extra) : null);
}

export default {
  id: 'overview',
  title: 'Overview',
  perm: 'read',
  render(root, ctx) {
    const cards = h('div', { class: 'cards', 'aria-live': 'polite' });
    const err = h('div');
    const list = h('ul', { class: 'events', id: 'recent-events' });
    const recentBox = h('div', {}, list);
    clear(root, err, cards);
    if (ctx.can('audit')) root.append(section('Recent events', recentBox));
    let gone = false;

    async function refresh() {
      try {
        const c = await counts(ctx.can);
        if (gone) return;
        clear(cards,
          card('Tokens', c.tokens, '#/tokens'),
          card('VMs', c.vms, '#/vms'),
          card('Live sessions', c.sessions, '#/sessions'),
          card('Nodes up', c.nodes, '#/overview', c.nodesTotal !== c.nodes ? 'of ' + c.nodesTotal : null),
          ctx.can('alarms') ? card('Firing alarms', c.alarms, '#/alarms') : null);
        cards.querySelector('#count-firing-alarms')?.classList.toggle('alert', c.alarms > 0);
        clear(err);
      } catch (e) {
        if (!gone) showError(err, e);
      }
    }

    async function recent() {
      const head = await api.get('/v1/audit?limit=1');
      const after = Math.max(0, head.last_seq - RECENT);
      const page = await api.get('/v1/audit' + api.qs({ after, limit: RECENT }));
      if (gone) return;
      const recs = page.records.slice().reverse();
      clear(list, recs.map(eventItem));
      if (!recs.length) clear(recentBox, empty('Nothing has happened yet: create a token on the Tokens page.'), list);
    }

    const later = debounce(refresh, 400);
    const unsub = events.subscribe((ev) => {
      if (typeof ev.data !== 'object') return;
      if (list.parentNode !== recentBox) clear(recentBox, list);
      list.prepend(eventItem(ev.data));
      while (list.children.length > RECENT) list.lastChild.remove();
      if (COUNTED.has(ev.type)) later();
    });
    refresh();
    if (ctx.can('audit')) recent().catch((e) => showError(err, e));
    // Without the stream (an orchestrator key), counts are refreshed now and then.
    const timer = ctx.can('audit') ? null : setInterval(refresh, 10000);
    return () => { gone = true; unsub(); later.cancel(); clearInterval(timer); };
  },
};
