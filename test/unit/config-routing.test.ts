import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { describeConfig } from '../../src/config/describe-config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { overlayConfig } from '../../src/config/overlay-config.js';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/errors.js';
import { problemsOf } from '../helpers/config.js';
import { tempDir } from '../helpers/temp-dir.js';


function fileProblems(text: string, name = 'wsgate.yaml', flags: Record<string, unknown> = {}): readonly string[] {
  const dir = tempDir('wsgate-config-');
  const file = join(dir, name);
  writeFileSync(file, text);
  try {
    loadConfig(flags, file);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems.map((problem) => problem.replace(file, name));
  }
  assert.fail('expected a ConfigError');
}

const B = ['127.0.0.1:1'];

describe('route fields in the schema', () => {
  test('each new field is validated with its path and a plain sentence', () => {
    assert.deepEqual(
      problemsOf({
        routes: [
          {
            path: '/a/../b',
            host: 'bad host',
            headers: { 'bad header': true, 'x-ok': { regex: '(' } },
            cookies: { 'a;b': 'x' },
            query: { '': 'x' },
            backends: B,
            hashOn: { cookie: 'a', header: 'b' },
            stickyCookie: { name: 'S', sameSite: 'None', secure: false },
            sessionAffinity: { param: 'sid', separator: 'x' },
            rewritePrefix: 'v2',
          },
          { path: { exact: '/e', regex: 'x' }, backends: B, stickyCookie: 'bad cookie' },
          { path: { prefix: '/a', ignoreCase: true }, backends: B, hashOn: 'ip', default: 'yes' },
        ],
      }),
      [
        'config: routes.0.path: write the path as requests are matched: percent-decoded, without "//", "." or ".." segments',
        'config: routes.0.host: expected a host name such as "chat.example.com", "*.example.com" or an IP address',
        'config: routes.0.headers.bad header: not a valid header name (RFC 9110 5.6.2 token)',
        'config: routes.0.headers.x-ok.regex: Invalid regular expression: /(/: Unterminated group',
        'config: routes.0.cookies.a;b: not a valid cookie name (RFC 6265 4.1.1 token)',
        'config: routes.0.query.: a query parameter name cannot be empty',
        'config: routes.0.rewritePrefix: a route path must start with "/"',
        'config: routes.0.hashOn: write exactly one of cookie, header or query',
        'config: routes.0.stickyCookie.secure: SameSite=None needs Secure: browsers drop the cookie otherwise',
        'config: routes.0.sessionAffinity.separator: a separator is 1-4 characters, none of them a letter, digit, "-", "_" or space',
        'config: routes.1.path: write exactly one of prefix, exact or regex',
        'config: routes.1.stickyCookie: not a valid cookie name (RFC 6265 4.1.1 token)',
        'config: routes.2.path: ignoreCase applies only to regex',
        'config: routes.2.default: expected a boolean, got "yes"',
        'config: routes.2.hashOn: expected "client" or one of { cookie }, { header }, { query }',
      ],
    );
  });

  test('checks across fields, once each field is valid', () => {
    assert.deepEqual(
      problemsOf({
        defaults: { balance: 'least-conn', hashOn: 'client' },
        routes: [
          { path: '/a', backends: B, balance: 'random', hashOn: { cookie: 'u' } },
          { path: '/b', backends: B, stripPrefix: true, rewritePrefix: '/x' },
          { path: { regex: '^/c' }, backends: B, stripPrefix: true },
          { backends: B, default: true },
          { path: '/d', backends: ['a@h:1', 'a@h:2'], default: true },
        ],
      }),
      [
        'config: defaults.hashOn: hashOn applies only to balance "hash", not "least-conn"',
        'config: routes.0.hashOn: hashOn applies only to balance "hash", not "random"',
        'config: routes.1.rewritePrefix: write stripPrefix or rewritePrefix, not both',
        'config: routes.2.stripPrefix: a rewrite needs a prefix or exact path to replace',
        'config: routes.4.default: only one route may be the default; routes.3 already is',
        'config: routes.4.backends.1.id: id "a" is already backend 0 of this route',
      ],
    );
  });

  test('defaults fill what routes leave unset; hashOn implies hash; false turns a default off', () => {
    const config = validateConfig({
      defaults: { balance: 'least-conn', stickyCookie: 'S', sessionAffinity: 'sid' },
      routes: [
        { path: '/a', backends: B },
        { path: '/b', backends: B, balance: 'random', stickyCookie: false, sessionAffinity: false },
        { path: '/c', backends: B, hashOn: { header: 'x-user' } },
        { path: '/d', backends: B, stickyCookie: { name: 'T', maxAge: '1h' }, sessionAffinity: { param: 'id', separator: '~' } },
      ],
    });
    const pick = (i: number): unknown => {
      const route = config.routes[i];
      return { balance: route?.balance, hashOn: route?.hashOn, stickyCookie: route?.stickyCookie, sessionAffinity: route?.sessionAffinity };
    };
    assert.deepEqual(pick(0), { balance: 'least-conn', hashOn: undefined, stickyCookie: { name: 'S' }, sessionAffinity: { param: 'sid', separator: '.' } });
    assert.deepEqual(pick(1), { balance: 'random', hashOn: undefined, stickyCookie: false, sessionAffinity: false });
    assert.deepEqual(pick(2), { balance: 'hash', hashOn: { header: 'x-user' }, stickyCookie: { name: 'S' }, sessionAffinity: { param: 'sid', separator: '.' } });
    assert.deepEqual(pick(3), { balance: 'least-conn', hashOn: undefined, stickyCookie: { name: 'T', maxAge: 3600 }, sessionAffinity: { param: 'id', separator: '~' } });
    const hashed = validateConfig({ defaults: { hashOn: { cookie: 'u' } }, routes: [{ path: '/', backends: B }, { path: '/x', backends: B, balance: 'round-robin' }] });
    assert.deepEqual([hashed.routes[0]?.balance, hashed.routes[0]?.hashOn], ['hash', { cookie: 'u' }]);
    assert.deepEqual([hashed.routes[1]?.balance, hashed.routes[1]?.hashOn], ['round-robin', undefined]);
  });

  test('a bad default is reported once, at defaults', () => {
    assert.deepEqual(problemsOf({ defaults: { balance: 'fastest' }, routes: [{ path: '/', backends: B }, { path: '/a', backends: B }] }), [
      'config: defaults.balance: expected one of round-robin, least-conn, random, hash',
    ]);
  });

  test('configs without the new fields validate exactly as before (no new keys in routes)', () => {
    const route = validateConfig({ routes: [{ path: '/', backends: B }] }).routes[0] as Record<string, unknown>;
    for (const key of ['host', 'headers', 'cookies', 'query', 'default', 'stripPrefix', 'rewritePrefix', 'hashOn', 'stickyCookie', 'sessionAffinity', 'name']) {
      assert.equal(key in route, false, key);
    }
  });
});

