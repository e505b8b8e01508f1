import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRouteFlag, RouteFlagError } from '../../src/config/parse-route-flag.js';
import { validateConfig } from '../../src/config/validate.js';

function one(flag: string): unknown {
  const routes = parseRouteFlag(flag);
  assert.equal(routes.length, 1);
  return routes[0];
}

describe('--route flag syntax', () => {
  test('the issue 2 form is unchanged', () => {
    assert.deepEqual(one('/chat=127.0.0.1:9001,127.0.0.1:9002'), { path: '/chat', backends: ['127.0.0.1:9001', '127.0.0.1:9002'] });
    assert.deepEqual(parseRouteFlag('/b=h:2', parseRouteFlag('/a=h:1')), [
      { path: '/a', backends: ['h:1'] },
      { path: '/b', backends: ['h:2'] },
    ]);
  });

  test('path forms: prefix, =exact, ~regex, ~*regex, * (any)', () => {
    assert.deepEqual(one('=/status=h:1'), { path: { exact: '/status' }, backends: ['h:1'] });
    assert.deepEqual(one('~^/rooms/[0-9]+$=h:1'), { path: { regex: '^/rooms/[0-9]+$' }, backends: ['h:1'] });
    assert.deepEqual(one('~^/a=b$=h:1'), { path: { regex: '^/a=b$' }, backends: ['h:1'] });
    assert.deepEqual(one('~*\\.png$=h:1'), { path: { regex: '\\.png$', ignoreCase: true }, backends: ['h:1'] });
    assert.deepEqual(one('header:x-beta *=h:1'), { headers: { 'x-beta': true }, backends: ['h:1'] });
  });

  test('conditions: host, header, cookie, query in every form, in any position', () => {
    assert.deepEqual(
      one('host:*.example.com header:x-beta header:!x-old header:X-Tenant=acme header:user-agent~*firefox cookie:tenant=acme /chat=h:1 cookie:s query:v=2 query:q~^a'),
      {
        host: '*.example.com',
        headers: { 'x-beta': true, 'x-old': false, 'X-Tenant': 'acme', 'user-agent': { regex: 'firefox', ignoreCase: true } },
        cookies: { tenant: 'acme', s: true },
        query: { v: '2', q: { regex: '^a' } },
        path: '/chat',
        backends: ['h:1'],
      },
    );
    assert.deepEqual(one('cookie:tenant=acme /chat=127.0.0.1:9001'), { cookies: { tenant: 'acme' }, path: '/chat', backends: ['127.0.0.1:9001'] });
    assert.deepEqual(one('header:x-empty= /=h:1'), { headers: { 'x-empty': '' }, path: '/', backends: ['h:1'] });
  });

  test('options: balance, hash, sticky, session, strip, rewrite, default, name', () => {
    assert.deepEqual(one('/a=h:1 balance:least-conn sticky:WSGATE session:sid name:chat'), {
      path: '/a',
      backends: ['h:1'],
      balance: 'least-conn',
      stickyCookie: 'WSGATE',
      sessionAffinity: 'sid',
      name: 'chat',
    });
    assert.deepEqual(one('/a=h:1 hash:cookie:user session:sid:~ strip'), {
      path: '/a',
      backends: ['h:1'],
      hashOn: { cookie: 'user' },
      sessionAffinity: { param: 'sid', separator: '~' },
      stripPrefix: true,
    });
    assert.deepEqual(one('/a=h:1 hash:client rewrite:/v2 default'), { path: '/a', backends: ['h:1'], hashOn: 'client', rewritePrefix: '/v2', default: true });
  });

  test('backends may carry an id and a weight: [ID@]ADDRESS[*WEIGHT]', () => {
    const config = validateConfig({ routes: parseRouteFlag('/a=b1@127.0.0.1:9001*3,ws://127.0.0.1:9002,b-2@http://[::1]:9003*2') });
    assert.deepEqual(config.routes[0]?.backends, [
      { host: '127.0.0.1', port: 9001, tls: false, id: 'b1', weight: 3 },
      { host: '127.0.0.1', port: 9002, tls: false, weight: 1 },
      { host: '::1', port: 9003, tls: false, id: 'b-2', weight: 2 },
    ]);
  });

  test('a flag and the file form validate to the same route', () => {
    const fromFlag = validateConfig({ routes: parseRouteFlag('host:*.example.com cookie:tenant=acme header:x-beta /chat=b1@h:1 balance:hash hash:header:x-user sticky:S') });
    const fromFile = validateConfig({
      routes: [
        {
          host: '*.example.com',
          cookies: { tenant: 'acme' },
          headers: { 'x-beta': true },
          path: '/chat',
          backends: [{ host: 'h', port: 1, id: 'b1' }],
          balance: 'hash',
          hashOn: { header: 'x-user' },
          stickyCookie: 'S',
        },
      ],
    });
    assert.deepEqual(fromFlag.routes, fromFile.routes);
  });

  test('mistakes are named', () => {
    const cases: ReadonlyArray<readonly [string, RegExp]> = [
      ['chat=h:1', /the prefix must start with "\/", got "chat"/],
      ['/chat', /expected PATH=BACKEND/],
      ['/chat=', /names no backend/],
      // Issue 13: a trailing or doubled comma was dropped silently.
      ['/chat=h:1,', /an empty backend in "h:1," \(a doubled or trailing comma\?\)/],
      ['/chat=h:1,,h:2', /an empty backend in "h:1,,h:2"/],
      ['cookie:x=1', /expected PATH=BACKEND/],
      ['/a=h:1 /b=h:2', /two PATH=BACKENDS words/],
      ['/a=h:1 stickey:x', /"stickey:x" is neither PATH=BACKENDS nor a condition/],
      ['/a=h:1 hash:ip', /expected client, cookie:NAME, header:NAME or query:NAME/],
      ['header: /a=h:1', /names no header/],
    ];
    for (const [flag, message] of cases) assert.throws(() => parseRouteFlag(flag), (error: unknown) => error instanceof RouteFlagError && message.test(error.message), flag);
  });

  test('values are checked by the schema, as for files', () => {
    assert.throws(() => validateConfig({ routes: parseRouteFlag('host:bad_host! /=h:1') }, 'flags'), /flags: routes\.0\.host: expected a host name/);
    assert.throws(() => validateConfig({ routes: parseRouteFlag('~(=h:1') }, 'flags'), /routes\.0\.path\.regex: .*Invalid regular expression/i);
    assert.throws(() => validateConfig({ routes: parseRouteFlag('/a=h:1*0') }, 'flags'), /"0" in "h:1\*0" is not a weight/);
    assert.throws(() => validateConfig({ routes: parseRouteFlag('/a=h:1 balance:fastest') }, 'flags'), /routes\.0\.balance: expected one of/);
  });
});
