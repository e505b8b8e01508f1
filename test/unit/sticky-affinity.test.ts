import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateConfig } from '../../src/config/validate.js';
import { readRequestFacts } from '../../src/routing/request-facts.js';
import { selectionFor, stickySetCookie } from '../../src/routing/route-selection.js';
import { RouteTable } from '../../src/routing/route-table.js';
import { addSetCookieToHead, compileStickyCookie } from '../../src/routing/sticky-cookie.js';
import { deriveBackendId } from '../../src/upstream/backend-id.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';

function routeFor(input: GatewayConfigInput['routes'][number], secret?: string) {
  const config = validateConfig({ routes: [input], ...(secret === undefined ? {} : { backendIdSecret: secret }) });
  const route = new RouteTable(config.routes, { backendIdSecret: config.backendIdSecret }).routes[0];
  assert.ok(route);
  return route;
}

function selection(route: ReturnType<typeof routeFor>, target: string, headers: Record<string, string> = {}, secure = false) {
  const read = readRequestFacts(target, headers);
  assert.ok(read.ok);
  return selectionFor(route, read.facts, '10.1.1.1', secure);
}

describe('sticky cookie', () => {
  test('Set-Cookie attributes (RFC 6265 4.1): Path=/, HttpOnly, SameSite=Lax, Secure when the client used TLS', () => {
    const cookie = compileStickyCookie({ name: 'WSGATE' });
    assert.equal(cookie.setCookie('b1', false), 'WSGATE=b1; Path=/; HttpOnly; SameSite=Lax');
    assert.equal(cookie.setCookie('b1', true), 'WSGATE=b1; Path=/; HttpOnly; SameSite=Lax; Secure');
    const full = compileStickyCookie({ name: 'S', path: '/app', domain: 'example.com', maxAge: 3600, sameSite: 'Strict', secure: false });
    assert.equal(full.setCookie('b2', true), 'S=b2; Path=/app; Domain=example.com; Max-Age=3600; HttpOnly; SameSite=Strict');
    assert.equal(compileStickyCookie({ name: 'S', sameSite: 'None' }).setCookie('b', false), 'S=b; Path=/; HttpOnly; SameSite=None; Secure');
  });

  test('the cookie names a backend by its opaque id, never its address, and is set only when it changes', () => {
    const route = routeFor({ path: '/', backends: ['10.0.0.5:3000', '10.0.0.6:3000'], stickyCookie: 'WSGATE' });
    const [first, second] = route.pool.backends;
    assert.ok(first && second);
    const fresh = selection(route, '/');
    const setCookie = stickySetCookie(route, fresh, first) ?? '';
    assert.match(setCookie, /^WSGATE=b[0-9a-f]{10};/);
    assert.ok(!setCookie.includes('10.0.0.5') && !setCookie.includes('3000'));
    const returning = selection(route, '/', { cookie: `WSGATE=${first.id}` });
    assert.deepEqual(returning.preferredBackendIds, [first.id]);
    assert.equal(route.pool.selectBackend(returning), first);
    assert.equal(stickySetCookie(route, returning, first), undefined);
    assert.match(stickySetCookie(route, returning, second) ?? '', new RegExp(`^WSGATE=${second.id};`));
  });

  test('a bound backend is used while usable; down, draining, tried or unknown: the strategy chooses', () => {
    const route = routeFor({ path: '/', backends: ['b1@h:1', 'b2@h:2', 'b3@h:3'], stickyCookie: 'S' });
    const b2 = route.pool.backendById('b2');
    assert.ok(b2);
    const bound = selection(route, '/', { cookie: 'S=b2' });
    for (let i = 0; i < 5; i++) assert.equal(route.pool.selectBackend(bound), b2);
    b2.healthy = false;
    assert.notEqual(route.pool.selectBackend(bound), b2);
    b2.healthy = true;
    b2.draining = true;
    assert.notEqual(route.pool.selectBackend(bound), b2);
    b2.draining = false;
    assert.notEqual(route.pool.selectBackend(bound, new Set([b2])), b2);
    const unknown = selection(route, '/', { cookie: 'S=nope' });
    assert.ok(route.pool.selectBackend(unknown) !== undefined);
  });

  test('ids are the same in every process with the same list; a secret makes them an HMAC', () => {
    const plain = routeFor({ path: '/', backends: ['10.0.0.5:3000'] });
    const again = routeFor({ path: '/other', backends: ['10.0.0.5:3000'] });
    assert.equal(plain.pool.backends[0]?.id, again.pool.backends[0]?.id);
    assert.equal(plain.pool.backends[0]?.id, deriveBackendId('10.0.0.5', 3000));
    const keyed = routeFor({ path: '/', backends: ['10.0.0.5:3000'] }, 'sixteen-characters-at-least');
    assert.notEqual(keyed.pool.backends[0]?.id, plain.pool.backends[0]?.id);
    assert.equal(keyed.pool.backends[0]?.id, deriveBackendId('10.0.0.5', 3000, 'sixteen-characters-at-least'));
    assert.match(keyed.pool.backends[0]?.id ?? '', /^b[0-9a-f]{10}$/);
    assert.equal(routeFor({ path: '/', backends: ['b1@10.0.0.5:3000'] }, 'sixteen-characters-at-least').pool.backends[0]?.id, 'b1');
  });

  test('the Set-Cookie line goes into a raw 101 head before the blank line; bytes behind it are kept', () => {
    const head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
    const received = Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from([0x81, 0x01, 0x41])]);
    const out = addSetCookieToHead(received, head.length, 'S=b1; Path=/');
    assert.equal(
      out.toString('latin1'),
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSet-Cookie: S=b1; Path=/\r\n\r\n\x81\x01A',
    );
  });
});

