// The console's one live stream: pages subscribe to audit records as they
// are committed; the header shows whether the stream is up.
import { EventStream } from './sse.js';

const subscribers = new Set();
let stream = null;
let state = 'offline';
const stateListeners = new Set();

export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}

export function onStateChange(fn) {
  stateListeners.add(fn);
  fn(state);
  return () => stateListeners.delete(fn);
}

export function isLive() { return state === 'live'; }

function setState(s) {
  state = s;
  for (const fn of stateListeners) fn(s);
}

export function startEvents(keyFn, onUnauthorized) {
  stopEvents();
  stream = new EventStream({
    url: '/v1/events',
    key: keyFn,
    onEvent: (ev) => { for (const fn of subscribers) fn(ev); },
    onState: (s) => {
      if (s === 'unauthorized') onUnauthorized('the key was refused');
      setState(s);
    },
  });
  stream.start();
}

export function stopEvents() {
  if (stream) stream.stop();
  stream = null;
  setState('offline');
}
