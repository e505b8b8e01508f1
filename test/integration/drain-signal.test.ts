import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type WebSocket from 'ws';
import { closed, expectRefusal, openClient } from '../helpers/clients.js';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { eventually } from '../helpers/gateway.js';
import { isWhole, sealedMessage, startRecordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';

// Issue 6, done when: 200 tunnels open during SIGTERM all keep exchanging
// messages until the drain timeout, then every client receives close code 1001
// and every message it received is whole; the process exits 0. Real signals to
// a real child process (the CLI), real ws clients and a real ws backend, which
// fails any connection that sends it an unmasked frame: a 1001 recorded there
// proves wsgate's Close to it was masked.

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let backend: RecordingBackend;
before(async () => {
  // Echoes come back as fragmented messages (three frames, 10 ms apart): at the drain timeout many
  // messages are open on the wire, and each Close must wait for its message boundary.
  backend = await startRecordingBackend({ echoFragments: 3, fragmentGapMs: 10 });
});
after(async () => backend.close());

interface LogLine {
  msg: string;
  pid?: number;
  port?: number;
  reason?: string;
  closedBy?: string;
}

function logLines(cli: CliProcess): LogLine[] {
  return cli.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

async function startCli(args: string[]): Promise<{ cli: CliProcess; port: number }> {
  const cli = runCli(['--listen', '127.0.0.1:0', '--route', `/=${backend.address}`, ...args]);
  const [, port] = await cli.waitFor(/"port":(\d+)/);
  return { cli, port: Number(port) };
}

/** Opens `count` clients, `concurrency` at a time. */
async function openMany(url: string, count: number, concurrency = 50): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i += concurrency) {
    const batch = await Promise.all(Array.from({ length: Math.min(concurrency, count - i) }, (_, j) => openClient(`${url}/${i + j}`)));
    sockets.push(...batch.map((client) => client.ws));
  }
  return sockets;
}

interface Talker {
  readonly ws: WebSocket;
  /** Times (ms) at which echoes arrived. */
  readonly echoes: number[];
  broken: number;
  errors: string[];
  readonly closedAt: Promise<{ code: number; at: number }>;
}

/** Sends sealed messages one after another (next after each echo, with a pause), checking each echo. */
function talk(ws: WebSocket, pauseMs: number, sizeFor: (n: number) => number): Talker {
  const talker: Talker = {
    ws,
    echoes: [],
    broken: 0,
    errors: [],
    closedAt: closed(ws).then(({ code }) => ({ code, at: Date.now() })),
  };
  let sent = 0;
  const sendNext = (): void => {
    if (ws.readyState === ws.OPEN) ws.send(sealedMessage(sizeFor(sent++)));
  };
  ws.on('message', (data: Buffer) => {
    talker.echoes.push(Date.now());
    if (!isWhole(data)) talker.broken++;
    setTimeout(sendNext, pauseMs);
  });
  ws.on('error', (error) => talker.errors.push(error.message));
  sendNext();
  return talker;
}

