import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restartOnlyChanges } from '../../src/config/restart-only.js';
import { validateConfig } from '../../src/index.js';

test('a reload names the changes that need a restart, and only those', () => {
  const before = validateConfig({ listen: '127.0.0.1:8080', routes: [{ path: '/', backends: ['h:1'] }] });
  const routesOnly = validateConfig({ listen: '127.0.0.1:8080', routes: [{ path: '/', backends: ['h:1', 'h:2'] }], tunnels: { pingInterval: '25s' } });
  assert.deepEqual(restartOnlyChanges(before, routesOnly), []);
  const bound = validateConfig({ listen: '127.0.0.1:9090', workers: 2, admin: '127.0.0.1:9901', routes: [{ path: '/', backends: ['h:1'] }], timeouts: { backendConnect: '1s' } });
  assert.deepEqual(restartOnlyChanges(before, bound), ['listen', 'workers', 'admin', 'timeouts']);
});

test('workers can be written in a file: a number, or "auto" for one per core', () => {
  assert.equal(validateConfig({ workers: 3, routes: [{ path: '/', backends: ['h:1'] }] }).workers, 3);
  assert.ok(validateConfig({ workers: 'auto', routes: [{ path: '/', backends: ['h:1'] }] }).workers >= 1);
  assert.throws(() => validateConfig({ workers: 0, routes: [{ path: '/', backends: ['h:1'] }] }), /workers: expected at least 1 worker/);
});
