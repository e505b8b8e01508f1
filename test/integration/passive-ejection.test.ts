/**
 * Issue 6, passive health: consecutive connect failures or invalid handshake
 * responses eject a backend for a cool-off without waiting for an active
 * check (none is configured here), and it is not tried again until the
 * cool-off ends.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, openClient } from '../helpers/clients.js';
import { eventually, startGateway, type LogLine, type RunningGateway } from '../helpers/gateway.js';

const COOL_OFF = 800;

async function connectOnce(url: string): Promise<string | undefined> {
  const { ws, backendId } = await openClient(url);
  ws.close();
  await closed(ws);
  return backendId;
}

function lines(logs: readonly LogLine[], msg: string, backend: string): LogLine[] {
  return logs.filter((l) => l.msg === msg && l.backend === backend);
}

describe('passive ejection', () => {
  let live: EchoBackend;
  let flaky: EchoBackend | undefined;
  let flakyPort: number;
  let plainDeadPort: number;
  let garbage: Server;
  let garbageAddress: string;
  let garbageConnections = 0;
  const garbageSockets = new Set<Socket>();
  let gw: RunningGateway;

  before(async () => {
    live = await startEchoBackend({ id: 'live' });
    // Backends that listened once and are now gone: their ports refuse connections.
    const gone = await startEchoBackend({ id: 'flaky' });
    flakyPort = gone.port;
    await gone.close();
    const gone2 = await startEchoBackend({ id: 'plain-dead' });
    plainDeadPort = gone2.port;
    await gone2.close();
    garbage = createServer((socket) => {
      garbageConnections++;
      garbageSockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => garbageSockets.delete(socket));
      socket.once('data', () => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    garbageAddress = `127.0.0.1:${(garbage.address() as AddressInfo).port}`;
    gw = await startGateway({
      routes: [
        { path: '/p', backends: [`127.0.0.1:${flakyPort}`, live.address], passive: { failures: 2, coolOff: COOL_OFF } },
        { path: '/plain', backends: [`127.0.0.1:${plainDeadPort}`, live.address], passive: { failures: 2, coolOff: '10s' } },
        { path: '/garbage', backends: [garbageAddress, live.address], passive: { failures: 2, coolOff: '10s' } },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await live.close();
    await flaky?.close();
    for (const socket of garbageSockets) socket.destroy();
    await new Promise((resolve) => garbage.close(resolve));
  });

  test('connect failures eject at once, the cool-off is respected, one failure on probation ejects again, and a revived backend returns', { timeout: 30_000 }, async (t) => {
    const url = `ws://${gw.host}/p`;
    const flakyAddress = `127.0.0.1:${flakyPort}`;
    const skips = (): number => lines(gw.logs, 'backend skipped', flakyAddress).length;

    // Round-robin alternates; the dead one fails twice (each retried on "live", invisibly) and is ejected.
    const firstRound: Array<string | undefined> = [];
    for (let i = 0; i < 10; i++) firstRound.push(await connectOnce(`${url}/${i}`));
    assert.deepEqual(new Set(firstRound), new Set(['live']), 'every client got through');
    assert.equal(skips(), 2, 'tried exactly `failures` times');
    const down = lines(gw.logs, 'backend down', flakyAddress);
    assert.equal(down.length, 1);
    assert.equal(down[0]?.reason, 'passive');
    assert.match(String(down[0]?.detail), /2 consecutive failures, last: connect failed: ECONNREFUSED/);
    const ejectedAt = down[0]?.time as number;

    // During the cool-off it is not tried at all.
    const deadline = ejectedAt + COOL_OFF - 150;
    let during = 0;
    while (Date.now() < deadline && during < 200) {
      assert.equal(await connectOnce(`${url}/cool/${during}`), 'live');
      during++;
    }
    assert.ok(during >= 5, `${during} clients during the cool-off`);
    assert.equal(skips(), 2, 'no attempt on the ejected backend during its cool-off');

    // The cool-off ends on time.
    assert.ok(await eventually(() => lines(gw.logs, 'backend up', flakyAddress).length === 1, COOL_OFF + 2000));
    const back = lines(gw.logs, 'backend up', flakyAddress)[0] as LogLine;
    const outFor = (back.time as number) - ejectedAt;
    t.diagnostic(`out of rotation for ${outFor} ms (cool-off ${COOL_OFF} ms), ${during} clients meanwhile`);
    assert.ok(outFor >= COOL_OFF - 5 && outFor < COOL_OFF + 300, `out for ${outFor} ms`);
    assert.equal(back.reason, 'cool-off ended');

    // On probation: the next try fails once and ejects it again at once.
    for (let i = 0; i < 4; i++) assert.equal(await connectOnce(`${url}/probation/${i}`), 'live');
    assert.equal(skips(), 3, 'tried once after the cool-off');
    assert.equal(lines(gw.logs, 'backend down', flakyAddress).length, 2);

    // Revived on the same port: after this cool-off it is tried, succeeds, and stays.
    flaky = await startEchoBackend({ id: 'flaky', port: flakyPort });
    assert.ok(await eventually(() => lines(gw.logs, 'backend up', flakyAddress).length === 2, COOL_OFF + 2000));
    const reached = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      const id = (await connectOnce(`${url}/revived/${i}`)) ?? 'none';
      reached.set(id, (reached.get(id) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(reached), { flaky: 5, live: 5 });
    assert.equal(skips(), 3);
  });

  test('plain HTTP failures count too, and the ejection applies to upgrades on the same route', async () => {
    const deadAddress = `127.0.0.1:${plainDeadPort}`;
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`http://${gw.host}/plain/${i}`);
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { backend: string }).backend, 'live');
    }
    assert.equal(lines(gw.logs, 'backend skipped', deadAddress).length, 2);
    assert.equal(lines(gw.logs, 'backend down', deadAddress).length, 1);
    for (let i = 0; i < 4; i++) assert.equal(await connectOnce(`ws://${gw.host}/plain/ws/${i}`), 'live');
    assert.equal(lines(gw.logs, 'backend skipped', deadAddress).length, 2, 'upgrades do not try it either');
  });

  test('invalid handshake responses eject too: the bad backend stops getting connections', async () => {
    const results: number[] = [];
    for (let i = 0; i < 4; i++) {
      try {
        await connectOnce(`ws://${gw.host}/garbage/${i}`);
        results.push(101);
      } catch {
        results.push(502);
      }
    }
    // Answers that are not HTTP are not retried (the request was sent): those clients got 502.
    assert.deepEqual(results, [502, 101, 502, 101]);
    const down = lines(gw.logs, 'backend down', garbageAddress);
    assert.equal(down.length, 1);
    assert.match(String(down[0]?.detail), /invalid response: invalid status line/);
    const connectionsAtEjection = garbageConnections;
    for (let i = 0; i < 8; i++) assert.equal(await connectOnce(`ws://${gw.host}/garbage/after/${i}`), 'live');
    assert.equal(garbageConnections, connectionsAtEjection, 'no connection reached the ejected backend');
  });
});
