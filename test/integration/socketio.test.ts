/**
 * Issue 4, the case that motivates it: Socket.IO 4 with its default
 * transports (HTTP long-polling, then an upgrade to WebSocket) across two
 * backend processes with no adapter. Every request of a session must reach
 * the process that created it, or that process answers
 * 400 {"code":1,"message":"Session ID unknown"}.
 *
 * - Plain round-robin: the control; it fails, which is why the feature exists.
 * - A sticky cookie, with clients that keep cookies: socket.io-client 4.8 in
 *   Node keeps them when `withCredentials: true` (engine.io-client 6.5+ has a
 *   cookie jar for its Node XHR and WebSocket transports; without the option
 *   it keeps none), so no hand-made Cookie header is needed.
 * - Session-id affinity, with clients that keep no cookies (the default): the
 *   backends mint session ids "<backend id>.<random>" (fixtures/socketio-backend.ts,
 *   the io.engine.generateId snippet from README) and wsgate routes on `sid`.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

const BACKEND_SCRIPT = fileURLToPath(new URL('../../fixtures/socketio-backend.js', import.meta.url));
const CLIENTS = 50;

interface BackendProcess {
  readonly id: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Engine.IO connection errors it reported, such as "Session ID unknown", with the scenario the request named. */
  readonly errors: Array<{ message: string; scenario: string | null }>;
}

function startBackend(id: string): Promise<BackendProcess> {
  const child = spawn(process.execPath, [BACKEND_SCRIPT, '--id', id], { stdio: ['ignore', 'pipe', 'inherit'] });
  const errors: BackendProcess['errors'] = [];
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`backend ${id} exited with ${code}`)));
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const event = JSON.parse(line) as { port?: number; event?: string; message?: string; scenario?: string | null };
      if (event.port !== undefined) resolve({ id, port: event.port, child, errors });
      else if (event.event === 'connection_error') errors.push({ message: event.message ?? '', scenario: event.scenario ?? null });
    });
  });
}

type Outcome = { ok: true; backend: string } | { ok: false; reason: string };

/** One client's whole life: connect (polling), upgrade to WebSocket, exchange messages with acks. */
function runClient(url: string, index: number, keepCookies: boolean, scenario: string): Promise<{ outcome: Outcome; socket: Socket }> {
  const socket = io(url, { forceNew: true, reconnection: false, timeout: 8000, withCredentials: keepCookies, query: { scenario } });
  const outcome = new Promise<Outcome>((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, reason: `timeout (connected: ${socket.connected}, transport: ${socket.io.engine?.transport?.name})` }), 10_000);
    const done = (result: Outcome): void => {
      clearTimeout(timer);
      resolve(result);
    };
    socket.once('connect_error', (error) => done({ ok: false, reason: `connect_error: ${error.message}` }));
    socket.once('disconnect', (reason) => done({ ok: false, reason: `disconnect: ${reason}` }));
    socket.once('connect', () => {
      const engine = socket.io.engine;
      const exchange = async (): Promise<void> => {
        const backends = new Set<string>();
        for (let i = 0; i < 3; i++) {
          const reply = (await socket.timeout(5000).emitWithAck('echo', `client ${index} message ${i}`)) as { backend: string; message: string; transport: string };
          if (reply.message !== `client ${index} message ${i}`) throw new Error(`wrong echo: ${JSON.stringify(reply)}`);
          if (reply.transport !== 'websocket') throw new Error(`still on ${reply.transport}`);
          backends.add(reply.backend);
        }
        if (backends.size !== 1) throw new Error(`answered by ${[...backends].join(', ')}`);
        done({ ok: true, backend: [...backends][0] as string });
      };
      const start = (): void => void exchange().catch((error: Error) => done({ ok: false, reason: error.message }));
      if (engine.transport.name === 'websocket') start();
      else engine.once('upgrade', start);
    });
  });
  return outcome.then((result) => ({ outcome: result, socket }));
}

async function runClients(gw: RunningGateway, keepCookies: boolean, scenario: string): Promise<Outcome[]> {
  const results = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => runClient(`http://${gw.host}`, i, keepCookies, scenario)));
  for (const { socket } of results) socket.disconnect();
  return results.map((result) => result.outcome);
}

