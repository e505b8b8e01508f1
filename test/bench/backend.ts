// WebSocket echo backend, one process per backend so the proxy under test
// balances over independent event loops (as real deployments do).
// usage: node backend.js  -> listens on 127.0.0.1:<ephemeral>, prints "READY <port>"
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { exitWithParent } from './lib/proc.js';

const server = http.createServer((_req, res) => {
  res.writeHead(426);
  res.end('upgrade required\n');
});
// permessage-deflate off: compression would make the backends, not the
// proxy, the dominant cost; clientTracking off: 9000 idle tunnels need no Set.
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false, maxPayload: 16 * 1024 * 1024 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {
    /* a client vanishing mid-message is normal under load */
  });
});
// Port 0: the kernel picks a free port, so concurrent runs cannot collide.
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
});

// SIGUSR2 = "collect garbage now" (we run with --expose-gc): S4 samples the
// backends' RSS right after a full GC, so that garbage left by earlier
// scenarios does not show up as negative memory per tunnel.
const gc = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => gc?.());

exitWithParent();
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
