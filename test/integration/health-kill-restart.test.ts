/**
 * Issue 6, "done when": a backend killed mid-run (a real SIGKILL to a real
 * child process) is ejected within the configured checks, traffic moves to the
 * others, and it comes back when restarted on the same port; tunnels to the
 * other backends keep working throughout.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type WebSocket from 'ws';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { startBackendProcess, type BackendProcess } from '../../fixtures/ws-backend-process.js';
import { closed, openClient } from '../helpers/clients.js';
import { eventually, startGateway, type LogLine, type RunningGateway } from '../helpers/gateway.js';

const INTERVAL = 200;
const RISE = 2;
const FALL = 3;
/** Timer and scheduling slack on a loaded CI machine. */
const SLACK = 400;

let a: EchoBackend, b: EchoBackend;
let c: BackendProcess;
let restarted: BackendProcess | undefined;
let gw: RunningGateway;

before(async () => {
  [a, b, c] = await Promise.all([startEchoBackend({ id: 'a' }), startEchoBackend({ id: 'b' }), startBackendProcess('c')]);
  gw = await startGateway({
    routes: [
      {
        path: '/',
        backends: [a.address, b.address, c.address],
        // A full WebSocket handshake every 200 ms; passive ejection off, so only the active checks decide here.
        healthCheck: { type: 'websocket', path: '/health', interval: INTERVAL, timeout: 150, rise: RISE, fall: FALL },
        passive: { failures: 0 },
      },
    ],
  });
});

after(async () => {
  await gw.close();
  await Promise.all([a.close(), b.close()]);
  for (const proc of [c, restarted]) {
    if (proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  }
});

function echo(ws: WebSocket, text: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no echo of ${text} within ${timeoutMs} ms`)), timeoutMs);
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve(data.toString());
    });
    ws.send(text);
  });
}

interface Attempt {
  readonly at: number;
  readonly backend?: string;
  readonly error?: string;
}

/** Opens and closes one client after another (every ~25 ms) until stopped; bounded in count and time. */
function keepConnecting(url: string, maxCount = 800, maxMs = 20_000): { attempts: Attempt[]; stop(): Promise<void> } {
  const attempts: Attempt[] = [];
  let stopped = false;
  const started = Date.now();
  const loop = (async () => {
    for (let i = 0; i < maxCount && !stopped && Date.now() - started < maxMs; i++) {
      const at = Date.now();
      try {
        const { ws, backendId } = await openClient(`${url}/${i}`);
        attempts.push({ at, backend: backendId ?? 'unknown' });
        ws.close();
        await closed(ws);
      } catch (error) {
        attempts.push({ at, error: (error as Error).message });
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  return {
    attempts,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

function stateLine(logs: readonly LogLine[], msg: string, backend: string, after: number): LogLine | undefined {
  return logs.find((l) => l.msg === msg && l.backend === backend && (l.time as number) >= after);
}

test('a SIGKILLed backend is ejected within interval x fall, traffic moves to the others, and it returns within interval x rise of a restart', { timeout: 60_000 }, async (t) => {
  const url = `ws://${gw.host}/kill`;
  // Let every backend pass a check first: c is then fully up, so it takes `fall` failures to go down.
  assert.ok(await eventually(() => gw.gateway.backends()[0]?.backends[2]?.check?.lastResult?.ok === true, 3000));

  // Long-lived tunnels, two per backend (round-robin over three).
  const existing: Array<{ ws: WebSocket; backendId: string | undefined }> = [];
  for (let i = 0; i < 6; i++) existing.push(await openClient(`${url}/long/${i}`));
  assert.deepEqual(existing.map((e) => e.backendId).sort(), ['a', 'a', 'b', 'b', 'c', 'c']);
  const survivors = existing.filter((e) => e.backendId !== 'c');
  const onC = existing.filter((e) => e.backendId === 'c');

  const load = keepConnecting(url);
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(load.attempts.some((x) => x.backend === 'c'), 'c takes its share before the kill');

    // SIGKILL: no goodbye, the kernel resets c's connections.
    const killedAt = Date.now();
    c.child.kill('SIGKILL');
    await c.exited;
    await Promise.all(onC.map((e) => closed(e.ws)));

    assert.ok(await eventually(() => stateLine(gw.logs, 'backend down', c.address, killedAt) !== undefined, INTERVAL * FALL + 3000));
    const down = stateLine(gw.logs, 'backend down', c.address, killedAt) as LogLine;
    const ejectedAfter = (down.time as number) - killedAt;
    t.diagnostic(`ejected ${ejectedAfter} ms after SIGKILL (interval ${INTERVAL} ms x fall ${FALL} = ${INTERVAL * FALL} ms)`);
    assert.ok(ejectedAfter <= INTERVAL * FALL + SLACK, `ejected after ${ejectedAfter} ms`);
    assert.equal(down.reason, 'health check');
    assert.match(String(down.detail), /^websocket check failed: ECONNREFUSED/);

    // Tunnels to the other backends never noticed.
    for (const [i, e] of survivors.entries()) assert.equal(await echo(e.ws, `during ${i}`), `during ${i}`);

    // Traffic keeps flowing while c is down; then c is restarted on the same port.
    await new Promise((resolve) => setTimeout(resolve, 800));
    restarted = await startBackendProcess('c', c.port);
    const restartedAt = Date.now();
    assert.ok(await eventually(() => stateLine(gw.logs, 'backend up', c.address, restartedAt) !== undefined, INTERVAL * RISE + 3000));
    const up = stateLine(gw.logs, 'backend up', c.address, restartedAt) as LogLine;
    const recoveredAfter = (up.time as number) - restartedAt;
    t.diagnostic(`back ${recoveredAfter} ms after the restart (interval ${INTERVAL} ms x rise ${RISE} = ${INTERVAL * RISE} ms)`);
    assert.ok(recoveredAfter <= INTERVAL * RISE + SLACK, `back after ${recoveredAfter} ms`);
    assert.equal(up.reason, 'health check');

    // New connections reach c again.
    const upAt = up.time as number;
    assert.ok(await eventually(() => load.attempts.some((x) => x.at > upAt && x.backend === 'c'), 3000), 'c takes traffic again');
  } finally {
    await load.stop();
  }

  const downAt = stateLine(gw.logs, 'backend down', c.address, 0)?.time as number;
  const upAt = stateLine(gw.logs, 'backend up', c.address, 0)?.time as number;
  const failures = load.attempts.filter((x) => x.error !== undefined);
  assert.deepEqual(failures, [], 'every client got through: retries hid the dead backend until it was ejected');
  const whileDown = load.attempts.filter((x) => x.at > downAt && x.at < upAt);
  t.diagnostic(`${load.attempts.length} clients in all, ${whileDown.length} while c was out of rotation`);
  assert.ok(whileDown.length >= 10);
  assert.deepEqual([...new Set(whileDown.map((x) => x.backend))].sort(), ['a', 'b'], 'while c is out, new connections go to a and b only');
  // Once c was out, nothing tried it: no connect attempts, no skips.
  const skipsWhileDown = gw.logs.filter((l) => l.msg === 'backend skipped' && l.backend === c.address && (l.time as number) > downAt + 50);
  assert.deepEqual(skipsWhileDown, []);

  for (const [i, e] of survivors.entries()) {
    assert.equal(await echo(e.ws, `after ${i}`), `after ${i}`, 'tunnels to the other backends kept working throughout');
    e.ws.close();
    await closed(e.ws);
  }
});
