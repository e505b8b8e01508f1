import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { LogFlood } from '../../src/observability/log-flood.js';

interface Line {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A real pino logger whose lines land, parsed, in `lines`. */
function collectingLogger(level = 'info'): { logger: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

const WINDOW_MS = 20;
/** Resolves after `windows` windows; the flood's timer ticks due before it have run by then. */
const windows = (count: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, count * WINDOW_MS + 5));

describe('LogFlood', () => {
  test('5,000 identical lines in a burst are written as two: the first and one summary', async () => {
    const { logger, lines } = collectingLogger();
    const flood = new LogFlood(logger, { windowMs: WINDOW_MS });
    for (let i = 0; i < 5000; i++) flood.log('warn', 'handshake rejected:bad-version', { code: 'bad-version', status: 400, i }, 'handshake rejected');
    assert.equal(lines.length, 1);
    await windows(3);
    assert.equal(lines.length, 2);
    const [first, summary] = lines;
    assert.deepEqual(
      { level: first?.level, msg: first?.msg, code: first?.code, i: first?.i, suppressed: first?.suppressed },
      { level: 40, msg: 'handshake rejected', code: 'bad-version', i: 0, suppressed: undefined },
    );
    assert.deepEqual(
      { level: summary?.level, msg: summary?.msg, code: summary?.code, status: summary?.status, i: summary?.i, suppressed: summary?.suppressed, windowMs: summary?.windowMs },
      { level: 40, msg: 'handshake rejected (repeated)', code: 'bad-version', status: 400, i: 4999, suppressed: 4999, windowMs: WINDOW_MS },
    );
    flood.stop();
    assert.equal(lines.length, 2);
  });

  test('a flood that goes on gives one summary per window, not a new first line', async () => {
    const { logger, lines } = collectingLogger();
    const flood = new LogFlood(logger, { windowMs: WINDOW_MS });
    for (let i = 0; i < 100; i++) flood.log('warn', 'k', { i }, 'upgrade failed');
    await windows(1);
    for (let i = 0; i < 50; i++) flood.log('warn', 'k', { i }, 'upgrade failed');
    flood.stop();
    assert.deepEqual(
      lines.map((line) => [line.msg, line.suppressed]),
      [
        ['upgrade failed', undefined],
        ['upgrade failed (repeated)', 99],
        ['upgrade failed (repeated)', 50],
      ],
    );
  });

  test('two keys are summarised separately', async () => {
    const { logger, lines } = collectingLogger();
    const flood = new LogFlood(logger, { windowMs: WINDOW_MS });
    for (let i = 0; i < 300; i++) {
      flood.log('warn', 'request rejected:too-many', { code: 'too-many', status: 503 }, 'request rejected');
      if (i % 3 === 0) flood.log('info', 'backend skipped:ECONNREFUSED', { code: 'ECONNREFUSED' }, 'backend skipped');
    }
    assert.equal(lines.length, 2);
    await windows(3);
    assert.equal(lines.length, 4);
    const summaries = lines.filter((line) => line.suppressed !== undefined).map((line) => [line.level, line.msg, line.code, line.suppressed]);
    assert.deepEqual(summaries.sort(), [
      [30, 'backend skipped (repeated)', 'ECONNREFUSED', 99],
      [40, 'request rejected (repeated)', 'too-many', 299],
    ].sort());
    flood.stop();
  });

  test('a key quiet for a window starts fresh: its next line is written as is', async () => {
    const { logger, lines } = collectingLogger();
    const flood = new LogFlood(logger, { windowMs: WINDOW_MS });
    flood.log('warn', 'k', { n: 1 }, 'handshake rejected');
    await windows(3);
    flood.log('warn', 'k', { n: 2 }, 'handshake rejected');
    flood.stop();
    assert.deepEqual(
      lines.map((line) => [line.msg, line.n, line.suppressed]),
      [
        ['handshake rejected', 1, undefined],
        ['handshake rejected', 2, undefined],
      ],
    );
  });

  test('stop() writes the summaries still pending', () => {
    const { logger, lines } = collectingLogger();
    const flood = new LogFlood(logger, { windowMs: 60_000 });
    for (let i = 0; i < 3; i++) flood.log('warn', 'a', { code: 'A', i }, 'connection refused');
    flood.log('warn', 'b', { code: 'B' }, 'connection refused');
    flood.stop();
    assert.deepEqual(
      lines.map((line) => [line.msg, line.code, line.suppressed, line.windowMs]),
      [
        ['connection refused', 'A', undefined, undefined],
        ['connection refused', 'B', undefined, undefined],
        ['connection refused (repeated)', 'A', 2, 60_000],
      ],
    );
    // Forgotten: the next line is a first line again.
    flood.log('warn', 'a', { code: 'A' }, 'connection refused');
    flood.stop();
    assert.equal(lines.length, 4);
    assert.equal(lines[3]?.suppressed, undefined);
  });

  test('a level the logger does not write is neither written nor counted', () => {
    const { logger, lines } = collectingLogger('warn');
    const flood = new LogFlood(logger, { windowMs: 60_000 });
    for (let i = 0; i < 10; i++) flood.log('info', 'k', {}, 'backend skipped');
    flood.stop();
    assert.equal(lines.length, 0);
  });
});
