// /proc helpers (Linux only): process-tree discovery, CPU (utime+stime) and
// RSS sampling, machine-wide CPU, kernel TCP memory, and the "exit with the
// parent" guard every child of the benchmark installs.
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

function getconf(name: string, fallback: number): number {
  try {
    const v = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

/** Clock ticks per second: the unit of the utime/stime fields. */
export const CLK_TCK = getconf('CLK_TCK', 100);
/** The rss field of /proc/PID/stat counts pages. */
const PAGE = getconf('PAGESIZE', 4096);

export interface ProcStat {
  state: string;
  ppid: number;
  comm: string;
  /** Start time in ticks since boot: with the pid it identifies one process (pids get reused). */
  start: string;
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  rssBytes: number;
}

/** Parses /proc/PID/stat; null when the process is gone. */
export function readStat(pid: number): ProcStat | null {
  let s: string;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm may contain spaces and parentheses: split after the last ')'.
  const rp = s.lastIndexOf(')');
  const f = s.slice(rp + 2).split(' ');
  // f[i] is field i+3 of proc(5): 3 state, 4 ppid, 14 utime, 15 stime,
  // 16 cutime, 17 cstime, 22 starttime, 24 rss.
  const n = (i: number): number => Number(f[i] ?? 0);
  return {
    state: f[0] ?? '?',
    ppid: n(1),
    comm: s.slice(s.indexOf('(') + 1, rp),
    start: f[19] ?? '',
    utime: n(11),
    stime: n(12),
    cutime: n(13),
    cstime: n(14),
    rssBytes: n(21) * PAGE,
  };
}

export function alive(pid: number): boolean {
  const st = readStat(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X';
}

function allPids(): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    const c = d.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(d));
  }
  return out;
}

/** One read of every /proc/PID/stat. */
export type ProcTable = Map<number, ProcStat>;

/**
 * Reading /proc costs a file read per process: a measurement snapshot scans
 * once and derives everything from that table, so the load generator stalls
 * for as short a time as possible at its window edges.
 */
export function scanProcs(): ProcTable {
  const t: ProcTable = new Map();
  for (const pid of allPids()) {
    const st = readStat(pid);
    if (st) t.set(pid, st);
  }
  return t;
}

/** All live descendants of root, root included, by walking ppid links. */
export function processTree(root: number, table: ProcTable = scanProcs()): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, st] of table) {
    const list = children.get(st.ppid);
    if (list) list.push(pid);
    else children.set(st.ppid, [pid]);
  }
  const out: number[] = [];
  const stack = [root];
  // Bounded: a tree cannot have more nodes than the table has entries.
  for (let guard = 0; stack.length > 0 && guard <= table.size; guard++) {
    const p = stack.pop() as number;
    const st = table.get(p);
    if (!st || st.state === 'Z' || st.state === 'X') continue;
    out.push(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return out;
}

export interface CpuSplit {
  user: number;
  sys: number;
}

/**
 * CPU seconds summed over pids. Reaped children's time (cutime/cstime) is
 * included so that a cluster worker that exits inside a window still counts.
 */
export function cpuSplit(pids: readonly number[], table?: ProcTable): CpuSplit {
  let u = 0;
  let k = 0;
  for (const p of pids) {
    const st = table ? table.get(p) : readStat(p);
    if (st) {
      u += st.utime + st.cutime;
      k += st.stime + st.cstime;
    }
  }
  return { user: u / CLK_TCK, sys: k / CLK_TCK };
}

export function rssBytes(pids: readonly number[]): number {
  let b = 0;
  for (const p of pids) b += readStat(p)?.rssBytes ?? 0;
  return b;
}

export interface ProcTicks {
  ticks: number;
  start: string;
  comm: string;
}

/**
 * CPU ticks of every process, keyed by pid: used to find CPU spent by work
 * that is not ours. Own ticks only: a shell that reaps a 20 s compiler would
 * otherwise book all 20 s into whatever window it happened to exit in
 * (processes that exit mid-window are under-counted instead, which is the
 * lesser error for a noise indicator).
 */
export function allProcTicks(table: ProcTable = scanProcs()): Map<number, ProcTicks> {
  const m = new Map<number, ProcTicks>();
  for (const [pid, st] of table) m.set(pid, { ticks: st.utime + st.stime, start: st.start, comm: st.comm });
  return m;
}

/** pid and its ancestors, up to but excluding init. */
export function ancestors(pid: number): number[] {
  const out: number[] = [];
  let p = pid;
  for (let i = 0; i < 64 && p > 1; i++) {
    out.push(p);
    const st = readStat(p);
    if (!st) break;
    p = st.ppid;
  }
  return out;
}

export interface ForeignCpu {
  cpuS: number;
  top: Array<[string, number]>;
}

/**
 * CPU used between two allProcTicks() snapshots by processes not in `ours`.
 * The machine is shared with other work; this is what tells a clean window
 * from a disturbed one.
 */
export function foreignCpu(a: Map<number, ProcTicks>, b: Map<number, ProcTicks>, ours: ReadonlySet<number>): ForeignCpu {
  let ticks = 0;
  const byComm = new Map<string, number>();
  for (const [pid, e] of b) {
    if (ours.has(pid)) continue;
    const s = a.get(pid);
    // A process born inside the window spent all its ticks inside it.
    const d = s && s.start === e.start ? e.ticks - s.ticks : e.ticks;
    if (d <= 0) continue;
    ticks += d;
    byComm.set(e.comm, (byComm.get(e.comm) ?? 0) + d);
  }
  const top = [...byComm]
    .sort((x, y) => y[1] - x[1])
    .slice(0, 3)
    .map(([c, t]): [string, number] => [c, Number((t / CLK_TCK).toFixed(2))]);
  return { cpuS: ticks / CLK_TCK, top };
}

export interface SysCpu {
  busy: number;
  total: number;
  softirq: number;
  steal: number;
}

/**
 * Machine-wide jiffies from /proc/stat. Loopback TCP receive work runs largely
 * in softirq, which is charged to no process, so it is reported separately.
 */
export function sysCpu(): SysCpu {
  const line = fs.readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const at = (i: number): number => v[i] ?? 0;
  let total = 0;
  for (let i = 0; i < 8; i++) total += at(i);
  const idle = at(3) + at(4);
  return { busy: total - idle, total, softirq: at(5) + at(6), steal: at(7) };
}

/** Kernel TCP memory in bytes (socket buffers are not in any process's RSS). */
export function tcpMemBytes(): number | null {
  try {
    const t = fs.readFileSync('/proc/net/sockstat', 'latin1');
    const m = /TCP: .* mem (\d+)/.exec(t);
    return m ? Number(m[1]) * PAGE : null;
  } catch {
    return null;
  }
}

export function fdHardLimit(): number {
  try {
    const t = fs.readFileSync('/proc/self/limits', 'latin1');
    const m = /Max open files\s+(\S+)\s+(\S+)/.exec(t);
    if (!m || m[2] === 'unlimited') return 1 << 20;
    return Number(m[2]);
  } catch {
    return 1 << 20;
  }
}

/**
 * Exit when the process that started us goes away (we get re-parented), so a
 * killed orchestrator never leaves backends or generators behind. Polling
 * ppid needs no cooperation from the parent.
 */
export function exitWithParent(code = 0): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(code);
  }, 500).unref();
}
