// Small DOM helpers shared by the pages: element building, times, sizes,
// busy buttons, error and empty messages, the confirmation dialog.

// h('button', {class: 'x', onclick: fn}, 'text', child...) -> element.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let nextId = 0;
export function uid(prefix) { nextId += 1; return prefix + '-' + nextId; }

// A labelled input: returns {wrap, input, error} with <label for>.
export function field(label, attrs = {}, hint) {
  const id = attrs.id || uid('f');
  const input = attrs.tag === 'select'
    ? h('select', { ...attrs, tag: null, options: null, id }, ...(attrs.options || []).map((o) =>
      h('option', { value: o.value, selected: o.selected }, o.label)))
    : h(attrs.tag || 'input', { type: attrs.tag ? undefined : 'text', ...attrs, tag: null, options: null, id });
  const error = h('span', { class: 'field-error', role: 'alert', id: id + '-err' });
  input.setAttribute('aria-describedby', id + '-err');
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input,
    hint ? h('span', { class: 'hint' }, hint) : null, error);
  return { wrap, input, error };
}

// A checkbox with its label after it.
export function checkbox(label, attrs = {}) {
  const id = attrs.id || uid('c');
  const input = h('input', { type: 'checkbox', ...attrs, id });
  return { wrap: h('div', { class: 'field check' }, input, h('label', { for: id }, label)), input };
}

// <time> in the browser's zone with the UTC value on hover.
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return document.createTextNode(iso);
  return h('time', { datetime: iso, title: 'UTC ' + iso }, d.toLocaleString());
}

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0)) + ' ' + units[i];
}

// Runs fn() with the button disabled and marked busy; shows a failure in
// out (an element) in words.  Returns fn's value, or undefined on error.
export async function busy(button, out, fn) {
  if (out) clear(out);
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    button.classList.add('is-busy');
  }
  try {
    return await fn();
  } catch (e) {
    if (out) showError(out, e);
    else throw e;
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      button.classList.remove('is-busy');
    }
  }
}

export function errorText(e) {
  if (e && e.status === 403) return 'Not allowed for this key\'s role: ' + e.message;
  if (e && e.status) return e.message + ' (' + e.status + ' ' + e.code + ')';
  return e && e.message ? e.message : String(e);
}

export function showError(out, e) {
  clear(out, h('div', { class: 'error', role: 'alert' }, errorText(e)));
}

export function showOk(out, text) {
  clear(out, h('div', { class: 'ok', role: 'status' }, text));
}

export function empty(text) {
  return h('div', { class: 'empty' }, text);
}

export function loading(text = 'Loading…') {
  return h('div', { class: 'loading', role: 'status' }, text);
}

// A table from rows; cols: [{label, cell: (row) => node|string, class}].
export function table(cols, rows, opts = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'list ' + (opts.class || '') },
      opts.caption ? h('caption', {}, opts.caption) : null,
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      h('tbody', {}, rows.map((r) => {
        const tr = h('tr', opts.rowAttrs ? opts.rowAttrs(r) : {},
          cols.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.cell(r))));
        return tr;
      }))));
}

// The confirmation dialog; resolves true when confirmed.
export function confirmAction(text, okLabel = 'Confirm') {
  const dlg = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  ok.textContent = okLabel;
  return new Promise((resolve) => {
    function done(v) {
      ok.removeEventListener('click', yes);
      cancel.removeEventListener('click', no);
      dlg.removeEventListener('cancel', no);
      if (dlg.open) dlg.close();
      resolve(v);
    }
    function yes() { done(true); }
    function no() { done(false); }
    ok.addEventListener('click', yes);
    cancel.addEventListener('click', no);
    dlg.addEventListener('cancel', no);
    dlg.showModal();
    cancel.focus();
  });
}

// Calls fn at most once per ms milliseconds, trailing.
export function debounce(fn, ms) {
  let t = null;
  const d = (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
  d.cancel = () => clearTimeout(t);
  return d;
}

export function section(title, ...children) {
  return h('section', { class: 'panel' }, h('h2', {}, title), ...children);
}
