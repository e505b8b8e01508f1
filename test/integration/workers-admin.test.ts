/**
 * Issue 12, "workers act as one gateway": with --workers 2 the primary serves
 * the admin API, runs the health checks once for the whole gateway, and adds
 * up the workers' tunnels, figures and metrics; its actions and health
 * decisions apply in every worker. Real processes (the CLI), real backends.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type WebSocket from 'ws';
import { pino } from 'pino';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import type { WorkerPort } from '../../src/cluster/fan-out.js';
import { parsePrimaryMessage, parseWorkerMessage, type WorkerMessage } from '../../src/cluster/messages.js';
import { PrimaryGateway } from '../../src/cluster/primary-gateway.js';
import { WorkerLink } from '../../src/cluster/worker-link.js';
import { validateConfig } from '../../src/index.js';
import { channels } from '../../src/observability/events.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { RouteTable } from '../../src/routing/route-table.js';
import type { Backend } from '../../src/upstream/backend.js';
import { deriveBackendId } from '../../src/upstream/backend-id.js';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { closed, expectRefusal, openClient } from '../helpers/clients.js';
import { figure, parsePrometheusText, type PrometheusText } from '../helpers/prometheus-text.js';
import { rawRequest } from '../helpers/raw-http.js';
import { tempDir } from '../helpers/temp-dir.js';

interface LogLine {
  msg: string;
  pid: number;
  port?: number;
  backendId?: string;
  backend?: string;
  route?: string;
  [key: string]: unknown;
}

interface BackendView {
  id: string;
  weight: number;
  healthy: boolean;
  draining: boolean;
  activeTunnels: number;
  check: { status: string } | null;
}

function logLines(cli: CliProcess): LogLine[] {
  return cli.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

function linesWith(cli: CliProcess, msg: string): LogLine[] {
  return logLines(cli).filter((line) => line.msg === msg);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded) until `count` lines with `msg` are out: log lines are written in batches every 250 ms. */
async function untilLines(cli: CliProcess, msg: string, count: number, timeoutMs = 10_000): Promise<LogLine[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = linesWith(cli, msg);
    if (lines.length >= count) return lines;
    if (Date.now() > deadline) throw new Error(`${count} "${msg}" lines expected, ${lines.length} came; log:\n${cli.stdout}\n${cli.stderr}`);
    await sleep(25);
  }
}

async function request(port: number, method: string, path: string, body?: string): Promise<{ status: number; body: unknown; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (metrics): keep the text.
  }
  return { status: response.status, body: parsed, text };
}

async function backendsView(adminPort: number): Promise<BackendView[]> {
  const reply = await request(adminPort, 'GET', '/backends');
  assert.equal(reply.status, 200);
  return (reply.body as { routes: Array<{ backends: BackendView[] }> }).routes.flatMap((route) => route.backends);
}

async function scrape(adminPort: number): Promise<PrometheusText> {
  const reply = await request(adminPort, 'GET', '/metrics');
  assert.equal(reply.status, 200, reply.text);
  return parsePrometheusText(reply.text);
}

/** The samples of one metric, as [labels, value]. */
function samplesOf(metrics: PrometheusText, name: string): Array<[Record<string, string>, number]> {
  return metrics.samples.filter((sample) => sample.name === name).map((sample) => [{ ...sample.labels }, sample.value]);
}

/** Started CLI: the public and admin ports, the primary's and the workers' pids. */
interface Started {
  readonly cli: CliProcess;
  readonly port: number;
  readonly adminPort: number;
  readonly primaryPid: number;
  readonly workerPids: ReadonlySet<number>;
}

async function startCli(args: string[]): Promise<Started> {
  const cli = runCli(['--listen', '127.0.0.1:0', '--workers', '2', '--admin', '127.0.0.1:0', ...args]);
  const listening = await untilLines(cli, 'listening', 2, 15_000);
  const [admin] = await untilLines(cli, 'admin listening', 1);
  assert.ok(admin !== undefined && admin.port !== undefined);
  const port = listening[0]?.port;
  assert.ok(port !== undefined);
  const workerPids = new Set(listening.map((line) => line.pid));
  assert.equal(workerPids.size, 2);
  assert.ok(!workerPids.has(admin.pid), 'the primary serves the admin API, not a worker');
  return { cli, port, adminPort: admin.port, primaryPid: admin.pid, workerPids };
}

