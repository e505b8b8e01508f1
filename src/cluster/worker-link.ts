/**
 * What a worker of `--workers N` runs beside its gateway (issue 12): the
 * gateway's cluster hook (GatewayClusterHook in gateway.ts). It
 *
 * - applies what the primary decides: the whole state when the worker starts
 *   or has reloaded (it asks with `sync`), then each change of health, and the
 *   admin API's drain, undrain and weight actions (acknowledged);
 * - passes what live traffic shows to the primary, whose monitor decides:
 *   every connect failure and bad response, and successes only while the
 *   primary counts failures of that backend (its `reportSuccess`), so a
 *   healthy gateway sends nothing per connection;
 * - answers the primary's `collect` with this worker's figures (/stats) and
 *   open tunnels per backend (/backends); its metrics registry answers
 *   prom-client's AggregatorRegistry (GatewayMetrics.shareWithPrimary).
 */
import type { GatewayClusterHook } from '../gateway.js';
import { channels, GatewaySubscriptions } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { Route } from '../routing/route-table.js';
import type { Backend } from '../upstream/backend.js';
import { cachedRefs, type BackendRefs } from './backend-refs.js';
import { parsePrimaryMessage, type BackendAction, type HealthState, type PrimaryMessage, type WorkerMessage } from './messages.js';

/** The worker's end of the IPC channel. */
export interface PrimaryChannel {
  /** Never throws: when the primary has gone, the message is dropped. */
  send(message: WorkerMessage): void;
  onMessage(handler: (message: unknown) => void): void;
}

/** This process's IPC channel to the cluster primary. */
export function processChannel(): PrimaryChannel {
  return {
    send: (message) => {
      if (process.connected !== true) return;
      process.send?.(message, undefined, undefined, () => {});
    },
    onMessage: (handler) => process.on('message', handler),
  };
}

type Outcome = Extract<WorkerMessage, { type: 'wsgate:observed' }>['outcome'];

export class WorkerLink implements GatewayClusterHook {
  readonly #channel: PrimaryChannel;
  readonly #logger: Logger;
  #refs: () => BackendRefs = cachedRefs(() => []);
  #metrics: GatewayMetrics | undefined;
  /** Backends whose successes the primary wants (it counts failures of them). */
  #reportSuccess = new Set<Backend>();
  #resolveReady: () => void = () => {};
  /** Resolves once the primary's whole state has arrived and been applied. */
  readonly ready: Promise<void>;

  constructor(channel: PrimaryChannel, logger: Logger) {
    this.#channel = channel;
    this.#logger = logger;
    this.ready = new Promise((resolve) => (this.#resolveReady = resolve));
  }

  attach(gateway: object, live: { readonly routes: () => readonly Route[]; readonly metrics: GatewayMetrics }): void {
    this.#refs = cachedRefs(live.routes);
    this.#metrics = live.metrics;
    live.metrics.shareWithPrimary();
    this.#channel.onMessage((message) => this.#receive(message));
    // After a reload the tables may differ (new backends, other positions): ask for the whole state again.
    new GatewaySubscriptions(gateway).on(channels.reload, () => this.#channel.send({ type: 'wsgate:sync' }));
    this.#channel.send({ type: 'wsgate:sync' });
  }

  /** Resolves once the state has arrived, or after `timeoutMs` (then the worker starts with every backend in rotation). */
  async whenReady(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const outcome = await Promise.race([this.ready, late]);
    clearTimeout(timer);
    if (outcome === 'late') this.#logger.warn({ timeoutMs }, 'no backend state from the primary yet; starting with every backend in rotation');
  }

  // ---------------------------------------------------------------- PassiveObserver: observations go to the primary

  connectFailed(backend: Backend, detail: string): void {
    this.#observed(backend, 'connect-failed', detail);
  }

  badResponse(backend: Backend, detail: string): void {
    this.#observed(backend, 'bad-response', detail);
  }

  succeeded(backend: Backend): void {
    if (this.#reportSuccess.has(backend)) this.#observed(backend, 'succeeded', '');
  }

  #observed(backend: Backend, outcome: Outcome, detail: string): void {
    const ref = this.#refs().refOf(backend);
    // A backend a reload has just removed: nothing to decide about it.
    if (ref === undefined) return;
    this.#channel.send({ type: 'wsgate:observed', backend: ref, outcome, detail });
  }

  // ---------------------------------------------------------------- what the primary sends

  #receive(message: unknown): void {
    const parsed = parsePrimaryMessage(message);
    if (parsed === undefined) return;
    this.#apply(parsed);
  }

  #apply(message: PrimaryMessage): void {
    switch (message.type) {
      case 'wsgate:state': {
        this.#reportSuccess = new Set();
        for (const state of message.backends) {
          const backend = this.#applyHealth(state);
          if (backend === undefined) continue;
          backend.draining = state.draining;
          backend.weight = state.weight;
        }
        this.#resolveReady();
        return;
      }
      case 'wsgate:health':
        for (const state of message.backends) this.#applyHealth(state);
        return;
      case 'wsgate:action':
        this.#applyAction(message.action);
        this.#channel.send({ type: 'wsgate:ack', requestId: message.requestId });
        return;
      case 'wsgate:collect':
        this.#report(message.requestId);
        return;
    }
  }

  /** Sets one backend's health; undefined when the ref does not name a backend of this table (a reload in between). */
  #applyHealth(state: HealthState): Backend | undefined {
    const backend = this.#refs().find(state.backend);
    if (backend === undefined) return undefined;
    backend.healthy = state.healthy;
    if (state.reportSuccess) this.#reportSuccess.add(backend);
    else this.#reportSuccess.delete(backend);
    return backend;
  }

  /** As the admin API applies it: to every backend with the id, in every route. */
  #applyAction(action: BackendAction): void {
    for (const backend of this.#refs().withId(action.backendId)) {
      if (action.kind === 'weight') backend.weight = action.weight;
      else backend.draining = action.kind === 'drain';
    }
    this.#logger.debug({ action }, 'admin action applied from the primary');
  }

  #report(requestId: number): void {
    const metrics = this.#metrics;
    if (metrics === undefined) return;
    const tunnels = this.#refs()
      .entries()
      .filter(([, backend]) => backend.activeTunnels > 0)
      .map(([ref, backend]) => ({ backend: ref, count: backend.activeTunnels }));
    this.#channel.send({ type: 'wsgate:report', requestId, stats: metrics.stats(), tunnels });
  }
}
