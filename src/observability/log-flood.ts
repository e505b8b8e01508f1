/**
 * Log-flood summaries: a flood of identical lines (thousands of rejected
 * handshakes a second) becomes one line per window per key with a count,
 * never thousands of lines.
 *
 * The first line of a key is written as is; later ones are only counted
 * until the window ends, when ONE line is written for them: the fields of the
 * last one plus `suppressed` (how many were not written) and `windowMs`, with
 * msg "<msg> (repeated)". While the flood lasts, each window ends with such a
 * summary; a key with nothing counted for a whole window is forgotten, and
 * its next line is written as is again.
 *
 * Windows are ticks of one timer for every key (unref'd, running only while
 * some key is remembered), so a key's first window may be shorter than
 * `windowMs`: at most two lines per key per window either way. Counting
 * allocates nothing: the entry is made for a key's first line and updated in
 * place. Keys should come from a small set (a message and an error code),
 * not from per-connection values: each is remembered for up to two windows.
 */
import type { Logger } from './logger.js';

export type FloodLevel = 'info' | 'warn';

export interface LogFloodOptions {
  /** Length of a window (default 1000 ms). */
  readonly windowMs?: number;
}

interface Entry {
  level: FloodLevel;
  fields: object;
  msg: string;
  /** Lines counted, not written, in the current window. */
  suppressed: number;
}

export class LogFlood {
  readonly #logger: Logger;
  readonly #windowMs: number;
  readonly #entries = new Map<string, Entry>();
  #timer: NodeJS.Timeout | undefined;

  constructor(logger: Logger, { windowMs = 1000 }: LogFloodOptions = {}) {
    this.#logger = logger;
    this.#windowMs = windowMs;
  }

  /** Writes `fields, msg` at `level`, or counts it when `key` was written earlier in this window. */
  log(level: FloodLevel, key: string, fields: object, msg: string): void {
    if (!this.#logger.isLevelEnabled(level)) return;
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      entry.level = level;
      entry.fields = fields;
      entry.msg = msg;
      entry.suppressed++;
      return;
    }
    this.#entries.set(key, { level, fields, msg, suppressed: 0 });
    this.#logger[level](fields, msg);
    this.#timer ??= setInterval(() => this.#endWindow(), this.#windowMs).unref();
  }

  /** Writes the summaries still pending and forgets every key (at shutdown). */
  stop(): void {
    this.#endWindow();
    this.#entries.clear();
    this.#stopTimer();
  }

  #endWindow(): void {
    for (const [key, entry] of this.#entries) {
      if (entry.suppressed === 0) {
        this.#entries.delete(key);
        continue;
      }
      this.#logger[entry.level]({ ...entry.fields, suppressed: entry.suppressed, windowMs: this.#windowMs }, `${entry.msg} (repeated)`);
      entry.suppressed = 0;
    }
    if (this.#entries.size === 0) this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
