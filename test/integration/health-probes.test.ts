import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import type { HealthCheckConfig } from '../../src/config/schema.js';
import { probe, websocketAccept } from '../../src/upstream/health-check.js';
import { eventually } from '../helpers/gateway.js';

const TLS = { rejectUnauthorized: true };

function listen(server: Server | TcpServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function target(port: number): { host: string; port: number; tls: boolean } {
  return { host: '127.0.0.1', port, tls: false };
}

function check(type: HealthCheckConfig['type'], path?: string, timeout = 1000): HealthCheckConfig {
  return { type, ...(path === undefined ? {} : { path }), interval: 1000, timeout, rise: 2, fall: 3 };
}

describe('health probes over real sockets', () => {
  let echo: EchoBackend;
  let closedPort: number;
  const requests: string[] = [];
  let status503: Server, silent: TcpServer, garbage: TcpServer, hangup: TcpServer, badAccept: TcpServer;
  let status503Port: number, silentPort: number, garbagePort: number, hangupPort: number, badAcceptPort: number;
  const sockets = new Set<Socket>();
  const closeCodes: number[] = [];

  before(async () => {
    echo = await startEchoBackend({ id: 'echo' });
    echo.server.on('request', (req) => requests.push(`${req.method} ${req.url} host=${req.headers.host} ua=${req.headers['user-agent']}`));
    echo.wss.on('connection', (ws) => ws.on('close', (code) => closeCodes.push(code)));
    const gone = createTcpServer();
    closedPort = await listen(gone);
    await new Promise((resolve) => gone.close(resolve));
    status503 = createHttpServer((_req, res) => res.writeHead(503).end('not ready'));
    const track = (socket: Socket): void => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    };
    silent = createTcpServer(track);
    garbage = createTcpServer((socket) => {
      track(socket);
      socket.end('SSH-2.0-OpenSSH\r\n\r\n');
    });
    hangup = createTcpServer((socket) => {
      track(socket);
      socket.end();
    });
    badAccept = createTcpServer((socket) => {
      track(socket);
      socket.once('data', () =>
        socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBvbmU=\r\n\r\n'),
      );
    });
    const ports = await Promise.all([status503, silent, garbage, hangup, badAccept].map(listen));
    [status503Port, silentPort, garbagePort, hangupPort, badAcceptPort] = ports as [number, number, number, number, number];
  });

  after(async () => {
    await echo.close();
    for (const socket of sockets) socket.destroy();
    status503.closeAllConnections();
    await Promise.all([status503, silent, garbage, hangup, badAccept].map((s) => new Promise((resolve) => s.close(resolve))));
  });

  test('tcp: a listening port passes, a closed one fails with the errno', async () => {
    assert.deepEqual(await probe(target(echo.port), check('tcp'), TLS), { ok: true, detail: 'connected' });
    assert.deepEqual(await probe(target(closedPort), check('tcp'), TLS), { ok: false, detail: 'ECONNREFUSED' });
  });

  test('http: 2xx passes; other statuses, silence, garbage and a hang-up fail', async () => {
    assert.deepEqual(await probe(target(echo.port), check('http', '/healthz?deep=1'), TLS), { ok: true, detail: 'HTTP 200' });
    assert.ok(requests.includes(`GET /healthz?deep=1 host=127.0.0.1:${echo.port} ua=wsgate-health-check`), requests.join('\n'));
    assert.deepEqual(await probe(target(status503Port), check('http'), TLS), { ok: false, detail: 'HTTP 503' });
    const started = Date.now();
    assert.deepEqual(await probe(target(silentPort), check('http', '/', 100), TLS), { ok: false, detail: 'timeout after 100ms' });
    const took = Date.now() - started;
    assert.ok(took >= 95 && took < 600, `a silent backend fails after the timeout (${took} ms)`);
    assert.deepEqual(await probe(target(garbagePort), check('http'), TLS), { ok: false, detail: 'invalid response: invalid status line' });
    assert.deepEqual(await probe(target(hangupPort), check('http'), TLS), { ok: false, detail: 'closed before a response' });
  });

  test('websocket: a real handshake passes and is closed politely with a Close frame (1000)', async () => {
    const before = closeCodes.length;
    assert.deepEqual(await probe(target(echo.port), check('websocket', '/ws'), TLS), { ok: true, detail: 'HTTP 101' });
    assert.ok(await eventually(() => closeCodes.length > before, 2000), 'the backend saw the connection close');
    assert.equal(closeCodes.at(-1), 1000);
  });

  test('websocket: a wrong accept, a plain 2xx/5xx, or no response fail', async () => {
    assert.notEqual(websocketAccept('x'), 'bm90IHRoZSByaWdodCBvbmU=');
    assert.deepEqual(await probe(target(badAcceptPort), check('websocket'), TLS), { ok: false, detail: 'wrong Sec-WebSocket-Accept' });
    assert.deepEqual(await probe(target(status503Port), check('websocket'), TLS), { ok: false, detail: 'HTTP 503 instead of 101' });
    assert.deepEqual(await probe(target(silentPort), check('websocket', '/', 80), TLS), { ok: false, detail: 'timeout after 80ms' });
    assert.deepEqual(await probe(target(closedPort), check('websocket'), TLS), { ok: false, detail: 'ECONNREFUSED' });
  });

  test('probes leave no connection open on the backend side', async () => {
    for (let i = 0; i < 5; i++) {
      await probe(target(echo.port), check('websocket'), TLS);
      await probe(target(echo.port), check('http'), TLS);
      await probe(target(echo.port), check('tcp'), TLS);
    }
    const connections = (): Promise<number> => new Promise((resolve) => echo.server.getConnections((_e, count) => resolve(count)));
    const deadline = Date.now() + 3000;
    let open = await connections();
    while (open > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      open = await connections();
    }
    assert.equal(open, 0);
  });
});
