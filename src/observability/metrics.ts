/**
 * Prometheus metrics (issue 12), served as text on the admin listener's
 * GET /metrics. The names and labels are a contract: dashboards and alerts
 * rely on them, README lists them.
 *
 * Nothing here runs per message or per byte. Events (events.ts) are counted
 * as they are published; what grows continuously (bytes and messages of open
 * tunnels, tunnels open now, backend state) is read from the live objects
 * when Prometheus scrapes, so a counter is exact at every scrape and the relay
 * pays nothing for it. Label values are route names, backend ids, failure
 * codes and bucketed close codes: never a client address or a request path,
 * so the number of series stays bounded whatever the traffic.
 *
 * The observations per handshake and per tunnel close go straight to
 * prom-client: its labelled children validate and hash their labels on every
 * call too, so caching them would only add a key string and a lookup.
 *
 * With `--workers N` the primary's GET /metrics adds up every worker's
 * registry (prom-client's AggregatorRegistry; shareWithPrimary below, and
 * cluster/cluster-metrics.ts): counters, histograms and wsgate_tunnels_active
 * are summed. What describes state the workers share (a backend's health,
 * weight and drain, the gateway draining, the build, the reloads every
 * worker applies on one SIGHUP) has an `aggregator` of `max` or `first`, so
 * it reads the same with one worker or ten.
 */
import { readFileSync } from 'node:fs';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Route } from '../routing/route-table.js';
import type { Tunnel, TunnelSummary } from '../tunnel/tunnel.js';
import {
  channels,
  type ConnectionRefusedEvent,
  GatewaySubscriptions,
  type HealthCheckEvent,
  type HttpRequestEvent,
  type ReloadEvent,
  type TunnelCloseEvent,
  type TunnelOpenEvent,
  type TunnelRttEvent,
  type UpgradeRejectedEvent,
} from './events.js';
import type { StatsSample } from './stats-history.js';

/** What the metrics read from the gateway when scraped. */
export interface MetricsSource {
  /** The Gateway instance: events of other gateways in the same process are not counted. */
  readonly gateway: object;
  readonly tunnels: () => Iterable<Tunnel>;
  readonly routes: () => readonly Route[];
  readonly draining: () => boolean;
}

