/**
 * Issue 6, backend drain from outside: the admin API on its own listener
 * (`--admin`), driven against the real CLI in a child process; issue 12, its
 * dashboard page and `GET /stats`.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type WebSocket from 'ws';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { validateConfig } from '../../src/index.js';
import { AdminServer } from '../../src/observability/admin.js';
import type { StatsSample } from '../../src/observability/stats-history.js';
import { RouteTable } from '../../src/routing/route-table.js';
import { deriveBackendId } from '../../src/upstream/backend-id.js';
import { HealthMonitor, routeHealthSettings } from '../../src/upstream/health-monitor.js';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { closed, expectRefusal, openClient } from '../helpers/clients.js';
import { eventually, startGateway, type RunningGateway } from '../helpers/gateway.js';

interface BackendView {
  id: string;
  address: string;
  weight: number;
  healthy: boolean;
  draining: boolean;
  activeTunnels: number;
  check: { type: string; path?: string; status: string; lastResult: { ok: boolean; detail: string; at: string; durationMs: number } | null } | null;
  passive: { consecutiveFailures: number; ejectedUntil: string | null; lastFailure: string | null } | null;
}

interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
}

async function request(port: number, method: string, path: string, body?: string): Promise<Reply> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

function echo(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once('message', (data) => resolve(data.toString()));
    ws.send(text);
  });
}

async function connectOnce(url: string): Promise<string> {
  const { ws, backendId } = await openClient(url);
  ws.close();
  await closed(ws);
  return backendId ?? 'none';
}

function portFromLog(cli: CliProcess, msg: string): number | undefined {
  for (const line of cli.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg: string; port?: number };
    if (entry.msg === msg) return entry.port;
  }
  return undefined;
}

describe('admin API (CLI, --admin)', () => {
  let a: EchoBackend, b: EchoBackend;
  let cli: CliProcess;
  let publicPort: number, adminPort: number;
  let idA: string, idB: string;

  before(async () => {
    [a, b] = await Promise.all([startEchoBackend({ id: 'a' }), startEchoBackend({ id: 'b' })]);
    idA = deriveBackendId('127.0.0.1', a.port);
    idB = deriveBackendId('127.0.0.1', b.port);
    cli = runCli([
      '--listen', '127.0.0.1:0',
      '--admin', '127.0.0.1:0',
      '--route', `/=${a.address},${b.address}`,
      '--health-check', 'websocket:/health',
      '--health-interval', '200ms',
    ]);
    await cli.waitFor(/"msg":"admin listening"/);
    publicPort = portFromLog(cli, 'listening') as number;
    adminPort = portFromLog(cli, 'admin listening') as number;
  });

  after(async () => {
    if (cli.child.exitCode === null) {
      cli.child.kill('SIGKILL');
      await cli.exited;
    }
    await Promise.all([a.close(), b.close()]);
  });

  test('the admin port is its own; /backends on the public port is proxied like any path', async () => {
    assert.ok(publicPort > 0 && adminPort > 0);
    assert.notEqual(adminPort, publicPort);
    const proxied = await request(publicPort, 'GET', '/backends');
    assert.equal(proxied.status, 200);
    assert.deepEqual(Object.keys(proxied.body as object).sort(), ['backend', 'headers', 'method', 'url'], 'the echo backend answered');
    assert.equal((proxied.body as { url: string }).url, '/backends');
    const drainViaPublic = await request(publicPort, 'POST', `/backends/${idA}/drain`);
    assert.equal((drainViaPublic.body as { method: string }).method, 'POST', 'a backend got the POST, not the admin API');
  });

  test('GET /backends lists each route with id, address, weight, health, drain state, tunnels and the last check', async () => {
    // Wait for a check of each backend to have run.
    let list: Reply | undefined;
    for (let i = 0; i < 50; i++) {
      list = await request(adminPort, 'GET', '/backends');
      const backends = (list.body as { routes: Array<{ backends: BackendView[] }> }).routes[0]?.backends ?? [];
      if (backends.every((x) => x.check?.lastResult !== null)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(list?.status, 200);
    assert.match(list?.headers.get('content-type') ?? '', /^application\/json/);
    const routes = (list?.body as { routes: Array<{ route: string; backends: BackendView[] }> }).routes;
    assert.equal(routes.length, 1);
    assert.equal(routes[0]?.route, '/');
    const [viewA, viewB] = routes[0]?.backends ?? [];
    assert.deepEqual(
      { ...viewA, check: { ...viewA?.check, lastResult: { ok: viewA?.check?.lastResult?.ok, detail: viewA?.check?.lastResult?.detail } } },
      {
        id: idA,
        address: a.address,
        tls: false,
        weight: 1,
        healthy: true,
        draining: false,
        activeTunnels: 0,
        check: { type: 'websocket', path: '/health', status: 'up', lastResult: { ok: true, detail: 'HTTP 101' } },
        passive: { consecutiveFailures: 0, ejectedUntil: null, lastFailure: null },
      },
    );
    assert.equal(viewB?.id, idB);
    assert.match(viewA?.check?.lastResult?.at ?? '', /^\d{4}-\d\d-\d\dT/);
  });

  test('drain: new tunnels avoid the backend while an existing tunnel to it keeps echoing; undrain brings it back', async () => {
    const url = `ws://127.0.0.1:${publicPort}/drain`;
    let onA: WebSocket | undefined;
    const spare: WebSocket[] = [];
    for (let i = 0; i < 4 && onA === undefined; i++) {
      const client = await openClient(`${url}/${i}`);
      if (client.backendId === 'a') onA = client.ws;
      else spare.push(client.ws);
    }
    assert.ok(onA !== undefined, 'a tunnel to a');
    for (const ws of spare) ws.close();

    const drained = await request(adminPort, 'POST', `/backends/${idA}/drain`);
    assert.equal(drained.status, 200);
    assert.deepEqual(
      (drained.body as { backends: Array<Partial<BackendView> & { route: string }> }).backends.map((x) => [x.route, x.id, x.draining, x.activeTunnels]),
      [['/', idA, true, 1]],
    );
    for (let i = 0; i < 6; i++) assert.equal(await connectOnce(`${url}/drained/${i}`), 'b', 'new tunnels avoid a draining backend');
    assert.equal(await echo(onA, 'still here'), 'still here', 'the existing tunnel to a keeps working');

    // Every backend drained: 503 at once, with Retry-After.
    assert.equal((await request(adminPort, 'POST', `/backends/${idB}/drain`)).status, 200);
    const refusal = await expectRefusal(`${url}/all-drained`);
    assert.equal(refusal.status, 503);
    assert.equal(refusal.headers['retry-after'], '1');
    assert.equal(refusal.headers['x-wsgate-error'], 'ERR_UPSTREAM_NO_HEALTHY');
    assert.equal((await request(adminPort, 'POST', `/backends/${idB}/undrain`)).status, 200);

    const undrained = await request(adminPort, 'POST', `/backends/${idA}/undrain`);
    assert.equal(undrained.status, 200);
    assert.equal((undrained.body as { backends: BackendView[] }).backends[0]?.draining, false);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(await connectOnce(`${url}/undrained/${i}`));
    assert.deepEqual([...seen].sort(), ['a', 'b']);
    assert.equal(await echo(onA, 'and now'), 'and now');
    onA.close();
    await closed(onA);
  });

  test('weight: 3 to 1 shifts the round-robin share to 3:1', async () => {
    const set = await request(adminPort, 'PUT', `/backends/${idA}/weight`, JSON.stringify({ weight: 3 }));
    assert.equal(set.status, 200);
    assert.equal((set.body as { backends: BackendView[] }).backends[0]?.weight, 3);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      const id = await connectOnce(`ws://127.0.0.1:${publicPort}/weighted/${i}`);
      counts[id] = (counts[id] ?? 0) + 1;
    }
    assert.ok((counts.a ?? 0) >= 29 && (counts.a ?? 0) <= 31, `a got ${counts.a} of 40`);
    assert.equal((counts.a ?? 0) + (counts.b ?? 0), 40);
    const list = await request(adminPort, 'GET', '/backends');
    assert.equal((list.body as { routes: Array<{ backends: BackendView[] }> }).routes[0]?.backends[0]?.weight, 3);
    assert.equal((await request(adminPort, 'PUT', `/backends/${idA}/weight`, '{"weight": 1}')).status, 200);
  });

  test('bad requests get 400, unknown ids and paths 404, wrong methods 405, all as JSON', async () => {
    const weight = `/backends/${idA}/weight`;
    const cases: Array<[string, string, string | undefined, number]> = [
      ['PUT', weight, '{"weight": 0}', 400],
      ['PUT', weight, '{"weight": 1001}', 400],
      ['PUT', weight, '{"weight": 2.5}', 400],
      ['PUT', weight, '{"weight": "3"}', 400],
      ['PUT', weight, '{}', 400],
      ['PUT', weight, 'not json', 400],
      ['PUT', weight, undefined, 400],
      ['PUT', weight, JSON.stringify({ weight: 2, pad: 'x'.repeat(2000) }), 413],
      ['PUT', '/backends/nope/weight', '{"weight": 2}', 404],
      ['POST', '/backends/nope/drain', undefined, 404],
      ['POST', `/backends/${idA}/explode`, undefined, 404],
      ['GET', '/nope', undefined, 404],
      ['GET', `/backends/${idA}`, undefined, 404],
      ['GET', `/backends/${idA}/drain`, undefined, 405],
      ['POST', weight, '{"weight": 2}', 405],
      ['DELETE', '/backends', undefined, 405],
    ];
    for (const [method, path, body, status] of cases) {
      const reply = await request(adminPort, method, path, body);
      assert.equal(reply.status, status, `${method} ${path} ${body ?? ''}`);
      assert.equal(typeof (reply.body as { error: unknown }).error, 'string', `${method} ${path}: a JSON error`);
    }
    assert.equal((await request(adminPort, 'GET', `/backends/${idA}/drain`)).headers.get('allow'), 'POST');
    assert.match(((await request(adminPort, 'PUT', weight, '{"weight": 0}')).body as { error: string }).error, /integer from 1 to 1000/);
    // Nothing above changed anything.
    const list = await request(adminPort, 'GET', '/backends');
    const views = (list.body as { routes: Array<{ backends: BackendView[] }> }).routes[0]?.backends ?? [];
    assert.deepEqual(
      views.map((x) => [x.weight, x.draining]),
      [
        [1, false],
        [1, false],
      ],
    );
  });

  test('GET / serves the dashboard page; other methods on / get 405', async () => {
    const page = await request(adminPort, 'GET', '/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    assert.match(page.headers.get('content-security-policy') ?? '', /^default-src 'none'; script-src 'sha256-/);
    assert.match(String(page.body), /<title>wsgate admin<\/title>/);
    assert.match(String(page.body), /id="tunnels-active"/);
    const post = await request(adminPort, 'POST', '/');
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET');
  });

  test('operator actions are logged; SIGTERM stops both listeners and exits 0', async () => {
    await cli.waitFor(/"msg":"backend weight set"/);
    assert.match(cli.stdout, /"backendId":"[^"]+","backend":"127\.0\.0\.1:\d+","routes":\["\/"\],"msg":"backend draining"/);
    assert.match(cli.stdout, /"msg":"backend undrained"/);
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0);
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(adminPort, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    assert.equal(refused, 'ECONNREFUSED');
  });
});

describe('admin and health-check flags', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['--health-rise without --health-check', ['--health-rise', '3'], /need --health-check/],
    ['an unknown check type', ['--health-check', 'icmp'], /healthCheck\.type: expected one of tcp, http, websocket/],
    ['a tcp check with a path', ['--health-check', 'tcp:/x'], /healthCheck\.path: a tcp check has no path/],
    ['a bad admin address', ['--admin', 'nowhere'], /admin: "nowhere" is not HOST:PORT/],
    ['a zero fall', ['--health-check', 'tcp', '--health-fall', '0'], /expected a positive whole number/],
  ];
  for (const [name, args, message] of cases) {
    test(`exit 2: ${name}`, async () => {
      const cli = runCli(['--listen', '127.0.0.1:0', '--route', '/=127.0.0.1:9', ...args]);
      assert.equal(await cli.exited, 2);
      assert.match(cli.stderr, message);
    });
  }
});

test('--admin with --workers 2: the primary serves the admin API for both workers (workers-admin.test.ts has the rest)', { timeout: 30_000 }, async () => {
  const backend = await startEchoBackend({ id: 'a' });
  const cli = runCli(['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '2', '--route', `/=${backend.address}`]);
  try {
    await cli.waitFor(/"msg":"admin listening"/);
    const deadline = Date.now() + 15_000;
    const lines = (): Array<{ msg: string; pid: number; port?: number }> =>
      cli.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg: string; pid: number; port?: number });
    while (lines().filter((line) => line.msg === 'listening').length < 2) {
      if (Date.now() > deadline) throw new Error(`workers did not start: ${cli.stdout}${cli.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const admin = lines().find((line) => line.msg === 'admin listening');
    const workers = lines().filter((line) => line.msg === 'listening').map((line) => line.pid);
    assert.ok(admin !== undefined && !workers.includes(admin.pid), 'the primary listens, no worker does');
    assert.equal(lines().filter((line) => line.msg === 'admin listening').length, 1);
    const list = await request(admin.port as number, 'GET', '/backends');
    assert.equal(list.status, 200);
    const views = (list.body as { routes: Array<{ backends: BackendView[] }> }).routes[0]?.backends ?? [];
    assert.deepEqual(views.map((view) => [view.id, view.activeTunnels]), [[deriveBackendId('127.0.0.1', backend.port), 0]]);
    assert.equal((await request(admin.port as number, 'GET', '/')).status, 200);
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0);
  } finally {
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    await backend.close();
  }
});

describe('GET /stats (an AdminServer with a stats source, over a real gateway\'s tunnels)', () => {
  let backend: EchoBackend;
  let gw: RunningGateway;
  let admin: AdminServer;
  let adminPort: number;
  let opened = 0;
  const sampleKeys = ['at', 'bytesTotal', 'closeCodes', 'handshakesTotal', 'rejectedTotal', 'tunnelsActive'];

  before(async () => {
    backend = await startEchoBackend({ id: 'a' });
    gw = await startGateway({ logLevel: 'warn', routes: [{ path: '/', backends: [backend.address] }] });
    const table = RouteTable.fromConfig(validateConfig({ listen: '127.0.0.1:0', routes: [{ path: '/', backends: [backend.address] }] }));
    const logger = pino({ level: 'silent' });
    const health = new HealthMonitor(routeHealthSettings(table.routes), logger, { rejectUnauthorized: true });
    const stats = (): StatsSample => ({
      at: Date.now(),
      tunnelsActive: gw.gateway.activeTunnels,
      handshakesTotal: opened,
      rejectedTotal: 0,
      bytesTotal: 0,
      closeCodes: { '1000': 0 },
    });
    // 50 ms over 200 ms: a ring of five samples.
    admin = new AdminServer({ routes: () => table.routes, health: () => health, logger, stats }, { history: { intervalMs: 50, windowMs: 200 } });
    adminPort = (await admin.listen('127.0.0.1', 0)).port;
  });

  after(async () => {
    await admin.close();
    await gw.close();
    await backend.close();
  });

  test('answers {now, history}: the figures now and the last samples, oldest first', async () => {
    const clients: WebSocket[] = [];
    for (let i = 0; i < 2; i++) {
      clients.push((await openClient(`ws://${gw.host}/stats/${i}`)).ws);
      opened++;
    }
    assert.ok(await eventually(() => gw.gateway.activeTunnels === 2));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const reply = await request(adminPort, 'GET', '/stats');
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(reply.headers.get('cache-control'), 'no-store');
    const { now, history } = reply.body as { now: StatsSample; history: StatsSample[] };
    assert.deepEqual(Object.keys(reply.body as object).sort(), ['history', 'now']);
    assert.deepEqual(Object.keys(now).sort(), sampleKeys);
    assert.deepEqual([now.tunnelsActive, now.handshakesTotal, now.closeCodes], [2, 2, { '1000': 0 }]);
    assert.equal(history.length, 5, 'the ring is full');
    for (const sample of history) assert.deepEqual(Object.keys(sample).sort(), sampleKeys);
    for (let i = 1; i < history.length; i++) assert.ok((history[i]?.at ?? 0) >= (history[i - 1]?.at ?? 0), 'oldest first');
    assert.ok((history.at(-1)?.at ?? Infinity) <= now.at);
    assert.equal(history.at(-1)?.tunnelsActive, 2);
    assert.equal((await request(adminPort, 'POST', '/stats')).status, 405);
    for (const ws of clients) ws.close();
    await Promise.all(clients.map((ws) => closed(ws)));
  });
});
