// Keys (admin): create with a role and an expiry (the secret shown once),
// list, revoke.
import * as api from './api.js';
import * as events from './events.js';
import { h, clear, field, busy, empty, table, confirmAction, section, time } from './ui.js';

const ROLES = [
  { value: 'operator', label: 'operator: tokens, VMs, assignments, audit' },
  { value: 'auditor', label: 'auditor: read only, audit log' },
  { value: 'orchestrator', label: 'orchestrator: VMs and assignments' },
  { value: 'admin', label: 'admin: everything' },
];

export default {
  id: 'keys',
  title: 'Keys',
  perm: 'keys',
  render(root, ctx) {
    let gone = false;
    const listOut = h('div', { id: 'keys-list' });
    const listErr = h('div');
    const name = field('Name', { required: true, placeholder: 'help-desk', id: 'key-name' });
    const role = field('Role', { tag: 'select', id: 'key-role', options: ROLES });
    const expires = field('Expires', { placeholder: '90d', id: 'key-expires' }, 'A duration (90d, 12h, 30m) or a UTC time 2027-01-01T00:00:00Z; empty: never.');
    const btn = h('button', { type: 'submit', id: 'key-create' }, 'Create key');
    const out = h('div', { class: 'out', id: 'key-created' });
    const form = h('form', { class: 'form-row', id: 'key-form' }, name.wrap, role.wrap, expires.wrap, btn);

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      name.error.textContent = '';
      expires.error.textContent = '';
      if (!name.input.value.trim()) { name.error.textContent = 'A name is needed.'; name.input.focus(); return; }
      let k;
      try {
        k = await busy(btn, null, () => api.post('/v1/keys', {
          name: name.input.value.trim(), role: role.input.value, expires: expires.input.value.trim() || undefined,
        }));
      } catch (err) {
        const about = /expir|duration|time/i.test(err.message) ? expires : name;
        about.error.textContent = err.message;
        about.input.focus();
        return;
      }
      const secret = h('input', { type: 'text', readonly: true, value: k.key, id: 'key-secret', class: 'mono wide', 'aria-label': 'The new key' });
      clear(out, h('div', { class: 'ok secret', role: 'status' },
        h('p', {}, 'Key ', h('strong', {}, k.name), ' (' + k.role + ') created. Copy it now: it is shown this once and cannot be read again.'),
        secret));
      secret.select();
      name.input.value = '';
      expires.input.value = '';
      load();
    });

    function revoke(k) {
      const o = h('div', { class: 'out' });
      const b = h('button', { type: 'button', class: 'small danger', dataset: { action: 'revoke-key' } }, 'Revoke');
      b.addEventListener('click', async () => {
        const self = ctx.me && ctx.me.id === k.id;
        if (!await confirmAction('Revoke key ' + k.name + '? Its holder\'s next request is refused.' + (self ? ' This is the key you are signed in with.' : ''), 'Revoke')) return;
        if (await busy(b, o, () => api.del('/v1/keys/' + api.enc(k.id)).then(() => true))) load();
      });
      return h('div', { class: 'actions' }, b, o);
    }

    const cols = [
      { label: 'Name', cell: (k) => h('span', {}, h('strong', {}, k.name), ctx.me && ctx.me.id === k.id ? h('span', { class: 'badge' }, 'you') : null, h('br'), h('span', { class: 'muted mono' }, k.id)) },
      { label: 'Role', cell: (k) => k.role },
      { label: 'Created', cell: (k) => time(k.created) },
      { label: 'Expires', cell: (k) => (k.expires ? h('span', {}, time(k.expires), k.expired ? h('span', { class: 'badge alert' }, 'expired') : null) : 'never') },
      { label: 'Actions', cell: revoke, class: 'col-actions' },
    ];

    async function load() {
      await busy(null, listErr, async () => {
        const r = await api.get('/v1/keys');
        if (gone) return;
        clear(listOut, r.keys.length ? table(cols, r.keys, { rowAttrs: (k) => ({ dataset: { key: k.name } }) })
          : empty('No keys.'));
      });
    }

    const unsub = events.subscribe((ev) => { if (ev.type === 'apikey.create' || ev.type === 'apikey.delete') load(); });
    clear(root, section('Create a key', form, out), section('Keys', listErr, listOut));
    load();
    return () => { gone = true; unsub(); };
  },
};
