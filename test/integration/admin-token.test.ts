/**
 * Issue 12: the admin token (`--admin-token`). With a token every admin
 * request but the dashboard's page shell (`GET /`) needs
 * `Authorization: Bearer TOKEN`; without one the API is open as before.
 * An AdminServer over a real route table and health monitor, on a real socket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { validateConfig } from '../../src/index.js';
import { AdminServer, type AdminSource } from '../../src/observability/admin.js';
import type { StatsSample } from '../../src/observability/stats-history.js';
import { RouteTable } from '../../src/routing/route-table.js';
import { HealthMonitor, routeHealthSettings } from '../../src/upstream/health-monitor.js';

const TOKEN = 'correct-horse-battery-staple-0123';

interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

async function request(port: number, method: string, path: string, authorization?: string, body?: string): Promise<Reply> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: authorization === undefined ? {} : { authorization },
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

interface Admin {
  server: AdminServer;
  port: number;
  table: RouteTable;
  health: HealthMonitor;
}

async function startAdmin(extra: Partial<AdminSource>): Promise<Admin> {
  // Nothing listens on port 9 and no check is configured: the table only has to exist.
  const config = validateConfig({ listen: '127.0.0.1:0', routes: [{ path: '/', backends: ['127.0.0.1:9', '127.0.0.1:10'] }] });
  const table = RouteTable.fromConfig(config);
  const health = new HealthMonitor(routeHealthSettings(table.routes), pino({ level: 'silent' }), { rejectUnauthorized: true });
  const server = new AdminServer({ routes: () => table.routes, health: () => health, logger: pino({ level: 'silent' }), ...extra });
  const { port } = await server.listen('127.0.0.1', 0);
  return { server, port, table, health };
}

function realMetrics(): AdminSource['metrics'] {
  const registry = new Registry();
  new Counter({ name: 'wsgate_test_total', help: 'a counter for the admin token test', registers: [registry] }).inc(3);
  return { contentType: registry.contentType, text: () => registry.metrics() };
}

function stats(): StatsSample {
  return { at: Date.now(), tunnelsActive: 2, handshakesTotal: 7, rejectedTotal: 1, bytesTotal: 4096, closeCodes: { '1000': 5 } };
}

describe('admin API with a token', () => {
  let admin: Admin;
  let idA: string;

  before(async () => {
    admin = await startAdmin({ token: TOKEN, metrics: realMetrics(), stats });
    idA = admin.table.routes[0]?.pool.backends[0]?.id ?? '';
  });

  after(() => admin.server.close());

  const guarded: Array<[string, string, string?]> = [
    ['GET', '/backends'],
    ['GET', '/stats'],
    ['GET', '/metrics'],
    ['POST', '/backends/ID/drain'],
    ['POST', '/backends/ID/undrain'],
    ['PUT', '/backends/ID/weight', '{"weight": 5}'],
    ['GET', '/no-such-endpoint'],
    ['POST', '/'],
  ];

  test('every request but GET / answers 401 with WWW-Authenticate: Bearer and a JSON error without a valid token', async () => {
    const wrong: Array<[string, string | undefined]> = [
      ['no header', undefined],
      ['the same length, one character off', `Bearer ${TOKEN.slice(0, -1)}4`],
      ['shorter', `Bearer ${TOKEN.slice(0, 8)}`],
      ['longer', `Bearer ${TOKEN}x`],
      ['empty', 'Bearer '],
      ['another scheme', `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`],
      ['no scheme', TOKEN],
      ['two tokens', `Bearer ${TOKEN} ${TOKEN}`],
    ];
    for (const [method, template, body] of guarded) {
      const path = template.replace('ID', idA);
      for (const [name, authorization] of wrong) {
        const reply = await request(admin.port, method, path, authorization, body);
        assert.equal(reply.status, 401, `${method} ${path}, ${name}`);
        assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer realm="wsgate admin"/, `${method} ${path}, ${name}`);
        assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
        assert.match((JSON.parse(reply.text) as { error: string }).error, /needs a token/);
      }
    }
    // A presented but wrong token is told so (RFC 6750 3.1); a missing one is not.
    assert.match((await request(admin.port, 'GET', '/stats', `Bearer ${TOKEN}x`)).headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    assert.doesNotMatch((await request(admin.port, 'GET', '/stats')).headers.get('www-authenticate') ?? '', /error=/);
    // Nothing above changed anything.
    const backend = admin.table.routes[0]?.pool.backends[0];
    assert.deepEqual([backend?.draining, backend?.weight], [false, 1]);
  });

  test('the right token opens every endpoint; the scheme is case-insensitive', async () => {
    const auth = `Bearer ${TOKEN}`;
    const backends = await request(admin.port, 'GET', '/backends', auth);
    assert.equal(backends.status, 200);
    assert.equal((JSON.parse(backends.text) as { routes: Array<{ backends: unknown[] }> }).routes[0]?.backends.length, 2);
    assert.equal((await request(admin.port, 'GET', '/backends', `bearer ${TOKEN}`)).status, 200);

    const statsReply = await request(admin.port, 'GET', '/stats', auth);
    assert.equal(statsReply.status, 200);
    const body = JSON.parse(statsReply.text) as { now: StatsSample; history: StatsSample[] };
    assert.equal(body.now.handshakesTotal, 7);
    assert.ok(body.history.length >= 1, 'listen() took the first sample');

    const metrics = await request(admin.port, 'GET', '/metrics', auth);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(metrics.headers.get('cache-control'), 'no-store');
    assert.match(metrics.text, /^wsgate_test_total 3$/m);

    assert.equal((await request(admin.port, 'POST', `/backends/${idA}/drain`, auth)).status, 200);
    assert.equal(admin.table.routes[0]?.pool.backends[0]?.draining, true);
    assert.equal((await request(admin.port, 'POST', `/backends/${idA}/undrain`, auth)).status, 200);
    assert.equal((await request(admin.port, 'PUT', `/backends/${idA}/weight`, auth, '{"weight": 1}')).status, 200);
    // Past the token, the usual answers.
    assert.equal((await request(admin.port, 'GET', '/no-such-endpoint', auth)).status, 404);
    const post = await request(admin.port, 'POST', '/', auth);
    assert.deepEqual([post.status, post.headers.get('allow')], [405, 'GET']);
    assert.equal((await request(admin.port, 'DELETE', '/metrics', auth)).status, 405);
  });

  test('GET / (the dashboard shell) loads without a token and holds no data', async () => {
    const page = await request(admin.port, 'GET', '/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.match(page.text, /<title>wsgate admin<\/title>/);
    assert.ok(!page.text.includes(idA), 'no backend id in the shell');
    assert.ok(!page.text.includes(TOKEN));
  });

  test('an empty token is refused at construction', () => {
    assert.throws(
      () => new AdminServer({ routes: () => admin.table.routes, health: () => admin.health, logger: pino({ level: 'silent' }), token: '' }),
      /must not be empty/,
    );
  });
});

describe('admin API without a token', () => {
  let admin: Admin;

  before(async () => {
    admin = await startAdmin({});
  });

  after(() => admin.server.close());

  test('is open as before; /stats and /metrics answer 404 when the gateway gives no source for them', async () => {
    assert.equal((await request(admin.port, 'GET', '/backends')).status, 200);
    // An Authorization header is ignored when no token is configured.
    assert.equal((await request(admin.port, 'GET', '/backends', 'Bearer whatever')).status, 200);
    assert.equal((await request(admin.port, 'GET', '/')).status, 200);
    for (const path of ['/stats', '/metrics']) {
      const reply = await request(admin.port, 'GET', path);
      assert.equal(reply.status, 404, path);
      assert.equal(typeof (JSON.parse(reply.text) as { error: unknown }).error, 'string');
    }
  });
});

describe('admin API and other sites', () => {
  test('a cross-site POST (a page the operator visits) is refused, with or without a token; curl and the dashboard are not', async () => {
    const admin = await startAdmin({});
    try {
      const id = admin.table.routes[0]?.pool.backends[0]?.id ?? '';
      const post = (origin?: string): Promise<Response> =>
        fetch(`http://127.0.0.1:${admin.port}/backends/${id}/drain`, { method: 'POST', headers: origin === undefined ? {} : { origin } });
      const evil = await post('http://evil.example');
      assert.equal(evil.status, 403);
      assert.match(await evil.text(), /cross-site/);
      assert.equal(admin.table.routes[0]?.pool.backends[0]?.draining, false, 'nothing was drained');
      assert.equal((await post('null')).status, 403, 'an opaque origin (sandboxed frame, file:) is refused too');
      // The dashboard's own page sends its own origin; scripts send none.
      const own = await post(`http://127.0.0.1:${admin.port}`);
      assert.equal(own.status, 200);
      await own.text();
      assert.equal((await post()).status, 200);
    } finally {
      await admin.server.close();
    }
  });
});
