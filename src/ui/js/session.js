// The signed-in key: kept in sessionStorage only (never a cookie or the
// URL), checked with GET /v1/whoami, which also says what the role may do.
import * as api from './api.js';

const STORE = 'vtoken.key';
let me = null;

export function key() {
  try { return sessionStorage.getItem(STORE); } catch (e) { return null; }
}

export function current() { return me; }

export function can(perm) { return !!me && me.permissions.includes(perm); }

// Checks k with the server; stores it only when it is accepted.
export async function signIn(k) {
  const who = await api.get('/v1/whoami', { key: k, noSignOut: true });
  sessionStorage.setItem(STORE, k);
  me = who;
  return who;
}

// Re-checks the stored key (after a reload); null when there is none.
export async function resume() {
  const k = key();
  if (!k) return null;
  me = await api.get('/v1/whoami', { key: k, noSignOut: true });
  return me;
}

export function signOut() {
  sessionStorage.removeItem(STORE);
  me = null;
}
