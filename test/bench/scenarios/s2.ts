// S2 latency under a fixed message rate, open loop.
import { performance } from 'node:perf_hooks';
import type { WsConn, MessageHandler } from '../lib/ws-client.js';
import { Histogram } from '../lib/histogram.js';
import { cpuWindow, round, type Snap } from '../lib/window.js';
import type { Load } from '../lib/load.js';
import type { S2Params, S2Result } from '../lib/types.js';

// S2: C open tunnels, 64-byte messages at a fixed total rate, open loop (the
// send schedule does not wait for echoes, so a slow proxy shows up as
// latency instead of silently lowering the offered load).
export async function s2(L: Load, P: S2Params): Promise<S2Result> {
  const M = Math.round(P.rate * (P.warmupSeconds + P.seconds));
  const WARMN = Math.round(P.rate * P.warmupSeconds);
  const intended = new Float64Array(M);
  const sentAt = new Float64Array(M);
  const got = new Uint8Array(M);
  const rtt = new Histogram();
  const fromIntended = new Histogram();
  let received = 0;
  let receivedMeasured = 0;
  let finish: (() => void) | null = null;
  const onMessage: MessageHandler = (_conn, payload) => {
    const now = performance.now();
    if (!payload || payload.length < 4) return;
    const id = payload.readUInt32LE(0);
    if (id >= M || got[id]) return;
    got[id] = 1;
    received++;
    if (id >= WARMN) {
      receivedMeasured++;
      rtt.recordMs(now - sentAt[id]!);
      fromIntended.recordMs(now - intended[id]!);
    }
    if (received === M) finish?.();
  };
  L.log(`opening ${P.conns} tunnels`);
  const o = await L.openMany(P.conns, 100, () => onMessage);
  const conns = o.conns.filter((c): c is WsConn => c !== null);
  L.log(`opened ${conns.length} in ${o.stats.ms} ms (${o.stats.failed} failed); sending ${P.rate} msg/s`);
  const pl = Buffer.alloc(64, 0x62);
  let sent = 0;
  let maxLag = 0;
  let a: Snap | null = null;
  if (conns.length > 0) {
    const t0 = performance.now() + 20;
    const interval = 1000 / P.rate;
    // A 1 ms timer sends whatever is due: the schedule is absolute (t0 + id *
    // interval), so timer jitter delays messages but never drops or thins them.
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.min(M, Math.floor((performance.now() - t0) / interval) + 1);
        while (sent < due) {
          const id = sent++;
          if (id === WARMN) a = L.measure();
          const s = performance.now();
          intended[id] = t0 + id * interval;
          sentAt[id] = s;
          if (s - intended[id]! > maxLag) maxLag = s - intended[id]!;
          pl.writeUInt32LE(id, 0);
          conns[id % conns.length]!.send(pl);
        }
        if (sent >= M || L.timeLeft() < 8000) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    L.log(`sent ${sent}; waiting for echoes`);
    if (received < sent) {
      await new Promise<void>((resolve) => {
        finish = resolve;
        setTimeout(resolve, Math.min(5000, L.timeLeft() - 3000));
      });
    }
  }
  const b = L.measure();
  const w = a ? cpuWindow(a, b) : null;
  for (const c of conns) c.destroy();
  if (receivedMeasured === 0) throw new Error(`no measured echo (${conns.length} tunnels, ${sent} sent): ${JSON.stringify(o.stats.errors)}`);
  return {
    kind: 'S2',
    open: o.stats,
    sent,
    received,
    lost: sent - received,
    achievedRate: w ? round(Math.max(0, sent - WARMN) / w.wallS, 1) : null,
    rtt: rtt.summary(),
    fromIntended: fromIntended.summary(),
    maxSendLagMs: round(maxLag, 3),
    cpu: w,
    proxyCpuUsPerMsg: w && w.proxyCpuS !== null && receivedMeasured ? round((1e6 * w.proxyCpuS) / receivedMeasured, 2) : null,
    stackCpuUsPerMsg: w && receivedMeasured ? round((1e6 * w.stackCpuS) / receivedMeasured, 2) : null,
  };
}