describe('session-id affinity', () => {
  const route = routeFor({ path: '/socket.io', backends: ['b1@h:1', 'b2@h:2'], sessionAffinity: 'sid', stickyCookie: 'S' });

  test('a session id "<backend id>.<rest>" binds the request to that backend, before the cookie', () => {
    assert.deepEqual(selection(route, '/socket.io/?EIO=4&transport=polling&sid=b2.AbC-_x').preferredBackendIds, ['b2']);
    assert.deepEqual(selection(route, '/socket.io/?sid=b2.x', { cookie: 'S=b1' }).preferredBackendIds, ['b2', 'b1']);
    assert.equal(route.pool.selectBackend(selection(route, '/socket.io/?sid=b2.x', { cookie: 'S=b1' })), route.pool.backendById('b2'));
  });

  test('no session id, no separator, or an empty id: no binding', () => {
    for (const target of ['/socket.io/?EIO=4', '/socket.io/?sid=AbCdEf', '/socket.io/?sid=.x', '/socket.io/?sid=']) {
      assert.deepEqual(selection(route, target).preferredBackendIds, [], target);
    }
  });

  test('another separator', () => {
    const tilde = routeFor({ path: '/', backends: ['b1@h:1'], sessionAffinity: { param: 'session', separator: '~' } });
    assert.deepEqual(selection(tilde, '/?session=b1~x.y').preferredBackendIds, ['b1']);
    assert.deepEqual(selection(tilde, '/?session=b1.x').preferredBackendIds, []);
  });
});

describe('hash keys', () => {
  test('hashOn cookie, header, query; client (or absent) hashes the address', () => {
    assert.equal(selection(routeFor({ path: '/', backends: ['h:1'], hashOn: { cookie: 'u' } }), '/', { cookie: 'u=alice' }).hashKey, 'alice');
    assert.equal(selection(routeFor({ path: '/', backends: ['h:1'], hashOn: { header: 'X-User' } }), '/', { 'x-user': 'bob' }).hashKey, 'bob');
    assert.equal(selection(routeFor({ path: '/', backends: ['h:1'], hashOn: { query: 'room' } }), '/?room=7').hashKey, '7');
    assert.equal(selection(routeFor({ path: '/', backends: ['h:1'], hashOn: 'client' }), '/').hashKey, undefined);
    assert.equal(selection(routeFor({ path: '/', backends: ['h:1'], balance: 'hash' }), '/').hashKey, undefined);
  });
});
