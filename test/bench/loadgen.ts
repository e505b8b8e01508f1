// Load generator: one scenario per process, so that its CPU is separate from
// the orchestrator's and the proxy's. Config: one JSON argument (LoadgenConfig).
// Output: progress on stderr, one JSON line (LoadgenOutput) on stdout.
// Every loop is bounded by a count and by the deadline; the process exits by
// itself at the deadline and when its parent goes away.
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { openWs, type WsConn, type MessageHandler } from './lib/ws-client.js';
import { Histogram } from './lib/histogram.js';
import { processTree, rssBytes, tcpMemBytes, exitWithParent } from './lib/proc.js';
import { snap, cpuWindow, round } from './lib/window.js';
import type {
  LoadgenConfig,
  LoadgenOutput,
  OpenStats,
  S1Params,
  S1Result,
  S2Params,
  S2Result,
  S3Params,
  S3Result,
  S4Params,
  S4Result,
  ScenarioResult,
} from './lib/types.js';

const cfg = JSON.parse(process.argv[2] ?? 'null') as LoadgenConfig;
const deadline = Date.now() + cfg.deadlineS * 1000;
setTimeout(() => {
  log('hard deadline reached, exiting');
  process.exit(3);
}, cfg.deadlineS * 1000 + 2000).unref();
exitWithParent(4);

function log(msg: string): void {
  process.stderr.write(`  [loadgen ${cfg.scenario}] ${msg}\n`);
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const timeLeft = (): number => deadline - Date.now();
const PAYLOAD64 = Buffer.alloc(64, 0x61);

/**
 * Connection i -> where it goes. Through a proxy: one port, paths alternate
 * /echo, /echo2. Direct: ports alternate over the backends (round robin in
 * the client). Source addresses rotate over 127.0.0.1-9 so that 9000
 * connections never exhaust one address's ephemeral ports.
 */
function targetFor(i: number): { port: number; path: string; localAddress: string } {
  const port = cfg.ports[i % cfg.ports.length]!;
  const path = cfg.paths[Math.floor(i / cfg.ports.length) % cfg.paths.length]!;
  return { port, path, localAddress: cfg.localAddrs[i % cfg.localAddrs.length]! };
}

const measure = () => snap(cfg.proxyPid, cfg.backendPids);

function countError(errors: Map<string, number>, e: unknown): void {
  const m = e instanceof Error ? e.message : String(e);
  errors.set(m, (errors.get(m) ?? 0) + 1);
}
const firstErrors = (errors: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...errors].slice(0, 5));

