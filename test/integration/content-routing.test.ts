/**
 * Issue 4: every matcher kind routes correctly, from --route flags and from a
 * config file, for plain requests and WebSocket upgrades alike; unmatched
 * requests get 404; the order rule (conditional routes first, then plain
 * prefixes longest first) and path normalisation hold end to end.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { rawGet, rawRequest, rawUpgrade } from '../helpers/raw-http.js';
import { tempDir } from '../helpers/temp-dir.js';

const IDS = ['host-exact', 'host-wild', 'acme', 'fox', 'beta', 'globex', 'v2', 'health', 'rooms', 'app', 'static', 'admin', 'private'] as const;
type Id = (typeof IDS)[number];

/** Each route as a --route flag and as the same route in a file, in the order written. */
function routes(address: (id: Id) => string): Array<{ flag: string; file: Record<string, unknown> }> {
  const a = address;
  return [
    { flag: `host:exact.test /=${a('host-exact')}`, file: { host: 'exact.test', path: '/', backends: [a('host-exact')] } },
    { flag: `host:*.wild.test /=${a('host-wild')}`, file: { host: '*.wild.test', path: '/', backends: [a('host-wild')] } },
    { flag: `header:X-Tenant=acme /app=${a('acme')}`, file: { headers: { 'X-Tenant': 'acme' }, path: '/app', backends: [a('acme')] } },
    { flag: `header:user-agent~*firefox /app=${a('fox')}`, file: { headers: { 'user-agent': { regex: 'firefox', ignoreCase: true } }, path: '/app', backends: [a('fox')] } },
    { flag: `header:x-beta /app=${a('beta')}`, file: { headers: { 'x-beta': true }, path: '/app', backends: [a('beta')] } },
    { flag: `cookie:tenant=globex /app=${a('globex')}`, file: { cookies: { tenant: 'globex' }, path: '/app', backends: [a('globex')] } },
    { flag: `query:v=2 /app=${a('v2')}`, file: { query: { v: 2 }, path: '/app', backends: [a('v2')] } },
    { flag: `=/status=${a('health')}`, file: { path: { exact: '/status' }, backends: [a('health')] } },
    { flag: `~^/rooms/[0-9]+$=${a('rooms')}`, file: { path: { regex: '^/rooms/[0-9]+$' }, backends: [a('rooms')] } },
    // Plain prefixes: "/app" is written before the longer "/app/admin", which still wins below it.
    { flag: `/app=${a('app')}`, file: { path: '/app', backends: [a('app')] } },
    { flag: `/static=${a('static')} strip`, file: { path: '/static', stripPrefix: true, backends: [a('static')] } },
    { flag: `/app/admin=${a('admin')}`, file: { path: '/app/admin', backends: [a('admin')] } },
    { flag: `header:x-admin-token=s3cret /private=${a('private')}`, file: { headers: { 'x-admin-token': 's3cret' }, path: '/private', backends: [a('private')] } },
  ];
}

/** [target, headers, expected backend id or status]. */
const CASES: ReadonlyArray<readonly [string, Record<string, string>, Id | 404 | 400]> = [
  ['/anything', { Host: 'exact.test' }, 'host-exact'],
  ['/anything', { Host: 'EXACT.test:8080' }, 'host-exact'],
  ['/x', { Host: 'a.wild.test' }, 'host-wild'],
  ['/x', { Host: 'a.b.wild.test' }, 'host-wild'],
  ['/x', { Host: 'wild.test' }, 404],
  ['/app/x', { 'X-Tenant': 'acme' }, 'acme'],
  ['/app/x', { 'x-tenant': 'other' }, 'app'],
  ['/app/x', { 'User-Agent': 'Mozilla/5.0 (X11) Gecko/20100101 Firefox/130.0' }, 'fox'],
  ['/app/x', { 'X-Beta': '1' }, 'beta'],
  ['/app/x', { Cookie: 'a=1; tenant=globex' }, 'globex'],
  ['/app/x', { Cookie: 'tenant=initech' }, 'app'],
  ['/app/x?v=2', {}, 'v2'],
  ['/app/x?v=3', {}, 'app'],
  ['/app', {}, 'app'],
  ['/apple', {}, 404],
  ['/status', {}, 'health'],
  ['/status/deep', {}, 404],
  ['/rooms/42', {}, 'rooms'],
  ['/rooms/lobby', {}, 404],
  ['/app/admin/users', {}, 'admin'],
  ['/app/administrator', {}, 'app'],
  ['/app/admin/x', { 'X-Tenant': 'acme' }, 'acme'],
  ['/static/css/a.css', {}, 'static'],
  ['/private/x', { 'X-Admin-Token': 's3cret' }, 'private'],
  ['/private/x', {}, 404],
  // Normalised before matching: none of these reaches /app's backend (the raw prefix), and none reaches /private without the token.
  ['/app/../private/x', {}, 404],
  ['/app%2f..%2fprivate/x', {}, 404],
  ['/app/%2e%2e/private/x', {}, 404],
  ['/app/..%2Fprivate/x', { 'X-Admin-Token': 's3cret' }, 'private'],
  ['/app//../private/x', { 'X-Admin-Token': 's3cret' }, 'private'],
  ['/nothing', {}, 404],
  ['/app/%zz', {}, 400],
];

