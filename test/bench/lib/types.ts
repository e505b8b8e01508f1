// Shapes exchanged between the orchestrator (run.ts), the load generator
// (loadgen.ts, a separate process: config as one JSON argv, result as one
// JSON line on stdout) and the report (table.ts).
import type { LatencySummary } from './histogram.js';

export type ScenarioId = 'S1' | 'S2' | 'S3' | 'S4';
export const SCENARIOS: readonly ScenarioId[] = ['S1', 'S2', 'S3', 'S4'];

export interface S1Params {
  n: number;
  concurrency: number;
  warmup: number;
}
export interface S2Params {
  conns: number;
  rate: number;
  seconds: number;
  warmupSeconds: number;
}
export interface S3Params {
  conns: number;
  size: number;
  window: number;
  seconds: number;
  warmupSeconds: number;
}
export interface S4Params {
  conns: number;
  /** What was asked before the fd-limit cap. */
  requested: number;
  openConcurrency: number;
  warmup: number;
  settleSeconds: number;
  closeSettleSeconds: number;
}
export interface Params {
  S1: S1Params;
  S2: S2Params;
  S3: S3Params;
  S4: S4Params;
}

interface LoadgenBase {
  /** Where to connect: one proxy port, or the backends' ports (direct). */
  ports: number[];
  paths: string[];
  localAddrs: string[];
  /** Root of the proxy's process tree (null for direct). */
  proxyPid: number | null;
  backendPids: number[];
  /** Where the proxy's gc-on-signal hook writes memoryUsage() (null: no proxy). */
  memDir: string | null;
  /** The generator exits by itself after this long. */
  deadlineS: number;
}
export type LoadgenConfig = LoadgenBase &
  (
    | { scenario: 'S1'; params: S1Params }
    | { scenario: 'S2'; params: S2Params }
    | { scenario: 'S3'; params: S3Params }
    | { scenario: 'S4'; params: S4Params }
  );

/** CPU over one measured window. "stack" = proxy + backends + generator: everything the benchmark runs. */
export interface CpuWindow {
  wallS: number;
  proxyCpuS: number | null;
  proxySysShare: number | null;
  backendsCpuS: number;
  loadgenCpuS: number;
  stackCpuS: number;
  proxyPctOfCore: number | null;
  backendsPctOfCore: number;
  loadgenPctOfCore: number;
  proxyProcesses: number;
  /** CPU used by processes that are not part of the benchmark (the machine is shared). */
  foreignPctOfCore: number;
  foreignTop: Array<[string, number]>;
  machineBusyPct: number | null;
  /** Loopback TCP receive work: charged to no process, so missing from every per-process figure. */
  machineSoftirqPct: number | null;
  machineStealPct: number | null;
}

export interface OpenStats {
  opened: number;
  failed: number;
  errors: Record<string, number>;
  ms: number;
}

export interface S1Result {
  kind: 'S1';
  n: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  handshakesPerS: number;
  handshake: LatencySummary;
  cycle: LatencySummary;
  cpu: CpuWindow;
  proxyCpuUsPerHandshake: number | null;
  stackCpuUsPerHandshake: number | null;
}
export interface S2Result {
  kind: 'S2';
  open: OpenStats;
  sent: number;
  received: number;
  lost: number;
  achievedRate: number | null;
  /** send -> echo */
  rtt: LatencySummary;
  /** intended send time -> echo: includes stalls of the generator (coordinated omission) */
  fromIntended: LatencySummary;
  maxSendLagMs: number;
  cpu: CpuWindow | null;
  proxyCpuUsPerMsg: number | null;
  stackCpuUsPerMsg: number | null;
}
export interface S3Result {
  kind: 'S3';
  open: OpenStats;
  echoedBytes: number;
  sentBytes: number;
  echoMBps: number;
  relayedGB: number;
  leftoverInflight: number;
  cpu: CpuWindow;
  proxyCpuSPerGB: number | null;
  stackCpuSPerGB: number | null;
}
export interface S4Result {
  kind: 'S4';
  requested: number;
  open: OpenStats;
  echoOk: number;
  stillOpenAtEnd: number;
  proxyProcesses: number;
  proxyRssBefore: number | null;
  proxyRssPeak: number | null;
  proxyRssAfterClose: number | null;
  /** Lowest proxy RSS seen while waiting after the close (GC may run late). */
  proxyRssAfterCloseMin: number | null;
  /** [seconds after close, RSS bytes], one sample a second while watching. */
  proxyRssAfterCloseSeries: Array<[number, number]>;
  /** How long RSS was watched after close (stops early once back within 20% of the growth). */
  closeWatchS: number;
  /** Share of the growth still resident after close: (afterClose - before) / (peak - before). */
  proxyRetainedShare: number | null;
  /** True when RSS after close exceeds before + 20% of the peak growth. */
  proxyRetainedFlag: boolean;
  /** RSS after a forced full GC in the proxy (SIGUSR2 hook preloaded by the harness). */
  proxyRssAfterGc: number | null;
  /** (afterGc - before) / growth: RSS still held once garbage is collected. */
  proxyRetainedAfterGcShare: number | null;
  /** V8 heap used + external memory (Buffers) after a forced GC, summed over the proxy's processes. */
  proxyLiveBefore: number | null;
  proxyLiveAfterClose: number | null;
  /** (liveAfterClose - liveBefore) per tunnel opened: what a leak would look like, in bytes. */
  proxyLiveLeakPerTunnel: number | null;
  proxyBytesPerTunnel: number | null;
  backendsBytesPerTunnel: number | null;
  loadgenBytesPerTunnel: number | null;
  stackBytesPerTunnel: number | null;
  kernelTcpBytesPerTunnel: number | null;
  closeMs: number;
  foreignPctOfCore: number;
}
export type ScenarioResult = S1Result | S2Result | S3Result | S4Result;

export type LoadgenOutput =
  | { ok: true; scenario: ScenarioId; elapsedS: number; result: ScenarioResult }
  | { ok: false; scenario: ScenarioId; error: string };

/** One (scenario, target) cell of the run. */
export interface RunRecord {
  scenario: ScenarioId;
  target: string;
  startedAtS: number;
  result?: ScenarioResult;
  error?: string;
  skipped?: string;
  /** Size of the proxy's stdout log (confirms default logging was on). */
  proxyLogBytes?: number;
}

export interface Report {
  meta: {
    timestamp: string;
    node: string;
    kernel: string;
    cpus: number;
    cpuModel: string | undefined;
    fdHardLimit: number;
    quick: boolean;
    wsgateCli: string | null;
    /** Whether that CLI has --workers (wsgate-w2 needs it). */
    wsgateWorkersOption: boolean;
    targets: string[];
    scenarios: ScenarioId[];
    params: Params;
    notes: string[];
    elapsedS?: number;
  };
  runs: RunRecord[];
}
