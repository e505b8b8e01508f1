import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { validateConfig } from '../../src/config/validate.js';
import { parseCookies } from '../../src/routing/parse-cookies.js';
import { hostName, readRequestFacts, RequestFacts } from '../../src/routing/request-facts.js';
import { rewritePrefix } from '../../src/routing/rewrite-path.js';
import { RouteTable } from '../../src/routing/route-table.js';

type RouteInput = GatewayConfigInput['routes'][number];

/** A table from route inputs; each route's name is its position as written ("r0", "r1", ...) unless named. */
function table(...routes: RouteInput[]): RouteTable {
  return new RouteTable(validateConfig({ routes: routes.map((route, i) => ({ name: `r${i}`, ...route })) }).routes);
}

function facts(target: string, headers: Record<string, string> = {}): RequestFacts {
  const read = readRequestFacts(target, { host: 'gw.test', ...headers });
  assert.ok(read.ok, target);
  return read.facts;
}

function routeOf(routes: RouteTable, target: string, headers: Record<string, string> = {}): string | undefined {
  return routes.match(facts(target, headers))?.name;
}

const B = ['127.0.0.1:1'];

describe('matchers', () => {
  test('host: exact and wildcard, case-insensitive, port and trailing dot ignored', () => {
    const routes = table({ host: 'chat.example.com', backends: B }, { host: '*.example.com', backends: B });
    assert.equal(routeOf(routes, '/', { host: 'chat.example.com' }), 'r0');
    assert.equal(routeOf(routes, '/', { host: 'CHAT.Example.com:8080' }), 'r0');
    assert.equal(routeOf(routes, '/', { host: 'chat.example.com.' }), 'r0');
    assert.equal(routeOf(routes, '/', { host: 'a.example.com' }), 'r1');
    assert.equal(routeOf(routes, '/', { host: 'a.b.example.com' }), 'r1');
    assert.equal(routeOf(routes, '/', { host: 'example.com' }), undefined);
    assert.equal(routeOf(routes, '/', { host: 'evil-example.com' }), undefined);
    assert.equal(routeOf(routes, '/', { host: 'example.com.evil.test' }), undefined);
  });

  test('host: the authority of an absolute-form target wins over Host (RFC 9112 3.2.2)', () => {
    const routes = table({ host: 'chat.example.com', backends: B });
    assert.equal(routeOf(routes, 'http://chat.example.com/x', { host: 'other.test' }), 'r0');
    assert.equal(routeOf(routes, 'http://other.test/x', { host: 'chat.example.com' }), undefined);
  });

  test('path: prefix at a "/" boundary, exact, regex (case-sensitive unless ignoreCase)', () => {
    const routes = table(
      { path: { exact: '/status' }, backends: B },
      { path: { regex: '^/rooms/[0-9]+$' }, backends: B },
      { path: { regex: '\\.PNG$', ignoreCase: true }, backends: B },
      { path: { prefix: '/chat' }, backends: B },
    );
    assert.equal(routeOf(routes, '/status'), 'r0');
    assert.equal(routeOf(routes, '/status/'), undefined);
    assert.equal(routeOf(routes, '/status?x=1'), 'r0');
    assert.equal(routeOf(routes, '/rooms/42'), 'r1');
    assert.equal(routeOf(routes, '/rooms/42/x'), undefined);
    assert.equal(routeOf(routes, '/img/a.png'), 'r2');
    assert.equal(routeOf(routes, '/chat/a.PnG'), 'r2');
    assert.equal(routeOf(routes, '/chat/x'), 'r3');
    assert.equal(routeOf(routes, '/chatroom'), undefined);
  });

  test('headers: present, absent, equals, regex; names case-insensitive, values case-sensitive', () => {
    const routes = table(
      { headers: { 'X-Tenant': 'acme' }, backends: B },
      { headers: { 'user-agent': { regex: 'firefox', ignoreCase: true } }, backends: B },
      { headers: { 'x-beta': true, 'x-blocked': false }, backends: B },
    );
    assert.equal(routeOf(routes, '/', { 'x-tenant': 'acme' }), 'r0');
    assert.equal(routeOf(routes, '/', { 'x-tenant': 'ACME' }), undefined);
    assert.equal(routeOf(routes, '/', { 'user-agent': 'Mozilla/5.0 Firefox/130' }), 'r1');
    assert.equal(routeOf(routes, '/', { 'x-beta': '' }), 'r2');
    assert.equal(routeOf(routes, '/', { 'x-beta': '1', 'x-blocked': '1' }), undefined);
  });

  test('cookies: present, equals, regex (RFC 6265 pairs, quoted values, first wins)', () => {
    const routes = table({ cookies: { tenant: 'acme' }, backends: B }, { cookies: { session: true }, backends: B }, { cookies: { v: { regex: '^2\\.' } }, backends: B });
    assert.equal(routeOf(routes, '/', { cookie: 'a=1; tenant=acme' }), 'r0');
    assert.equal(routeOf(routes, '/', { cookie: 'tenant="acme"' }), 'r0');
    assert.equal(routeOf(routes, '/', { cookie: 'tenant=globex; tenant=acme' }), undefined);
    assert.equal(routeOf(routes, '/', { cookie: 'session=' }), 'r1');
    assert.equal(routeOf(routes, '/', { cookie: 'v=2.1' }), 'r2');
    assert.equal(routeOf(routes, '/', { cookie: 'xtenant=acme' }), undefined);
  });

  test('query: present, equals (numbers compare as written), regex; form decoding', () => {
    const routes = table({ query: { v: 2 }, backends: B }, { query: { room: true, q: { regex: '^a b$' } }, backends: B });
    assert.equal(routeOf(routes, '/?v=2'), 'r0');
    assert.equal(routeOf(routes, '/?v=20'), undefined);
    assert.equal(routeOf(routes, '/?room=&q=a+b'), 'r1');
    assert.equal(routeOf(routes, '/?room&q=a%20b'), 'r1');
    assert.equal(routeOf(routes, '/?q=a+b'), undefined);
  });

  test('all conditions of a route must hold', () => {
    const routes = table({ host: '*.example.com', path: '/chat', cookies: { tenant: 'acme' }, headers: { 'x-beta': true }, query: { v: '2' }, backends: B });
    const all = { host: 'a.example.com', cookie: 'tenant=acme', 'x-beta': '1' };
    assert.equal(routeOf(routes, '/chat/x?v=2', all), 'r0');
    assert.equal(routeOf(routes, '/chat/x?v=3', all), undefined);
    assert.equal(routeOf(routes, '/chat/x?v=2', { ...all, host: 'example.org' }), undefined);
    assert.equal(routeOf(routes, '/chat/x?v=2', { ...all, cookie: 'tenant=x' }), undefined);
    assert.equal(routeOf(routes, '/chat/x?v=2', { host: all.host, cookie: all.cookie }), undefined);
    assert.equal(routeOf(routes, '/feed?v=2', all), undefined);
  });

  test('the path is matched normalised: "/public/../admin" is "/admin"', () => {
    const routes = table({ path: '/admin', headers: { 'x-admin-token': 'secret' }, backends: B }, { path: '/public', backends: B });
    assert.equal(routeOf(routes, '/public/x'), 'r1');
    for (const sneaky of ['/public/../admin', '/public/%2e%2e/admin', '/public%2f..%2fadmin', '/public/..%2fadmin', '/public//../admin']) {
      assert.equal(routeOf(routes, sneaky), undefined, sneaky);
      assert.equal(routeOf(routes, sneaky, { 'x-admin-token': 'secret' }), 'r0', sneaky);
    }
  });
});