test('SIGTERM with 200 tunnels: 503 to newcomers, messages flow until --drain-timeout, then 1001 everywhere, whole messages, exit 0', { timeout: 60_000 }, async () => {
  const DRAIN_MS = 2000;
  const { cli, port } = await startCli(['--drain-timeout', '2s']);
  const sockets = await openMany(`ws://127.0.0.1:${port}`, 200);
  // Most clients chat (small messages, 100 ms apart); every tenth streams large ones back to back, so
  // that at the drain timeout many frames and messages are under way in both directions.
  const talkers = sockets.map((ws, i) =>
    i % 10 === 0
      ? talk(ws, 0, (n) => 100_000 + ((i * 7919 + n * 104_729) % 300_000))
      : talk(ws, 100, (n) => 200 + ((i * 7919 + n * 104_729) % 30_000)),
  );
  await sleep(500);
  assert.ok(talkers.every((t) => t.echoes.length > 0), 'every tunnel exchanges messages before the signal');
  const connectionsBefore = backend.connections;
  const closesBefore = backend.closeCodes.length;

  const signalledAt = Date.now();
  cli.child.kill('SIGTERM');
  await cli.waitFor(/"msg":"draining"/);

  // A client reconnecting now gets 503 from this process and never reaches a backend through it.
  const reconnect = await expectRefusal(`ws://127.0.0.1:${port}/reconnect`);
  assert.equal(reconnect.status, 503);
  assert.equal(reconnect.headers['x-wsgate-error'], 'ERR_GATEWAY_DRAINING');
  assert.equal(reconnect.headers.connection, 'close');
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(health.status, 503);
  await health.text();

  const closes = await Promise.all(talkers.map((t) => t.closedAt));
  const exitCode = await cli.exited;
  assert.equal(exitCode, 0);
  assert.equal(backend.connections, connectionsBefore, 'no new connection reached the backend during the drain');

  for (const [i, t] of talkers.entries()) {
    const { code, at } = closes[i] as { code: number; at: number };
    assert.equal(code, 1001, `client ${i} got 1001`);
    assert.ok(at - signalledAt >= DRAIN_MS - 50, `client ${i} was closed after the drain timeout (${at - signalledAt} ms)`);
    assert.ok(t.echoes.some((when) => when - signalledAt > DRAIN_MS - 700), `client ${i} still exchanged messages late in the drain`);
    assert.equal(t.broken, 0, `every message client ${i} received is whole`);
    assert.deepEqual(t.errors, [], `client ${i} saw no protocol error`);
  }
  const last = Math.max(...closes.map((c) => c.at));
  assert.ok(last - signalledAt < DRAIN_MS + 2000, `all closed ${last - signalledAt} ms after the signal`);

  // The backend side: every tunnel's backend connection got a (masked) 1001. The backend runs in this
  // process, and under load its close events may come a moment after the clients' and the exit.
  await eventually(() => backend.closeCodes.length - closesBefore >= 200, 5000);
  const backendCloses = backend.closeCodes.slice(closesBefore);
  assert.equal(backendCloses.length, 200);
  assert.ok(backendCloses.every((code) => code === 1001), `backend close codes: ${[...new Set(backendCloses)].join(', ')}`);
  assert.deepEqual(backend.errors, []);

  const tunnelLines = logLines(cli).filter((line) => line.msg === 'tunnel closed');
  assert.equal(tunnelLines.length, 200);
  assert.ok(tunnelLines.every((line) => line.reason === 'drain' && line.closedBy === 'gateway'));
});

test('--close-spread spreads the closes evenly over its window', { timeout: 30_000 }, async () => {
  const COUNT = 40;
  const SPREAD_MS = 2000;
  const { cli, port } = await startCli(['--drain-timeout', '200ms', '--close-spread', '2s']);
  const sockets = await openMany(`ws://127.0.0.1:${port}`, COUNT);
  const closes = sockets.map((ws) => closed(ws).then(({ code }) => ({ code, at: Date.now() })));
  cli.child.kill('SIGTERM');
  const results = await Promise.all(closes);
  assert.equal(await cli.exited, 0);
  assert.ok(results.every((r) => r.code === 1001));
  const times = results.map((r) => r.at).sort((a, b) => a - b);
  const first = times[0] as number;
  const spread = (times.at(-1) as number) - first;
  assert.ok(spread >= SPREAD_MS * 0.85 && spread <= SPREAD_MS * 1.25, `closes spread over ${spread} ms`);
  // Evenly: each quarter of the window holds about a quarter of the closes.
  const quarters = [0, 0, 0, 0];
  for (const at of times) quarters[Math.min(3, Math.floor(((at - first) / SPREAD_MS) * 4))]! += 1;
  assert.ok(quarters.every((n) => n >= COUNT / 4 - 4 && n <= COUNT / 4 + 4), `closes per quarter: ${quarters.join(', ')}`);
});

