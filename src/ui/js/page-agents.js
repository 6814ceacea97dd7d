// Agents: what runs in each VM (agent version, the rollout's target, the
// last update's result, when the agent last reported, from the controller's
// GET /v1/agents), the VM's facts on demand, the cluster's default policy
// and the rollout.  Read only: policies and releases are changed with
// vtokenctl (docs/AGENT.md).
import * as api from './api.js';
import * as events from './events.js';
import { h, clear, busy, empty, loading, table, debounce, section, time } from './ui.js';

const LIVE = new Set(['vm.facts', 'vm.identity_changed', 'agent.updated', 'agent.update_failed',
  'agent.rollout', 'agent.rollout_stopped', 'agent.release_added', 'policy.set', 'policy.cleared',
  'vm.add', 'vm.delete']);

function policyText(p) {
  return p.action + (p.command ? ' (' + p.command + ')' : '') + ', every ' + p.interval + ' s, grace ' + p.grace + ' s';
}

function updateCell(a) {
  const u = a.update;
  if (!u) return h('span', { class: 'muted' }, '—');
  const ok = u.result === 'installed';
  return h('span', {}, h('span', { class: 'badge ' + (ok ? 'on' : 'alert') }, u.result), ' ', u.version,
    u.reason ? h('span', { class: 'muted' }, ' ' + u.reason) : null, ' ', time(u.time));
}

// The facts of one VM, fetched when its row is opened.
async function factsOf(a, out) {
  await busy(null, out, async () => {
    const vm = await api.get('/v1/vms/' + api.enc(a.vm));
    const f = vm.facts;
    if (!f) { clear(out, h('span', { class: 'muted' }, 'No facts reported yet.')); return; }
    const rows = [['Host name', f.hostname], ['OS', f.os], ['Kernel', f.kernel], ['Machine id', f.machine_id],
      ['DMI', [f.dmi_vendor, f.dmi_product].filter(Boolean).join(' / ')], ['DMI UUID', f.dmi_uuid],
      ['Booted', f.booted], ['Policy', policyText(vm.policy) + ' (' + vm.policy.source + ')']];
    clear(out, h('dl', { class: 'kv' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { class: 'mono' }, v || '—')])));
  });
}

export default {
  id: 'agents',
  title: 'Agents',
  perm: 'read',
  render(root, ctx) {
    let gone = false;
    const listOut = h('div', { id: 'agents-list', 'aria-live': 'polite' });
    const listErr = h('div');
    const head = h('p', { id: 'agents-policy', class: 'hint' });

    function details(a) {
      const out = h('div', { class: 'out' });
      const b = h('button', { type: 'button', class: 'small', dataset: { action: 'facts' } }, 'Facts');
      b.addEventListener('click', () => factsOf(a, out));
      return h('div', { class: 'actions' }, b, out);
    }

    const cols = [
      { label: 'VM', cell: (a) => a.vm_name },
      { label: 'Agent', cell: (a) => a.version || h('span', { class: 'muted' }, 'not reported') },
      { label: 'Target', cell: (a) => a.target || h('span', { class: 'muted' }, '—') },
      { label: 'Last update', cell: updateCell },
      { label: 'Reported', cell: (a) => (a.reported ? time(a.reported) : h('span', { class: 'muted' }, '—')) },
      { label: 'Details', cell: details, class: 'col-actions' },
    ];

    async function load() {
      if (!listOut.firstChild) clear(listOut, loading());
      await busy(null, listErr, async () => {
        const [agents, policy, rollout] = await Promise.all([api.get('/v1/agents'), api.get('/v1/policy'),
          api.get('/v1/agent/rollout').catch((e) => (e.status === 404 ? null : Promise.reject(e)))]);
        if (gone) return;
        clear(head, 'Default policy: ', policyText(policy), '. ',
          rollout ? 'Rollout: ' + rollout.version + ' to ' + (rollout.vms ? rollout.vms.length + ' VM(s)' : 'all VMs') +
            (rollout.percent < 100 ? ', ' + rollout.percent + ' %' : '') + '.' : 'No rollout.');
        if (!agents.agents.length) clear(listOut, empty('No VM yet.'));
        else clear(listOut, table(cols, agents.agents, { rowAttrs: (a) => ({ dataset: { vm: a.vm_name } }) }));
      });
    }

    const later = debounce(() => load(), 200);
    const unsub = events.subscribe((ev) => { if (LIVE.has(ev.type)) later(); });
    clear(root, section('Agents', head, listErr, listOut));
    load();
    return () => { gone = true; unsub(); later.cancel(); };
  },
};
