import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, expectRefusal, handshakeRequest, openClient, rawExchange } from '../helpers/clients.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

// Nothing listens on port 1 of the loopback: connecting is refused at once.
const DEAD = '127.0.0.1:1';

function listen<T extends Server | TcpServer>(server: T): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

describe('failures', () => {
  let live: EchoBackend;
  let refusing: Server, silent: TcpServer, garbage: TcpServer;
  let refusingAddr: string, silentAddr: string, garbageAddr: string;
  let backendConnections = 0;
  let gw: RunningGateway;

  before(async () => {
    live = await startEchoBackend({ id: 'live' });
    live.server.on('connection', () => backendConnections++);
    refusing = createServer((_req, res) => res.end('plain'));
    refusing.on('upgrade', (_req, socket) => {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nX-Reason: test\r\n\r\nnot for you\n');
    });
    silent = createTcpServer((socket) => socket.on('error', () => {}));
    garbage = createTcpServer((socket) => {
      socket.on('error', () => {});
      socket.end('NOT HTTP AT ALL\r\n\r\n');
    });
    [refusingAddr, silentAddr, garbageAddr] = await Promise.all([listen(refusing), listen(silent), listen(garbage)]);
    gw = await startGateway({
      routes: [
        { path: '/mixed', backends: [DEAD, live.address, DEAD] },
        { path: '/dead', backends: [DEAD, '127.0.0.1:2'] },
        { path: '/refusing', backends: [refusingAddr] },
        { path: '/silent', backends: [silentAddr] },
        { path: '/garbage', backends: [garbageAddr] },
      ],
      timeouts: { backendResponse: '300ms' },
    });
  });

  after(async () => {
    await gw.close();
    await live.close();
    for (const server of [refusing, silent, garbage]) {
      if ('closeAllConnections' in server) server.closeAllConnections();
      server.close();
    }
  });

  test('a dead backend in the pool is skipped for upgrades', async () => {
    for (let i = 0; i < 6; i++) {
      const { ws, backendId } = await openClient(`ws://${gw.host}/mixed/${i}`);
      assert.equal(backendId, 'live');
      ws.close();
      await closed(ws);
    }
    assert.ok(gw.logs.some((l) => l.msg === 'backend skipped' && l.backend === DEAD));
  });

  test('a dead backend in the pool is skipped for plain requests', async () => {
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`http://${gw.host}/mixed/plain/${i}`);
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { backend: string }).backend, 'live');
    }
  });

  test('all backends dead gives 502 for upgrades and plain requests', async () => {
    const refusal = await expectRefusal(`ws://${gw.host}/dead`);
    assert.equal(refusal.status, 502);
    assert.equal(refusal.headers['x-wsgate-error'], 'ERR_UPSTREAM_UNAVAILABLE');
    const plain = await fetch(`http://${gw.host}/dead/x`);
    assert.equal(plain.status, 502);
    await plain.text();
    assert.ok(gw.logs.some((l) => l.msg === 'upgrade failed' && l.code === 'ERR_UPSTREAM_UNAVAILABLE'));
  });

  test('invalid handshakes get 400 or 426 before any backend is touched', async () => {
    const before = backendConnections;
    const cases: Array<[string, string, RegExp]> = [
      ['POST', handshakeRequest('/mixed', {}, 'POST /mixed HTTP/1.1'), /^HTTP\/1\.1 400 /],
      ['HTTP/1.0', handshakeRequest('/mixed', {}, 'GET /mixed HTTP/1.0'), /^HTTP\/1\.1 400 /],
      ['Upgrade: h2c', handshakeRequest('/mixed', { Upgrade: 'h2c' }), /^HTTP\/1\.1 400 /],
      ['no Connection token', handshakeRequest('/mixed', { Connection: 'keep-alive' }), /^HTTP\/1\.1 400 /],
      ['short key', handshakeRequest('/mixed', { 'Sec-WebSocket-Key': 'c2hvcnQ=' }), /^HTTP\/1\.1 400 /],
      ['no key', handshakeRequest('/mixed', { 'Sec-WebSocket-Key': undefined }), /^HTTP\/1\.1 400 /],
      ['no version', handshakeRequest('/mixed', { 'Sec-WebSocket-Version': undefined }), /^HTTP\/1\.1 400 /],
      ['version 8', handshakeRequest('/mixed', { 'Sec-WebSocket-Version': '8' }), /^HTTP\/1\.1 426 [^]*Sec-WebSocket-Version: 13/i],
    ];
    for (const [name, request, expected] of cases) {
      const response = await rawExchange(gw.port, request);
      assert.match(response, expected, name);
    }
    assert.equal(backendConnections, before, 'no backend connection was opened');
    const rejected = gw.logs.filter((l) => l.msg === 'handshake rejected');
    assert.ok(rejected.some((l) => l.code === 'ERR_HANDSHAKE_WS_VERSION' && l.status === 426));
    assert.ok(rejected.some((l) => l.code === 'ERR_HANDSHAKE_KEY'));
  });

  test("a backend's refusal is relayed with its status, headers and body", async () => {
    const response = await rawExchange(gw.port, handshakeRequest('/refusing'));
    assert.match(response, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(response, /X-Reason: test\r\n/);
    assert.match(response, /Connection: close\r\n/);
    assert.match(response, /\r\n\r\nnot for you\n$/);
  });

  test('a backend that never answers gives 504; one that answers garbage gives 502', async () => {
    assert.match(await rawExchange(gw.port, handshakeRequest('/silent')), /^HTTP\/1\.1 504 /);
    assert.match(await rawExchange(gw.port, handshakeRequest('/garbage')), /^HTTP\/1\.1 502 /);
  });

  test('the gateway still serves after all of the above', async () => {
    const { ws, backendId } = await openClient(`ws://${gw.host}/mixed/after`);
    assert.equal(backendId, 'live');
    const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send('still here');
    assert.equal(await reply, 'still here');
    ws.close();
    await closed(ws);
    assert.equal(gw.gateway.activeTunnels, 0);
  });
});
