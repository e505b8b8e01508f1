// The orchestrator's children: started here, tracked by PID, and stopped by
// PID only (never by name), so nothing else on this shared machine is touched.
import fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { processTree, readStat } from './proc.js';

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  /** Resolves with the first stdout line matching readyLine (or '' when none was asked for). */
  ready: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  logPath: string;
  /** Everything written to stdout, when collectStdout was set (a loadgen's JSON result). */
  stdout: () => string;
}

export interface SpawnOptions {
  logPath: string;
  /** Pattern on stdout that means "ready"; its first capture group is returned. */
  readyLine?: RegExp;
  readyTimeoutMs?: number;
  collectStdout?: boolean;
  /** Inherit stderr (progress of the load generator) instead of logging it. */
  inheritStderr?: boolean;
  /** Added to our environment. */
  env?: Record<string, string>;
}

const live = new Map<number, string>();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function spawnChild(name: string, cmd: string, args: string[], opts: SpawnOptions): Child {
  const logFd = fs.openSync(opts.logPath, 'a');
  const proc = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', opts.inheritStderr ? 'inherit' : logFd],
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
  });
  fs.closeSync(logFd); // the child holds its own copy
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
  const pid = proc.pid;
  live.set(pid, name);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(pid);
      resolve({ code, signal });
    });
  });
  let out = '';
  const stdout = proc.stdout;
  const ready = new Promise<string>((resolve, reject) => {
    const timer = opts.readyLine
      ? setTimeout(() => reject(new Error(`${name} not ready after ${opts.readyTimeoutMs ?? 10000} ms; see ${opts.logPath}`)), opts.readyTimeoutMs ?? 10000)
      : undefined;
    stdout?.on('data', (d: Buffer) => {
      // Only the beginning is kept unless the caller wants it all: a chatty
      // child must not grow our memory.
      if (opts.collectStdout || out.length < 65536) out += d.toString('utf8');
      fs.appendFileSync(opts.logPath, d);
      const m = opts.readyLine?.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] ?? m[0]);
      }
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (code ${code}, signal ${signal}); see ${opts.logPath}`));
    });
    if (!opts.readyLine) resolve('');
  });
  ready.catch(() => undefined); // callers that never await it must not crash the run
  return { name, pid, proc, ready, exited, logPath: opts.logPath, stdout: () => out };
}

/** pid + start time: a pid reused by an unrelated process after ours exited is never signalled. */
function treeSnapshot(pid: number): Array<[number, string]> {
  return processTree(pid).map((p): [number, string] => [p, readStat(p)?.start ?? '']);
}
function stillSame([pid, start]: [number, string]): boolean {
  const st = readStat(pid);
  return st !== null && st.start === start && st.state !== 'Z';
}

/**
 * Stops what we started: SIGTERM to the root only (a cluster primary shuts
 * its workers down itself), then SIGKILL to whatever is left of the tree as
 * it was when we started stopping.
 */
export async function stopChild(pid: number, graceMs = 3000): Promise<void> {
  const tree = treeSnapshot(pid);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until && tree.some(stillSame)) await sleep(25);
  for (const e of tree) {
    if (stillSame(e)) {
      try {
        process.kill(e[0], 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  const hard = Date.now() + 2000;
  while (Date.now() < hard && tree.some(stillSame)) await sleep(25);
  live.delete(pid);
}

export async function stopAll(graceMs: number): Promise<void> {
  await Promise.all([...live.keys()].map((p) => stopChild(p, graceMs)));
}

/** Last resort on exit: SIGKILL every tree we started (synchronous, for process.on('exit')). */
export function killAllSync(): void {
  for (const pid of live.keys()) {
    for (const e of treeSnapshot(pid)) {
      try {
        process.kill(e[0], 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  live.clear();
}