async function stopCli(started: Started | undefined): Promise<void> {
  if (started === undefined || started.cli.child.exitCode !== null) return;
  started.cli.child.kill('SIGKILL');
  await started.cli.exited;
}

/**
 * Opens tunnels one at a time, `batch` at a go, until the tunnels opened so
 * far (their "tunnel opened" debug lines) came from every pid of `pids`, at
 * most `rounds` batches: which worker accepts a connection is the kernel's
 * choice. Returns the open clients and the tunnels' log lines.
 */
async function openAcross(started: Started, path: string, pids: ReadonlySet<number>, batch = 6, rounds = 8): Promise<{ clients: Array<{ ws: WebSocket; backendId: string | undefined }>; lines: LogLine[] }> {
  const before = linesWith(started.cli, 'tunnel opened').length;
  const clients: Array<{ ws: WebSocket; backendId: string | undefined }> = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < batch; i++) clients.push(await openClient(`ws://127.0.0.1:${started.port}${path}/${round}-${i}`));
    const lines = (await untilLines(started.cli, 'tunnel opened', before + clients.length)).slice(before);
    const seen = new Set(lines.map((line) => line.pid));
    if ([...pids].every((pid) => seen.has(pid))) return { clients, lines };
  }
  throw new Error(`after ${clients.length} tunnels, not every worker of ${[...pids].join(', ')} had accepted one`);
}

async function closeAll(clients: ReadonlyArray<{ ws: WebSocket }>): Promise<void> {
  for (const { ws } of clients) ws.close(1000);
  await Promise.all(clients.map(({ ws }) => closed(ws)));
}

