/**
 * Runs N worker processes that share the listener (node:cluster), for the CLI's
 * `--workers`. The primary holds no gateway: it forks, forwards signals and
 * replaces workers that die. Every worker runs the same CLI with the same flags
 * and so builds the same gateway; nothing is shared between them but the
 * listening socket, as between replicas behind a balancer.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from './observability/logger.js';
import { WSGATE_NODE_FLAGS } from './runtime-flags.js';

/** "auto" is one worker per core; anything else a positive integer. */
export function parseWorkerCount(value: string): number | undefined {
  if (value === 'auto') return availableParallelism();
  if (!/^[1-9]\d{0,2}$/.test(value)) return undefined;
  return Number(value);
}

// A worker that dies this soon after starting is crashing on start: wait before
// replacing it so a broken config or port cannot spin the CPU.
const CRASH_WINDOW_MS = 2000;
const CRASH_BACKOFF_MS = 1000;

export interface SupervisorHandle {
  /** Resolves with the exit code the primary should use once every worker has gone. */
  readonly done: Promise<number>;
}

export function superviseWorkers(count: number, logger: Logger): SupervisorHandle {
  // Workers accept on the shared socket themselves (the kernel spreads
  // connections); the default round-robin policy would make the primary accept
  // every connection and pass it over IPC, which costs CPU per handshake.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ execArgv: [...process.execArgv, ...WSGATE_NODE_FLAGS.filter((flag) => !process.execArgv.includes(flag))] });
  let stopping = false;
  let failedStart = false;
  /** A second signal killed the workers before their drain ended. */
  let forced = false;
  const startedAt = new Map<Worker, number>();
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (resolveDone = resolve));

  const fork = (): void => {
    const worker = cluster.fork();
    startedAt.set(worker, Date.now());
  };

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? 0);
    startedAt.delete(worker);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) resolveDone(failedStart || forced ? 1 : 0);
      return;
    }
    if (code === 1 || code === 2) {
      // The worker refused to start (cannot listen, bad config): all would.
      logger.error({ worker: worker.process.pid, code }, 'worker could not start; stopping');
      failedStart = true;
      stop('worker-failed');
      return;
    }
    logger.error({ worker: worker.process.pid, code, signal, livedMs: lived }, 'worker died; starting a replacement');
    if (lived < CRASH_WINDOW_MS) setTimeout(fork, CRASH_BACKOFF_MS).unref();
    else fork();
  });

  const stop = (reason: string): void => {
    if (stopping) {
      // A second signal: no more waiting for the workers' drain; exit 1, as a single process does.
      forced = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      return;
    }
    stopping = true;
    logger.info({ reason, workers: Object.keys(cluster.workers ?? {}).length }, 'stopping workers');
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) resolveDone(failedStart || forced ? 1 : 0);
    for (const worker of workers) worker?.process.kill('SIGTERM');
  };

  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
  });
  process.on('SIGINT', () => stop('SIGINT'));
  for (let i = 0; i < count; i++) fork();
  logger.info({ workers: count }, 'started workers');
  return { done };
}
