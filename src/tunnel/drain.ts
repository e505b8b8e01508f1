import { closeTunnel } from './inject.js';
import type { Tunnel } from './tunnel.js';

/** The close loop wakes at most this often, and at least every second. */
const MIN_STEP_MS = 10;
const MAX_STEP_MS = 1000;

/**
 * Closes `tunnels` with a Close 1001 each (inject.ts), spread evenly over
 * `spreadMs` so that thousands of clients do not reconnect in the same second
 * (issue 6): the i-th of n closes at i * spreadMs / n. One timer walks the
 * list; resolves once every close has started.
 */
export function closeTunnelsSpread(tunnels: Iterable<Tunnel>, spreadMs: number, reason: string): Promise<void> {
  const list = [...tunnels];
  if (spreadMs <= 0 || list.length <= 1) {
    for (const tunnel of list) closeTunnel(tunnel, reason);
    return Promise.resolve();
  }
  const stepMs = spreadMs / list.length;
  const startedAt = Date.now();
  let next = 0;
  return new Promise((resolve) => {
    const closeDue = (): void => {
      const due = Math.min(list.length, Math.floor((Date.now() - startedAt) / stepMs) + 1);
      for (; next < due; next++) closeTunnel(list[next] as Tunnel, reason);
      if (next >= list.length) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(closeDue, Math.min(MAX_STEP_MS, Math.max(MIN_STEP_MS, stepMs)));
    closeDue();
  });
}
