// Alarms: the firing ones and the recent history, with acknowledge for
// the roles that may.  Alarms are raised from audit records, so the page
// looks again when the stream brings one of the counted kinds.
import * as api from './api.js';
import * as events from './events.js';
import { h, clear, busy, empty, table, debounce, section, time } from './ui.js';

const LIVE = new Set(['auth.fail', 'auth.ok', 'attach.denied', 'attach', 'detach', 'alarm.ack']);
const RECENT = 100;

function severity(a) {
  return h('span', { class: 'badge sev-' + a.severity }, a.severity);
}

export default {
  id: 'alarms',
  title: 'Alarms',
  perm: 'alarms',
  render(root, ctx) {
    let gone = false;
    const firingOut = h('div', { id: 'alarms-firing' });
    const recentOut = h('div', { id: 'alarms-recent' });
    const err = h('div');

    function ack(a) {
      if (a.acked_at) return h('span', { class: 'muted' }, 'acknowledged by ', a.acked_by, ' ', time(a.acked_at));
      if (!ctx.can('alarm_ack')) return h('span', { class: 'muted' }, 'not acknowledged');
      const out = h('div', { class: 'out' });
      const b = h('button', { type: 'button', class: 'small', dataset: { action: 'ack' } }, 'Acknowledge');
      b.addEventListener('click', async () => {
        if (await busy(b, out, () => api.post('/v1/alarms/' + api.enc(a.id) + '/ack'))) load();
      });
      return h('div', { class: 'actions' }, b, out);
    }

    const cols = [
      { label: 'Severity', cell: severity },
      { label: 'Rule', cell: (a) => h('strong', {}, a.rule) },
      { label: 'About', cell: (a) => h('span', { class: 'mono' }, a.key || 'system') },
      { label: 'Message', cell: (a) => a.message },
      { label: 'Count', cell: (a) => String(a.count), class: 'num' },
      { label: 'First seen', cell: (a) => time(a.first_seen) },
      { label: 'Last seen', cell: (a) => time(a.last_seen) },
      { label: 'State', cell: (a) => (a.state === 'active' ? h('span', { class: 'badge alert' }, 'firing') : h('span', {}, 'cleared ', time(a.cleared))) },
      { label: 'Acknowledged', cell: ack, class: 'col-actions' },
    ];
    const rows = (a) => ({ dataset: { alarm: a.id, rule: a.rule } });

    async function load() {
      await busy(null, err, async () => {
        const [firing, recent] = await Promise.all([
          api.get('/v1/alarms?state=active'),
          api.get('/v1/alarms' + api.qs({ state: 'all', limit: RECENT })),
        ]);
        if (gone) return;
        clear(firingOut, firing.alarms.length ? table(cols, firing.alarms, { rowAttrs: rows })
          : empty('No alarm is firing.'));
        const past = recent.alarms.filter((a) => a.state !== 'active');
        clear(recentOut, past.length ? table(cols, past, { rowAttrs: rows })
          : empty('No cleared alarm yet. Thresholds are set under “alarms:” in vtokend.yaml.'));
      });
    }

    const later = debounce(load, 500);
    const unsub = events.subscribe((ev) => { if (LIVE.has(ev.type)) later(); });
    clear(root, err, section('Firing', firingOut), section('Recent', recentOut));
    load();
    // Clears and agent_silent are not audit records: look again now and then.
    const timer = setInterval(() => { if (!document.hidden) load(); }, 15000);
    return () => { gone = true; unsub(); later.cancel(); clearInterval(timer); };
  },
};
