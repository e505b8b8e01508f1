// wsgate's own benchmark (`npm run bench`): wsgate against a naive http-proxy
// proxy and against no proxy at all, on loopback. See README.md next to this
// file for what is measured and how to read the table.
//   node dist/test/bench/run.js [--quick] [--scenario S1,S3] [--target naive,wsgate] ...
// Starts its own backends, one proxy per (scenario, target), and one load
// generator process per run; stops only what it started, by PID.
import { WSGATE_NODE_FLAGS } from '../../src/runtime-flags.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { openWs } from './lib/ws-client.js';
import { alive, allProcTicks, ancestors, fdHardLimit, foreignCpu, processTree } from './lib/proc.js';
import { spawnChild, stopChild, stopAll, killAllSync, type Child } from './lib/children.js';
import { renderTable, LEGEND } from './lib/table.js';
import {
  SCENARIOS,
  type LoadgenConfig,
  type LoadgenOutput,
  type Params,
  type Report,
  type RunRecord,
  type ScenarioId,
} from './lib/types.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const T0 = performance.now();
const elapsedS = (): number => (performance.now() - T0) / 1000;
const log = (msg: string): void => void process.stderr.write(`[${elapsedS().toFixed(1).padStart(6)}s] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

const HELP = `usage: node dist/test/bench/run.js [options]
  --quick               scaled-down smoke run (CI; well under 90 s)
  --scenario S1,S2      scenarios (default S1,S2,S3,S4)
  --target a,b          targets: direct, naive, wsgate, wsgate-w2, bare (default all but bare; wsgate-w2 runs S1 only;
                        bare = bare-relay.ts, the least a Node net relay can do, a yardstick)
  --wsgate-cli PATH     gateway CLI (default: ../../src/cli.js from this file)
  --max-seconds S       hard overall deadline (default 900, quick 80)
  --quiet-max S         before each run, wait up to S s for other work on the machine to calm down (default 10, quick 0)
  --s1-n N --s2-seconds S --s3-seconds S --s4-conns N   override scenario sizes
  --s4-close-settle S   at most this long S4 watches the proxy's RSS come down after closing every tunnel (default 30, quick 3)
  --out DIR             where the JSON goes (default <project>/bench-results)
  --keep-work           keep the scratch folder (proxy logs, child logs)`;

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenario: { type: 'string', default: SCENARIOS.join(',') },
    target: { type: 'string' },
    'wsgate-cli': { type: 'string' },
    'max-seconds': { type: 'string' },
    'quiet-max': { type: 'string' },
    's1-n': { type: 'string' },
    's2-seconds': { type: 'string' },
    's3-seconds': { type: 'string' },
    's4-conns': { type: 'string' },
    's4-close-settle': { type: 'string' },
    out: { type: 'string' },
    'keep-work': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(HELP + '\n');
  process.exit(0);
}

// ---------------------------------------------------------------- parameters
const Q = opt.quick;
const num = (v: string | undefined, d: number): number => {
  if (v === undefined) return d;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`bad number: ${v}`);
  return n;
};
const MAX_S = num(opt['max-seconds'], Q ? 80 : 900);
const QUIET_MAX = opt['quiet-max'] !== undefined ? Number(opt['quiet-max']) : Q ? 0 : 10;
const FD_HARD = fdHardLimit();
// A proxied tunnel holds 2 fds in one proxy process and the hard
// RLIMIT_NOFILE cannot be raised without privileges: keep 10% headroom.
const S4_ASKED = num(opt['s4-conns'], Q ? 500 : 9000);
const PARAMS: Params = {
  S1: { n: num(opt['s1-n'], Q ? 500 : 5000), concurrency: 50, warmup: Q ? 100 : 1000 },
  S2: { conns: Q ? 100 : 1000, rate: Q ? 1000 : 5000, seconds: num(opt['s2-seconds'], Q ? 2 : 10), warmupSeconds: Q ? 0.5 : 2 },
  S3: { conns: 4, size: 65536, window: 16, seconds: num(opt['s3-seconds'], Q ? 2 : 10), warmupSeconds: Q ? 0.5 : 2 },
  S4: {
    conns: Math.min(S4_ASKED, Math.floor((0.9 * FD_HARD) / 2)),
    requested: S4_ASKED,
    openConcurrency: 200,
    warmup: Q ? 50 : 200,
    settleSeconds: Q ? 1 : 3,
    closeSettleSeconds: num(opt['s4-close-settle'], Q ? 3 : 30),
  },
};
/** Per-run deadline handed to the load generator (it exits by itself after it). */
const DEADLINE: Record<ScenarioId, number> = Q ? { S1: 20, S2: 15, S3: 15, S4: 30 } : { S1: 120, S2: 60, S3: 40, S4: 150 };
/** What a run usually takes, so that a run that cannot finish before MAX_S is skipped rather than cut. */
const ESTIMATE: Record<ScenarioId, number> = {
  S1: (PARAMS.S1.n + PARAMS.S1.warmup) / 1000 + 2,
  S2: PARAMS.S2.warmupSeconds + PARAMS.S2.seconds + PARAMS.S2.conns / 500 + 2,
  S3: PARAMS.S3.warmupSeconds + PARAMS.S3.seconds + 2,
  S4: PARAMS.S4.conns / 1000 + PARAMS.S4.settleSeconds + PARAMS.S4.closeSettleSeconds + 4,
};

const ALL_TARGETS = ['direct', 'naive', 'wsgate', 'wsgate-w2', 'bare'] as const;
/** `bare` is a yardstick for Node's own floor, run only when asked for. */
const DEFAULT_TARGETS: readonly string[] = ALL_TARGETS.filter((t) => t !== 'bare');
type Target = (typeof ALL_TARGETS)[number];
const isTarget = (s: string): s is Target => (ALL_TARGETS as readonly string[]).includes(s);
const isScenario = (s: string): s is ScenarioId => (SCENARIOS as readonly string[]).includes(s);
/** wsgate-w2 is the secondary figure of S1 (does a second worker buy handshake rate?). */
const runsIn = (t: Target, s: ScenarioId): boolean => t !== 'wsgate-w2' || s === 'S1';

const scenarios = opt.scenario.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
for (const s of scenarios) if (!isScenario(s)) fail(`unknown scenario ${s}; known: ${SCENARIOS.join(', ')}`);
const WSGATE_CLI = path.resolve(opt['wsgate-cli'] ?? path.join(HERE, '../../src/cli.js'));
const haveCli = fs.existsSync(WSGATE_CLI);
let targets = (opt.target ?? DEFAULT_TARGETS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
for (const t of targets) if (!isTarget(t)) fail(`unknown target ${t}; known: ${ALL_TARGETS.join(', ')}`);
if (!haveCli && targets.some((t) => t.startsWith('wsgate'))) {
  if (opt.target !== undefined) fail(`wsgate CLI not found at ${WSGATE_CLI} (build the project, or pass --wsgate-cli PATH)`);
  log(`wsgate CLI not found at ${WSGATE_CLI}: running without the wsgate targets`);
  targets = targets.filter((t) => !t.startsWith('wsgate'));
}

/**
 * The gateway grows options while this benchmark exists: ask its --help once
 * whether --workers is there, instead of failing on an unknown flag.
 */
function cliHasWorkers(): boolean {
  if (!haveCli) return false;
  const r = spawnSync(process.execPath, [WSGATE_CLI, '--help'], { encoding: 'utf8', timeout: 10000 });
  return /--workers\b/.test(`${r.stdout ?? ''}${r.stderr ?? ''}`);
}
const HAS_WORKERS = cliHasWorkers();

function fail(msg: string): never {
  process.stderr.write(msg + '\n');
  process.exit(2);
}

function projectRoot(): string {
  let dir = HERE;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const OUT_DIR = path.resolve(opt.out ?? path.join(projectRoot(), 'bench-results'));
const OUT_JSON = path.join(OUT_DIR, `${stamp}${Q ? '-quick' : ''}.json`);
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'wsgate-bench-'));
const LOCAL_ADDRS = Array.from({ length: 9 }, (_, i) => `127.0.0.${i + 1}`);
const script = (name: string): string => path.join(HERE, name);
/** Node flags and environment for the proxies under test: see gc-on-signal.ts. */
const PROXY_NODE_FLAGS = ['--expose-gc', '--import', pathToFileURL(script('gc-on-signal.js')).href];
const MEM_DIR = path.join(WORK, 'mem');
fs.mkdirSync(MEM_DIR);
const PROXY_ENV = { WSGATE_BENCH_MEM_DIR: MEM_DIR };

const report: Report = {
  meta: {
    timestamp: new Date().toISOString(),
    node: process.version,
    kernel: os.release(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    fdHardLimit: FD_HARD,
    quick: Q,
    wsgateCli: haveCli ? WSGATE_CLI : null,
    wsgateWorkersOption: HAS_WORKERS,
    targets,
    scenarios: scenarios.filter(isScenario),
    params: PARAMS,
    notes: [
      ...(PARAMS.S4.conns < S4_ASKED ? [`S4 capped at ${PARAMS.S4.conns} tunnels (asked ${S4_ASKED}): 2 fds per tunnel in one proxy process, RLIMIT_NOFILE hard limit ${FD_HARD}`] : []),
      'wsgate runs with its default log level (one info line per closed tunnel), stdout to a file; --workers 1 (wsgate) / 2 (wsgate-w2) when the CLI has that option',
    ],
  },
  runs: [],
};

// ---------------------------------------------------------------- teardown
let finishing = false;
function saveJson(): void {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(OUT_JSON, JSON.stringify(report, null, 2) + '\n');
}
/** Idempotent end of the run: stop children, write what we have, print the table. */
async function finish(code: number, why?: string): Promise<never> {
  if (finishing) {
    // A second signal while finishing: stop being polite.
    killAllSync();
    process.exit(code);
  }
  finishing = true;
  if (why) log(why);
  await Promise.race([stopAll(2000), sleep(5000)]);
  killAllSync();
  report.meta.elapsedS = Number(elapsedS().toFixed(1));
  try {
    saveJson();
    log(`wrote ${OUT_JSON}`);
  } catch (e) {
    log(`could not write results: ${String(e)}`);
  }
  process.stdout.write(renderTable(report) + '\n');
  process.stderr.write(LEGEND + '\n');
  if (opt['keep-work']) log(`kept scratch folder ${WORK}`);
  else fs.rmSync(WORK, { recursive: true, force: true });
  process.exit(code);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void finish(130, `got ${sig}: stopping what we started`));
process.on('exit', killAllSync);
// The hard overall deadline: whatever is running gets stopped, partial results are still reported.
setTimeout(() => void finish(3, `hard deadline of ${MAX_S} s reached`), MAX_S * 1000).unref();

// ---------------------------------------------------------------- helpers
/** One echo through `port`/`p` with the benchmark's own client: proves the whole path works. */
async function probe(port: number, p: string): Promise<void> {
  let got: (s: string) => void = () => undefined;
  const echo = new Promise<string>((r) => (got = r));
  const c = await openWs({ port, path: p, timeoutMs: 2000, onMessage: (_c, pl) => got(pl ? pl.toString() : '') });
  c.send(Buffer.from('probe'));
  const r = await Promise.race([echo, sleep(2000).then(() => 'timeout')]);
  await c.close(1000);
  if (r !== 'probe') throw new Error(`probe on ${p} got ${r}`);
}
async function waitReady(port: number, ms: number, child?: Child): Promise<void> {
  const until = Date.now() + ms;
  let last = '';
  let dead = false;
  void child?.exited.then(() => (dead = true));
  while (Date.now() < until && !dead) {
    try {
      await probe(port, '/echo');
      await probe(port, '/echo2');
      return;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
      await sleep(100);
    }
  }
  throw new Error(dead ? `${child?.name} exited during start-up; see ${child?.logPath}` : `not ready on port ${port}: ${last}`);
}

/**
 * The gateway's CLI takes a fixed port: pick one in 18000-18999 that binds
 * right now (random start, so concurrent runs rarely race for the same one).
 */
async function freePort(): Promise<number> {
  const start = Math.floor(Math.random() * 1000);
  for (let i = 0; i < 1000; i++) {
    const port = 18000 + ((start + i) % 1000);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port in 18000-18999');
}

/**
 * Before a run, wait (bounded) until processes that are not ours use < 15% of
 * a core: this machine is shared, and a build running next to us skews every
 * figure. Each run also records foreign CPU during its window.
 */
async function waitQuiet(): Promise<void> {
  if (QUIET_MAX <= 0) return;
  const t0 = Date.now();
  for (let i = 0; i < 600; i++) {
    const ours = new Set([...processTree(process.pid), ...ancestors(process.pid)]);
    const a = allProcTicks();
    await sleep(1000);
    const fc = foreignCpu(a, allProcTicks(), ours);
    if (fc.cpuS < 0.15) return;
    if ((Date.now() - t0) / 1000 >= QUIET_MAX) {
      log(`  machine still busy with other work (${(100 * fc.cpuS).toFixed(0)}% of a core: ${fc.top.map((x) => x.join(' ')).join(', ')}); going ahead`);
      return;
    }
  }
}

// ---------------------------------------------------------------- backends
let backends: Array<{ child: Child; port: number }> = [];
let backendsWarm = false;
/**
 * CPU scenarios share two long-lived, warmed backends. S4 gets fresh ones:
 * a Node heap keeps the high-water mark of earlier scenarios, and tunnels
 * that fit into already-grown memory would make the backends' (and so the
 * stack's) bytes per tunnel look smaller than they are.
 */
async function ensureBackends(sc: ScenarioId): Promise<Array<{ child: Child; port: number }>> {
  const fresh = sc === 'S4';
  const healthy = backends.length === 2 && backends.every((b) => alive(b.child.pid));
  if (fresh || !healthy) {
    if (backends.length && !healthy) log('a backend died; restarting both');
    for (const b of backends) await stopChild(b.child.pid);
    const started = [1, 2].map((i) =>
      spawnChild(`backend-${i}`, process.execPath, ['--expose-gc', script('backend.js')], {
        logPath: path.join(WORK, `backend-${i}.log`),
        readyLine: /READY (\d+)/,
      }),
    );
    const ports = (await Promise.all(started.map((c) => c.ready))).map(Number);
    backends = started.map((child, i) => ({ child, port: ports[i]! }));
    backendsWarm = false;
    for (const b of backends) await waitReady(b.port, 10000, b.child);
    log(`backends up on ${ports.join(', ')}${fresh ? ' (fresh for S4)' : ''}`);
  }
  if (!fresh && !backendsWarm) {
    // A fresh Node process needs a few thousand handshakes before its JIT
    // settles; cold backends would make whichever target runs first look slow.
    const warmN = Q ? 300 : 4000;
    const w = await runLoadgen('warm-up', {
      scenario: 'S1',
      params: { n: warmN, concurrency: 50, warmup: 0 },
      ports: backends.map((b) => b.port),
      paths: ['/echo', '/echo2'],
      localAddrs: LOCAL_ADDRS,
      proxyPid: null,
      backendPids: backends.map((b) => b.child.pid),
      memDir: null,
      deadlineS: 60,
    });
    backendsWarm = true;
    log(`backends warmed with ${warmN} handshakes (${w.ok && w.result.kind === 'S1' ? `${w.result.handshakesPerS} hs/s` : w.ok ? '?' : w.error.split('\n', 1)[0]})`);
  }
  return backends;
}

// ---------------------------------------------------------------- targets
interface Stack {
  /** Root of the measured process tree (the gateway itself, not its watchdog). */
  proxyPid: number | null;
  ports: number[];
  child: Child | null;
  logPath: string | null;
}

async function startTarget(t: Target, sc: ScenarioId, bs: Array<{ port: number }>): Promise<Stack> {
  const [b1, b2] = bs.map((b) => b.port) as [number, number];
  if (t === 'direct') return { proxyPid: null, ports: [b1, b2], child: null, logPath: null };
  const logPath = path.join(WORK, `${t}-${sc}.log`);
  if (t === 'naive' || t === 'bare') {
    const child = spawnChild(t, process.execPath, [...PROXY_NODE_FLAGS, script(t === 'naive' ? 'naive-proxy.js' : 'bare-relay.js'), String(b1), String(b2)], {
      logPath,
      readyLine: /READY (\d+)/,
      env: PROXY_ENV,
    });
    const port = Number(await child.ready);
    await waitReady(port, 10000, child);
    return { proxyPid: child.pid, ports: [port], child, logPath };
  }
  const port = await freePort();
  const pool = `127.0.0.1:${b1},127.0.0.1:${b2}`;
  // Run the gateway as the `wsgate` bin does: with its V8 flags (src/runtime-flags.ts).
  const args = [...PROXY_NODE_FLAGS, ...WSGATE_NODE_FLAGS, WSGATE_CLI, '--listen', `127.0.0.1:${port}`, '--route', `/echo=${pool}`, '--route', `/echo2=${pool}`];
  if (HAS_WORKERS) args.push('--workers', t === 'wsgate-w2' ? '2' : '1');
  else if (t === 'wsgate-w2') throw new Error('skip: this wsgate CLI has no --workers option yet');
  // The watchdog owns the gateway's stdout (-> logPath) and reports its pid.
  const child = spawnChild(t, process.execPath, [script('watchdog.js'), logPath, process.execPath, ...args], {
    logPath: path.join(WORK, `${t}-${sc}.watchdog.log`),
    readyLine: /PID (\d+)/,
    env: PROXY_ENV, // passed on to the gateway by the watchdog
  });
  const gatewayPid = Number(await child.ready);
  await waitReady(port, 15000, child);
  // Let cluster workers finish starting so the measured tree is complete.
  await sleep(300);
  return { proxyPid: gatewayPid, ports: [port], child, logPath };
}

// ---------------------------------------------------------------- load generator
async function runLoadgen(label: string, cfg: LoadgenConfig): Promise<LoadgenOutput> {
  const child = spawnChild(`loadgen-${label}`, process.execPath, ['--expose-gc', script('loadgen.js'), JSON.stringify(cfg)], {
    logPath: path.join(WORK, `loadgen-${label}.log`),
    collectStdout: true,
    inheritStderr: true, // its progress lines are ours
  });
  const guard = setTimeout(() => {
    log(`load generator ${label} overran its deadline; stopping pid ${child.pid}`);
    void stopChild(child.pid, 500);
  }, (cfg.deadlineS + 10) * 1000);
  const { code, signal } = await child.exited;
  clearTimeout(guard);
  const last = child.stdout().trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as LoadgenOutput;
  } catch {
    return { ok: false, scenario: cfg.scenario, error: `load generator exited (code ${code}, signal ${signal}) without a result` };
  }
}

function brief(o: LoadgenOutput): string {
  if (!o.ok) return `ERROR ${o.error.split('\n', 1)[0]}`;
  const r = o.result;
  switch (r.kind) {
    case 'S1':
      return `${r.handshakesPerS} hs/s, p99 ${r.handshake.p99} ms, proxy ${r.proxyCpuUsPerHandshake ?? '-'} µs/hs, stack ${r.stackCpuUsPerHandshake} µs/hs, ${r.failed} failed`;
    case 'S2':
      return `RTT p50 ${r.rtt.p50} p99 ${r.rtt.p99} p99.9 ${r.rtt.p999} ms, proxy ${r.proxyCpuUsPerMsg ?? '-'} µs/msg, lost ${r.lost}`;
    case 'S3':
      return `${r.echoMBps} MB/s, proxy ${r.proxyCpuSPerGB ?? '-'} s/GB, stack ${r.stackCpuSPerGB} s/GB`;
    case 'S4':
      return `${r.echoOk}/${r.open.opened} echoed, proxy ${r.proxyBytesPerTunnel ?? '-'} B/tunnel, RSS after close ${r.proxyRssAfterClose ?? '-'} vs before ${r.proxyRssBefore ?? '-'}`;
  }
}

// ---------------------------------------------------------------- main
async function runOne(sc: ScenarioId, t: Target): Promise<RunRecord> {
  const rec: RunRecord = { scenario: sc, target: t, startedAtS: Number(elapsedS().toFixed(1)) };
  const left = MAX_S - elapsedS();
  if (left < ESTIMATE[sc] + 8) {
    rec.skipped = `not enough time left before the ${MAX_S} s deadline`;
    log(`${sc} ${t}: skipped (deadline)`);
    return rec;
  }
  let stack: Stack | null = null;
  try {
    const bs = await ensureBackends(sc);
    stack = await startTarget(t, sc, bs);
    await waitQuiet();
    log(`${sc} ${t}: running${stack.proxyPid !== null ? ` (proxy pid ${stack.proxyPid}, ${processTree(stack.proxyPid).length} proc)` : ''}`);
    const base = {
      ports: stack.ports,
      paths: ['/echo', '/echo2'],
      localAddrs: LOCAL_ADDRS,
      proxyPid: stack.proxyPid,
      backendPids: bs.map((b) => b.child.pid),
      memDir: stack.proxyPid !== null ? MEM_DIR : null,
      deadlineS: Math.min(DEADLINE[sc], left - 2),
    };
    const cfg: LoadgenConfig =
      sc === 'S1'
        ? { ...base, scenario: sc, params: PARAMS.S1 }
        : sc === 'S2'
          ? { ...base, scenario: sc, params: PARAMS.S2 }
          : sc === 'S3'
            ? { ...base, scenario: sc, params: PARAMS.S3 }
            : { ...base, scenario: sc, params: PARAMS.S4 };
    const out = await runLoadgen(`${t}-${sc}`, cfg);
    log(`${sc} ${t}: ${brief(out)}`);
    if (out.ok) rec.result = out.result;
    else rec.error = out.error;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (msg.startsWith('skip: ')) {
      rec.skipped = msg.slice(6);
      log(`${sc} ${t}: skipped (${rec.skipped})`);
    } else {
      rec.error = msg;
      log(`${sc} ${t}: ERROR ${rec.error}`);
    }
  } finally {
    if (stack?.child) await stopChild(stack.child.pid);
    if (stack?.logPath && fs.existsSync(stack.logPath)) rec.proxyLogBytes = fs.statSync(stack.logPath).size;
  }
  return rec;
}

async function main(): Promise<void> {
  log(`targets ${targets.join(', ')}; scenarios ${scenarios.join(', ')}${Q ? ' (quick)' : ''}; deadline ${MAX_S} s; scratch ${WORK}`);
  if (haveCli) log(`wsgate CLI: ${WSGATE_CLI}`);
  // Scenario-major order: the targets of one scenario run back to back, so
  // the comparison sees the same machine conditions as far as possible.
  for (const sc of scenarios.filter(isScenario)) {
    for (const t of targets.filter(isTarget)) {
      if (!runsIn(t, sc)) continue;
      report.runs.push(await runOne(sc, t));
      saveJson();
    }
  }
  for (const b of backends) await stopChild(b.child.pid);
  // Non-zero when something failed, or when the deadline cut runs (a CI
  // smoke run that skipped half its work did not pass).
  const cut = report.runs.some((r) => r.skipped?.startsWith('not enough time'));
  await finish(report.runs.some((r) => r.error) ? 1 : cut ? 3 : 0);
}

main().catch((e: unknown) => void finish(1, `fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
