/**
 * Runs N worker processes that share the listener (node:cluster), for the CLI's
 * `--workers`: forks, forwards signals, replaces workers that die. Every worker
 * runs the same CLI with the same flags and so builds the same gateway, and
 * serves connections. What must exist once for the whole gateway (health
 * checks, the backends' health, drain and weight, the admin API) lives in the
 * primary (cluster/primary-gateway.ts); this module carries the workers'
 * messages to it and tells it when a worker has gone.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { WorkerPort } from './cluster/fan-out.js';
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

/** The primary's share of the gateway (cluster/primary-gateway.ts), as the supervisor feeds it. */
export interface ClusterPrimary {
  received(worker: WorkerPort, message: unknown): void;
  workerExited(id: number): void;
}

export interface SupervisorOptions {
  readonly primary?: ClusterPrimary;
  /** SIGHUP: runs in the primary before the signal goes on to the workers. */
  readonly reload?: () => void;
}

export function superviseWorkers(count: number, logger: Logger, options: SupervisorOptions = {}): SupervisorHandle {
  const { primary, reload } = options;
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

  const ports = new WeakMap<Worker, WorkerPort>();

  const fork = (): void => {
    const worker = cluster.fork();
    startedAt.set(worker, Date.now());
    ports.set(worker, {
      id: worker.id,
      send: (message) => {
        // A worker on its way out: the message has no one to apply it.
        if (worker.isConnected()) worker.send(message, () => {});
      },
    });
  };

  cluster.on('message', (worker, message: unknown) => {
    const port = ports.get(worker);
    if (port !== undefined) primary?.received(port, message);
  });

  cluster.on('exit', (worker, code, signal) => {
    primary?.workerExited(worker.id);
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
    reload?.();
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
  });
  process.on('SIGINT', () => stop('SIGINT'));
  for (let i = 0; i < count; i++) fork();
  logger.info({ workers: count }, 'started workers');
  return { done };
}
