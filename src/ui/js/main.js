// The console's entry: sign-in, the header and navigation, the live event
// stream, and the pages (one module each).
import * as api from './api.js';
import * as session from './session.js';
import * as router from './router.js';
import * as events from './events.js';
import { h, clear, field, busy, errorText } from './ui.js';
import { usbipEndpoint } from './usbip.js';
import overview from './page-overview.js';
import tokens from './page-tokens.js';
import vms from './page-vms.js';
import agents from './page-agents.js';
import sessions from './page-sessions.js';
import audit from './page-audit.js';
import alarms from './page-alarms.js';
import keys from './page-keys.js';

const PAGES = [overview, tokens, vms, agents, sessions, audit, alarms, keys];
const main = document.getElementById('main');
const ctx = { can: session.can, me: null, usbip: null };

api.setKeySource(session.key);
api.onBusy((b) => { document.getElementById('progress').hidden = !b; });
api.onUnauthorized((message) => signOut('Your key was refused: ' + message + '. Sign in again.'));

function showSignIn(message) {
  document.getElementById('topbar').hidden = true;
  document.title = 'Sign in · vtoken console';
  const f = field('API key', { type: 'password', autocomplete: 'off', required: true, name: 'key', spellcheck: 'false' },
    'The content of DATA_DIR/admin.key, or a key from “vtokenctl key create”. It is kept in this tab only.');
  const out = h('div', { class: 'signin-msg', id: 'signin-msg', role: 'alert' },
    message ? h('div', { class: 'error' }, message) : null);
  const btn = h('button', { type: 'submit', id: 'signin-btn' }, 'Sign in');
  const form = h('form', { class: 'signin', id: 'signin', novalidate: true }, h('h1', {}, 'vtoken console'),
    f.wrap, btn, out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const k = f.input.value.trim();
    if (!k) { clear(out, h('div', { class: 'error' }, 'Enter an API key.')); f.input.focus(); return; }
    try {
      await busy(btn, null, async () => { await session.signIn(k); });
    } catch (err) {
      const why = err.status === 401 ? 'This key was refused: ' + err.message + '.' : errorText(err);
      clear(out, h('div', { class: 'error' }, why));
      f.input.select();
      return;
    }
    enter();
  });
  clear(main, form);
  f.input.focus();
}

function signOut(message) {
  router.stop();
  events.stopEvents();
  session.signOut();
  ctx.me = null;
  if (location.hash) history.replaceState(null, '', location.pathname);
  showSignIn(message);
}

function nav() {
  const n = document.getElementById('nav');
  clear(n, PAGES.filter((p) => p.allowed()).map((p) =>
    h('a', { href: '#/' + p.id, id: 'nav-' + p.id }, p.title)));
}

function markNav(page) {
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.id === 'nav-' + page.id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function render(page) {
  markNav(page);
  document.title = page.title + ' · vtoken console';
  const root = h('div', { class: 'page', id: 'page-' + page.id });
  clear(main, h('h1', {}, page.title), root);
  try {
    return page.render(root, ctx);
  } catch (e) {
    clear(root, h('div', { class: 'error' }, 'This page failed: ' + e.message));
    return null;
  }
}

async function enter() {
  const me = session.current();
  ctx.me = me;
  for (const p of PAGES) p.allowed = () => !p.perm || session.can(p.perm);
  document.getElementById('topbar').hidden = false;
  document.getElementById('who').textContent = me.name + ' (' + me.role + ')';
  document.getElementById('who').title = 'key ' + me.id + (me.expires ? ', expires ' + me.expires : '');
  nav();
  ctx.usbip = await usbipEndpoint().catch(() => null);
  if (!session.current()) return;
  if (session.can('audit')) events.startEvents(session.key, (m) => signOut('Your key was refused: ' + m + '. Sign in again.'));
  router.setPages(PAGES, render);
  router.start();
}

events.onStateChange((s) => {
  const el = document.getElementById('live');
  const text = { live: 'live', connecting: 'connecting…', retrying: 'reconnecting…', denied: 'no live events', offline: 'offline', stopped: 'offline', unauthorized: 'offline' }[s] || s;
  el.textContent = text;
  el.className = 'live ' + (s === 'live' ? 'on' : 'off');
});

document.getElementById('signout').addEventListener('click', () => signOut('Signed out.'));

async function boot() {
  for (const p of PAGES) p.allowed = () => false;
  try {
    if (await session.resume()) { enter(); return; }
  } catch (e) {
    session.signOut();
    showSignIn(e.status === 401 ? 'Your key was refused: ' + e.message + '. Sign in again.' : errorText(e));
    return;
  }
  showSignIn();
}

boot();