test('a second signal exits at once (code 1) without waiting for the drain; SIGINT drains like SIGTERM', { timeout: 30_000 }, async () => {
  const { cli, port } = await startCli(['--drain-timeout', '30s']);
  const [ws] = await openMany(`ws://127.0.0.1:${port}`, 1);
  cli.child.kill('SIGINT');
  await cli.waitFor(/"msg":"draining"/);
  await sleep(200);
  assert.equal(ws?.readyState, ws?.OPEN, 'the tunnel stays open during the drain');
  const secondAt = Date.now();
  cli.child.kill('SIGTERM');
  assert.equal(await cli.exited, 1);
  assert.ok(Date.now() - secondAt < 1500, `exited ${Date.now() - secondAt} ms after the second signal`);
  assert.ok(logLines(cli).some((line) => line.msg === 'second signal: exiting without waiting for the drain'));
  ws?.terminate();
});

test('--workers 2: SIGTERM to the primary drains every worker, then the primary exits 0', { timeout: 60_000 }, async () => {
  const cli = runCli(['--listen', '127.0.0.1:0', '--workers', '2', '--route', `/=${backend.address}`, '--drain-timeout', '1s']);
  const deadline = Date.now() + 15_000;
  while (logLines(cli).filter((line) => line.msg === 'listening').length < 2) {
    if (Date.now() > deadline) throw new Error(`workers did not start: ${cli.stdout}${cli.stderr}`);
    await sleep(25);
  }
  const port = logLines(cli).find((line) => line.msg === 'listening')?.port;
  const sockets = await openMany(`ws://127.0.0.1:${port}`, 30, 10);
  const talkers = sockets.map((ws) => talk(ws, 100, () => 1000));
  await sleep(300);
  const signalledAt = Date.now();
  cli.child.kill('SIGTERM');
  const closes = await Promise.all(talkers.map((t) => t.closedAt));
  assert.equal(await cli.exited, 0);
  for (const [i, t] of talkers.entries()) {
    assert.equal(closes[i]?.code, 1001);
    assert.ok((closes[i]?.at ?? 0) - signalledAt >= 950, 'closed after the drain timeout, not at the signal');
    assert.ok(t.echoes.some((when) => when > signalledAt + 500), `client ${i} exchanged messages during the drain`);
    assert.equal(t.broken, 0);
  }
  const lines = logLines(cli);
  const drainingPids = new Set(lines.filter((line) => line.msg === 'draining').map((line) => line.pid));
  assert.equal(drainingPids.size, 2, 'both workers drained');
  assert.ok(!lines.some((line) => line.msg === 'worker died; starting a replacement'));
});

test('--workers 2: a second signal to the primary ends the drain at once, exit 1', { timeout: 30_000 }, async () => {
  const cli = runCli(['--listen', '127.0.0.1:0', '--workers', '2', '--route', `/=${backend.address}`, '--drain-timeout', '30s']);
  const deadline = Date.now() + 15_000;
  while (logLines(cli).filter((line) => line.msg === 'listening').length < 2) {
    if (Date.now() > deadline) throw new Error(`workers did not start: ${cli.stdout}${cli.stderr}`);
    await sleep(25);
  }
  const port = logLines(cli).find((line) => line.msg === 'listening')?.port;
  const [ws] = await openMany(`ws://127.0.0.1:${port}`, 1);
  cli.child.kill('SIGTERM');
  while (logLines(cli).filter((line) => line.msg === 'draining').length < 2) {
    if (Date.now() > deadline) throw new Error(`workers did not drain: ${cli.stdout}${cli.stderr}`);
    await sleep(25);
  }
  const secondAt = Date.now();
  cli.child.kill('SIGTERM');
  assert.equal(await cli.exited, 1);
  assert.ok(Date.now() - secondAt < 2000, `exited ${Date.now() - secondAt} ms after the second signal`);
  ws?.terminate();
});
