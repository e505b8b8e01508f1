/**
 * What the primary of `--workers N` runs so that the workers act as one
 * gateway (issue 12). The workers serve every connection; the primary holds
 * what must exist once:
 *
 * - a route table of its own, compiled from the same configuration
 *   (RouteTable.fromConfig), whose backends carry the gateway's health, drain
 *   and weight;
 * - the health monitor: active checks once per backend and interval for the
 *   whole gateway, and the passive counts, fed by the workers' observations.
 *   Every change of a backend's health is sent to every worker, so all of
 *   them route alike, and "backend down" is logged once;
 * - the admin API (with `admin` configured): an action applies to this table
 *   and then in every worker, and is answered once they all have it; GET
 *   /backends adds the workers' open tunnels to this table's view, GET /stats
 *   sums their figures (the history is kept here), GET /metrics their
 *   registries (cluster-metrics.ts).
 *
 * A worker asks for the whole state (`sync`) before it listens and again
 * after each reload; only workers that have asked get the changes that follow.
 * Tunnel counts and figures are asked for when an admin request needs them (a
 * request id and a timeout, as prom-client's AggregatorRegistry does), so they
 * are exact at that moment and cost nothing in between.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { GatewayConfig } from '../config/schema.js';
import { AdminServer, warnIfAdminExposed, type AdminServerOptions, type BackendAction } from '../observability/admin.js';
import { reportRoutes, type RouteReport } from '../observability/backend-report.js';
import { channels, GatewaySubscriptions } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import type { StatsSample } from '../observability/stats-history.js';
import { RouteTable } from '../routing/route-table.js';
import type { Backend } from '../upstream/backend.js';
import type { ProbeTls } from '../upstream/health-check.js';
import { HealthMonitor, routeHealthSettings } from '../upstream/health-monitor.js';
import { cachedRefs } from './backend-refs.js';
import { ClusterMetrics } from './cluster-metrics.js';
import { FanOut, type WorkerPort } from './fan-out.js';
import { parseWorkerMessage, refKey, type BackendRef, type BackendState, type HealthState, type PrimaryMessage, type WorkerMessage } from './messages.js';

export type { WorkerPort } from './fan-out.js';

/** How long the admin API waits for the workers' answers before it answers with what came. */
const DEFAULT_REQUEST_TIMEOUT_MS = 2000;

type Report = Extract<WorkerMessage, { type: 'wsgate:report' }>;

export interface PrimaryGatewayOptions {
  readonly logger: Logger;
  /** Default 2 s. */
  readonly requestTimeoutMs?: number;
  /** The admin API's stats history (tests shorten it). */
  readonly admin?: AdminServerOptions;
}

export class PrimaryGateway {
  readonly #logger: Logger;
  readonly #tls: ProbeTls;
  /** Where the admin API listens and its token: bound at start, as in a single process. */
  readonly #adminConfig: Pick<GatewayConfig, 'admin' | 'adminToken'>;
  #routes: RouteTable;
  readonly #refs = cachedRefs(() => this.#routes.routes);
  #health: HealthMonitor;
  #checking = false;
  readonly #admin: AdminServer | undefined;
  readonly #metrics: ClusterMetrics;
  readonly #subscriptions: GatewaySubscriptions;
  readonly #fanOut: FanOut;
  /** Workers that asked for the state: they get every change. */
  readonly #workers = new Map<number, WorkerPort>();
  /** The health last sent to the workers, by ref key: only changes are sent. */
  #sent = new Map<string, HealthState>();
  #changesQueued = false;

