import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/schema.js';

export type { Logger };

/** How long a log line may wait in the buffer before it is written. */
const FLUSH_INTERVAL_MS = 250;
/** Buffered bytes that trigger a write at once. */
const BUFFER_BYTES = 8 * 1024;

interface Flushable {
  flushSync(): void;
}
const destinations = new WeakMap<Logger, Flushable>();

/**
 * JSON lines to stdout (or the given stream). Lines are buffered and written
 * in batches (every 8 KiB or 250 ms, whichever comes first) because one
 * write(2) per closed tunnel was ~8% of the CPU of a handshake-heavy load.
 * `flushLogger` writes what is left before the process exits.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  if (destination !== undefined) return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  const stream = pino.destination({ dest: 1, sync: false, minLength: BUFFER_BYTES });
  const logger = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  destinations.set(logger, stream);
  setInterval(() => {
    try {
      stream.flush();
    } catch {
      // Nothing is pending, or stdout is gone: either way there is nothing to do.
    }
  }, FLUSH_INTERVAL_MS).unref();
  return logger;
}

export function flushLogger(logger: Logger): void {
  try {
    const stream = destinations.get(logger);
    if (stream !== undefined) stream.flushSync();
    else logger.flush();
  } catch {
    // A closed stdout (a pipe whose reader went away) must not turn shutdown into a crash.
  }
}
