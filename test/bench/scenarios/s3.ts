// S3 throughput: big messages as fast as backpressure allows.
import crypto from 'node:crypto';
import type { WsConn } from '../lib/ws-client.js';
import { cpuWindow, round } from '../lib/window.js';
import { sleep, type Load } from '../lib/load.js';
import type { S3Params, S3Result } from '../lib/types.js';

// S3: a few tunnels streaming big binary messages, echoed; each keeps up to
// `window` messages in flight and also stops on socket backpressure, so the
// rate is what the slowest hop allows.
export async function s3(L: Load, P: S3Params): Promise<S3Result> {
  interface Stream {
    conn: WsConn | null;
    frame: Buffer | null;
    inflight: number;
    waitDrain: boolean;
    onIdle: (() => void) | null;
  }
  const payload = crypto.randomBytes(P.size);
  const streams: Stream[] = Array.from({ length: P.conns }, () => ({ conn: null, frame: null, inflight: 0, waitDrain: false, onIdle: null }));
  let sentBytes = 0;
  let recvBytes = 0;
  let stopped = false;
  const pump = (st: Stream): void => {
    if (stopped || st.waitDrain || !st.conn || !st.frame) return;
    const conn = st.conn;
    // Bounded by the window: at most `window` sends per call.
    while (st.inflight < P.window) {
      st.inflight++;
      sentBytes += P.size;
      if (!conn.sendPrepared(st.frame)) {
        st.waitDrain = true;
        conn.onDrain(() => {
          st.waitDrain = false;
          pump(st);
        });
        return;
      }
    }
  };
  const o = await L.openMany(P.conns, P.conns, (i) => (_conn, _p, len) => {
    const st = streams[i]!;
    st.inflight--;
    recvBytes += len;
    if (stopped) {
      if (st.inflight === 0) st.onIdle?.();
      return;
    }
    pump(st);
  });
  o.conns.forEach((c, i) => {
    const st = streams[i]!;
    st.conn = c;
    st.frame = c ? c.prepare(payload) : null;
  });
  if (o.stats.opened < P.conns) throw new Error(`only ${o.stats.opened}/${P.conns} tunnels opened: ${JSON.stringify(o.stats.errors)}`);
  for (const st of streams) pump(st);
  await sleep(P.warmupSeconds * 1000);
  const a = L.measure();
  const sa = sentBytes;
  const ra = recvBytes;
  L.log(`measuring ${P.seconds} s`);
  await sleep(Math.min(P.seconds * 1000, L.timeLeft() - 8000));
  const b = L.measure();
  const up = sentBytes - sa;
  const echoed = recvBytes - ra;
  stopped = true;
  await Promise.race([
    Promise.all(streams.map((st) => (st.inflight === 0 ? null : new Promise<void>((r) => (st.onIdle = r))))),
    sleep(Math.min(5000, L.timeLeft() - 3000)),
  ]);
  for (const st of streams) st.conn?.destroy();
  const w = cpuWindow(a, b);
  const relayedGB = (up + echoed) / 1e9;
  if (echoed === 0) throw new Error('nothing echoed in the measured window');
  return {
    kind: 'S3',
    open: o.stats,
    echoedBytes: echoed,
    sentBytes: up,
    echoMBps: round(echoed / 1e6 / w.wallS, 1),
    relayedGB: round(relayedGB, 4),
    leftoverInflight: streams.reduce((s, st) => s + st.inflight, 0),
    cpu: w,
    proxyCpuSPerGB: w.proxyCpuS !== null && relayedGB > 0 ? round(w.proxyCpuS / relayedGB, 3) : null,
    stackCpuSPerGB: relayedGB > 0 ? round(w.stackCpuS / relayedGB, 3) : null,
  };
}
