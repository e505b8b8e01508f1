import { readFileSync } from 'node:fs';

/**
 * The connection cap wsgate derives from its descriptor limit when
 * `--max-connections` is not given, as HAProxy derives `maxconn` from
 * `ulimit -n` (issue 13). Every admitted client connection may need a second
 * descriptor for its backend, so the cap is half of what is left after a
 * reserve for everything else: the listening sockets, health checks, log
 * output, the admin listener, DNS and libuv's own. Connections beyond the cap
 * are refused at accept (net.Server.maxConnections), instead of being accepted
 * and then failing half-way with EMFILE.
 */

/** Descriptors kept back for what is not a tunnel: at least 64, or 5% of the limit. */
export function descriptorReserve(limit: number): number {
  return Math.max(64, Math.ceil(limit * 0.05));
}

/** At most this many client connections under a soft RLIMIT_NOFILE of `limit`; at least 1. */
export function connectionCapFor(limit: number): number {
  return Math.max(1, Math.floor((limit - descriptorReserve(limit)) / 2));
}

/**
 * The soft RLIMIT_NOFILE, from /proc/self/limits (Node has no call for it);
 * undefined where that file does not exist (not Linux) or says "unlimited".
 */
export function readDescriptorLimit(limitsFile = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, 'utf8');
  } catch {
    return undefined;
  }
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (line === null || line[1] === 'unlimited') return undefined;
  const soft = Number(line[1]);
  return Number.isSafeInteger(soft) && soft > 0 ? soft : undefined;
}