describe('the order routes are tried in', () => {
  test('conditional routes first in written order, then plain prefixes longest first, then the default', () => {
    const routes = table(
      { path: '/', backends: B }, // r0: plain
      { path: '/chat', backends: B }, // r1: plain
      { path: '/chat', cookies: { tenant: 'acme' }, backends: B }, // r2: conditional
      { default: true, backends: B }, // r3: default
      { path: '/chat/admin', backends: B }, // r4: plain
      { headers: { 'x-beta': true }, backends: B }, // r5: conditional, any path
      { path: { regex: '^/chat/[0-9]+$' }, backends: B }, // r6: conditional
    );
    assert.deepEqual(
      routes.routes.map((route) => route.name),
      ['r2', 'r5', 'r6', 'r4', 'r1', 'r0', 'r3'],
    );
    assert.equal(routeOf(routes, '/chat/admin/x'), 'r4');
    assert.equal(routeOf(routes, '/chat/admin/x', { cookie: 'tenant=acme' }), 'r2');
    assert.equal(routeOf(routes, '/chat/admin/x', { 'x-beta': '1' }), 'r5');
    assert.equal(routeOf(routes, '/chat/7'), 'r6');
    assert.equal(routeOf(routes, '/chat/x'), 'r1');
    assert.equal(routeOf(routes, '/x'), 'r0');
  });

  test('among conditional routes the first written wins', () => {
    const routes = table({ headers: { 'x-a': true }, backends: B }, { headers: { 'x-b': true }, backends: B });
    assert.equal(routeOf(routes, '/', { 'x-a': '1', 'x-b': '1' }), 'r0');
    const swapped = table({ headers: { 'x-b': true }, backends: B }, { headers: { 'x-a': true }, backends: B });
    assert.equal(routeOf(swapped, '/', { 'x-a': '1', 'x-b': '1' }), 'r0');
  });

  test('the default route is tried last and catches what nothing else did', () => {
    const routes = table({ default: true, backends: B }, { path: '/chat', backends: B });
    assert.equal(routeOf(routes, '/chat'), 'r1');
    assert.equal(routeOf(routes, '/elsewhere'), 'r0');
  });

  test('a route with no condition is the catch-all prefix "/"', () => {
    const routes = table({ backends: B }, { path: '/a', backends: B });
    assert.equal(routes.routes[1]?.name, 'r0');
    assert.equal(routes.routes[1]?.pathPrefix, '/');
  });

  test('route names: configured, else the prefix (plain routes, as before), else the conditions in flag syntax', () => {
    const routes = new RouteTable(
      validateConfig({
        routes: [
          { path: '/chat', backends: B },
          { path: '/chat', host: '*.x.test', cookies: { t: 'a' }, headers: { 'X-A': false }, query: { q: { regex: 'r', ignoreCase: true } }, backends: B },
          { path: { exact: '/e' }, backends: B },
          { name: 'mine', path: { regex: '^/r' }, backends: B },
        ],
      }).routes,
    );
    assert.deepEqual(
      routes.routes.map((route) => route.name),
      ['host:*.x.test header:!x-a cookie:t=a query:q~*r /chat', '=/e', 'mine', '/chat'],
    );
  });
});

