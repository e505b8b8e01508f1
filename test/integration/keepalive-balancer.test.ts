import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type WebSocket from 'ws';
import { startTcpBalancer, type TcpBalancer } from '../../fixtures/tcp-balancer.js';
import { closed, openClient } from '../helpers/clients.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRecordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';

// Issue 5, done when: an idle tunnel behind a balancer with a 2 s idle timeout
// survives 10 s with --ping-interval 1s and dies without it.

const BALANCER_IDLE_MS = 2000;
const IDLE_FOR_MS = 10_000;

let backend: RecordingBackend;
let pinging: RunningGateway;
let silent: RunningGateway;
let pingingBalancer: TcpBalancer;
let silentBalancer: TcpBalancer;

before(async () => {
  backend = await startRecordingBackend({ echoFragments: 1 });
  pinging = await startGateway({ routes: [{ path: '/', backends: [backend.address] }], tunnels: { pingInterval: '1s' } });
  silent = await startGateway({ routes: [{ path: '/', backends: [backend.address] }] });
  pingingBalancer = await startTcpBalancer({ targetPort: pinging.port, idleTimeoutMs: BALANCER_IDLE_MS });
  silentBalancer = await startTcpBalancer({ targetPort: silent.port, idleTimeoutMs: BALANCER_IDLE_MS });
});

after(async () => {
  await Promise.all([pingingBalancer.close(), silentBalancer.close()]);
  await Promise.all([pinging.close(), silent.close()]);
  await backend.close();
});

function echoOnce(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no echo within 2 s')), 2000);
    ws.once('message', (data: Buffer) => {
      clearTimeout(timer);
      resolve(data.toString());
    });
    ws.send(text);
  });
}

test('an idle tunnel behind a 2 s balancer lives 10 s with --ping-interval 1s, and dies without it', { timeout: 30_000 }, async () => {
  const kept = await openClient(`ws://127.0.0.1:${pingingBalancer.port}/kept`);
  const dropped = await openClient(`ws://127.0.0.1:${silentBalancer.port}/dropped`);
  let pings = 0;
  kept.ws.on('ping', () => pings++);
  const droppedAt = closed(dropped.ws).then((result) => ({ ...result, at: Date.now() }));
  const start = Date.now();

  // Neither client sends anything of its own; the kept one only answers pings (ws does so by itself).
  await new Promise((resolve) => setTimeout(resolve, IDLE_FOR_MS));

  const drop = await droppedAt;
  assert.equal(drop.code, 1006, 'the balancer cut the silent tunnel without a Close frame');
  assert.ok(drop.at - start >= BALANCER_IDLE_MS - 100 && drop.at - start < BALANCER_IDLE_MS + 1500, `cut after ${drop.at - start} ms`);
  assert.equal(silentBalancer.idleClosed, 1);

  assert.equal(kept.ws.readyState, kept.ws.OPEN, 'the pinged tunnel is still open after 10 s');
  assert.equal(pingingBalancer.idleClosed, 0);
  assert.ok(pings >= 7 && pings <= 12, `about one ping a second while idle (got ${pings} in 10 s)`);
  // The client's pongs went on to the backend as unsolicited pongs (RFC 6455 5.5.3): ws takes them in its stride.
  assert.ok(backend.pongs >= pings - 1, `the backend saw the pongs (${backend.pongs} of ${pings})`);
  assert.deepEqual(backend.errors, []);
  assert.equal(await echoOnce(kept.ws, 'still here'), 'still here');

  kept.ws.close();
  assert.equal((await closed(kept.ws)).code, 1005);
});
