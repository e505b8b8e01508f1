import * as v from 'valibot';
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/validate.js';
import { GatewayConfigSchema, BALANCE_NAMES } from '../../src/config/schema.js';
import { ConfigError } from '../../src/errors.js';

/** Runs validateConfig expecting a ConfigError and returns its problems. */
function problemsOf(input: unknown, source?: string): readonly string[] {
  let caught: unknown;
  try {
    if (source === undefined) validateConfig(input);
    else validateConfig(input, source);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, 'a ConfigError is thrown');
  assert.equal(caught.name, 'ConfigError');
  assert.equal(caught.code, 'ERR_CONFIG_INVALID');
  assert.equal(caught.message, caught.problems.join('\n'));
  return caught.problems;
}

function assertDeepFrozen(value: unknown, path = 'config'): void {
  if (value === null || typeof value !== 'object') return;
  assert.ok(Object.isFrozen(value), `${path} is frozen`);
  for (const [key, child] of Object.entries(value)) assertDeepFrozen(child, `${path}.${key}`);
}

function assertNothingFrozen(value: unknown, path = 'input'): void {
  if (value === null || typeof value !== 'object') return;
  assert.equal(Object.isFrozen(value), false, `${path} is not frozen`);
  for (const [key, child] of Object.entries(value)) assertNothingFrozen(child, `${path}.${key}`);
}

const MINIMAL = { routes: [{ path: '/', backends: ['127.0.0.1:9000'] }] };

describe('validateConfig: defaults', () => {
  test('a minimal config gets every default', () => {
    assert.deepEqual(validateConfig(MINIMAL), {
      listen: { host: '0.0.0.0', port: 8080 },
      routes: [
        {
          path: '/',
          backends: [{ host: '127.0.0.1', port: 9000, tls: false, weight: 1 }],
          balance: 'round-robin',
          passive: { failures: 3, coolOff: 10_000 },
        },
      ],
      logLevel: 'info',
      workers: 1,
      logFormat: 'json',
      acceptProxyProtocol: false,
      trustedProxies: [],
      backendTls: { verify: true },
      limits: { maxHeaderSize: 16 * 1024 },
      timeouts: { backendConnect: 5000, backendResponse: 30_000, handshake: 10_000, proxyProtocol: 5000 },
      tunnels: { pingInterval: 0, idleTimeout: 0, tcpKeepAlive: 30_000 },
      drain: { timeout: 30_000, closeSpread: 0 },
      healthPath: '/healthz',
    });
  });

  test('an object listen gets the default host', () => {
    assert.deepEqual(validateConfig({ ...MINIMAL, listen: { port: 0 } }).listen, { host: '0.0.0.0', port: 0 });
  });

  test('a partial timeouts object gets the other default', () => {
    const first = validateConfig({ ...MINIMAL, timeouts: { backendConnect: '250ms' } }).timeouts;
    assert.deepEqual([first.backendConnect, first.backendResponse], [250, 30_000]);
    const second = validateConfig({ ...MINIMAL, timeouts: { backendResponse: '1m' } }).timeouts;
    assert.deepEqual([second.backendConnect, second.backendResponse], [5000, 60_000]);
  });

  test('every value written is kept', () => {
    const config = validateConfig({
      listen: '[::]:0',
      logLevel: 'debug',
      timeouts: { backendConnect: '1.5s', backendResponse: 750 },
      routes: [
        {
          path: '/chat',
          balance: 'least-conn',
          backends: [{ host: 'b1', port: 7001, tls: true, id: 'chat-1', weight: 3 }],
        },
      ],
    });
    assert.deepEqual(
      { listen: config.listen, logLevel: config.logLevel, routes: config.routes },
      {
        listen: { host: '::', port: 0 },
        logLevel: 'debug',
        routes: [
          {
            path: '/chat',
            balance: 'least-conn',
            backends: [{ host: 'b1', port: 7001, tls: true, id: 'chat-1', weight: 3 }],
            passive: { failures: 3, coolOff: 10_000 },
          },
        ],
      },
    );
    assert.deepEqual([config.timeouts.backendConnect, config.timeouts.backendResponse], [1500, 750]);
  });

  test('each balance name is accepted', () => {
    for (const balance of BALANCE_NAMES) {
      assert.equal(validateConfig({ routes: [{ path: '/', backends: ['h:1'], balance }] }).routes[0]?.balance, balance);
    }
  });

  test('two calls do not share default objects', () => {
    const a = validateConfig(MINIMAL);
    const b = validateConfig(MINIMAL);
    assert.notEqual(a.listen, b.listen);
    assert.notEqual(a.timeouts, b.timeouts);
  });
});

