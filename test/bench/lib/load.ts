// What every scenario of the load generator shares: its config, the
// deadline, where connection i goes, opening many connections, and the
// measurement snapshot.
import { performance } from 'node:perf_hooks';
import { openWs, type WsConn, type MessageHandler } from './ws-client.js';
import { snap, round, type Snap } from './window.js';
import type { LoadgenConfig, OpenStats } from './types.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
export const PAYLOAD64 = Buffer.alloc(64, 0x61);

export function countError(errors: Map<string, number>, e: unknown): void {
  const m = e instanceof Error ? e.message : String(e);
  errors.set(m, (errors.get(m) ?? 0) + 1);
}
export const firstErrors = (errors: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...errors].slice(0, 5));

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    t = setTimeout(() => rej(new Error(`${what} timeout`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

export class Load {
  private readonly deadline: number;
  /** Loops stop starting new work this long before the deadline, leaving time to finish and report. */
  readonly reserveMs: number;

  constructor(readonly cfg: LoadgenConfig) {
    this.deadline = Date.now() + cfg.deadlineS * 1000;
    this.reserveMs = Math.min(5000, cfg.deadlineS * 250);
  }

  log(msg: string): void {
    process.stderr.write(`  [loadgen ${this.cfg.scenario}] ${msg}\n`);
  }

  timeLeft(): number {
    return this.deadline - Date.now();
  }

  measure(): Snap {
    return snap(this.cfg.proxyPid, this.cfg.backendPids);
  }

  /**
   * Connection i -> where it goes. Through a proxy: one port, paths alternate
   * /echo, /echo2. Direct: ports alternate over the backends (round robin in
   * the client). Source addresses rotate over 127.0.0.1-9 so that 9000
   * connections never exhaust one address's ephemeral ports.
   */
  targetFor(i: number): { port: number; path: string; localAddress: string } {
    const { ports, paths, localAddrs } = this.cfg;
    const port = ports[i % ports.length]!;
    const path = paths[Math.floor(i / ports.length) % paths.length]!;
    return { port, path, localAddress: localAddrs[i % localAddrs.length]! };
  }

  /** Opens n connections, at most `concurrency` handshakes in flight; slot i stays null on failure. */
  async openMany(
    n: number,
    concurrency: number,
    handler: (i: number) => MessageHandler | undefined,
  ): Promise<{ conns: Array<WsConn | null>; stats: OpenStats }> {
    const conns: Array<WsConn | null> = new Array<WsConn | null>(n).fill(null);
    const errors = new Map<string, number>();
    let next = 0;
    let failed = 0;
    const t0 = performance.now();
    const worker = async (): Promise<void> => {
      while (next < n && this.timeLeft() > this.reserveMs) {
        const i = next++;
        try {
          conns[i] = await openWs({ ...this.targetFor(i), timeoutMs: 15000, onMessage: handler(i) });
        } catch (e) {
          failed++;
          countError(errors, e);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
    const opened = conns.filter((c) => c !== null).length;
    return { conns, stats: { opened, failed, errors: firstErrors(errors), ms: round(performance.now() - t0, 1) } };
  }
}
