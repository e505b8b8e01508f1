// CPU accounting for one measured window, taken by the load generator: it
// knows exactly when its window starts and ends, so no CPU from start-up,
// warm-up or teardown leaks into the per-work figures.
import { performance } from 'node:perf_hooks';
import {
  scanProcs,
  processTree,
  cpuSplit,
  sysCpu,
  allProcTicks,
  ancestors,
  foreignCpu,
  type CpuSplit,
  type SysCpu,
  type ProcTicks,
} from './proc.js';
import type { CpuWindow } from './types.js';

export interface Snap {
  t: number;
  proxy: CpuSplit | null;
  proxyProcs: number;
  backends: CpuSplit;
  self: NodeJS.CpuUsage;
  sys: SysCpu;
  all: Map<number, ProcTicks>;
  /** Every process of the benchmark (the orchestrator's tree and its ancestors). */
  ours: Set<number>;
}

export const round = (x: number, d: number): number => Number(x.toFixed(d));

/**
 * The proxy's tree is walked afresh at every snapshot so that cluster workers
 * (wsgate --workers N) are counted even if they were (re)started late.
 */
export function snap(proxyPid: number | null, backendPids: readonly number[]): Snap {
  const t = performance.now();
  const self = process.cpuUsage();
  const table = scanProcs();
  const proxyPids = proxyPid !== null ? processTree(proxyPid, table) : [];
  const orchestrator = process.ppid;
  return {
    t,
    proxy: proxyPid !== null ? cpuSplit(proxyPids, table) : null,
    proxyProcs: proxyPids.length,
    backends: cpuSplit(backendPids.flatMap((p) => processTree(p, table)), table),
    self,
    sys: sysCpu(),
    all: allProcTicks(table),
    ours: new Set([...processTree(orchestrator, table), ...ancestors(orchestrator)]),
  };
}

const total = (c: CpuSplit): number => c.user + c.sys;

export function cpuWindow(a: Snap, b: Snap): CpuWindow {
  const wallS = (b.t - a.t) / 1000;
  const proxyCpuS = a.proxy && b.proxy ? total(b.proxy) - total(a.proxy) : null;
  const proxySysS = a.proxy && b.proxy ? b.proxy.sys - a.proxy.sys : null;
  const backendsCpuS = total(b.backends) - total(a.backends);
  const loadgenCpuS = (b.self.user - a.self.user + (b.self.system - a.self.system)) / 1e6;
  const ours = new Set([...a.ours, ...b.ours]);
  const fc = foreignCpu(a.all, b.all, ours);
  const sysTotal = b.sys.total - a.sys.total;
  const pct = (x: number): number => round((100 * x) / wallS, 1);
  const machine = (x: number): number | null => (sysTotal > 0 ? round((100 * x) / sysTotal, 1) : null);
  return {
    wallS: round(wallS, 3),
    proxyCpuS: proxyCpuS === null ? null : round(proxyCpuS, 3),
    proxySysShare: proxyCpuS && proxySysS !== null ? round(proxySysS / proxyCpuS, 2) : null,
    backendsCpuS: round(backendsCpuS, 3),
    loadgenCpuS: round(loadgenCpuS, 3),
    stackCpuS: round((proxyCpuS ?? 0) + backendsCpuS + loadgenCpuS, 3),
    proxyPctOfCore: proxyCpuS === null ? null : pct(proxyCpuS),
    backendsPctOfCore: pct(backendsCpuS),
    loadgenPctOfCore: pct(loadgenCpuS),
    proxyProcesses: Math.max(a.proxyProcs, b.proxyProcs),
    foreignPctOfCore: pct(fc.cpuS),
    foreignTop: fc.top,
    machineBusyPct: machine(b.sys.busy - a.sys.busy),
    machineSoftirqPct: machine(b.sys.softirq - a.sys.softirq),
    machineStealPct: machine(b.sys.steal - a.sys.steal),
  };
}
