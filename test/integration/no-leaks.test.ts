import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, openClient } from '../helpers/clients.js';
import { eventually, openDescriptors, startGateway, type RunningGateway } from '../helpers/gateway.js';

let backends: EchoBackend[];
let gw: RunningGateway;

before(async () => {
  backends = await Promise.all([startEchoBackend({ id: 'a' }), startEchoBackend({ id: 'b' })]);
  gw = await startGateway({ logLevel: 'warn', routes: [{ path: '/', backends: backends.map((b) => b.address) }] });
});

after(async () => {
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

/** Opens `concurrency` tunnels at a time, checks each echoes, then closes them all from one side. */
async function openAndClose(count: number, concurrency: number, closeFrom: 'client' | 'backend'): Promise<void> {
  for (let started = 0; started < count; started += concurrency) {
    const size = Math.min(concurrency, count - started);
    const clients = await Promise.all(
      Array.from({ length: size }, async () => {
        const { ws } = await openClient(`ws://${gw.host}/leak`);
        const reply = new Promise((resolve) => ws.once('message', resolve));
        ws.send('ping');
        await reply;
        return ws;
      }),
    );
    const allClosed = Promise.all(clients.map((ws) => closed(ws)));
    if (closeFrom === 'client') for (const ws of clients) ws.close();
    else for (const backend of backends) for (const peer of backend.wss.clients) peer.close(1001);
    const codes = await allClosed;
    assert.ok(codes.every((c) => c.code === (closeFrom === 'client' ? 1005 : 1001)), JSON.stringify(codes.slice(0, 3)));
  }
}

test('after 2,000 tunnels open and close, no tunnel and no descriptor is left', { timeout: 60_000 }, async () => {
  // Warm up once so lazily created descriptors (the async log stream, DNS, etc.) are counted in the baseline.
  await openAndClose(20, 10, 'client');
  assert.ok(await eventually(() => gw.gateway.activeTunnels === 0));
  const descriptorsBefore = openDescriptors();

  await openAndClose(1500, 50, 'client');
  await openAndClose(500, 50, 'backend');

  assert.ok(await eventually(() => gw.gateway.activeTunnels === 0), `active tunnels: ${gw.gateway.activeTunnels}`);
  assert.ok(
    await eventually(() => openDescriptors() <= descriptorsBefore),
    `descriptors: ${openDescriptors()} now, ${descriptorsBefore} before`,
  );
  // The backends see every connection end too (they may notice a moment after the gateway does).
  for (const backend of backends) assert.ok(await eventually(() => backend.wss.clients.size === 0), `backend still holds ${backend.wss.clients.size}`);
});
