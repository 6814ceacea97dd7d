// Where a guest reaches this node's USB/IP listener, for the usbip attach
// line: the node's configured usbip.listen (GET /v1/nodes, "self"), with an
// unspecified address replaced by the host the console was loaded from.
import * as api from './api.js';

export async function usbipEndpoint() {
  const { nodes } = await api.get('/v1/nodes');
  const self = nodes.find((n) => n.self) || nodes[0];
  if (!self || !self.usbip) return null;
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(self.usbip);
  if (!m) return null;
  let host = m[1];
  if (host === '' || host === '0.0.0.0' || host === '::' || host === '*') host = location.hostname;
  return { host, port: Number(m[2]) };
}

export function attachLine(ep, busid) {
  if (!busid) return '';
  const host = ep ? ep.host : 'VTOKEND_HOST';
  const port = ep && ep.port ? ep.port : 3240;
  return 'usbip --tcp-port ' + port + ' attach -r ' + host + ' -b ' + busid;
}
