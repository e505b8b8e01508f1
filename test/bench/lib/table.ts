// The one markdown table printed at the end: one row per (scenario, target).
// The per-work figures are what to compare on a shared 2-core machine, so
// each row carries its cost next to the ratios against the two references:
//   proxy cost  = the target's own process tree (cluster workers included);
//                 compared with naive (the textbook http-proxy proxy);
//   stack cost  = proxy + backends + load generator, i.e. everything the
//                 benchmark runs; compared with naive and with direct (no
//                 proxy at all: the physical reference).
import type { CpuWindow, Report, RunRecord, ScenarioId, ScenarioResult } from './types.js';

const UNIT: Record<ScenarioId, string> = { S1: 'µs/hs', S2: 'µs/msg', S3: 's/GB', S4: 'B/tunnel' };

interface Costs {
  proxy: number | null;
  stack: number | null;
}

export function costs(r: ScenarioResult): Costs {
  switch (r.kind) {
    case 'S1':
      return { proxy: r.proxyCpuUsPerHandshake, stack: r.stackCpuUsPerHandshake };
    case 'S2':
      return { proxy: r.proxyCpuUsPerMsg, stack: r.stackCpuUsPerMsg };
    case 'S3':
      return { proxy: r.proxyCpuSPerGB, stack: r.stackCpuSPerGB };
    case 'S4':
      return { proxy: r.proxyBytesPerTunnel, stack: r.stackBytesPerTunnel };
  }
}

const fmt = (x: number | null | undefined, d: number): string =>
  x === null || x === undefined || Number.isNaN(x) ? '—' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
export const ratio = (x: number | null | undefined, y: number | null | undefined): number | null =>
  x === null || x === undefined || y === null || y === undefined || y === 0 ? null : x / y;
const fmtRatio = (x: number | null): string => (x === null ? '—' : `${x.toFixed(2)}×`);
const mib = (b: number | null): string => (b === null ? '—' : (b / 2 ** 20).toFixed(1));

function rate(r: ScenarioResult): string {
  switch (r.kind) {
    case 'S1':
      return `${fmt(r.handshakesPerS, 0)} hs/s`;
    case 'S2':
      return `${fmt(r.achievedRate, 0)} msg/s`;
    case 'S3':
      return `${fmt(r.echoMBps, 0)} MB/s`;
    case 'S4':
      return `${r.echoOk}/${r.open.opened} echo`;
  }
}

function latencies(r: ScenarioResult): [string, string, string] {
  const l = r.kind === 'S1' ? r.handshake : r.kind === 'S2' ? r.rtt : null;
  if (!l || l.count === 0) return ['—', '—', '—'];
  return [fmt(l.p50, 2), fmt(l.p99, 2), fmt(l.p999, 2)];
}

function noise(cpu: CpuWindow | null, foreign: number): string[] {
  const out: string[] = [];
  if (foreign > 20) out.push(`⚠ other procs ${foreign.toFixed(0)}% core`);
  if (cpu?.machineStealPct && cpu.machineStealPct > 5) out.push(`⚠ steal ${cpu.machineStealPct}%`);
  return out;
}