describe('--workers 2 --admin: the workers act as one gateway', () => {
  let a: EchoBackend, b: EchoBackend;
  let idA: string, idB: string;
  let started: Started;
  /** When each backend's health-check connections arrived (User-Agent wsgate-health-check). */
  const checks = new Map<string, number[]>([
    ['a', []],
    ['b', []],
  ]);

  before(async () => {
    [a, b] = await Promise.all([startEchoBackend({ id: 'a' }), startEchoBackend({ id: 'b' })]);
    idA = deriveBackendId('127.0.0.1', a.port);
    idB = deriveBackendId('127.0.0.1', b.port);
    for (const backend of [a, b]) {
      backend.wss.on('connection', (_socket, req) => {
        if (req.headers['user-agent'] === 'wsgate-health-check') checks.get(backend.id)?.push(Date.now());
      });
    }
    started = await startCli([
      '--route', `/=${a.address},${b.address}`,
      '--health-check', 'websocket',
      '--health-interval', '200ms',
      // Debug: the "tunnel opened" lines say which worker took each tunnel.
      '--log-level', 'debug',
    ]);
  });

  after(async () => {
    await stopCli(started);
    await Promise.all([a.close(), b.close()]);
  });

  test('health checks run once per backend per interval for the whole gateway, in the primary', async () => {
    await sleep(500);
    const from = Date.now();
    await sleep(2000);
    const to = Date.now();
    for (const id of ['a', 'b']) {
      const count = (checks.get(id) ?? []).filter((at) => at >= from && at < to).length;
      // One prober: about 10 in 2 s at 200 ms. Every worker probing would make about 20 (three processes, 30).
      assert.ok(count >= 7 && count <= 13, `backend ${id} got ${count} checks in ${to - from} ms`);
    }
    const m = await scrape(started.adminPort);
    assert.ok(figure(m, 'wsgate_health_checks_total', { backend: idA, result: 'pass' }) >= 10, 'the primary counts its checks');
    assert.equal(figure(m, 'wsgate_health_checks_total', { result: 'fail' }), 0);
  });

  test('tunnels on both workers: /backends, /metrics and /stats add them up', async () => {
    // The first tunnels of this gateway.
    const { clients, lines } = await openAcross(started, '/spread', started.workerPids);
    const opened = clients.length;
    assert.ok(clients.length >= 6);
    const onA = clients.filter((client) => client.backendId === 'a').length;
    const onB = clients.filter((client) => client.backendId === 'b').length;
    assert.equal(onA + onB, clients.length);
    assert.deepEqual(new Set(lines.map((line) => line.pid)), started.workerPids);

    const views = await backendsView(started.adminPort);
    assert.deepEqual(
      views.map((view) => [view.id, view.activeTunnels, view.healthy, view.draining, view.check?.status]),
      [
        [idA, onA, true, false, 'up'],
        [idB, onB, true, false, 'up'],
      ],
    );

    const text = (await request(started.adminPort, 'GET', '/metrics')).text;
    const m = parsePrometheusText(text);
    assert.equal(figure(m, 'wsgate_tunnels_opened_total'), opened);
    assert.equal(figure(m, 'wsgate_tunnels_opened_total', { backend: idA }), onA);
    assert.equal(figure(m, 'wsgate_tunnels_active'), clients.length);
    assert.equal(figure(m, 'wsgate_handshake_duration_seconds'), opened);
    // Shared state is not summed: one sample per backend, 1 (not 2).
    assert.deepEqual(samplesOf(m, 'wsgate_backend_up'), [
      [{ route: '/', backend: idA }, 1],
      [{ route: '/', backend: idB }, 1],
    ]);
    assert.deepEqual(samplesOf(m, 'wsgate_backend_weight').map(([, value]) => value), [1, 1]);
    assert.equal(figure(m, 'wsgate_draining'), 0);
    assert.equal(figure(m, 'wsgate_build_info'), 1);
    assert.ok(m.types.has('nodejs_eventloop_lag_seconds'));
    // Every family once (Prometheus refuses a second TYPE line), wsgate_health_checks_total included (the primary's).
    const typeLines = text.split('\n').filter((line) => line.startsWith('# TYPE '));
    assert.equal(new Set(typeLines).size, typeLines.length);
    assert.ok(typeLines.includes('# TYPE wsgate_health_checks_total counter'));

    const stats = (await request(started.adminPort, 'GET', '/stats')).body as { now: { tunnelsActive: number; handshakesTotal: number } };
    assert.equal(stats.now.tunnelsActive, clients.length);
    assert.equal(stats.now.handshakesTotal, opened);

    await closeAll(clients);
    await untilLines(started.cli, 'tunnel closed', opened);
    assert.deepEqual((await backendsView(started.adminPort)).map((view) => view.activeTunnels), [0, 0]);
  });

  test('drain through the primary once: no worker sends new tunnels there, nor a replacement worker; undrain', async () => {
    const drained = await request(started.adminPort, 'POST', `/backends/${idA}/drain`);
    assert.equal(drained.status, 200);
    assert.deepEqual(
      (drained.body as { backends: Array<BackendView & { route: string }> }).backends.map((view) => [view.route, view.id, view.draining]),
      [['/', idA, true]],
    );
    const { clients, lines } = await openAcross(started, '/drained', started.workerPids);
    assert.deepEqual(new Set(clients.map((client) => client.backendId)), new Set(['b']), 'every new tunnel avoids the drained backend');
    assert.deepEqual(new Set(lines.map((line) => line.backendId)), new Set([idB]));
    await closeAll(clients);
    const m = await scrape(started.adminPort);
    assert.equal(figure(m, 'wsgate_backend_draining', { backend: idA }), 1);
    assert.equal(figure(m, 'wsgate_backend_draining', { backend: idB }), 0);
    const draining = linesWith(started.cli, 'backend draining');
    assert.equal(draining.length, 1, 'logged once');
    assert.equal(draining[0]?.pid, started.primaryPid);

    // A replacement worker gets the drain from the primary before it listens.
    const victim = [...started.workerPids][0] as number;
    process.kill(victim, 'SIGKILL');
    const listening = await untilLines(started.cli, 'listening', 3, 15_000);
    const replacement = listening[2]?.pid as number;
    const survivor = [...started.workerPids].find((pid) => pid !== victim) as number;
    started = { ...started, workerPids: new Set([survivor, replacement]) };
    const after = await openAcross(started, '/replaced', new Set([replacement]));
    assert.deepEqual(new Set(after.clients.map((client) => client.backendId)), new Set(['b']));
    await closeAll(after.clients);

    const undrained = await request(started.adminPort, 'POST', `/backends/${idA}/undrain`);
    assert.equal(undrained.status, 200);
    // Two workers, four tunnels: one worker takes two in a row, and its round-robin gives one to each backend.
    const back = await openAcross(started, '/undrained', new Set(), 4, 1);
    assert.ok(back.clients.some((client) => client.backendId === 'a'), 'the backend is back in rotation');
    await closeAll(back.clients);
  });

  test('weight through the primary: every worker has it, /metrics shows it once', async () => {
    const set = await request(started.adminPort, 'PUT', `/backends/${idA}/weight`, JSON.stringify({ weight: 3 }));
    assert.equal(set.status, 200);
    assert.equal((set.body as { backends: BackendView[] }).backends[0]?.weight, 3);
    const m = await scrape(started.adminPort);
    assert.deepEqual(samplesOf(m, 'wsgate_backend_weight'), [
      [{ route: '/', backend: idA }, 3],
      [{ route: '/', backend: idB }, 1],
    ]);
    assert.equal((await request(started.adminPort, 'PUT', `/backends/${idA}/weight`, '{"weight": 1}')).status, 200);
    assert.equal((await request(started.adminPort, 'PUT', '/backends/nope/weight', '{"weight": 2}')).status, 404);
  });

  test('a backend that stops: the primary takes it out once, for every worker', async () => {
    await a.close();
    await untilLines(started.cli, 'backend down', 1);
    // Long enough for any other prober to have noticed (three failed checks at 200 ms) and its line to be out.
    await sleep(1200);
    const down = linesWith(started.cli, 'backend down');
    assert.equal(down.length, 1, 'one "backend down", from the primary, not one per worker');
    assert.equal(down[0]?.pid, started.primaryPid);
    assert.equal(down[0]?.backendId, idA);

    const skippedBefore = linesWith(started.cli, 'backend skipped').length;
    const { clients, lines } = await openAcross(started, '/after-down', started.workerPids);
    assert.deepEqual(new Set(lines.map((line) => line.backendId)), new Set([idB]));
    await closeAll(clients);
    await sleep(400);
    assert.equal(linesWith(started.cli, 'backend skipped').length, skippedBefore, 'no tunnel tried the backend that is down');

    const views = await backendsView(started.adminPort);
    assert.deepEqual(
      views.map((view) => [view.id, view.healthy, view.check?.status]),
      [
        [idA, false, 'down'],
        [idB, true, 'up'],
      ],
    );
    const m = await scrape(started.adminPort);
    assert.equal(figure(m, 'wsgate_backend_up', { backend: idA }), 0);
    assert.equal(figure(m, 'wsgate_backend_up', { backend: idB }), 1);
  });

  test('SIGTERM: the workers drain, the primary closes the admin listener last and exits 0', async () => {
    started.cli.child.kill('SIGTERM');
    assert.equal(await started.cli.exited, 0);
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(started.adminPort, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    assert.equal(refused, 'ECONNREFUSED');
  });
});

describe('--workers 2: known traffic gives exact sums in /metrics and /stats', () => {
  let chat: EchoBackend;
  let started: Started | undefined;

  before(async () => {
    chat = await startEchoBackend({ id: 'chat' });
  });

  after(async () => {
    await stopCli(started);
    await chat.close();
  });

  test('tunnels with known messages on both workers, and rejections', { timeout: 60_000 }, async () => {
    const run = await startCli(['--route', `/chat=${chat.address}`]);
    started = run;
    const chatId = deriveBackendId('127.0.0.1', chat.port);
    const echo = (ws: WebSocket, data: string): Promise<void> =>
      new Promise((resolve) => {
        ws.once('message', () => resolve());
        ws.send(data);
      });
    // Rounds of six tunnels, three 100-byte messages each way, closed by the client with 1000, until both workers served some.
    let tunnels = 0;
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 6; i++) {
        const { ws } = await openClient(`ws://127.0.0.1:${run.port}/chat/${round}-${i}`);
        for (let k = 0; k < 3; k++) await echo(ws, 'x'.repeat(100));
        ws.close(1000);
        await closed(ws);
        tunnels++;
      }
      const lines = await untilLines(run.cli, 'tunnel closed', tunnels);
      if (new Set(lines.map((line) => line.pid)).size === 2) break;
    }
    const closes = await untilLines(run.cli, 'tunnel closed', tunnels);
    assert.deepEqual(new Set(closes.map((line) => line.pid)), run.workerPids, 'both workers served tunnels');

    // Rejections: two upgrades no route takes, one with a wrong WebSocket version.
    for (const path of ['/nowhere', '/elsewhere']) assert.equal((await expectRefusal(`ws://127.0.0.1:${run.port}${path}`)).status, 404);
    const badVersion = await rawRequest(run.port, `GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n\r\n`);
    assert.equal(badVersion.status, 426);

    const m = await scrape(run.adminPort);
    const route = '/chat';
    assert.equal(figure(m, 'wsgate_tunnels_opened_total', { route, backend: chatId }), tunnels);
    assert.equal(figure(m, 'wsgate_tunnels_active'), 0);
    assert.equal(figure(m, 'wsgate_handshake_duration_seconds', { route }), tunnels);
    assert.equal(figure(m, 'wsgate_backend_connect_duration_seconds', { backend: chatId }), tunnels);
    assert.equal(figure(m, 'wsgate_tunnel_duration_seconds', { route }), tunnels);
    assert.equal(figure(m, 'wsgate_close_total', { route, initiator: 'client', code: '1000' }), tunnels);
    assert.equal(figure(m, 'wsgate_close_total'), tunnels);
    assert.equal(figure(m, 'wsgate_messages_total', { route, direction: 'client_to_backend' }), 3 * tunnels);
    assert.equal(figure(m, 'wsgate_messages_total', { route, direction: 'backend_to_client' }), 3 * tunnels);
    const sum = (key: string): number => closes.reduce((total, line) => total + (line[key] as number), 0);
    assert.equal(figure(m, 'wsgate_bytes_total', { route, direction: 'client_to_backend' }), sum('bytesFromClient'));
    assert.equal(figure(m, 'wsgate_bytes_total', { route, direction: 'backend_to_client' }), sum('bytesFromBackend'));
    assert.equal(figure(m, 'wsgate_upgrades_rejected_total', { route: 'none', code: 'ERR_ROUTE_NOT_FOUND' }), 2);
    assert.equal(figure(m, 'wsgate_upgrades_rejected_total', { route: 'none', code: 'ERR_HANDSHAKE_WS_VERSION' }), 1);
    assert.equal(figure(m, 'wsgate_upgrades_rejected_total'), 3);
    assert.equal(figure(m, 'wsgate_backend_up', { route, backend: chatId }), 1);
    assert.equal(figure(m, 'wsgate_backend_weight', { route, backend: chatId }), 1);
    assert.equal(figure(m, 'wsgate_backend_draining', { route, backend: chatId }), 0);
    assert.equal(figure(m, 'wsgate_draining'), 0);
    assert.equal(figure(m, 'wsgate_build_info', { node: process.version }), 1);
    assert.equal(figure(m, 'wsgate_health_checks_total'), 0, 'no checks configured');

    const { now } = (await request(run.adminPort, 'GET', '/stats')).body as {
      now: { tunnelsActive: number; handshakesTotal: number; rejectedTotal: number; bytesTotal: number; closeCodes: Record<string, number> };
    };
    assert.deepEqual(
      [now.tunnelsActive, now.handshakesTotal, now.rejectedTotal, now.bytesTotal, now.closeCodes],
      [0, tunnels, 3, sum('bytesFromClient') + sum('bytesFromBackend'), { '1000': tunnels }],
    );

    run.cli.child.kill('SIGTERM');
    assert.equal(await run.cli.exited, 0);
  });
});