  constructor(config: GatewayConfig, options: PrimaryGatewayOptions) {
    this.#logger = options.logger;
    this.#adminConfig = { admin: config.admin, adminToken: config.adminToken };
    this.#tls = {
      rejectUnauthorized: config.backendTls.verify,
      ca: config.backendTls.ca !== undefined ? readFileSync(config.backendTls.ca) : undefined,
    };
    this.#routes = RouteTable.fromConfig(config);
    // The monitor publishes its events (events.ts) as this object: its health changes and check counts are heard here.
    this.#health = new HealthMonitor(routeHealthSettings(this.#routes.routes), this.#logger, this.#tls, undefined, this);
    this.#subscriptions = new GatewaySubscriptions(this);
    this.#subscriptions.on(channels.backendState, () => this.#queueHealthChanges());
    this.#metrics = new ClusterMetrics(this);
    this.#fanOut = new FanOut(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    this.#admin =
      config.admin === undefined
        ? undefined
        : new AdminServer(
            {
              routes: () => this.#routes.routes,
              health: () => this.#health,
              logger: this.#logger,
              metrics: this.#metrics,
              stats: () => this.#stats(),
              refresh: () => this.#refreshTunnels(),
              applied: (action) => this.#applyInWorkers(action),
              token: config.adminToken,
            },
            options.admin,
          );
  }

  /** Starts the active checks and the admin listener; rejects when the admin listener cannot listen. */
  async listen(): Promise<AddressInfo | undefined> {
    this.#health.start();
    this.#checking = true;
    const admin = this.#adminConfig.admin;
    if (this.#admin === undefined || admin === undefined) return undefined;
    warnIfAdminExposed(admin.host, this.#adminConfig.adminToken, this.#logger);
    try {
      return await this.#admin.listen(admin.host, admin.port);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  adminAddress(): AddressInfo | undefined {
    return this.#admin?.address();
  }

  /** This table's view (as Gateway.backends()); `activeTunnels` as the admin API last read them from the workers. */
  backends(): RouteReport[] {
    return reportRoutes(this.#routes.routes, this.#health);
  }

  /** A message from a worker (node:cluster's 'message'); anything that is not a wsgate message is ignored. */
  received(worker: WorkerPort, message: unknown): void {
    const parsed = parseWorkerMessage(message);
    if (parsed === undefined) return;
    switch (parsed.type) {
      case 'wsgate:sync':
        this.#workers.set(worker.id, worker);
        worker.send({ type: 'wsgate:state', backends: this.#state() });
        return;
      case 'wsgate:observed': {
        const backend = this.#refs().find(parsed.backend);
        // A ref from a table this one no longer (or not yet) matches, around a reload: dropped.
        if (backend === undefined) return;
        if (parsed.outcome === 'connect-failed') this.#health.connectFailed(backend, parsed.detail);
        else if (parsed.outcome === 'bad-response') this.#health.badResponse(backend, parsed.detail);
        else this.#health.succeeded(backend);
        // A failure may have started a count (the workers then report successes), a success ended one.
        this.#sendHealthChanges();
        return;
      }
      case 'wsgate:ack':
      case 'wsgate:report':
        this.#fanOut.answer(worker.id, parsed);
        return;
    }
  }

  /** A worker exited: no more messages to it, no answers to wait for. */
  workerExited(id: number): void {
    this.#workers.delete(id);
    this.#fanOut.gone(id);
  }

  /**
   * SIGHUP, with the configuration the workers reload too: the same rules as
   * Gateway.reload (a backend that stays keeps its health and drain, weights
   * return to the configured ones), then the whole state to every worker.
   * The admin listener and its token stay as started.
   */
  reload(config: GatewayConfig): void {
    const kept = new Map<string, Backend>();
    for (const route of this.#routes.routes) for (const backend of route.pool.backends) kept.set(backendKey(backend), backend);
    const routes = RouteTable.fromConfig(config, (backend) => kept.get(backendKey(backend)));
    this.#health.stop();
    this.#routes = routes;
    this.#health = new HealthMonitor(routeHealthSettings(routes.routes), this.#logger, this.#tls, this.#health, this);
    if (this.#checking) this.#health.start();
    const state = this.#state();
    this.#sent = new Map(state.map(({ backend, healthy, reportSuccess }) => [refKey(backend), { backend, healthy, reportSuccess }]));
    this.#broadcast({ type: 'wsgate:state', backends: state });
    this.#logger.debug({ routes: routes.routes.length }, 'primary: configuration reloaded');
  }

  /** Stops the checks and the admin listener. */
  async close(): Promise<void> {
    this.#checking = false;
    this.#health.stop();
    this.#fanOut.close();
    this.#subscriptions.close();
    this.#metrics.close();
    await this.#admin?.close();
  }

  // ---------------------------------------------------------------- health and state

  #healthOf(backend: BackendRef, object: Backend): HealthState {
    const failures = this.#health.view(object).passive?.consecutiveFailures ?? 0;
    return { backend, healthy: object.healthy, reportSuccess: failures > 0 };
  }

  /** Every backend's whole state, for a worker that starts or reloaded. */
  #state(): BackendState[] {
    return this.#refs()
      .entries()
      .map(([ref, backend]) => ({ ...this.#healthOf(ref, backend), draining: backend.draining, weight: backend.weight }));
  }

  /** The monitor's changes come several per tick (one per backend of a group): one message for them all. */
  #queueHealthChanges(): void {
    if (this.#changesQueued) return;
    this.#changesQueued = true;
    queueMicrotask(() => {
      this.#changesQueued = false;
      this.#sendHealthChanges();
    });
  }

  #sendHealthChanges(): void {
    const changed: HealthState[] = [];
    for (const [ref, backend] of this.#refs().entries()) {
      const state = this.#healthOf(ref, backend);
      const key = refKey(ref);
      const last = this.#sent.get(key);
      if (last !== undefined && last.healthy === state.healthy && last.reportSuccess === state.reportSuccess) continue;
      this.#sent.set(key, state);
      changed.push(state);
    }
    if (changed.length > 0) this.#broadcast({ type: 'wsgate:health', backends: changed });
  }

  #broadcast(message: PrimaryMessage): void {
    for (const worker of this.#workers.values()) worker.send(message);
  }

  // ---------------------------------------------------------------- the admin API's hooks

  /** An action the admin API applied here: in every worker too, answered once they have it. */
  async #applyInWorkers(action: BackendAction): Promise<void> {
    const { missing } = await this.#fanOut.ask(this.#workers.values(), (requestId) => ({ type: 'wsgate:action', requestId, action }));
    // It still reaches them (IPC keeps order); the answer just did not wait longer.
    if (missing.length > 0) this.#logger.warn({ workers: missing, action }, 'workers did not confirm an admin action in time');
  }

  async #collect(): Promise<Report[]> {
    const { answers, missing } = await this.#fanOut.ask(this.#workers.values(), (requestId) => ({ type: 'wsgate:collect', requestId }));
    if (missing.length > 0) this.#logger.warn({ workers: missing }, 'workers did not report in time; their figures are left out');
    return [...answers.values()].filter((answer): answer is Report => answer.type === 'wsgate:report');
  }

  /** The sum of the workers' figures. */
  async #stats(): Promise<StatsSample> {
    return sumStats((await this.#collect()).map((report) => report.stats));
  }

  /** Sets `activeTunnels` of this table's backends to the sum of the workers' open tunnels. */
  async #refreshTunnels(): Promise<void> {
    const counts = new Map<string, number>();
    for (const report of await this.#collect()) {
      for (const { backend, count } of report.tunnels) counts.set(refKey(backend), (counts.get(refKey(backend)) ?? 0) + count);
    }
    for (const [ref, backend] of this.#refs().entries()) backend.activeTunnels = counts.get(refKey(ref)) ?? 0;
  }
}

/** Figures of several workers as one: totals and open tunnels added, close codes added code by code. */
export function sumStats(samples: readonly StatsSample[]): StatsSample {
  const closeCodes = new Map<string, number>();
  let tunnelsActive = 0;
  let handshakesTotal = 0;
  let rejectedTotal = 0;
  let bytesTotal = 0;
  for (const sample of samples) {
    tunnelsActive += sample.tunnelsActive;
    handshakesTotal += sample.handshakesTotal;
    rejectedTotal += sample.rejectedTotal;
    bytesTotal += sample.bytesTotal;
    for (const [code, count] of Object.entries(sample.closeCodes)) closeCodes.set(code, (closeCodes.get(code) ?? 0) + count);
  }
  return { at: Date.now(), tunnelsActive, handshakesTotal, rejectedTotal, bytesTotal, closeCodes: Object.fromEntries(closeCodes) };
}

/** What makes a backend "the same" across a reload (as Gateway.reload). */
function backendKey(backend: { host: string; port: number; tls: boolean; id?: string | undefined }): string {
  return `${backend.host}|${backend.port}|${backend.tls}|${backend.id ?? ''}`;
}
