import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateConfig } from '../../src/config/validate.js';
import type { RouteConfig } from '../../src/config/schema.js';
import { RouteTable, prefixMatches } from '../../src/routing/route-table.js';
import { requestPath } from '../../src/routing/request-path.js';

/** Route configs as the gateway gets them: through validateConfig. */
function routeConfigs(paths: readonly string[]): readonly RouteConfig[] {
  return validateConfig({ routes: paths.map((path, i) => ({ path, backends: [`backend-${i}:${9000 + i}`] })) }).routes;
}

function table(...paths: string[]): RouteTable {
  return new RouteTable(routeConfigs(paths));
}

/** The written prefix of the matching route, or undefined. */
function matched(routes: RouteTable, path: string): string | undefined {
  return routes.match(path)?.name;
}

/** All orders of a short list. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('prefixMatches', () => {
  test('"/chat" matches at a "/" boundary only', () => {
    assert.equal(prefixMatches('/chat', '/chat'), true);
    assert.equal(prefixMatches('/chat', '/chat/'), true);
    assert.equal(prefixMatches('/chat', '/chat/x'), true);
    assert.equal(prefixMatches('/chat', '/chat/x/y'), true);
    assert.equal(prefixMatches('/chat', '/chatroom'), false);
    assert.equal(prefixMatches('/chat', '/chat-x'), false);
    assert.equal(prefixMatches('/chat', '/chat.json'), false);
    assert.equal(prefixMatches('/chat', '/cha'), false);
    assert.equal(prefixMatches('/chat', '/'), false);
    assert.equal(prefixMatches('/chat', '/Chat'), false);
    assert.equal(prefixMatches('/chat', '/x/chat'), false);
  });

  test('"/" matches every path', () => {
    for (const path of ['/', '/a', '/chat', '/chat/x', '//', '/a/b/c?']) assert.equal(prefixMatches('/', path), true, path);
    assert.equal(prefixMatches('/', ''), false);
  });

  test('a prefix ending in "/" matches below it, not the bare name', () => {
    assert.equal(prefixMatches('/api/', '/api/'), true);
    assert.equal(prefixMatches('/api/', '/api/v1'), true);
    assert.equal(prefixMatches('/api/', '/api'), false);
    assert.equal(prefixMatches('/api/', '/apiv1'), false);
  });

  test('property: prefix + "/" + anything matches; prefix + a non-"/" character never does', () => {
    const segment = fc.stringMatching(/^[a-z0-9_-]{1,8}$/);
    const prefixArb = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`);
    fc.assert(
      fc.property(prefixArb, fc.string(), fc.stringMatching(/^[^/]$/), fc.string(), (prefix, rest, char, tail) => {
        assert.equal(prefixMatches(prefix, prefix), true);
        assert.equal(prefixMatches(prefix, `${prefix}/${rest}`), true);
        assert.equal(prefixMatches(prefix, `${prefix}${char}${tail}`), false);
      }),
    );
  });
});

describe('RouteTable.match', () => {
  test('"/chat" alone: matches /chat, /chat/, /chat/x, not /chatroom or /', () => {
    const routes = table('/chat');
    assert.equal(matched(routes, '/chat'), '/chat');
    assert.equal(matched(routes, '/chat/'), '/chat');
    assert.equal(matched(routes, '/chat/x'), '/chat');
    assert.equal(matched(routes, '/chatroom'), undefined);
    assert.equal(matched(routes, '/'), undefined);
    assert.equal(matched(routes, '/other'), undefined);
  });

  test('"/" is the catch-all', () => {
    const routes = table('/');
    for (const path of ['/', '/chat', '/chatroom', '/a/b/c']) assert.equal(matched(routes, path), '/', path);
  });

  test('a prefix with a trailing slash', () => {
    const routes = table('/api/');
    assert.equal(matched(routes, '/api/'), '/api/');
    assert.equal(matched(routes, '/api/v2/socket'), '/api/');
    assert.equal(matched(routes, '/api'), undefined);
    assert.equal(matched(routes, '/apis'), undefined);
  });

  test('the longest matching prefix wins, whatever the written order', () => {
    const written = ['/', '/chat', '/chat/admin', '/chat/admin/x', '/news'];
    const expectations: ReadonlyArray<readonly [string, string]> = [
      ['/chat/admin/x/y', '/chat/admin/x'],
      ['/chat/admin/x', '/chat/admin/x'],
      ['/chat/admin/xy', '/chat/admin'],
      ['/chat/admin', '/chat/admin'],
      ['/chat/administrator', '/chat'],
      ['/chat/room', '/chat'],
      ['/chat', '/chat'],
      ['/chatroom', '/'],
      ['/news/today', '/news'],
      ['/newsroom', '/'],
      ['/', '/'],
    ];
    for (const order of permutations(written)) {
      const routes = table(...order);
      for (const [path, expected] of expectations) {
        const route = routes.match(path);
        assert.equal(route?.name, expected, `${path} with routes ${order.join(' ')}`);
        // The index is the position as written.
        assert.equal(route?.index, order.indexOf(expected));
        assert.equal(route?.pathPrefix, expected);
      }
    }
  });

  test('"/chat/" is longer than "/chat" and wins below it', () => {
    const routes = table('/chat', '/chat/');
    assert.equal(routes.match('/chat')?.index, 0);
    assert.equal(routes.match('/chat/')?.index, 1);
    assert.equal(routes.match('/chat/x')?.index, 1);
  });

  test('equal lengths keep the written order', () => {
    // Two routes with the very same prefix are refused by validateConfig (issue 13), so the table is
    // built from route configs directly here: its order rule must hold for any list it is given.
    const configs = validateConfig({
      routes: [
        { path: '/bb', backends: ['first:1'] },
        { path: '/chat', backends: ['first:1'] },
        { path: '/aa', backends: ['second:2'] },
        { path: '/talk', backends: ['second:2'] },
        { path: '/', backends: ['third:3'] },
      ],
    }).routes;
    const routes = new RouteTable([...configs.slice(0, 3), { ...configs[1]!, backends: configs[3]!.backends }, configs[4]!]);
    assert.deepEqual(
      routes.routes.map((route) => [route.name, route.index]),
      [
        ['/chat', 1],
        ['/chat', 3],
        ['/bb', 0],
        ['/aa', 2],
        ['/', 4],
      ],
    );
    const chat = routes.match('/chat/x');
    assert.equal(chat?.index, 1);
    assert.equal(chat?.pool.backends[0]?.host, 'first');
  });

  test('each route gets its own pool with its backends and strategy', () => {
    const routes = new RouteTable(
      validateConfig({
        routes: [
          { path: '/a', backends: ['a1:1', 'wss://a2'], balance: 'least-conn' },
          { path: '/b', backends: [{ host: 'b1', port: 2, weight: 5 }] },
        ],
      }).routes,
    );
    const a = routes.match('/a');
    const b = routes.match('/b');
    assert.deepEqual(
      a?.pool.backends.map((backend) => [backend.host, backend.port, backend.tls, backend.weight]),
      [
        ['a1', 1, false, 1],
        ['a2', 443, true, 1],
      ],
    );
    assert.deepEqual(
      b?.pool.backends.map((backend) => [backend.host, backend.port, backend.tls, backend.weight]),
      [['b1', 2, false, 5]],
    );
    assert.notEqual(a?.pool, b?.pool);
  });
});

describe('requestPath', () => {
  const cases: ReadonlyArray<readonly [string, string | undefined]> = [
    // origin-form
    ['/', '/'],
    ['/chat', '/chat'],
    ['/chat?room=1', '/chat'],
    ['/chat/?a=1&b=2', '/chat/'],
    ['/a?b?c', '/a'],
    ['/?x', '/'],
    // absolute-form (RFC 9112 3.2.2)
    ['http://gateway.example/chat?x=1', '/chat'],
    ['HTTP://gateway.example:8080/a/b', '/a/b'],
    ['ws://gateway.example/chat', '/chat'],
    ['wss://gateway.example', '/'],
    ['http://gateway.example', '/'],
    ['http://[::1]:8080/p?q', '/p'],
    ['https://user@gateway.example/x', '/x'],
    // anything else
    ['', undefined],
    ['*', undefined],
    ['chat', undefined],
    ['chat/x', undefined],
    ['gateway.example:80', undefined],
    ['?x=1', undefined],
    ['http://', undefined],
    ['http:/chat', undefined],
    ['mailto:x@y', undefined],
    ['1http://h/x', undefined],
    ['http://[::1/x', undefined],
  ];
  for (const [target, expected] of cases) {
    test(`${JSON.stringify(target)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(requestPath(target), expected);
    });
  }

  test('targets through requestPath then RouteTable.match', () => {
    const routes = table('/', '/chat');
    const route = (target: string): string | undefined => {
      const path = requestPath(target);
      return path === undefined ? undefined : matched(routes, path);
    };
    assert.equal(route('/chat?room=/x'), '/chat');
    assert.equal(route('/chatroom?to=/chat'), '/');
    assert.equal(route('http://gateway.example/chat/x?y'), '/chat');
    assert.equal(route('http://gateway.example/chatroom'), '/');
    assert.equal(route('http://gateway.example'), '/');
    assert.equal(route('*'), undefined);
    assert.equal(route('garbage'), undefined);
  });
});