describe('config files', () => {
  test('problems name the file, the line:column, the path and what was expected', () => {
    const yaml = ['listen: 127.0.0.1:8080', 'routes:', '  - path: /chat', '    backends:', '      - 127.0.0.1:9001', '      - { host: h, port: 0 }', '    balance: fastest', '    stickyCookie: { nmae: x }', ''].join('\n');
    // Line and column of the value at fault; for a missing key, of the object that lacks it. In the
    // file's order, as a reader goes through it (issue 13).
    assert.deepEqual(fileProblems(yaml), [
      'wsgate.yaml:6:26: routes.0.backends.1.port: expected at least 1, got 0',
      'wsgate.yaml:7:14: routes.0.balance: expected one of round-robin, least-conn, random, hash',
      'wsgate.yaml:8:19: routes.0.stickyCookie.name: required',
      'wsgate.yaml:8:27: routes.0.stickyCookie.nmae: unknown key',
    ]);
  });

  test('JSON files are read the same way', () => {
    const json = JSON.stringify({ routes: [{ path: 'chat', backends: ['h:1'] }] }, null, 2);
    assert.deepEqual(fileProblems(json, 'wsgate.json'), ['wsgate.json:4:15: routes.0.path: a route path must start with "/"']);
  });

  test('syntax errors, empty and missing files', () => {
    const [syntax] = fileProblems('routes:\n  - path: /a\n   backends: [h:1\n');
    assert.match(syntax ?? '', /^wsgate\.yaml:\d+:\d+: not valid YAML or JSON: /);
    assert.deepEqual(fileProblems('# nothing\n'), ['wsgate.yaml: the config file is empty']);
    assert.deepEqual(fileProblems('routes: []\nroutes: []\n').length, 1);
    assert.throws(() => loadConfig({}, '/nonexistent/wsgate.yaml'), /\/nonexistent\/wsgate\.yaml: cannot read the config file: ENOENT/);
  });

  test('flags override the file; problems in flag values are blamed on the flags', () => {
    const dir = tempDir('wsgate-config-');
    const file = join(dir, 'wsgate.yaml');
    writeFileSync(file, 'listen: 127.0.0.1:1\nlogLevel: warn\ntimeouts: { backendConnect: 1s, backendResponse: 2s }\ndefaults: { balance: random }\nroutes:\n  - path: /a\n    backends: [h:1]\n');
    const config = loadConfig({ listen: '127.0.0.1:2', timeouts: { backendConnect: '3s' }, defaults: { stickyCookie: 'S' } }, file);
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 2 });
    assert.equal(config.logLevel, 'warn');
    assert.deepEqual([config.timeouts.backendConnect, config.timeouts.backendResponse], [3000, 2000]);
    assert.deepEqual([config.routes[0]?.balance, config.routes[0]?.stickyCookie], ['random', { name: 'S' }]);
    const replaced = loadConfig({ routes: [{ path: '/b', backends: ['h:2'] }] }, file);
    assert.deepEqual(replaced.routes.map((route) => route.path), ['/b']);
    assert.deepEqual(fileProblems('routes:\n  - path: /a\n    backends: [h:1]\n', 'wsgate.yaml', { listen: 'nowhere' }), [
      'flags: listen: "nowhere" is not HOST:PORT (IPv6 goes in brackets: [::1]:8080)',
    ]);
  });

  test('overlayConfig merges objects key by key and replaces the rest', () => {
    assert.deepEqual(overlayConfig({ a: { b: 1, c: 2 }, l: [1, 2], k: 'x' }, { a: { c: 3 }, l: [3], n: undefined }), { a: { b: 1, c: 3 }, l: [3], k: 'x' });
    assert.equal(overlayConfig('not an object', { a: 1 }), 'not an object');
  });
});

