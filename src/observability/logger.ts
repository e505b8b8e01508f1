import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogFormat, LogLevel } from '../config/schema.js';

export type { Logger };

/** How long a log line may wait in the buffer before it is written. */
const FLUSH_INTERVAL_MS = 250;
/** Buffered bytes that trigger a write at once. */
const BUFFER_BYTES = 8 * 1024;

interface Flushable {
  flushSync(): void;
}
const destinations = new WeakMap<Logger, Flushable>();

export interface LoggerOptions {
  /** 'json' (default): JSON lines; 'pretty': pino-pretty's text, for a human at a terminal. */
  readonly format?: LogFormat;
  /** Where the lines go instead of stdout (tests). */
  readonly destination?: DestinationStream;
}

function pinoOptions(level: LogLevel): pino.LoggerOptions {
  return { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
}

/**
 * pino-pretty as a stream in this process (not a worker transport), writing
 * synchronously: a line is on the terminal when the call returns, so nothing
 * is left to flush at exit. Colours only when stdout is a terminal and
 * NO_COLOR is not set. Loaded only here: it adds ~0.5 MB to the heap, which
 * JSON logging does not pay.
 */
function prettyStream(destination: DestinationStream | undefined): DestinationStream {
  const { PinoPretty } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return PinoPretty({
    colorize: destination === undefined && process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
    sync: true,
    ...(destination !== undefined && { destination }),
  });
}

/**
 * JSON lines to stdout (or the given stream). Lines are buffered and written
 * in batches (every 8 KiB or 250 ms, whichever comes first) because one
 * write(2) per closed tunnel was ~8% of the CPU of a handshake-heavy load.
 * `flushLogger` writes what is left before the process exits.
 *
 * `format: 'pretty'` writes pino-pretty's text instead, one synchronous write
 * per line: for a human at a terminal, not for load.
 *
 * The second argument may also be the destination stream itself (JSON).
 */
export function createLogger(level: LogLevel, options: LoggerOptions | DestinationStream = {}): Logger {
  const { format = 'json', destination } = 'write' in options ? { destination: options } : options;
  if (format === 'pretty') return pino(pinoOptions(level), prettyStream(destination));
  if (destination !== undefined) return pino(pinoOptions(level), destination);
  const stream = pino.destination({ dest: 1, sync: false, minLength: BUFFER_BYTES });
  const logger = pino(pinoOptions(level), stream);
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
