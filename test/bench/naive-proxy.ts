// "naive" anchor: the textbook http-proxy WebSocket proxy. It is what wsgate
// must beat (or at least match) on cost per unit of work.
// usage: node naive-proxy.js BACKEND_PORT1 BACKEND_PORT2 -> prints "READY <port>"
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';
import { exitWithParent } from './lib/proc.js';

const pool = process.argv.slice(2).map((p) => `ws://127.0.0.1:${Number(p)}`);
const routes = new Map([['/echo', { next: 0 }], ['/echo2', { next: 0 }]]);

const proxy = httpProxy.createProxyServer({ ws: true });
proxy.on('error', (_err, _req, sock) => {
  if (sock && 'destroy' in sock) sock.destroy();
});

const server = http.createServer((_req, res) => {
  res.writeHead(404);
  res.end();
});
server.on('upgrade', (req: http.IncomingMessage, sock: import('node:stream').Duplex, head: Buffer) => {
  const route = routes.get((req.url ?? '').split('?', 1)[0] ?? '');
  if (!route) return sock.destroy();
  const target = pool[route.next++ % pool.length]; // round robin per route
  proxy.ws(req, sock, head, { target });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
});

exitWithParent();
process.on('SIGTERM', () => process.exit(0));
