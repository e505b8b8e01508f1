import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import type { Logger } from '../../src/observability/logger.js';
import { createBackend } from '../../src/upstream/backend-id.js';
import { HealthMonitor } from '../../src/upstream/health-monitor.js';
import { PassiveHealth } from '../../src/upstream/passive-health.js';

describe('PassiveHealth', () => {
  test('`failures` consecutive failures eject for exactly `coolOff`', () => {
    const passive = new PassiveHealth({ failures: 3, coolOffMs: 10_000 });
    assert.equal(passive.recordFailure(1000, 'ECONNREFUSED'), false);
    assert.equal(passive.recordFailure(1100, 'ECONNREFUSED'), false);
    assert.equal(passive.ejected, false);
    assert.equal(passive.recordFailure(1200, 'ECONNREFUSED'), true);
    assert.equal(passive.ejected, true);
    assert.equal(passive.ejectedUntil, 11_200);
    assert.equal(passive.lastFailure, 'ECONNREFUSED');
  });

  test('a success resets the count', () => {
    const passive = new PassiveHealth({ failures: 3, coolOffMs: 1000 });
    passive.recordFailure(0, 'x');
    passive.recordFailure(0, 'x');
    passive.recordSuccess();
    assert.equal(passive.consecutiveFailures, 0);
    assert.equal(passive.recordFailure(0, 'x'), false);
    assert.equal(passive.recordFailure(0, 'x'), false);
    assert.equal(passive.recordFailure(0, 'x'), true);
  });

  test('failures while ejected neither count nor extend the cool-off', () => {
    const passive = new PassiveHealth({ failures: 1, coolOffMs: 500 });
    assert.equal(passive.recordFailure(0, 'first'), true);
    assert.equal(passive.recordFailure(400, 'late'), false);
    assert.equal(passive.ejectedUntil, 500);
    assert.equal(passive.lastFailure, 'first');
  });

  test('after the cool-off it is on probation: one failure ejects again, one success clears it', () => {
    const passive = new PassiveHealth({ failures: 3, coolOffMs: 1000 });
    for (let i = 0; i < 3; i++) passive.recordFailure(0, 'x');
    assert.equal(passive.endCoolOff(), true);
    assert.equal(passive.ejected, false);
    assert.equal(passive.recordFailure(2000, 'x'), true, 'one failure on probation ejects');
    assert.equal(passive.ejectedUntil, 3000);
    passive.endCoolOff();
    passive.recordSuccess();
    assert.equal(passive.recordFailure(4000, 'x'), false, 'after a success it takes `failures` again');
    assert.equal(passive.recordFailure(4000, 'x'), false);
    assert.equal(passive.recordFailure(4000, 'x'), true);
  });

  test('failures 0 turns passive checks off', () => {
    const passive = new PassiveHealth({ failures: 0, coolOffMs: 1000 });
    for (let i = 0; i < 10; i++) assert.equal(passive.recordFailure(0, 'x'), false);
    assert.equal(passive.ejected, false);
  });

  test('endCoolOff and reset on a backend that is not ejected change nothing harmful', () => {
    const passive = new PassiveHealth({ failures: 2, coolOffMs: 1000 });
    assert.equal(passive.endCoolOff(), false);
    passive.recordFailure(0, 'x');
    passive.reset();
    assert.equal(passive.consecutiveFailures, 0);
  });
});

interface Line {
  msg: string;
  time: number;
  backend?: string;
  routes?: string[];
  reason?: string;
}

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

describe('HealthMonitor: passive ejection with real timers', () => {
  test('ejects at once, comes back when the cool-off ends, logs both with a reason; routes sharing an address share the state', async () => {
    const { logger, lines } = capture();
    const a1 = createBackend({ host: '127.0.0.1', port: 7001, tls: false });
    const a2 = createBackend({ host: '127.0.0.1', port: 7001, tls: false });
    const b = createBackend({ host: '127.0.0.1', port: 7002, tls: false });
    const passive = { failures: 2, coolOff: 200 };
    const monitor = new HealthMonitor(
      [
        { route: '/one', backends: [a1, b], healthCheck: undefined, passive },
        { route: '/two', backends: [a2], healthCheck: undefined, passive },
      ],
      logger,
      { rejectUnauthorized: true },
    );
    monitor.start();
    try {
      monitor.connectFailed(a1, 'ECONNREFUSED');
      assert.equal(a1.healthy, true, 'one failure is not enough');
      monitor.connectFailed(a2, 'ECONNREFUSED'); // seen on the other route: same address, same count
      const ejectedAt = Date.now();
      assert.equal(a1.healthy, false);
      assert.equal(a2.healthy, false);
      assert.equal(b.healthy, true);
      const down = lines.filter((l) => l.msg === 'backend down');
      assert.equal(down.length, 1, 'one line for the address');
      assert.deepEqual(down[0]?.routes, ['/one', '/two']);
      assert.equal(down[0]?.reason, 'passive');
      assert.match(JSON.stringify(monitor.view(a1).passive), /"ejectedUntil":"\d{4}-/);

      // Not back before the cool-off ends, back soon after.
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(a1.healthy, false, 'still out 150 ms into a 200 ms cool-off');
      const deadline = Date.now() + 1000;
      while (!a1.healthy && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      const outFor = Date.now() - ejectedAt;
      assert.equal(a1.healthy, true);
      assert.equal(a2.healthy, true);
      assert.ok(outFor >= 195 && outFor < 300, `out for ${outFor} ms, expected ~200`);
      const up = lines.filter((l) => l.msg === 'backend up');
      assert.equal(up.length, 1);
      assert.equal(up[0]?.reason, 'cool-off ended');

      // On probation: one more failure ejects again; a success instead clears it.
      monitor.connectFailed(a1, 'ECONNREFUSED');
      assert.equal(a1.healthy, false);
    } finally {
      monitor.stop();
    }
  });

  test('a success between failures keeps the backend in', () => {
    const { logger } = capture();
    const a = createBackend({ host: '127.0.0.1', port: 7003, tls: false });
    const monitor = new HealthMonitor([{ route: '/', backends: [a], healthCheck: undefined, passive: { failures: 2, coolOff: 1000 } }], logger, {
      rejectUnauthorized: true,
    });
    monitor.connectFailed(a, 'x');
    monitor.succeeded(a);
    monitor.badResponse(a, 'invalid status line');
    assert.equal(a.healthy, true);
    monitor.badResponse(a, 'invalid status line');
    assert.equal(a.healthy, false);
    monitor.stop();
  });
});
