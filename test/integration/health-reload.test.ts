/**
 * Issue 6 with hot reload: backend health survives reload(). A backend that
 * was down stays down and still comes back when it recovers; a cool-off keeps
 * its end; a check removed from the configuration no longer holds a backend out.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { validateConfig, type GatewayConfigInput } from '../../src/index.js';
import { closed, openClient } from '../helpers/clients.js';
import { eventually, startGateway, type RunningGateway } from '../helpers/gateway.js';

let live: EchoBackend;
let revived: EchoBackend | undefined;
let deadPort: number, ejectedPort: number;
let gw: RunningGateway;

function routes(withCheck: boolean): GatewayConfigInput['routes'] {
  return [
    {
      path: '/active',
      backends: [`127.0.0.1:${deadPort}`, live.address],
      ...(withCheck ? { healthCheck: { type: 'tcp' as const, interval: '100ms', rise: 2, fall: 3 } } : {}),
      passive: { failures: 0 },
    },
    { path: '/passive', backends: [`127.0.0.1:${ejectedPort}`, live.address], passive: { failures: 1, coolOff: '600ms' } },
  ];
}

function reload(withCheck: boolean): void {
  gw.gateway.reload(validateConfig({ listen: '127.0.0.1:0', logLevel: 'debug', routes: routes(withCheck) }));
}

function backend(route: string, port: number) {
  const found = gw.gateway.backends().find((r) => r.route === route)?.backends.find((b) => b.address === `127.0.0.1:${port}`);
  assert.ok(found !== undefined);
  return found;
}

before(async () => {
  live = await startEchoBackend({ id: 'live' });
  const gone = await Promise.all([startEchoBackend({ id: 'x' }), startEchoBackend({ id: 'y' })]);
  [deadPort, ejectedPort] = gone.map((g) => g.port) as [number, number];
  await Promise.all(gone.map((g) => g.close()));
  gw = await startGateway({ routes: routes(true) });
});

after(async () => {
  await gw.close();
  await live.close();
  await revived?.close();
});

test('a backend down before a reload stays down after it, and comes back when it recovers', { timeout: 20_000 }, async () => {
  assert.ok(await eventually(() => backend('/active', deadPort).healthy === false, 2000), 'the first check takes it out');
  reload(true);
  assert.equal(backend('/active', deadPort).healthy, false, 'still out right after the reload');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(backend('/active', deadPort).healthy, false, 'and after a few more failed checks');

  // It recovers, and a reload comes before its checks have noticed: the new checks must still bring it back
  // (a checker that started afresh would count it as up already and never put it back into rotation).
  revived = await startEchoBackend({ id: 'revived', port: deadPort });
  const restartedAt = Date.now();
  reload(true);
  assert.equal(backend('/active', deadPort).healthy, false);
  assert.ok(await eventually(() => backend('/active', deadPort).healthy, 2000), 'back once its checks pass');
  assert.ok(Date.now() - restartedAt < 100 * 2 + 400);
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 4; i++) {
    const { ws, backendId } = await openClient(`ws://${gw.host}/active/${i}`);
    seen.add(backendId);
    ws.close();
    await closed(ws);
  }
  assert.deepEqual([...seen].sort(), ['live', 'revived']);
});

test('a cool-off running at reload time ends when it was due, not later and not at once', { timeout: 20_000 }, async () => {
  const { ws } = await openClient(`ws://${gw.host}/passive/a`); // the dead one is tried first, fails, is ejected
  ws.close();
  await closed(ws);
  const target = backend('/passive', ejectedPort);
  assert.equal(target.healthy, false);
  const ejectedAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 200));
  reload(true);
  assert.equal(backend('/passive', ejectedPort).healthy, false, 'still ejected after the reload');
  assert.ok(await eventually(() => backend('/passive', ejectedPort).healthy, 2000));
  const outFor = Date.now() - ejectedAt;
  assert.ok(outFor >= 580 && outFor < 900, `out for ${outFor} ms of a 600 ms cool-off`);
});

test('removing the check by reload puts a backend it held out back at once', async () => {
  await revived?.close();
  revived = undefined;
  assert.ok(await eventually(() => backend('/active', deadPort).healthy === false, 2000));
  reload(false);
  assert.equal(backend('/active', deadPort).healthy, true);
  const back = gw.logs.filter((l) => l.msg === 'backend up' && l.reason === 'configuration reloaded');
  assert.equal(back.length, 1);
});
