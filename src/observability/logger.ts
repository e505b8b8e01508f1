import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/schema.js';

export type { Logger };

/**
 * JSON lines to stdout (or the given stream). Writes are asynchronous (sonic-boom
 * batches lines while a write is in flight), so one line per tunnel stays off the relay's critical
 * path; `flushLogger` is called before the process exits.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const stream = destination ?? pino.destination({ dest: 1, sync: false });
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}

export function flushLogger(logger: Logger): void {
  try {
    logger.flush();
  } catch {
    // A closed stdout (a pipe whose reader went away) must not turn shutdown into a crash.
  }
}
