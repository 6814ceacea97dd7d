// Hash routing: #/tokens, #/vms ...; the page module renders into main and
// returns a cleanup function called when the user leaves it.

let pages = [];
let current = null;
let render = null;

export function setPages(list, renderFn) {
  pages = list;
  render = renderFn;
}

export function pageFor(hash) {
  const id = (hash || '').replace(/^#\/?/, '').split('?')[0];
  return pages.find((p) => p.id === id) || null;
}

export function go(id) {
  if (location.hash === '#/' + id) route();
  else location.hash = '#/' + id;
}

export function leave() {
  if (current && current.cleanup) current.cleanup();
  current = null;
}

export function route() {
  leave();
  let page = pageFor(location.hash);
  if (!page || !page.allowed()) page = pages.find((p) => p.allowed());
  if (!page) return;
  if (location.hash !== '#/' + page.id) history.replaceState(null, '', '#/' + page.id);
  current = { page, cleanup: render(page) };
}

export function start() {
  window.addEventListener('hashchange', route);
  route();
}

export function stop() {
  window.removeEventListener('hashchange', route);
  leave();
}
