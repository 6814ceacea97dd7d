// A Server-Sent Events reader over fetch(): GET /v1/events needs the
// Authorization header, which EventSource cannot send.  Parses the stream
// (id, event, data, comments), reconnects with Last-Event-ID after a lost
// stream with a bounded back-off, and stops for good on 401 and 403.

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

// Feeds text to an SSE parser; calls onEvent({id, event, data}) per event.
export function sseParser(onEvent) {
  let buf = '';
  let ev = { id: null, event: 'message', data: [] };
  function line(l) {
    if (l === '') {
      if (ev.data.length) onEvent({ id: ev.id, event: ev.event, data: ev.data.join('\n') });
      ev = { id: ev.id, event: 'message', data: [] };
      return;
    }
    if (l.startsWith(':')) return;
    const i = l.indexOf(':');
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? '' : l.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') ev.data.push(value);
    else if (field === 'event') ev.event = value;
    else if (field === 'id') ev.id = value;
  }
  return function feed(text) {
    buf += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(buf);
      if (!m) break;
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (m[0] === '\r' && m.index === buf.length - 1) break;
      line(buf.slice(0, m.index));
      buf = buf.slice(m.index + m[0].length);
    }
  };
}

// new EventStream({url, key, onEvent, onState}).start(); .stop()
// onState(state, message): 'connecting', 'live', 'retrying', 'denied', 'stopped'.
export class EventStream {
  constructor(opts) {
    this.opts = opts;
    this.lastId = null;
    this.backoff = BACKOFF_MIN_MS;
    this.abort = null;
    this.timer = null;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.abort) this.abort.abort();
    this.opts.onState('stopped');
  }

  async connect() {
    const { url, key, onEvent, onState } = this.opts;
    this.abort = new AbortController();
    const headers = { Authorization: 'Bearer ' + key(), Accept: 'text/event-stream' };
    if (this.lastId !== null) headers['Last-Event-ID'] = this.lastId;
    onState('connecting');
    try {
      const res = await fetch(url, { headers, signal: this.abort.signal, cache: 'no-store' });
      if (res.status === 401 || res.status === 403) {
        onState(res.status === 401 ? 'unauthorized' : 'denied');
        return;
      }
      if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
      onState('live');
      this.backoff = BACKOFF_MIN_MS;
      const feed = sseParser((ev) => {
        if (ev.id !== null) this.lastId = ev.id;
        let data = ev.data;
        try { data = JSON.parse(ev.data); } catch (e) { /* keep the text */ }
        onEvent({ id: ev.id, type: ev.event, data });
      });
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        feed(dec.decode(value, { stream: true }));
      }
      throw new Error('the stream ended');
    } catch (e) {
      if (this.stopped) return;
      onState('retrying', e.message);
      this.timer = setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    }
  }
}