describe('rewrites', () => {
  test('rewritePrefix keeps one "/" at the seam', () => {
    assert.equal(rewritePrefix('/chat/x', '/chat', '/'), '/x');
    assert.equal(rewritePrefix('/chat', '/chat', '/'), '/');
    assert.equal(rewritePrefix('/chat/x/y', '/chat', '/v2'), '/v2/x/y');
    assert.equal(rewritePrefix('/chat', '/chat', '/v2'), '/v2');
    assert.equal(rewritePrefix('/api/x', '/api/', '/'), '/x');
    assert.equal(rewritePrefix('/api/x', '/api/', '/v2'), '/v2/x');
    assert.equal(rewritePrefix('/api/x', '/api/', '/v2/'), '/v2/x');
  });

  test('routes rewrite only when asked, from the normalised path', () => {
    const routes = table({ path: '/chat', stripPrefix: true, backends: B }, { path: { exact: '/old' }, rewritePrefix: '/new', backends: B }, { path: '/keep', backends: B });
    assert.equal(routes.match('/chat/a')?.rewrite('/chat/a'), '/a');
    assert.equal(routes.match('/old')?.rewrite('/old'), '/new');
    assert.equal(routes.match('/keep/a')?.rewrite('/keep/a'), undefined);
  });
});

describe('request facts', () => {
  test('hostName strips port and trailing dot, keeps IPv6 brackets', () => {
    assert.equal(hostName('Chat.Example.com.:8080'), 'chat.example.com');
    assert.equal(hostName('[::1]:80'), '[::1]');
    assert.equal(hostName('10.0.0.1'), '10.0.0.1');
    assert.equal(hostName(''), undefined);
    assert.equal(hostName(undefined), undefined);
  });

  test('parseCookies follows RFC 6265 5.4 pairs', () => {
    assert.deepEqual([...parseCookies('a=1; b="two"; c; =x; a=3; d==e; e=')], [['a', '1'], ['b', 'two'], ['d', '=e'], ['e', '']]);
    assert.equal(parseCookies(undefined).size, 0);
  });

  test('targets that are not paths, and paths that do not decode, are told apart', () => {
    const star = readRequestFacts('*', {});
    assert.ok(!star.ok && star.problem === 'not-a-path');
    const bad = readRequestFacts('/a%zz', {});
    assert.ok(!bad.ok && bad.problem === 'bad-path');
  });
});