describe('wsgate check output', () => {
  test('routes in the order tried, with ids, strategy, affinity and rewrites; secrets never printed', () => {
    const secret = 'a-very-long-secret-value';
    const text = describeConfig(
      validateConfig({
        backendIdSecret: secret,
        routes: [
          { path: '/', backends: ['h:1'] },
          { path: '/chat', cookies: { tenant: 'acme' }, backends: ['b1@h:2*3', 'h:3'], hashOn: { cookie: 'u' }, stickyCookie: 'S', sessionAffinity: 'sid', stripPrefix: true },
        ],
      }),
      'wsgate.yaml',
    );
    assert.ok(!text.includes(secret));
    assert.match(text, /^wsgate\.yaml: configuration is valid\n/);
    assert.match(text, /1\. cookie:tenant=acme \/chat {2}\(routes\.1\)\n {7}backends {2}b1=h:2\*3, b[0-9a-f]{10}=h:3\n {7}balance {3}hash on cookie u\n {7}sticky {4}S=<backend id>; Path=\/; HttpOnly; SameSite=Lax\n {7}session {3}query sid="<backend id>\.<rest>" goes to that backend\n {7}rewrite {3}\/chat -> \/\n {2}2\. \/ {2}\(routes\.0\)/);
  });

  test('a route hidden behind a catch-all is reported', () => {
    const text = describeConfig(validateConfig({ routes: [{ path: '/', backends: B }, { default: true, backends: B }] }), 'f');
    assert.match(text, /warning: routes\.1 \(\/\) is never tried: routes\.0 before it matches every request/);
  });
});
