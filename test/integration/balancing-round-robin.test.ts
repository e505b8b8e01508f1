import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, openClient } from '../helpers/clients.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

let backends: EchoBackend[];
let gw: RunningGateway;

before(async () => {
  backends = await Promise.all([startEchoBackend({ id: 'a' }), startEchoBackend({ id: 'b' })]);
  gw = await startGateway({ routes: [{ path: '/', backends: backends.map((b) => b.address) }] });
});

after(async () => {
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

test('round-robin spreads 100 connections evenly over 2 backends', async () => {
  const counts = new Map<string, number>();
  const clients = [];
  for (let i = 0; i < 100; i++) {
    const client = await openClient(`ws://${gw.host}/rr/${i}`);
    counts.set(client.backendId ?? 'none', (counts.get(client.backendId ?? 'none') ?? 0) + 1);
    clients.push(client.ws);
  }
  assert.deepEqual(Object.fromEntries(counts), { a: 50, b: 50 });
  // The backends see the same split: every tunnel stays where it started.
  assert.equal(backends[0]?.wss.clients.size, 50);
  assert.equal(backends[1]?.wss.clients.size, 50);
  await Promise.all(clients.map((ws) => (ws.close(), closed(ws))));
});
