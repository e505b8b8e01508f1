import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { closed, expectRefusal, openClient } from '../helpers/clients.js';
import { eventually, startGateway, type LogLine } from '../helpers/gateway.js';
import { startRecordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';

// Issue 5 (health endpoint) and issue 6 (what draining answers): a balancer's
// HTTP check gets 200 while wsgate serves and 503 from the moment it drains,
// and a TCP check (connect, then close, no bytes) is routine, never an error.

const certs = (name: string): string => fileURLToPath(new URL(`../../../fixtures/certs/${name}`, import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let backend: RecordingBackend;
before(async () => {
  backend = await startRecordingBackend({ echoFragments: 1 });
});
after(async () => backend.close());

/** Log lines at warn (40) or above, but the start-up one about this machine's descriptor limit (issue 13). */
function complaints(logs: readonly LogLine[]): LogLine[] {
  return logs.filter((line) => line.level >= 40 && !line.msg.startsWith('the descriptor limit allows'));
}

describe('the health endpoint', () => {
  test('GET and HEAD of /healthz are answered by wsgate with 200, whatever the routes', async () => {
    const gw = await startGateway({ routes: [{ path: '/', backends: [backend.address] }] });
    const get = await fetch(`http://${gw.host}/healthz`);
    assert.equal(get.status, 200);
    assert.equal(await get.text(), 'ok\n');
    assert.equal(get.headers.get('cache-control'), 'no-store');
    const head = await fetch(`http://${gw.host}/healthz?from=elb`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    // Anything else under the catch-all route still reaches the backend.
    const other = await fetch(`http://${gw.host}/healthz/deeper`);
    assert.equal(await other.text(), 'recording backend\n');
    await gw.close();
  });

  test('the path is configurable, and `false` (--health-path off) leaves it to the routes', async () => {
    const custom = await startGateway({ routes: [{ path: '/', backends: [backend.address] }], healthPath: '/lb-check' });
    assert.equal(await (await fetch(`http://${custom.host}/lb-check`)).text(), 'ok\n');
    assert.equal(await (await fetch(`http://${custom.host}/healthz`)).text(), 'recording backend\n');
    await custom.close();
    const none = await startGateway({ routes: [{ path: '/', backends: [backend.address] }], healthPath: false });
    assert.equal(await (await fetch(`http://${none.host}/healthz`)).text(), 'recording backend\n');
    await none.close();
  });

  for (const tls of [false, true]) {
    test(`a TCP health check (connect, close, no bytes) logs no warning or error${tls ? ' on a TLS listener' : ''}`, async () => {
      const gw = await startGateway({
        routes: [{ path: '/', backends: [backend.address] }],
        ...(tls ? { tls: { cert: certs('server.pem'), key: certs('server.key') } } : {}),
      });
      for (let i = 0; i < 5; i++) {
        await new Promise<void>((resolve, reject) => {
          const socket = connect(gw.port, '127.0.0.1', () => socket.end());
          socket.on('error', reject);
          socket.on('close', () => resolve());
        });
        // An NLB may also reset instead of closing.
        await new Promise<void>((resolve) => {
          const socket = connect(gw.port, '127.0.0.1', () => socket.resetAndDestroy());
          socket.on('error', () => {});
          socket.on('close', () => resolve());
        });
      }
      await sleep(200);
      assert.deepEqual(complaints(gw.logs), []);
      await gw.close();
    });
  }
});

describe('while draining', () => {
  test('health, upgrades and plain requests get 503 at once, open tunnels keep working until the drain timeout', async () => {
    const gw = await startGateway({ routes: [{ path: '/', backends: [backend.address] }] });
    const { ws } = await openClient(`ws://${gw.host}/open`);
    const connectionsBefore = backend.connections;
    const started = Date.now();
    const drained = gw.gateway.drain({ timeoutMs: 1500 });
    assert.equal(gw.gateway.draining, true);

    const health = await fetch(`http://${gw.host}/healthz`);
    assert.equal(health.status, 503);
    assert.equal(await health.text(), 'draining\n');
    assert.equal(health.headers.get('x-wsgate-error'), 'ERR_GATEWAY_DRAINING');
    assert.equal(health.headers.get('retry-after'), '1');
    assert.equal(health.headers.get('connection'), 'close');

    const upgrade = await expectRefusal(`ws://${gw.host}/reconnect`);
    assert.equal(upgrade.status, 503);
    assert.equal(upgrade.headers['x-wsgate-error'], 'ERR_GATEWAY_DRAINING');
    assert.equal(upgrade.headers['retry-after'], '1');
    assert.equal(upgrade.headers.connection, 'close');
    const plain = await fetch(`http://${gw.host}/api`);
    assert.equal(plain.status, 503);
    assert.equal(plain.headers.get('x-wsgate-error'), 'ERR_GATEWAY_DRAINING');
    await plain.text();
    assert.equal(backend.connections, connectionsBefore, 'nothing new reached the backend');

    const echo = new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
    ws.send('during the drain');
    assert.equal(await echo, 'during the drain');
    const { code } = await closed(ws);
    assert.equal(code, 1001);
    assert.ok(Date.now() - started >= 1500, 'not before the drain timeout');
    await drained;
    assert.equal(gw.gateway.activeTunnels, 0);
    assert.ok(gw.logs.some((line) => line.msg === 'drained'));
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(gw.port, '127.0.0.1');
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? ''));
      socket.on('connect', () => resolve('connected'));
    });
    assert.equal(refused, 'ECONNREFUSED', 'the listener is closed once drained');
  });

  test('a drain with no tunnel open ends at once; drain() twice is one drain', async () => {
    const gw = await startGateway({ routes: [{ path: '/', backends: [backend.address] }] });
    const start = Date.now();
    const first = gw.gateway.drain();
    assert.equal(gw.gateway.drain(), first);
    await first;
    assert.ok(Date.now() - start < 500);
    assert.ok(await eventually(() => gw.logs.some((line) => line.msg === 'drained')));
  });
});