/** wsgate's version, for wsgate_build_info (package.json beside dist/). */
export const WSGATE_VERSION: string = ((): string => {
  try {
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();

/** Counted where the checks run: the gateway, or the primary of `--workers N` (cluster/cluster-metrics.ts). */
export const HEALTH_CHECKS_METRIC = {
  name: 'wsgate_health_checks_total',
  help: 'Active health check probes, by result',
  labelNames: ['backend', 'result'],
} as const;

const SECONDS_BUCKETS_FAST = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Tunnels live from milliseconds to a day. */
const TUNNEL_DURATION_BUCKETS = [0.1, 1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400];

/**
 * The close code label: 1000-1015 as they are (RFC 6455 7.4.1, IANA registry),
 * private and registered ranges bucketed, `none` for a Close without a code,
 * `abnormal` for a connection lost without a Close (1006's meaning, 7.4.1).
 */
export function closeCodeLabel(code: number | 'none' | undefined): string {
  if (code === undefined) return 'abnormal';
  if (code === 'none') return 'none';
  if (code >= 1000 && code <= 1015) return String(code);
  if (code >= 3000 && code <= 3999) return '3000-3999';
  if (code >= 4000 && code <= 4999) return '4000-4999';
  return 'invalid';
}

/** The Close that ended the tunnel, as seen by its initiator's side. */
export function closeCodeOf(summary: TunnelSummary): string {
  // The client's Close travels toward the backend; the backend's (and wsgate's own, on idle
  // timeout or drain, injected toward the client first) toward the client.
  if (summary.closedBy === 'client') return closeCodeLabel(summary.clientCloseCode);
  return closeCodeLabel(summary.backendCloseCode);
}

function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}

interface Totals {
  clientToBackend: number;
  backendToClient: number;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #source: MetricsSource;
  readonly #subscriptions: GatewaySubscriptions;
  /** Bytes and messages of tunnels already closed, per route name (open ones are added at scrape). */
  readonly #closedBytes = new Map<string, Totals>();
  readonly #closedMessages = new Map<string, Totals>();
  readonly #opened: Counter<'route' | 'backend'>;
  readonly #handshake: Histogram<'route'>;
  readonly #connect: Histogram<'backend'>;
  readonly #tunnelDuration: Histogram<'route'>;
  readonly #closes: Counter<'route' | 'initiator' | 'code'>;
  readonly #rtt: Histogram<'route'>;
  readonly #rejected: Counter<'route' | 'code'>;
  readonly #httpRequests: Counter<'route' | 'status_class'>;
  readonly #httpDuration: Histogram<'route'>;
  readonly #healthChecks: Counter<'backend' | 'result'>;
  readonly #refused: Counter<'reason'>;
  readonly #reloads: Counter<'result'>;
  /** Plain totals for the dashboard's live figures (stats()). */
  readonly #tally = { opened: 0, rejected: 0, closeCodes: {} as Record<string, number> };

  constructor(source: MetricsSource) {
    this.#source = source;
    this.#subscriptions = new GatewaySubscriptions(source.gateway);
    const registers = [this.registry];
    // prom-client calls collect() with the metric as `this`; these are what it reads.
    const tunnels = source.tunnels;
    const routes = source.routes;
    const closedBytes = this.#closedBytes;
    const closedMessages = this.#closedMessages;
    new Gauge({
      name: 'wsgate_tunnels_active',
      help: 'Tunnels open now',
      labelNames: ['route', 'backend'],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, { route: string; backend: string; count: number }>();
        for (const tunnel of tunnels()) {
          const key = `${tunnel.route.name}\u0000${tunnel.backend.id}`;
          const entry = counts.get(key) ?? { route: tunnel.route.name, backend: tunnel.backend.id, count: 0 };
          entry.count++;
          counts.set(key, entry);
        }
        for (const { route, backend, count } of counts.values()) this.set({ route, backend }, count);
      },
    });
    this.#opened = new Counter({ name: 'wsgate_tunnels_opened_total', help: 'Tunnels opened (backend answered 101)', labelNames: ['route', 'backend'], registers });
    this.#rejected = new Counter({
      name: 'wsgate_upgrades_rejected_total',
      help: 'Upgrades answered by wsgate with an error (X-Wsgate-Error code); route "none" before routing',
      labelNames: ['route', 'code'],
      registers,
    });
    this.#handshake = new Histogram({
      name: 'wsgate_handshake_duration_seconds',
      help: 'Request head complete to the 101 written to the client',
      labelNames: ['route'],
      buckets: SECONDS_BUCKETS_FAST,
      registers,
    });
    this.#connect = new Histogram({
      name: 'wsgate_backend_connect_duration_seconds',
      help: 'TCP (and TLS) connect to the backend that answered an upgrade',
      labelNames: ['backend'],
      buckets: SECONDS_BUCKETS_FAST,
      registers,
    });
    this.#tunnelDuration = new Histogram({
      name: 'wsgate_tunnel_duration_seconds',
      help: 'How long tunnels lived',
      labelNames: ['route'],
      buckets: TUNNEL_DURATION_BUCKETS,
      registers,
    });
    new Counter({
      name: 'wsgate_bytes_total',
      help: 'Bytes relayed through tunnels, open ones included',
      labelNames: ['route', 'direction'],
      registers,
      collect() {
        collectTotals(this, closedBytes, tunnels(), (tunnel) => ({ clientToBackend: tunnel.client.bytesRead, backendToClient: tunnel.upstream.bytesRead }));
      },
    });
    new Counter({
      name: 'wsgate_messages_total',
      help: 'Whole WebSocket messages (not frames) relayed through tunnels, open ones included',
      labelNames: ['route', 'direction'],
      registers,
      collect() {
        collectTotals(this, closedMessages, tunnels(), (tunnel) => ({ clientToBackend: tunnel.fromClient.messages, backendToClient: tunnel.fromBackend.messages }));
      },
    });
    this.#closes = new Counter({
      name: 'wsgate_close_total',
      help: 'Tunnels closed, by who closed first and the Close code (abnormal: no Close frame)',
      labelNames: ['route', 'initiator', 'code'],
      registers,
    });
    this.#rtt = new Histogram({
      name: 'wsgate_client_rtt_seconds',
      help: 'From a Ping wsgate injected (--ping-interval) to the client Pong',
      labelNames: ['route'],
      buckets: SECONDS_BUCKETS_FAST,
      registers,
    });
    this.#httpRequests = new Counter({ name: 'wsgate_http_requests_total', help: 'Plain HTTP requests, by status class', labelNames: ['route', 'status_class'], registers });
    this.#httpDuration = new Histogram({
      name: 'wsgate_http_request_duration_seconds',
      help: 'Plain HTTP requests, request head to response end',
      labelNames: ['route'],
      buckets: SECONDS_BUCKETS_FAST,
      registers,
    });
    const backendGauge = (name: string, help: string, value: (backend: Route['pool']['backends'][number]) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['route', 'backend'],
        registers,
        aggregator: 'max',
        collect() {
          this.reset();
          for (const route of routes()) for (const backend of route.pool.backends) this.set({ route: route.name, backend: backend.id }, value(backend));
        },
      });
    };
    backendGauge('wsgate_backend_up', 'In rotation as far as health goes (1) or not (0)', (backend) => (backend.healthy ? 1 : 0));
    backendGauge('wsgate_backend_weight', 'Backend weight', (backend) => backend.weight);
    backendGauge('wsgate_backend_draining', 'Drained by an operator (1) or not (0)', (backend) => (backend.draining ? 1 : 0));
    this.#healthChecks = new Counter({ ...HEALTH_CHECKS_METRIC, labelNames: [...HEALTH_CHECKS_METRIC.labelNames], registers });
    this.#refused = new Counter({
      name: 'wsgate_connections_refused_total',
      help: 'Connections closed before HTTP: global limit, PROXY header, handshake timeout, oversized or malformed head',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: 'wsgate_draining',
      help: '1 while the gateway drains',
      registers,
      aggregator: 'max',
      collect() {
        this.set(source.draining() ? 1 : 0);
      },
    });
    // One SIGHUP reloads every worker: summed, N workers would count it N times.
    this.#reloads = new Counter({ name: 'wsgate_config_reloads_total', help: 'Configuration reloads, applied (ok) or refused', labelNames: ['result'], registers, aggregator: 'max' });
    new Gauge({ name: 'wsgate_build_info', help: 'wsgate and Node.js versions', labelNames: ['version', 'node'], registers, aggregator: 'first' }).set({ version: WSGATE_VERSION, node: process.version }, 1);
    collectDefaultMetrics({ register: this.registry });

    this.#subscriptions.on<UpgradeRejectedEvent>(channels.upgradeRejected, (event) => {
      this.#rejected.inc({ route: event.route ?? 'none', code: event.code });
      this.#tally.rejected++;
    });
    this.#subscriptions.on<TunnelOpenEvent>(channels.tunnelOpen, (event) => {
      this.#tally.opened++;
      this.#opened.inc({ route: event.route, backend: event.backend });
      this.#handshake.observe({ route: event.route }, event.handshakeSeconds);
      this.#connect.observe({ backend: event.backend }, event.connectSeconds);
    });
    this.#subscriptions.on<TunnelCloseEvent>(channels.tunnelClose, ({ summary }) => {
      const route = summary.route;
      this.#tunnelDuration.observe({ route }, summary.durationMs / 1000);
      const code = closeCodeOf(summary);
      this.#closes.inc({ route, initiator: summary.closedBy, code });
      this.#tally.closeCodes[code] = (this.#tally.closeCodes[code] ?? 0) + 1;
      add(this.#closedBytes, route, summary.bytesFromClient, summary.bytesFromBackend);
      add(this.#closedMessages, route, summary.messagesFromClient, summary.messagesFromBackend);
    });
    this.#subscriptions.on<TunnelRttEvent>(channels.tunnelRtt, (event) => this.#rtt.observe({ route: event.route }, event.seconds));
    this.#subscriptions.on<HttpRequestEvent>(channels.httpRequest, (event) => {
      const route = event.route ?? 'none';
      this.#httpRequests.inc({ route, status_class: statusClass(event.status) });
      this.#httpDuration.observe({ route }, event.durationSeconds);
    });
    this.#subscriptions.on<HealthCheckEvent>(channels.healthCheck, (event) => this.#healthChecks.inc({ backend: event.backend, result: event.ok ? 'pass' : 'fail' }));
    this.#subscriptions.on<ConnectionRefusedEvent>(channels.connectionRefused, (event) => this.#refused.inc({ reason: event.reason }));
    this.#subscriptions.on<ReloadEvent>(channels.reload, (event) => this.#reloads.inc({ result: event.result }));
  }

  /** The dashboard's live figures: totals since start, open tunnels included. */
  stats(): StatsSample {
    let tunnelsActive = 0;
    let bytesTotal = 0;
    for (const totals of this.#closedBytes.values()) bytesTotal += totals.clientToBackend + totals.backendToClient;
    for (const tunnel of this.#source.tunnels()) {
      tunnelsActive++;
      bytesTotal += tunnel.client.bytesRead + tunnel.upstream.bytesRead;
    }
    return {
      at: Date.now(),
      tunnelsActive,
      handshakesTotal: this.#tally.opened,
      rejectedTotal: this.#tally.rejected,
      bytesTotal,
      closeCodes: { ...this.#tally.closeCodes },
    };
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Stops counting (the gateway closed). */
  close(): void {
    this.#subscriptions.close();
  }

  /**
   * For a worker of `--workers N`: this registry answers the primary's
   * AggregatorRegistry.clusterMetrics() (one registry per process, so this is
   * process-wide). wsgate_health_checks_total leaves it: the primary runs the
   * checks and counts them itself.
   */
  shareWithPrimary(): void {
    this.registry.removeSingleMetric(HEALTH_CHECKS_METRIC.name);
    // The constructor is what installs the worker's answering listener (once per process).
    void new AggregatorRegistry();
    AggregatorRegistry.setRegistries([this.registry]);
  }
}

/** Sets a per-route, per-direction counter to the closed tunnels' totals plus the open ones' figures. */
function collectTotals(counter: Counter<'route' | 'direction'>, closed: Map<string, Totals>, open: Iterable<Tunnel>, live: (tunnel: Tunnel) => Totals): void {
  const totals = new Map<string, Totals>();
  for (const [route, value] of closed) totals.set(route, { ...value });
  for (const tunnel of open) {
    const { clientToBackend, backendToClient } = live(tunnel);
    add(totals, tunnel.route.name, clientToBackend, backendToClient);
  }
  counter.reset();
  for (const [route, value] of totals) {
    counter.inc({ route, direction: 'client_to_backend' }, value.clientToBackend);
    counter.inc({ route, direction: 'backend_to_client' }, value.backendToClient);
  }
}

function add(totals: Map<string, Totals>, route: string, clientToBackend: number, backendToClient: number): void {
  const entry = totals.get(route);
  if (entry === undefined) totals.set(route, { clientToBackend, backendToClient });
  else {
    entry.clientToBackend += clientToBackend;
    entry.backendToClient += backendToClient;
  }
}