describe('--workers 2 and SIGHUP: the primary reloads its table and checks too', () => {
  let a: EchoBackend, b: EchoBackend;
  let started: Started | undefined;
  const checksOfB: number[] = [];

  before(async () => {
    [a, b] = await Promise.all([startEchoBackend({ id: 'a' }), startEchoBackend({ id: 'b' })]);
    b.wss.on('connection', (_socket, req) => {
      if (req.headers['user-agent'] === 'wsgate-health-check') checksOfB.push(Date.now());
    });
  });

  after(async () => {
    await stopCli(started);
    await Promise.all([a.close(), b.close()]);
  });

  test('a drain survives the reload in every worker; a new backend is checked once per interval and used by both', { timeout: 60_000 }, async () => {
    const file = join(tempDir('wsgate-workers-reload-'), 'wsgate.yaml');
    const config = (backends: string[]): string =>
      `listen: 127.0.0.1:0\nhealthCheck: { type: websocket, interval: 200ms }\nroutes:\n  - path: /\n    backends: [${backends.map((x) => `"${x}"`).join(', ')}]\n`;
    writeFileSync(file, config([a.address]));
    const run = await startCli(['--config', file, '--log-level', 'debug']);
    started = run;
    const idA = deriveBackendId('127.0.0.1', a.port);
    const idB = deriveBackendId('127.0.0.1', b.port);
    assert.equal((await request(run.adminPort, 'POST', `/backends/${idA}/drain`)).status, 200);

    writeFileSync(file, config([a.address, b.address]));
    run.cli.child.kill('SIGHUP');
    const reloaded = await untilLines(run.cli, 'configuration reloaded', 2);
    assert.deepEqual(new Set(reloaded.map((line) => line.pid)), run.workerPids, 'each worker reloads; the primary too, quietly');

    // The primary's table has the new backend, the drain kept, and its check running.
    const deadline = Date.now() + 5000;
    let views = await backendsView(run.adminPort);
    while (views.length < 2 || views[1]?.check?.status !== 'up' || checksOfB.length === 0) {
      if (Date.now() > deadline) throw new Error(`the new backend is not checked: ${JSON.stringify(views)}`);
      await sleep(50);
      views = await backendsView(run.adminPort);
    }
    assert.deepEqual(
      views.map((view) => [view.id, view.draining]),
      [
        [idA, true],
        [idB, false],
      ],
    );
    const { clients, lines } = await openAcross(run, '/reloaded', run.workerPids);
    assert.deepEqual(new Set(clients.map((client) => client.backendId)), new Set(['b']), 'no worker forgot the drain');
    assert.deepEqual(new Set(lines.map((line) => line.backendId)), new Set([idB]));
    await closeAll(clients);

    const from = Date.now();
    await sleep(1000);
    const count = checksOfB.filter((at) => at >= from && at < Date.now()).length;
    assert.ok(count >= 3 && count <= 7, `the new backend got ${count} checks in about 1 s (one prober: about 5)`);
  });
});

