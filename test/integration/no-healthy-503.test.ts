/**
 * Issue 6: when every backend of a pool is out of rotation, new upgrades (and
 * plain requests) get 503 with Retry-After at once, not after a timeout.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { handshakeRequest, rawExchange } from '../helpers/clients.js';
import { eventually, startGateway, type RunningGateway } from '../helpers/gateway.js';

const BACKEND_TIMEOUT_MS = 3000;

// Backends that accept connections and never answer: a request sent to one
// waits for the whole response timeout. Their http check times out, so the
// checks take them out of rotation.
let silent: Server[];
let addresses: string[];
const sockets = new Set<Socket>();
/** The request line of every connection the backends received. */
const requestLines: string[] = [];
let gw: RunningGateway;

before(async () => {
  silent = [0, 1].map(() =>
    createServer((socket) => {
      sockets.add(socket);
      socket.once('data', (chunk: Buffer) => requestLines.push(chunk.toString('latin1').split('\r\n')[0] ?? ''));
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }),
  );
  addresses = await Promise.all(
    silent.map((server) => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)))),
  );
  gw = await startGateway({
    routes: [{ path: '/', backends: addresses, healthCheck: { type: 'http', path: '/health', interval: '100ms', timeout: '50ms' } }],
    timeouts: { backendConnect: BACKEND_TIMEOUT_MS, backendResponse: BACKEND_TIMEOUT_MS },
  });
});

after(async () => {
  await gw.close();
  for (const socket of sockets) socket.destroy();
  await Promise.all(silent.map((server) => new Promise((resolve) => server.close(resolve))));
});

test('every backend down: upgrades and plain requests get 503 with Retry-After at once', async (t) => {
  assert.ok(await eventually(() => gw.logs.filter((l) => l.msg === 'backend down').length === 2, 3000), 'both checks failed');
  const down = gw.logs.filter((l) => l.msg === 'backend down');
  assert.deepEqual(down.map((l) => l.backend).sort(), [...addresses].sort());
  assert.match(String(down[0]?.detail), /^http check failed: timeout after 50ms/);

  const started = performance.now();
  const response = await rawExchange(gw.port, handshakeRequest('/chat'));
  const upgradeMs = performance.now() - started;
  assert.match(response, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  assert.match(response, /\r\nRetry-After: 1\r\n/);
  assert.match(response, /\r\nX-Wsgate-Error: ERR_UPSTREAM_NO_HEALTHY\r\n/);

  const plainStarted = performance.now();
  const plain = await fetch(`http://${gw.host}/chat/history`);
  const plainMs = performance.now() - plainStarted;
  assert.equal(plain.status, 503);
  assert.equal(plain.headers.get('retry-after'), '1');
  assert.equal(plain.headers.get('x-wsgate-error'), 'ERR_UPSTREAM_NO_HEALTHY');
  await plain.text();

  t.diagnostic(`503 after ${upgradeMs.toFixed(1)} ms (upgrade) and ${plainMs.toFixed(1)} ms (plain); backend timeouts are ${BACKEND_TIMEOUT_MS} ms`);
  assert.ok(upgradeMs < 200, `upgrade answered in ${upgradeMs} ms`);
  assert.ok(plainMs < 200, `plain request answered in ${plainMs} ms`);
  // The backends saw health checks only.
  assert.ok(requestLines.length > 0);
  assert.deepEqual([...new Set(requestLines)], ['GET /health HTTP/1.1'], 'no request reached a backend');
  const failed = gw.logs.find((l) => l.msg === 'upgrade failed');
  assert.equal(failed?.code, 'ERR_UPSTREAM_NO_HEALTHY');
  assert.equal(failed?.status, 503);
});