async function startFromFlags(backends: Map<Id, EchoBackend>): Promise<CliProcess> {
  const flags = routes((id) => backends.get(id)?.address ?? '').flatMap((route) => ['--route', route.flag]);
  return runCli(['--listen', '127.0.0.1:0', ...flags]);
}

async function startFromFile(backends: Map<Id, EchoBackend>): Promise<CliProcess> {
  const dir = tempDir('wsgate-routing-');
  const file = join(dir, 'wsgate.yaml');
  writeFileSync(file, stringify({ listen: '127.0.0.1:0', logLevel: 'info', routes: routes((id) => backends.get(id)?.address ?? '').map((route) => route.file) }));
  return runCli(['--config', file]);
}

describe('content-based routing through the wsgate command', () => {
  const backends = new Map<Id, EchoBackend>();
  const gateways: CliProcess[] = [];

  before(async () => {
    for (const backend of await Promise.all(IDS.map((id) => startEchoBackend({ id })))) backends.set(backend.id as Id, backend);
  });

  after(async () => {
    for (const gateway of gateways) gateway.child.kill('SIGTERM');
    await Promise.all(gateways.map((gateway) => gateway.exited));
    await Promise.all([...backends.values()].map((backend) => backend.close()));
  });

  for (const [source, start] of [
    ['flags', startFromFlags],
    ['a config file', startFromFile],
  ] as const) {
    test(`from ${source}: each matcher kind, for plain requests and upgrades; unmatched gets 404`, async () => {
      const gateway = await start(backends);
      gateways.push(gateway);
      const [, port] = await gateway.waitFor(/"port":(\d+)/);
      for (const [target, headers, expected] of CASES) {
        for (const [kind, send] of [
          ['GET', rawGet],
          ['upgrade', rawUpgrade],
        ] as const) {
          const response = await send(Number(port), target, headers);
          const what = `${kind} ${target} ${JSON.stringify(headers)} (${source})`;
          if (typeof expected === 'number') {
            assert.equal(response.status, expected, what);
            assert.equal(response.headers['x-wsgate-error'], expected === 404 ? 'ERR_ROUTE_NOT_FOUND' : 'ERR_ROUTE_BAD_PATH', what);
          } else {
            assert.equal(response.status, kind === 'GET' ? 200 : 101, what);
            assert.equal(response.headers['x-backend-id'], expected, what);
          }
        }
      }
    });
  }

  test('a stripped prefix: the backend sees the rest of the path, with the query as sent', async () => {
    const gateway = gateways[0];
    assert.ok(gateway, 'the flags gateway runs');
    const [, port] = await gateway.waitFor(/"port":(\d+)/);
    const plain = await rawGet(Number(port), '/static/css/a%20b.css?v=1&x=%2F');
    assert.equal((JSON.parse(plain.body) as { url: string }).url, '/css/a%20b.css?v=1&x=%2F');
    // With Expect: 100-continue, Node writes the request line early; the rewrite takes another way there.
    const expect = await rawRequest(
      Number(port),
      'POST /static/upload?x=1 HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi',
    );
    assert.equal(expect.status, 200);
    assert.deepEqual(JSON.parse(expect.body) as { url: string; method: string }, { ...(JSON.parse(expect.body) as object), url: '/upload?x=1', method: 'POST' });
    const bare = await rawGet(Number(port), '/static');
    assert.equal((JSON.parse(bare.body) as { url: string }).url, '/');
    const seen = new Promise<string | undefined>((resolve) => backends.get('static')?.wss.once('connection', (_socket, req) => resolve(req.url)));
    const upgrade = await rawUpgrade(Number(port), '/static/ws?room=1');
    assert.equal(upgrade.status, 101);
    assert.equal(await seen, '/ws?room=1');
  });
});
