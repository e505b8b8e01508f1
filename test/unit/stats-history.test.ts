import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StatsHistory, type StatsSample } from '../../src/observability/stats-history.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function counter(): { sample: () => StatsSample; taken: () => number } {
  let n = 0;
  return {
    sample: () => {
      n++;
      return { at: Date.now(), tunnelsActive: n, handshakesTotal: n, rejectedTotal: 0, bytesTotal: 10 * n, closeCodes: { '1000': n } };
    },
    taken: () => n,
  };
}

test('start() samples at once and then every interval; samples() is oldest first', async () => {
  const source = counter();
  const history = new StatsHistory(source.sample, { intervalMs: 20, windowMs: 1000 });
  assert.deepEqual(history.samples(), []);
  history.start();
  history.start(); // a second start changes nothing
  assert.equal(history.samples().length, 1, 'one sample right away');
  await sleep(130);
  history.stop();
  const samples = history.samples();
  assert.ok(samples.length >= 4 && samples.length <= 8, `${samples.length} samples in 130 ms at 20 ms`);
  assert.deepEqual(
    samples.map((s) => s.tunnelsActive),
    samples.map((_, i) => i + 1),
  );
  for (let i = 1; i < samples.length; i++) assert.ok((samples[i]?.at ?? 0) >= (samples[i - 1]?.at ?? 0));
});

test('the ring keeps windowMs / intervalMs + 1 samples, dropping the oldest', async () => {
  const source = counter();
  const history = new StatsHistory(source.sample, { intervalMs: 10, windowMs: 40 });
  assert.equal(history.capacity, 5);
  history.start();
  await sleep(200);
  history.stop();
  const taken = source.taken();
  assert.ok(taken > 5, `${taken} samples taken`);
  assert.deepEqual(
    history.samples().map((s) => s.tunnelsActive),
    [taken - 4, taken - 3, taken - 2, taken - 1, taken],
    'the newest five, oldest first',
  );
});

test('stop() stops the timer and keeps the samples; the timer does not hold the process', async () => {
  const source = counter();
  const history = new StatsHistory(source.sample, { intervalMs: 10 });
  history.start();
  assert.equal(history.running, true);
  history.stop();
  assert.equal(history.running, false);
  const taken = source.taken();
  await sleep(50);
  assert.equal(source.taken(), taken, 'no sample after stop()');
  assert.equal(history.samples().length, taken);
  // Defaults: 5 s over 15 minutes.
  const defaults = new StatsHistory(source.sample);
  assert.deepEqual([defaults.intervalMs, defaults.windowMs, defaults.capacity], [5000, 900_000, 181]);
});

test('a throwing sample skips that tick and goes to onError', async () => {
  const errors: unknown[] = [];
  let n = 0;
  const history = new StatsHistory(
    () => {
      n++;
      if (n === 2) throw new Error('boom');
      return { at: Date.now(), tunnelsActive: n, handshakesTotal: 0, rejectedTotal: 0, bytesTotal: 0, closeCodes: {} };
    },
    { intervalMs: 10, windowMs: 1000, onError: (error) => errors.push(error) },
  );
  history.start();
  await sleep(60);
  history.stop();
  assert.equal(errors.length, 1);
  assert.equal(history.samples()[0]?.tunnelsActive, 1);
  assert.equal(history.samples()[1]?.tunnelsActive, 3);
});

test('bad options are refused', () => {
  const { sample } = counter();
  assert.throws(() => new StatsHistory(sample, { intervalMs: 0 }), RangeError);
  assert.throws(() => new StatsHistory(sample, { intervalMs: Number.NaN }), RangeError);
  assert.throws(() => new StatsHistory(sample, { intervalMs: 100, windowMs: 50 }), RangeError);
});
