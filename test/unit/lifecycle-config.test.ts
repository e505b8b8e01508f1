import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateConfig } from '../../src/config/validate.js';
import { problemsOf } from '../helpers/config.js';

// Issues 5 and 6: tunnels (pingInterval, idleTimeout, tcpKeepAlive), drain
// (timeout, closeSpread) and healthPath, as the schema reads and checks them.

const MINIMAL = { routes: [{ path: '/', backends: ['127.0.0.1:9000'] }] };


describe('tunnels, drain and healthPath', () => {
  test('defaults: no pings, no idle timeout, TCP keep-alive after 30 s, a 30 s drain with no spread, /healthz', () => {
    const config = validateConfig(MINIMAL);
    assert.deepEqual(config.tunnels, { pingInterval: 0, idleTimeout: 0, tcpKeepAlive: 30_000 });
    assert.deepEqual(config.drain, { timeout: 30_000, closeSpread: 0 });
    assert.equal(config.healthPath, '/healthz');
  });

  test('durations are parsed; 0 turns a feature off; healthPath may be false', () => {
    const config = validateConfig({
      ...MINIMAL,
      tunnels: { pingInterval: '25s', idleTimeout: '10m', tcpKeepAlive: 0 },
      drain: { timeout: '2m', closeSpread: '30s' },
      healthPath: false,
    });
    assert.deepEqual(config.tunnels, { pingInterval: 25_000, idleTimeout: 600_000, tcpKeepAlive: 0 });
    assert.deepEqual(config.drain, { timeout: 120_000, closeSpread: 30_000 });
    assert.equal(config.healthPath, false);
    assert.equal(validateConfig({ ...MINIMAL, healthPath: '/lb/check-1.2' }).healthPath, '/lb/check-1.2');
    // The query string of a request is ignored when matching, so a path cannot hold one.
    assert.equal(problemsOf({ ...MINIMAL, healthPath: '/lb?check' }).length, 1);
  });

  test('out-of-range values are reported by path', () => {
    const problems = problemsOf({
      ...MINIMAL,
      tunnels: { pingInterval: '10ms', idleTimeout: 'soon', tcpKeepAlive: '500ms' },
      drain: { timeout: -1 },
      healthPath: 'healthz',
    });
    assert.equal(problems.length, 5, problems.join('\n'));
    assert.match(problems.find((p) => p.includes('tunnels.pingInterval')) ?? '', /expected 0 \(off\) or a duration from 100 ms/);
    assert.match(problems.find((p) => p.includes('tunnels.idleTimeout')) ?? '', /not a duration/);
    // The kernel counts keep-alive time in whole seconds (TCP_KEEPIDLE).
    assert.match(problems.find((p) => p.includes('tunnels.tcpKeepAlive')) ?? '', /a duration from 1000 ms to 32767000 ms/);
    assert.ok(problems.some((p) => p.includes('drain.timeout')));
    assert.match(problems.find((p) => p.includes('healthPath')) ?? '', /"\/" followed by visible ASCII/);
  });

  test('an idle timeout must be longer than the ping interval', () => {
    const problems = problemsOf({ ...MINIMAL, tunnels: { pingInterval: '30s', idleTimeout: '30s' } });
    assert.deepEqual(problems, [
      'config: tunnels.idleTimeout: idleTimeout must be longer than pingInterval, or no ping is ever sent before a tunnel counts as idle',
    ]);
    assert.equal(validateConfig({ ...MINIMAL, tunnels: { pingInterval: '30s', idleTimeout: '31s' } }).tunnels.idleTimeout, 31_000);
  });

  test('unknown keys are refused', () => {
    assert.deepEqual(problemsOf({ ...MINIMAL, tunnels: { pingEvery: '1s' } }), ['config: tunnels.pingEvery: unknown key']);
  });
});
