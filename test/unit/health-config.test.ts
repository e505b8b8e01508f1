import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateConfig } from '../../src/config/validate.js';
import { problemsOf } from '../helpers/config.js';

const route = { path: '/', backends: ['127.0.0.1:9000'] };


describe('health check configuration', () => {
  test('off by default; passive on with 3 failures and a 10 s cool-off', () => {
    const config = validateConfig({ routes: [route] });
    assert.equal(config.healthCheck, undefined);
    assert.equal(config.routes[0]?.healthCheck, undefined);
    assert.deepEqual(config.routes[0]?.passive, { failures: 3, coolOff: 10_000 });
    assert.equal(config.admin, undefined);
  });

  test("HAProxy's defaults: interval 2s, rise 2, fall 3, and a timeout equal to the interval", () => {
    const config = validateConfig({ routes: [{ ...route, healthCheck: { type: 'tcp' } }] });
    assert.deepEqual(config.routes[0]?.healthCheck, { type: 'tcp', interval: 2000, timeout: 2000, rise: 2, fall: 3 });
    const custom = validateConfig({ routes: [{ ...route, healthCheck: { type: 'tcp', interval: '500ms' } }] });
    assert.equal(custom.routes[0]?.healthCheck?.timeout, 500);
  });

  test('http and websocket checks get path "/" unless one is given; durations as strings or numbers', () => {
    const config = validateConfig({
      healthCheck: { type: 'websocket' },
      routes: [{ ...route, healthCheck: { type: 'http', path: '/healthz?full=1', interval: '5s', timeout: 250, rise: 1, fall: 10 } }],
    });
    assert.deepEqual(config.healthCheck, { type: 'websocket', path: '/', interval: 2000, timeout: 2000, rise: 2, fall: 3 });
    assert.deepEqual(config.routes[0]?.healthCheck, { type: 'http', path: '/healthz?full=1', interval: 5000, timeout: 250, rise: 1, fall: 10 });
  });

  test('passive settings and the admin address', () => {
    const config = validateConfig({ admin: '127.0.0.1:0', routes: [{ ...route, passive: { failures: 0, coolOff: '1m' } }] });
    assert.deepEqual(config.routes[0]?.passive, { failures: 0, coolOff: 60_000 });
    assert.deepEqual(config.admin, { host: '127.0.0.1', port: 0 });
  });

  test('every problem is reported by path', () => {
    assert.deepEqual(
      problemsOf({
        admin: 'nowhere',
        healthCheck: { type: 'icmp' },
        routes: [
          { ...route, healthCheck: { type: 'http', path: 'no-slash', rise: 0, fall: 1.5, retries: 3 } },
          { ...route, healthCheck: { type: 'tcp', path: '/x' }, passive: { failures: -1, coolOff: 'soon' } },
          { ...route, healthCheck: { type: 'websocket', interval: '5ms', timeout: 0, path: '/a b' } },
        ],
      }),
      [
        'config: routes.0.healthCheck.path: a check path is "/" followed by visible ASCII characters',
        'config: routes.0.healthCheck.rise: expected at least 1, got 0',
        'config: routes.0.healthCheck.fall: expected a whole number, got 1.5',
        'config: routes.0.healthCheck.retries: unknown key',
        'config: routes.1.healthCheck.path: a tcp check has no path',
        'config: routes.1.passive.failures: expected at least 0, got -1',
        'config: routes.1.passive.coolOff: "soon" is not a duration (examples: 500ms, 5s, 2m, 1h)',
        'config: routes.2.healthCheck.path: a check path is "/" followed by visible ASCII characters',
        'config: routes.2.healthCheck.interval: the interval must be at least 10ms',
        'config: routes.2.healthCheck.timeout: the timeout must be at least 1ms',
        'config: healthCheck.type: expected one of tcp, http, websocket',
        'config: admin: "nowhere" is not HOST:PORT (IPv6 goes in brackets: [::1]:8080)',
      ],
    );
  });

  test('interval and timeout lower bounds', () => {
    assert.deepEqual(problemsOf({ routes: [{ ...route, healthCheck: { type: 'tcp', interval: '5ms', timeout: 0 } }] }), [
      'config: routes.0.healthCheck.interval: the interval must be at least 10ms',
      'config: routes.0.healthCheck.timeout: the timeout must be at least 1ms',
    ]);
  });
});
