/**
 * GET /metrics on the primary of `--workers N`: the sum over the workers'
 * registries (prom-client's AggregatorRegistry.clusterMetrics(); each worker
 * registered its GatewayMetrics registry with shareWithPrimary()), followed by
 * what only the primary counts: wsgate_health_checks_total, since the
 * primary runs the active checks. The workers' registries leave that metric
 * out, so every metric family appears once.
 */
import { AggregatorRegistry, Counter, Registry, type PrometheusContentType } from 'prom-client';
import { channels, GatewaySubscriptions, type HealthCheckEvent } from '../observability/events.js';
import { HEALTH_CHECKS_METRIC } from '../observability/metrics.js';

export class ClusterMetrics {
  readonly #workers = new AggregatorRegistry<PrometheusContentType>();
  readonly #own = new Registry<PrometheusContentType>();
  readonly #subscriptions: GatewaySubscriptions;

  /** `gateway`: the object the primary's health monitor publishes its events as. */
  constructor(gateway: object) {
    const checks = new Counter({ ...HEALTH_CHECKS_METRIC, labelNames: [...HEALTH_CHECKS_METRIC.labelNames], registers: [this.#own] });
    this.#subscriptions = new GatewaySubscriptions(gateway);
    this.#subscriptions.on<HealthCheckEvent>(channels.healthCheck, (event) => checks.inc({ backend: event.backend, result: event.ok ? 'pass' : 'fail' }));
  }

  get contentType(): string {
    return this.#own.contentType;
  }

  /** Rejects when a worker does not answer within prom-client's 5 s (the admin API then answers 500). */
  async text(): Promise<string> {
    const [workers, own] = await Promise.all([this.#workers.clusterMetrics(), this.#own.metrics()]);
    return workers === '' || workers.endsWith('\n') ? workers + own : `${workers}\n${own}`;
  }

  close(): void {
    this.#subscriptions.close();
  }
}