function summary(outcomes: readonly Outcome[], backends: readonly BackendProcess[], scenario: string) {
  const passed = outcomes.filter((outcome) => outcome.ok);
  const sessionUnknown = backends.reduce(
    (sum, backend) => sum + backend.errors.filter((error) => error.scenario === scenario && error.message === 'Session ID unknown').length,
    0,
  );
  const reasons = [...new Set(outcomes.flatMap((outcome) => (outcome.ok ? [] : [outcome.reason])))];
  const perBackend: Record<string, number> = {};
  for (const outcome of passed) if (outcome.ok) perBackend[outcome.backend] = (perBackend[outcome.backend] ?? 0) + 1;
  return { passed: passed.length, failed: outcomes.length - passed.length, sessionUnknown, reasons, perBackend };
}

describe('Socket.IO (polling, then upgrade) across two backend processes', () => {
  let backends: BackendProcess[];
  let targets: string[];
  let runs = 0;

  before(async () => {
    backends = await Promise.all([startBackend('b1'), startBackend('b2')]);
    targets = backends.map((backend) => `${backend.id}@127.0.0.1:${backend.port}`);
  });

  after(async () => {
    for (const backend of backends) backend.child.kill('SIGTERM');
    await Promise.all(backends.map((backend) => new Promise((resolve) => (backend.child.exitCode !== null ? resolve(null) : backend.child.once('exit', resolve)))));
  });

  async function scenario(route: Record<string, unknown>, keepCookies: boolean) {
    const gw = await startGateway({ logLevel: 'warn', routes: [{ path: '/socket.io', backends: targets, ...route }] });
    // Each run tags its requests, so that a request still in flight from an earlier run is not counted here.
    const scenario = `run${++runs}`;
    try {
      const outcomes = await runClients(gw, keepCookies, scenario);
      // Errors arrive on the backends' stdout a moment after the client gave up.
      await new Promise((resolve) => setTimeout(resolve, 200));
      return summary(outcomes, backends, scenario);
    } finally {
      await gw.close();
    }
  }

  test('control: plain round-robin without stickiness fails with "Session ID unknown"', async (t) => {
    const result = await scenario({ balance: 'round-robin' }, false);
    t.diagnostic(`round-robin, no cookie: ${result.passed}/${CLIENTS} passed, ${result.failed} failed, ${result.sessionUnknown} "Session ID unknown" answers; ${result.reasons.slice(0, 3).join(' | ')}`);
    assert.ok(result.failed > 0, 'some clients fail without stickiness');
    assert.ok(result.sessionUnknown > 0, 'the backends saw requests for sessions they do not hold');
  });

  test('sticky cookie: 50 cookie-keeping clients connect, upgrade and exchange messages', async (t) => {
    const result = await scenario({ balance: 'round-robin', stickyCookie: 'WSGATE' }, true);
    t.diagnostic(`sticky cookie: ${result.passed}/${CLIENTS} passed, ${result.sessionUnknown} "Session ID unknown"; per backend ${JSON.stringify(result.perBackend)}`);
    assert.deepEqual(result.reasons, []);
    assert.equal(result.passed, CLIENTS);
    assert.equal(result.sessionUnknown, 0);
    assert.deepEqual(Object.keys(result.perBackend).sort(), ['b1', 'b2'], 'sessions are spread over both backends');
  });

  test('session-id affinity: 50 clients that keep no cookies connect, upgrade and exchange messages', async (t) => {
    const result = await scenario({ balance: 'round-robin', sessionAffinity: { param: 'sid', separator: '.' } }, false);
    t.diagnostic(`session-id affinity: ${result.passed}/${CLIENTS} passed, ${result.sessionUnknown} "Session ID unknown"; per backend ${JSON.stringify(result.perBackend)}`);
    assert.deepEqual(result.reasons, []);
    assert.equal(result.passed, CLIENTS);
    assert.equal(result.sessionUnknown, 0);
    assert.deepEqual(Object.keys(result.perBackend).sort(), ['b1', 'b2']);
  });

  test('control for the cookie test: the same clients without a cookie jar fail behind the sticky cookie alone', async (t) => {
    const result = await scenario({ balance: 'round-robin', stickyCookie: 'WSGATE' }, false);
    t.diagnostic(`sticky cookie, clients keeping no cookies: ${result.passed}/${CLIENTS} passed, ${result.sessionUnknown} "Session ID unknown"`);
    assert.ok(result.failed > 0 && result.sessionUnknown > 0);
  });
});