function notes(rec: RunRecord, r: ScenarioResult, w1: ScenarioResult | undefined): string {
  const n: string[] = [];
  switch (r.kind) {
    case 'S1':
      if (r.failed) n.push(`${r.failed} failed`);
      if (r.cpu.proxyPctOfCore !== null) n.push(`proxy ${r.cpu.proxyPctOfCore.toFixed(0)}% core (${r.cpu.proxyProcesses} proc)`);
      if (w1?.kind === 'S1' && rec.target === 'wsgate-w2') {
        n.push(`vs wsgate w1: ${fmtRatio(ratio(r.handshakesPerS, w1.handshakesPerS))} hs/s, ${fmtRatio(ratio(r.proxyCpuUsPerHandshake, w1.proxyCpuUsPerHandshake))} µs/hs`);
      }
      n.push(...noise(r.cpu, r.cpu.foreignPctOfCore));
      break;
    case 'S2':
      if (r.lost) n.push(`${r.lost} lost`);
      if (r.open.failed) n.push(`${r.open.failed} failed to open`);
      if (r.cpu?.proxyPctOfCore != null) n.push(`proxy ${r.cpu.proxyPctOfCore.toFixed(0)}% core`);
      n.push(...noise(r.cpu, r.cpu?.foreignPctOfCore ?? 0));
      break;
    case 'S3':
      if (r.cpu.proxyPctOfCore !== null) n.push(`proxy ${r.cpu.proxyPctOfCore.toFixed(0)}% core`);
      n.push(...noise(r.cpu, r.cpu.foreignPctOfCore));
      break;
    case 'S4':
      if (r.open.failed) n.push(`${r.open.failed} failed to open`);
      n.push(`opened in ${(r.open.ms / 1000).toFixed(1)} s`);
      if (r.stillOpenAtEnd < r.open.opened) n.push(`${r.open.opened - r.stillOpenAtEnd} closed early`);
      if (r.proxyRssBefore !== null) {
        const share = r.proxyRetainedShare === null ? '' : ` (${(100 * r.proxyRetainedShare).toFixed(0)}% of growth kept)`;
        n.push(`RSS MiB ${mib(r.proxyRssBefore)} → ${mib(r.proxyRssPeak)} → ${mib(r.proxyRssAfterClose)} ${r.closeWatchS} s after close${share}`);
        if (r.proxyRetainedFlag) n.push('⚠ RSS after close > before + 20% of growth');
        if (r.proxyRssAfterGc !== null) {
          const g = r.proxyRetainedAfterGcShare;
          n.push(`after forced GC ${mib(r.proxyRssAfterGc)} MiB${g === null ? '' : ` (${(100 * g).toFixed(0)}% kept)`}`);
        }
        if (r.proxyLiveBefore !== null && r.proxyLiveAfterClose !== null) {
          // Live = V8 heap used + external buffers after GC: growth here is held by the process (a leak).
          // Marked when it is both per-tunnel-sized (>= 256 B each) and above
          // GC noise (>= 2 MiB in all): a quick run's 500 tunnels cannot trip it.
          const leak = r.proxyLiveLeakPerTunnel ?? 0;
          const suspect = leak >= 256 && r.proxyLiveAfterClose - r.proxyLiveBefore >= 2 * 2 ** 20;
          n.push(`live heap+ext ${mib(r.proxyLiveBefore)} → ${mib(r.proxyLiveAfterClose)} MiB (${leak} B/tunnel${suspect ? ' ⚠ leak?' : ''})`);
        }
      }
      n.push(...noise(null, r.foreignPctOfCore));
      break;
  }
  return n.join('; ');
}

export function renderTable(report: Report): string {
  const find = (s: ScenarioId, t: string): ScenarioResult | undefined =>
    report.runs.find((x) => x.scenario === s && x.target === t)?.result;
  const L: string[] = [
    '| scenario | target | rate | p50 ms | p99 ms | p99.9 ms | proxy cost | proxy ×naive | stack cost | stack ×naive | stack ×direct | notes |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const rec of report.runs) {
    const head = `| ${rec.scenario} | ${rec.target} |`;
    if (!rec.result) {
      const why = rec.skipped ? `skipped: ${rec.skipped}` : `error: ${(rec.error ?? '').split('\n', 1)[0]}`;
      L.push(`${head} — | — | — | — | — | — | — | — | — | ${why.replace(/\|/g, '/')} |`);
      continue;
    }
    const r = rec.result;
    const unit = UNIT[rec.scenario];
    const c = costs(r);
    const naive = find(rec.scenario, 'naive');
    const direct = find(rec.scenario, 'direct');
    const cn = naive ? costs(naive) : null;
    const cd = direct ? costs(direct) : null;
    const d = r.kind === 'S3' ? 3 : r.kind === 'S2' ? 1 : 0;
    const [p50, p99, p999] = latencies(r);
    L.push(
      `${head} ${rate(r)} | ${p50} | ${p99} | ${p999} | ${c.proxy === null ? '—' : `${fmt(c.proxy, d)} ${unit}`} | ` +
        `${fmtRatio(ratio(c.proxy, cn?.proxy))} | ${c.stack === null ? '—' : `${fmt(c.stack, d)} ${unit}`} | ` +
        `${fmtRatio(ratio(c.stack, cn?.stack))} | ${fmtRatio(ratio(c.stack, cd?.stack))} | ${notes(rec, r, find(rec.scenario, 'wsgate'))} |`,
    );
  }
  return L.join('\n');
}

export const LEGEND = [
  'Legend: rate = S1 handshakes/s (open + 64 B echo + close), S2 achieved msg/s, S3 echoed MB/s (10^6 B), S4 tunnels that echoed at the end.',
  'p50/p99/p99.9 = S1 handshake latency (connect → verified 101), S2 round trip (send → echo).',
  'proxy cost = CPU (utime+stime over the proxy process tree) per unit of work, or for S4 RSS growth per idle tunnel;',
  'stack cost = the same over proxy + backends + load generator (direct = no proxy: the physical reference).',
  'Per-process CPU misses softirq (loopback TCP receive work is charged to no process); see machineSoftirqPct in the JSON.',
  'S4: RSS before → peak → after close (watched up to 30 s), then after a forced GC in the proxy (preloaded SIGUSR2 hook), and the live V8 heap + external memory before/after: RSS kept but live memory back = allocator retention; live memory kept = the process holds it (⚠ leak? at >= 256 B/tunnel and >= 2 MiB).',
  '⚠ other procs / steal = the window was disturbed by other work on this shared machine (other processes > 20% of a core, or steal > 5%).',
].join('\n');