describe('validateConfig: backends as strings and objects', () => {
  test('string forms become objects with tls and weight', () => {
    const config = validateConfig({
      routes: [{ path: '/', backends: ['a:1', 'ws://b:2', 'wss://c', 'http://[::1]:3', 'https://d:4', '[::2]:5'] }],
    });
    assert.deepEqual(config.routes[0]?.backends, [
      { host: 'a', port: 1, tls: false, weight: 1 },
      { host: 'b', port: 2, tls: false, weight: 1 },
      { host: 'c', port: 443, tls: true, weight: 1 },
      { host: '::1', port: 3, tls: false, weight: 1 },
      { host: 'd', port: 4, tls: true, weight: 1 },
      { host: '::2', port: 5, tls: false, weight: 1 },
    ]);
  });

  test('objects and strings mix in one list', () => {
    const config = validateConfig({ routes: [{ path: '/', backends: [{ host: 'x', port: 1 }, 'y:2'] }] });
    assert.deepEqual(config.routes[0]?.backends, [
      { host: 'x', port: 1, tls: false, weight: 1 },
      { host: 'y', port: 2, tls: false, weight: 1 },
    ]);
  });

  test('a URL with port 0 is refused by the parser', () => {
    assert.deepEqual(problemsOf({ routes: [{ path: '/', backends: ['ws://h:0'] }] }), [
      'config: routes.0.backends.0: "0" is not a valid port in "ws://h:0"',
    ]);
  });
});