/** Opens n connections, at most `concurrency` handshakes in flight; slot i stays null on failure. */
async function openMany(
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
    while (next < n && timeLeft() > 5000) {
      const i = next++;
      try {
        conns[i] = await openWs({ ...targetFor(i), timeoutMs: 15000, onMessage: handler(i) });
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

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    t = setTimeout(() => rej(new Error(`${what} timeout`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

// S1: open, handshake, one 64-byte echo, close handshake; N cycles at concurrency C.
async function s1(P: S1Params): Promise<S1Result> {
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
    const conn = await openWs({ ...targetFor(i), timeoutMs: 10000, onMessage: () => gotEcho() });
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
      while (next < total && timeLeft() > 5000) {
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
    log(`warm-up: ${P.warmup} cycles`);
    await run(P.warmup, false, 0);
  }
  log(`measuring ${P.n} cycles, concurrency ${P.concurrency}`);
  const a = measure();
  await run(P.n, true, P.warmup);
  const w = cpuWindow(a, measure());
  const done = ok + failed;
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

// S2: C open tunnels, 64-byte messages at a fixed total rate, open loop (the
// send schedule does not wait for echoes, so a slow proxy shows up as
// latency instead of silently lowering the offered load).
async function s2(P: S2Params): Promise<S2Result> {
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
  log(`opening ${P.conns} tunnels`);
  const o = await openMany(P.conns, 100, () => onMessage);
  const conns = o.conns.filter((c): c is WsConn => c !== null);
  log(`opened ${conns.length} in ${o.stats.ms} ms (${o.stats.failed} failed); sending ${P.rate} msg/s`);
  const pl = Buffer.alloc(64, 0x62);
  let sent = 0;
  let maxLag = 0;
  let a: ReturnType<typeof measure> | null = null;
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
          if (id === WARMN) a = measure();
          const s = performance.now();
          intended[id] = t0 + id * interval;
          sentAt[id] = s;
          if (s - intended[id]! > maxLag) maxLag = s - intended[id]!;
          pl.writeUInt32LE(id, 0);
          conns[id % conns.length]!.send(pl);
        }
        if (sent >= M || timeLeft() < 8000) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    log(`sent ${sent}; waiting for echoes`);
    if (received < sent) {
      await new Promise<void>((resolve) => {
        finish = resolve;
        setTimeout(resolve, Math.min(5000, timeLeft() - 3000));
      });
    }
  }
  const b = measure();
  const w = a ? cpuWindow(a, b) : null;
  for (const c of conns) c.destroy();
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

// S3: a few tunnels streaming big binary messages, echoed; each keeps up to
// `window` messages in flight and also stops on socket backpressure, so the
// rate is what the slowest hop allows.
async function s3(P: S3Params): Promise<S3Result> {
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
  const o = await openMany(P.conns, P.conns, (i) => (_conn, _p, len) => {
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
  const a = measure();
  const sa = sentBytes;
  const ra = recvBytes;
  log(`measuring ${P.seconds} s`);
  await sleep(Math.min(P.seconds * 1000, timeLeft() - 8000));
  const b = measure();
  const up = sentBytes - sa;
  const echoed = recvBytes - ra;
  stopped = true;
  await Promise.race([
    Promise.all(streams.map((st) => (st.inflight === 0 ? null : new Promise<void>((r) => (st.onIdle = r))))),
    sleep(Math.min(5000, timeLeft() - 3000)),
  ]);
  for (const st of streams) st.conn?.destroy();
  const w = cpuWindow(a, b);
  const relayedGB = (up + echoed) / 1e9;
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

// S4: many idle tunnels; RSS growth per tunnel; every tunnel must still echo;
// then all close and we watch whether the proxy's RSS comes back down.
async function s4(P: S4Params): Promise<S4Result> {
  const proxyRss = (): number | null => (cfg.proxyPid !== null ? rssBytes(processTree(cfg.proxyPid)) : null);
  const backendsRss = (): number => rssBytes(cfg.backendPids.flatMap((p) => processTree(p)));
  const selfRss = (): number => process.memoryUsage().rss;
  // Warm the stack (JIT, lazily allocated pools) so "before" is a warm idle proxy.
  const warm = await openMany(P.warmup, 50, () => undefined);
  await Promise.all(warm.conns.map((c) => c?.close(3000)));
  await sleep(1000);
  const a = measure();
  const before = { proxy: proxyRss(), backends: backendsRss(), self: selfRss(), tcp: tcpMemBytes() };
  const seen = new Set<WsConn>();
  let onAll: (() => void) | null = null;
  let opened = 0;
  const onMessage: MessageHandler = (conn) => {
    seen.add(conn);
    if (seen.size === opened) onAll?.();
  };
  log(`opening ${P.conns} idle tunnels`);
  const o = await openMany(P.conns, P.openConcurrency, () => onMessage);
  const conns = o.conns.filter((c): c is WsConn => c !== null);
  opened = conns.length;
  log(`opened ${opened} in ${o.stats.ms} ms (${o.stats.failed} failed); settling ${P.settleSeconds} s`);
  await sleep(Math.min(P.settleSeconds * 1000, timeLeft() - 20000));
  const after = { proxy: proxyRss(), backends: backendsRss(), self: selfRss(), tcp: tcpMemBytes() };
  for (const c of conns) c.send(PAYLOAD64);
  if (seen.size < opened) {
    await new Promise<void>((r) => {
      onAll = r;
      setTimeout(r, Math.min(30000, timeLeft() - 15000));
    });
  }
  const echoOk = seen.size;
  const stillOpen = conns.filter((c) => !c.closed).length;
  const afterEcho = proxyRss();
  log(`${echoOk}/${opened} echoed; closing all`);
  const tc = performance.now();
  await Promise.race([Promise.all(conns.map((c) => c.close(5000))), sleep(Math.min(10000, timeLeft() - 8000))]);
  for (const c of conns) c.destroy();
  const closeMs = round(performance.now() - tc, 1);
  // RSS after close: poll for the settle time; the last sample is the figure,
  // the minimum shows whether a late GC would have brought it down.
  let afterClose = proxyRss();
  let afterCloseMin = afterClose;
  const until = Date.now() + Math.min(P.closeSettleSeconds * 1000, timeLeft() - 4000);
  while (Date.now() < until) {
    await sleep(250);
    afterClose = proxyRss();
    if (afterClose !== null && afterCloseMin !== null) afterCloseMin = Math.min(afterCloseMin, afterClose);
  }
  const w = cpuWindow(a, measure());
  const per = (x: number | null, y: number | null): number | null =>
    x !== null && y !== null && opened > 0 ? Math.round((y - x) / opened) : null;
  const peak = after.proxy !== null && afterEcho !== null ? Math.max(after.proxy, afterEcho) : null;
  const growth = peak !== null && before.proxy !== null ? peak - before.proxy : null;
  const retained = afterClose !== null && before.proxy !== null ? afterClose - before.proxy : null;
  const proxyB = per(before.proxy, after.proxy);
  const backendsB = per(before.backends, after.backends);
  const selfB = per(before.self, after.self);
  return {
    kind: 'S4',
    requested: P.requested,
    open: o.stats,
    echoOk,
    stillOpenAtEnd: stillOpen,
    proxyProcesses: w.proxyProcesses,
    proxyRssBefore: before.proxy,
    proxyRssPeak: peak,
    proxyRssAfterClose: afterClose,
    proxyRssAfterCloseMin: afterCloseMin,
    proxyRetainedShare: growth !== null && retained !== null && growth > 0 ? round(retained / growth, 3) : null,
    proxyRetainedFlag: growth !== null && retained !== null && retained > 0.2 * Math.max(0, growth),
    proxyBytesPerTunnel: proxyB,
    backendsBytesPerTunnel: backendsB,
    loadgenBytesPerTunnel: selfB,
    stackBytesPerTunnel: backendsB !== null && selfB !== null ? (proxyB ?? 0) + backendsB + selfB : null,
    kernelTcpBytesPerTunnel: per(before.tcp, after.tcp),
    closeMs,
    foreignPctOfCore: w.foreignPctOfCore,
  };
}

async function main(): Promise<ScenarioResult> {
  switch (cfg.scenario) {
    case 'S1':
      return s1(cfg.params);
    case 'S2':
      return s2(cfg.params);
    case 'S3':
      return s3(cfg.params);
    case 'S4':
      return s4(cfg.params);
  }
}

const started = Date.now();
main().then(
  (result) => {
    const out: LoadgenOutput = { ok: true, scenario: cfg.scenario, elapsedS: (Date.now() - started) / 1000, result };
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(0);
  },
  (e: unknown) => {
    const out: LoadgenOutput = { ok: false, scenario: cfg.scenario, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(1);
  },
);