describe('--workers 2 and passive health: the workers\' observations, one decision', () => {
  let b: EchoBackend;
  let started: Started | undefined;

  before(async () => {
    b = await startEchoBackend({ id: 'b' });
  });

  after(async () => {
    await stopCli(started);
    await b.close();
  });

  test('connect failures seen by the workers eject the backend once, in the primary, for both', { timeout: 60_000 }, async () => {
    // Nothing listens on port 1: every connect to it is refused. No active checks: only passive health (3 failures).
    const run = await startCli(['--route', `/=127.0.0.1:1,${b.address}`, '--log-level', 'debug']);
    started = run;
    const deadId = deriveBackendId('127.0.0.1', 1);
    const clients: Array<{ ws: WebSocket }> = [];
    const ejected = async (): Promise<boolean> => (await backendsView(run.adminPort)).find((view) => view.id === deadId)?.healthy === false;
    // Each worker's round-robin sends every other new tunnel to the dead backend first, until the primary ejects it.
    while (!(await ejected())) {
      if (clients.length >= 40) throw new Error(`no ejection after ${clients.length} tunnels: ${run.cli.stdout}`);
      const client = await openClient(`ws://127.0.0.1:${run.port}/passive/${clients.length}`);
      assert.equal(client.backendId, 'b', 'a refused connect is retried on the other backend');
      clients.push(client);
    }
    await untilLines(run.cli, 'backend down', 1);
    await closeAll(clients);
    await sleep(400);
    const down = linesWith(run.cli, 'backend down');
    assert.equal(down.length, 1, 'one decision, not one per worker');
    assert.deepEqual([down[0]?.pid, down[0]?.backendId, down[0]?.reason], [run.primaryPid, deadId, 'passive']);

    const skippedBefore = linesWith(run.cli, 'backend skipped').length;
    assert.ok(skippedBefore >= 3);
    const { clients: after } = await openAcross(run, '/ejected', run.workerPids);
    await closeAll(after);
    await sleep(400);
    assert.equal(linesWith(run.cli, 'backend skipped').length, skippedBefore, 'no worker tries the ejected backend');
    const dead = (await backendsView(run.adminPort)).find((view) => view.id === deadId) as BackendView & { passive: { ejectedUntil: string | null } };
    assert.equal(dead.healthy, false);
    assert.ok(dead.passive.ejectedUntil !== null);
  });
});

