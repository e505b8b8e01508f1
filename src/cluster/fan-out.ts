import type { PrimaryMessage, WorkerMessage } from './messages.js';

/** One worker as the primary talks to it (the supervisor wraps node:cluster's Worker). */
export interface WorkerPort {
  /** node:cluster's worker id: unique for the primary's lifetime. */
  readonly id: number;
  /** Never throws: a worker that has gone just does not get it. */
  send(message: PrimaryMessage): void;
}

/** The answers a request can get. */
export type WorkerAnswer = Extract<WorkerMessage, { requestId: number }>;

export interface FanOutResult {
  readonly answers: ReadonlyMap<number, WorkerAnswer>;
  /** Workers that neither answered nor exited before the timeout. */
  readonly missing: readonly number[];
}

interface Pending {
  readonly waiting: Set<number>;
  readonly answers: Map<number, WorkerAnswer>;
  finish(): void;
}

/**
 * Asks every worker the same question and gathers the answers by request id,
 * as prom-client's AggregatorRegistry does for metrics. The promise resolves
 * (never rejects) once every worker asked has answered or exited, or at the
 * timeout with what came: a worker stuck in a long task must not hold the
 * admin API's answer forever.
 */
export class FanOut {
  #next = 0;
  readonly #pending = new Map<number, Pending>();

  constructor(private readonly timeoutMs: number) {}

  ask(workers: Iterable<WorkerPort>, message: (requestId: number) => PrimaryMessage): Promise<FanOutResult> {
    const requestId = this.#next;
    this.#next = (this.#next + 1) % Number.MAX_SAFE_INTEGER;
    return new Promise((resolve) => {
      const waiting = new Set<number>();
      const answers = new Map<number, WorkerAnswer>();
      const finish = (): void => {
        if (!this.#pending.delete(requestId)) return;
        clearTimeout(timer);
        resolve({ answers, missing: [...waiting] });
      };
      const timer = setTimeout(finish, this.timeoutMs);
      this.#pending.set(requestId, { waiting, answers, finish });
      const ports = [...workers];
      for (const worker of ports) waiting.add(worker.id);
      for (const worker of ports) worker.send(message(requestId));
      if (waiting.size === 0) finish();
    });
  }

  /** A worker's answer; late, duplicate and unknown answers are dropped. */
  answer(workerId: number, answer: WorkerAnswer): void {
    const pending = this.#pending.get(answer.requestId);
    if (pending === undefined || !pending.waiting.delete(workerId)) return;
    pending.answers.set(workerId, answer);
    if (pending.waiting.size === 0) pending.finish();
  }

  /** A worker exited: nothing to wait for from it. */
  gone(workerId: number): void {
    for (const pending of [...this.#pending.values()]) {
      if (pending.waiting.delete(workerId) && pending.waiting.size === 0) pending.finish();
    }
  }

  /** Resolves every open request with what it has. */
  close(): void {
    for (const pending of [...this.#pending.values()]) pending.finish();
  }
}
