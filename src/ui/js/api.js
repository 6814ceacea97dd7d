// The REST API client: one fetch() per call with the key from the session,
// errors turned into ApiError with the server's words, a shared busy count
// for the progress bar, and 401 handed to whoever signs the user out.

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body || null;
  }
}

const listeners = { busy: [], unauthorized: [] };
let inflight = 0;
let keyOf = () => null;

export function setKeySource(fn) { keyOf = fn; }
export function onBusy(fn) { listeners.busy.push(fn); }
export function onUnauthorized(fn) { listeners.unauthorized.push(fn); }

function busy(delta) {
  inflight += delta;
  for (const fn of listeners.busy) fn(inflight > 0);
}

// Turns a failed response into an ApiError carrying the API's message.
async function failure(res) {
  let body = null;
  let code = 'http_' + res.status;
  let message = res.status + ' ' + res.statusText;
  try {
    body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch (e) {
    // not JSON (a 413 from the HTTP layer): keep the status line
  }
  return new ApiError(res.status, code, message, body);
}

// request('GET', '/v1/tokens', null, {key}) -> parsed JSON, or null for 204.
export async function request(method, path, body, opts = {}) {
  const key = opts.key !== undefined ? opts.key : keyOf();
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = 'Bearer ' + key;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined && body !== null) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  busy(1);
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', 'vtokend cannot be reached (' + e.message + ')');
  } finally {
    busy(-1);
  }
  if (res.status === 401 && !opts.noSignOut) {
    const err = await failure(res);
    for (const fn of listeners.unauthorized) fn(err.message);
    throw err;
  }
  if (!res.ok) throw await failure(res);
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res.text();
}

export const get = (path, opts) => request('GET', path, null, opts);
export const post = (path, body, opts) => request('POST', path, body || {}, opts);
export const patch = (path, body, opts) => request('PATCH', path, body, opts);
export const del = (path, opts) => request('DELETE', path, null, opts);

export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

export const enc = encodeURIComponent;

// Every item of a paged list (tokens, vms, assignments, sessions), at most
// max items; returns {items, more} where more says the walk stopped early.
export async function all(path, field, max = 10000) {
  const items = [];
  let after = null;
  for (;;) {
    const page = await get(path + qs({ after, limit: 1000 }));
    items.push(...page[field]);
    if (page.next === null || page.next === undefined) return { items, more: false };
    if (items.length >= max) return { items, more: true };
    after = page.next;
  }
}