describe('the primary and worker links in one process (IPC replaced by queued calls)', () => {
  const logger = pino({ level: 'silent' });
  const config = validateConfig({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', routes: [{ path: '/', backends: ['127.0.0.1:1', '127.0.0.1:2'] }] });
  const [idA, idB] = [deriveBackendId('127.0.0.1', 1), deriveBackendId('127.0.0.1', 2)];
  /** Lets every queued message be delivered (each hop is one macrotask here). */
  const settle = (): Promise<void> => sleep(20);

  interface FakeWorker {
    readonly link: WorkerLink;
    readonly port: WorkerPort;
    readonly table: RouteTable;
    /** What the link sent to the primary, by type. */
    readonly sent: Array<WorkerMessage['type']>;
    backend(id: string): Backend;
  }

  /** A worker as the link sees it: its own route table and metrics, messages to and from `primary` through setImmediate and a copy. */
  function fakeWorker(primary: PrimaryGateway, id: number, options: { answers?: boolean } = {}): FakeWorker {
    const table = RouteTable.fromConfig(config);
    const sent: Array<WorkerMessage['type']> = [];
    let deliver: (message: unknown) => void = () => {};
    const port: WorkerPort = { id, send: (message) => setImmediate(() => deliver(structuredClone(message))) };
    const link = new WorkerLink(
      {
        send: (message) => {
          sent.push(message.type);
          if (options.answers === false && (message.type === 'wsgate:ack' || message.type === 'wsgate:report')) return;
          setImmediate(() => primary.received(port, structuredClone(message)));
        },
        onMessage: (handler) => (deliver = handler),
      },
      logger,
    );
    const gateway = {};
    link.attach(gateway, { routes: () => table.routes, metrics: new GatewayMetrics({ gateway, tunnels: () => [], routes: () => table.routes, draining: () => false }) });
    const backend = (backendId: string): Backend => table.routes[0]?.pool.backends.find((b) => b.id === backendId) as Backend;
    return { link, port, table, sent, backend };
  }

  test('messages: anything but a well-formed wsgate message is ignored, never thrown on', () => {
    const ref = { route: 0, slot: 0, id: 'x' };
    for (const bad of [null, 'wsgate:sync', 7, { type: 'prom-client:getMetricsReq', requestId: 1 }, { type: 'wsgate:observed' }, { type: 'wsgate:observed', backend: ref, outcome: 'exploded', detail: '' }, { type: 'wsgate:ack', requestId: -1 }, { type: 'wsgate:report', requestId: 1, stats: {}, tunnels: [] }]) {
      assert.equal(parseWorkerMessage(bad), undefined, JSON.stringify(bad));
    }
    for (const bad of [{ type: 'wsgate:state' }, { type: 'wsgate:health', backends: [{ backend: ref, healthy: 'yes', reportSuccess: false }] }, { type: 'wsgate:action', requestId: 1, action: { kind: 'weight', backendId: 'x', weight: 0 } }, { type: 'wsgate:sync' }]) {
      assert.equal(parsePrimaryMessage(bad), undefined, JSON.stringify(bad));
    }
    assert.deepEqual(parseWorkerMessage({ type: 'wsgate:observed', backend: ref, outcome: 'succeeded', detail: '', extra: 1 }), { type: 'wsgate:observed', backend: ref, outcome: 'succeeded', detail: '' });
    assert.deepEqual(parsePrimaryMessage({ type: 'wsgate:action', requestId: 3, action: { kind: 'drain', backendId: 'x' } }), { type: 'wsgate:action', requestId: 3, action: { kind: 'drain', backendId: 'x' } });
    const primary = new PrimaryGateway(config, { logger });
    assert.doesNotThrow(() => primary.received({ id: 1, send: () => {} }, { type: 'wsgate:observed', backend: { route: 9, slot: 9, id: 'nope' }, outcome: 'connect-failed', detail: '' }));
    assert.doesNotThrow(() => primary.received({ id: 1, send: () => {} }, { type: 'wsgate:report', requestId: 12345, stats: { at: 0, tunnelsActive: 0, handshakesTotal: 0, rejectedTotal: 0, bytesTotal: 0, closeCodes: {} }, tunnels: [] }));
  });

  test('passive: failures from two workers count together; successes are sent only while the primary counts failures', async () => {
    const primary = new PrimaryGateway(config, { logger });
    const [one, two] = [fakeWorker(primary, 1), fakeWorker(primary, 2)];
    await Promise.all([one.link.ready, two.link.ready]);
    const failures = (): number | undefined => primary.backends()[0]?.backends[0]?.passive?.consecutiveFailures;

    one.link.succeeded(one.backend(idA));
    assert.deepEqual(one.sent, ['wsgate:sync'], 'a success nobody counts against stays in the worker');
    one.link.connectFailed(one.backend(idA), 'ECONNREFUSED');
    await settle();
    assert.equal(failures(), 1);
    two.link.succeeded(two.backend(idA));
    await settle();
    assert.equal(failures(), 0, "another worker's success resets the count");
    assert.deepEqual(two.sent, ['wsgate:sync', 'wsgate:observed']);
    two.link.succeeded(two.backend(idA));
    await settle();
    assert.deepEqual(two.sent, ['wsgate:sync', 'wsgate:observed'], 'once the count is 0, successes stay in the worker again');

    one.link.connectFailed(one.backend(idA), 'ECONNREFUSED');
    two.link.connectFailed(two.backend(idA), 'ECONNREFUSED');
    one.link.badResponse(one.backend(idA), 'not HTTP');
    await settle();
    assert.deepEqual([one.backend(idA).healthy, two.backend(idA).healthy, one.backend(idB).healthy], [false, false, true], 'three failures in a row, from either worker, eject it in both');
    assert.equal(primary.backends()[0]?.backends[0]?.healthy, false);
    await primary.close();
  });

  test('admin: an action applies in every worker before it is answered; /backends and /stats add up the workers; a late worker gets the state', async () => {
    const primary = new PrimaryGateway(config, { logger, requestTimeoutMs: 300 });
    const adminPort = (await primary.listen())?.port as number;
    const [one, two] = [fakeWorker(primary, 1), fakeWorker(primary, 2)];
    await Promise.all([one.link.ready, two.link.ready]);

    const drained = await request(adminPort, 'POST', `/backends/${idA}/drain`);
    assert.equal(drained.status, 200);
    assert.deepEqual([one.backend(idA).draining, two.backend(idA).draining], [true, true], 'applied everywhere by the time of the answer');
    assert.equal((await request(adminPort, 'PUT', `/backends/${idB}/weight`, '{"weight": 4}')).status, 200);
    assert.deepEqual([one.backend(idB).weight, two.backend(idB).weight], [4, 4]);

    one.backend(idA).activeTunnels = 2;
    two.backend(idA).activeTunnels = 3;
    two.backend(idB).activeTunnels = 1;
    const views = await backendsView(adminPort);
    assert.deepEqual(views.map((view) => [view.id, view.activeTunnels, view.draining, view.weight]), [
      [idA, 5, true, 1],
      [idB, 1, false, 4],
    ]);
    const stats = (await request(adminPort, 'GET', '/stats')).body as { now: { tunnelsActive: number } };
    assert.equal(stats.now.tunnelsActive, 0, 'the figures are the workers\' metrics (no tunnels there)');

    // A worker started later asks for the state before it serves: it gets the drain and the weight.
    const late = fakeWorker(primary, 3);
    await late.link.ready;
    assert.deepEqual([late.backend(idA).draining, late.backend(idB).weight], [true, 4]);

    // A worker that does not answer delays the answer by the timeout at most; one that exits, not at all.
    const mute = fakeWorker(primary, 4, { answers: false });
    await mute.link.ready;
    let startedAt = Date.now();
    assert.equal((await request(adminPort, 'POST', `/backends/${idA}/undrain`)).status, 200);
    assert.ok(Date.now() - startedAt >= 250, 'waited for the silent worker');
    assert.equal(mute.backend(idA).draining, false, 'it still got the action');
    startedAt = Date.now();
    setTimeout(() => primary.workerExited(4), 50);
    assert.equal((await request(adminPort, 'POST', `/backends/${idA}/drain`)).status, 200);
    assert.ok(Date.now() - startedAt < 250, 'an exited worker is not waited for');
    await primary.close();
  });

  test('reload: a worker asks for the whole state again once its table changed', async () => {
    const primary = new PrimaryGateway(config, { logger });
    const one = fakeWorker(primary, 1);
    await one.link.ready;
    const gateway = {};
    const table = RouteTable.fromConfig(config);
    let deliver: (message: unknown) => void = () => {};
    const port: WorkerPort = { id: 2, send: (message) => setImmediate(() => deliver(structuredClone(message))) };
    const link = new WorkerLink({ send: (message) => setImmediate(() => primary.received(port, structuredClone(message))), onMessage: (handler) => (deliver = handler) }, logger);
    link.attach(gateway, { routes: () => table.routes, metrics: new GatewayMetrics({ gateway, tunnels: () => [], routes: () => table.routes, draining: () => false }) });
    await link.ready;
    const backendA = table.routes[0]?.pool.backends[0] as Backend;
    backendA.healthy = false;
    channels.reload.publish({ gateway, result: 'ok', routes: 1 });
    await settle();
    assert.equal(backendA.healthy, true, 'the state sent again after the reload put it back');
    await primary.close();
  });
});