describe('validateConfig: the result is frozen and the input untouched', () => {
  test('every object and array of the result is frozen', () => {
    const config = validateConfig({
      routes: [
        { path: '/a', backends: ['h:1', { host: 'h', port: 2 }] },
        { path: '/b', backends: ['h:3'] },
      ],
    });
    assertDeepFrozen(config);
    assert.throws(() => {
      (config.routes as unknown as unknown[]).push({});
    }, TypeError);
    assert.throws(() => {
      (config.listen as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => {
      (config.routes[0]?.backends[1] as { host: string }).host = 'z';
    }, TypeError);
  });

  test("the caller's object is neither changed nor frozen", () => {
    const input = {
      listen: { port: 9090 },
      routes: [
        { path: '/a', backends: ['ws://h:1', { host: 'h', port: 2 }] },
        { path: '/b', backends: [{ host: 'k', port: 3, tls: true }] },
      ],
      timeouts: { backendConnect: '2s' },
    };
    const before = structuredClone(input);
    const config = validateConfig(input);
    assert.deepEqual(input, before);
    assertNothingFrozen(input);
    // And the result is a different tree.
    assert.notEqual(config.routes, input.routes);
    assert.notEqual(config.routes[1]?.backends[0], input.routes[1]?.backends[0]);
    assert.notEqual(config.listen, input.listen);
  });

  test('a frozen input is accepted', () => {
    const input = Object.freeze({ routes: Object.freeze([Object.freeze({ path: '/', backends: Object.freeze(['h:1']) })]) });
    assert.equal(validateConfig(input).routes[0]?.backends[0]?.port, 1);
  });
});

describe('validateConfig: problems', () => {
  test('not an object', () => {
    assert.deepEqual(problemsOf(null), ['config: (top level): expected an object, got null']);
    assert.deepEqual(problemsOf('routes'), ['config: (top level): expected an object, got "routes"']);
  });

  test('routes missing or empty', () => {
    assert.deepEqual(problemsOf({}), ['config: routes: required']);
    assert.deepEqual(problemsOf({ routes: [] }), ['config: routes: at least one route is needed']);
  });

  test('the source names the origin of the config', () => {
    assert.deepEqual(problemsOf({ routes: [] }, 'wsgate.yaml'), ['wsgate.yaml: routes: at least one route is needed']);
  });

  test('every problem is reported at once, each with its path', () => {
    const problems = problemsOf({
      listen: 'bad',
      routes: [
        { path: 'chat', backends: ['nope', { host: 'a', port: 0, foo: 1 }], balance: 'fastest' },
        { path: '/ok', backends: [] },
      ],
      logLevel: 'loud',
      timeouts: { backendConnect: '5 parsecs', backendResponse: -1, idle: 1 },
    });
    assert.deepEqual(problems, [
      'config: listen: "bad" is not HOST:PORT (IPv6 goes in brackets: [::1]:8080)',
      'config: routes.0.path: a route path must start with "/"',
      'config: routes.0.backends.0: "nope" is not HOST:PORT (IPv6 goes in brackets: [::1]:8080)',
      'config: routes.0.backends.1.port: expected at least 1, got 0',
      'config: routes.0.backends.1.foo: unknown key',
      'config: routes.0.balance: expected one of round-robin, least-conn, random, hash',
      'config: routes.1.backends: a route needs at least one backend',
      'config: logLevel: expected one of fatal, error, warn, info, debug, trace, silent',
      'config: timeouts.backendConnect: "5 parsecs" is not a duration (examples: 500ms, 5s, 2m, 1h)',
      'config: timeouts.backendResponse: expected a duration of 0 or more',
      'config: timeouts.idle: unknown key',
    ]);
  });

  test('timeouts without an "off" refuse 0 and anything under 10 ms; text durations need a unit', () => {
    assert.deepEqual(problemsOf({ routes: [{ path: '/', backends: ['h:1'] }], timeouts: { backendConnect: '0', backendResponse: '5ms', handshake: 0, proxyProtocol: '9ms' } }), [
      'config: timeouts.backendConnect: expected a timeout of at least 10ms (there is no "off" for this one)',
      'config: timeouts.backendResponse: expected a timeout of at least 10ms (there is no "off" for this one)',
      'config: timeouts.handshake: expected a timeout of at least 10ms (there is no "off" for this one)',
      'config: timeouts.proxyProtocol: expected a timeout of at least 10ms (there is no "off" for this one)',
    ]);
    assert.deepEqual(problemsOf({ routes: [{ path: '/', backends: ['h:1'] }], drain: { timeout: '30' } }), ['config: drain.timeout: "30" needs a unit: 30ms, 30s, 30m or 30h']);
    // Where 0 means off, it still does.
    const off = validateConfig({ routes: [{ path: '/', backends: ['h:1'] }], drain: { timeout: '0', closeSpread: 0 }, tunnels: { pingInterval: '0', idleTimeout: 0, tcpKeepAlive: '0' } });
    assert.deepEqual([off.drain.timeout, off.tunnels.pingInterval, off.tunnels.tcpKeepAlive], [0, 0, 0]);
  });

  test('backend object fields: id pattern, weight range, port range, host non-empty, tls type', () => {
    const problems = problemsOf({
      routes: [
        {
          path: '/',
          backends: [
            { host: '', port: 65536, id: 'bad id', weight: 0, tls: 'yes' },
            { host: 'h', port: 1.5, id: 'x'.repeat(65), weight: 1001 },
          ],
        },
      ],
    });
    assert.deepEqual(problems, [
      'config: routes.0.backends.0.host: expected at least 1 character(s), got 0',
      'config: routes.0.backends.0.port: expected at most 65535, got 65536',
      'config: routes.0.backends.0.tls: expected a boolean, got "yes"',
      'config: routes.0.backends.0.id: id must be 1-64 letters, digits, "-" or "_"',
      'config: routes.0.backends.0.weight: expected at least 1, got 0',
      'config: routes.0.backends.1.port: expected a whole number, got 1.5',
      'config: routes.0.backends.1.id: id must be 1-64 letters, digits, "-" or "_"',
      'config: routes.0.backends.1.weight: expected at most 1000, got 1001',
    ]);
  });

  test('unknown keys are refused at every level (strict objects)', () => {
    assert.deepEqual(problemsOf({ ...MINIMAL, extra: true }), ['config: extra: unknown key']);
    assert.deepEqual(problemsOf({ routes: [{ path: '/', backends: ['h:1'], prefix: '/x' }] }), [
      'config: routes.0.prefix: unknown key',
    ]);
    assert.deepEqual(problemsOf({ ...MINIMAL, listen: { host: 'h', port: 1, backlog: 5 } }), [
      'config: listen.backlog: unknown key',
    ]);
    assert.deepEqual(problemsOf({ routes: [{ path: '/', backends: [{ host: 'h', port: 1, weigth: 2 }] }] }), [
      'config: routes.0.backends.0.weigth: unknown key',
    ]);
  });

  test('listen port 0 is allowed, 65536 and bad strings are not', () => {
    assert.deepEqual(validateConfig({ ...MINIMAL, listen: '127.0.0.1:0' }).listen, { host: '127.0.0.1', port: 0 });
    assert.deepEqual(problemsOf({ ...MINIMAL, listen: { port: 65536 } }), [
      'config: listen.port: expected at most 65535, got 65536',
    ]);
    assert.deepEqual(problemsOf({ ...MINIMAL, listen: '8080' }), [
      'config: listen: "8080" is not HOST:PORT (IPv6 goes in brackets: [::1]:8080)',
    ]);
  });

  test('a duration of the wrong type is refused', () => {
    assert.deepEqual(problemsOf({ ...MINIMAL, timeouts: { backendConnect: true } }), [
      'config: timeouts.backendConnect: expected a duration such as "500ms" or "5s" (a number is milliseconds)',
    ]);
  });

  test('ConfigError defaults problems to [message]', () => {
    const error = new ConfigError('just one');
    assert.deepEqual(error.problems, ['just one']);
    assert.equal(error.message, 'just one');
    assert.ok(error instanceof Error);
  });
});

describe('GatewayConfigSchema', () => {
  test('parsing it directly reports the same paths as validateConfig', () => {
    const result = v.safeParse(GatewayConfigSchema, { routes: [{ path: 'x', backends: ['h:1'] }] });
    assert.equal(result.success, false);
    assert.deepEqual(
      result.issues?.map((issue) => v.getDotPath(issue)),
      ['routes.0.path'],
    );
  });
});

describe('route defaults for send-proxy and per-route limits', () => {
  test('defaults reach routes that do not set their own; a route\'s own value wins', () => {
    const config = validateConfig({
      defaults: { maxConnections: 2, sendProxyProtocol: 'v2' },
      routes: [
        { path: '/', backends: ['h:1'] },
        { path: '/x', backends: ['h:2'], maxConnections: 5, sendProxyProtocol: 'v1' },
      ],
    });
    assert.deepEqual(
      config.routes.map((route) => [route.maxConnections, route.sendProxyProtocol]),
      [
        [2, 'v2'],
        [5, 'v1'],
      ],
    );
  });
});

describe('validateConfig: combinations that cannot work (issue 13)', () => {
  test('accepting PROXY protocol without a trusted proxy would refuse every connection', () => {
    assert.deepEqual(problemsOf({ acceptProxyProtocol: true, routes: [{ path: '/', backends: ['h:1'] }] }), [
      "config: acceptProxyProtocol: needs trustedProxies (--trusted-proxies): PROXY headers are believed only from the balancer's addresses, so with none every connection would be refused",
    ]);
    assert.equal(validateConfig({ acceptProxyProtocol: true, trustedProxies: ['10.0.0.0/8'], routes: [{ path: '/', backends: ['h:1'] }] }).acceptProxyProtocol, true);
  });

  test('two routes with the same conditions: the second is named', () => {
    assert.deepEqual(
      problemsOf({
        routes: [
          { path: '/chat', backends: ['h:1'] },
          { path: '/chat', host: 'a.example', backends: ['h:2'] },
          { path: '/chat', backends: ['h:3'], name: 'again' },
        ],
      }),
      ['config: routes.2.path: routes.0 has the same conditions, so this route would never be used'],
    );
  });
});
