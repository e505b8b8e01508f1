// S1 handshake rate: open, handshake, one 64-byte echo, close; N cycles at
// concurrency C after a warm-up. CPU per handshake comes from the window
// around the measured cycles only.
import { performance } from 'node:perf_hooks';
import { openWs } from '../lib/ws-client.js';
import { Histogram } from '../lib/histogram.js';
import { cpuWindow, round } from '../lib/window.js';
import { countError, firstErrors, withTimeout, PAYLOAD64, type Load } from '../lib/load.js';
import type { S1Params, S1Result } from '../lib/types.js';

// S1: open, handshake, one 64-byte echo, close handshake; N cycles at concurrency C.
export async function s1(L: Load, P: S1Params): Promise<S1Result> {
  const hs = new Histogram();
  const cyc = new Histogram();
  const errors = new Map<string, number>();
  let ok = 0;
  let failed = 0;
  const cycle = async (i: number, record: boolean): Promise<void> => {
    const t0 = performance.now();
    let gotEcho: () => void = () => undefined;
    const echo = new Promise<void>((r) => {
      gotEcho = r;
    });
    const conn = await openWs({ ...L.targetFor(i), timeoutMs: 10000, onMessage: () => gotEcho() });
    try {
      if (record) hs.recordMs(conn.handshakeMs);
      conn.send(PAYLOAD64);
      await withTimeout(echo, 10000, 'echo');
      await conn.close(5000);
    } catch (e) {
      conn.destroy();
      throw e;
    }
    if (record) cyc.recordMs(performance.now() - t0);
  };
  const run = async (total: number, record: boolean, offset: number): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total && L.timeLeft() > L.reserveMs) {
        const i = offset + next++;
        try {
          await cycle(i, record);
          if (record) ok++;
        } catch (e) {
          if (record) {
            failed++;
            countError(errors, e);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: P.concurrency }, worker));
  };
  if (P.warmup > 0) {
    L.log(`warm-up: ${P.warmup} cycles`);
    await run(P.warmup, false, 0);
  }
  L.log(`measuring ${P.n} cycles, concurrency ${P.concurrency}`);
  const a = L.measure();
  await run(P.n, true, P.warmup);
  const w = cpuWindow(a, L.measure());
  const done = ok + failed;
  // Nothing measured is a failure of the run, not a rate of zero.
  if (ok === 0) throw new Error(`no cycle completed (${failed} failed: ${JSON.stringify(firstErrors(errors))})`);
  return {
    kind: 'S1',
    n: P.n,
    ok,
    failed,
    errors: firstErrors(errors),
    handshakesPerS: round(ok / w.wallS, 1),
    handshake: hs.summary(),
    cycle: cyc.summary(),
    cpu: w,
    proxyCpuUsPerHandshake: w.proxyCpuS !== null && done ? round((1e6 * w.proxyCpuS) / done, 1) : null,
    stackCpuUsPerHandshake: done ? round((1e6 * w.stackCpuS) / done, 1) : null,
  };
}
