import type { Route } from '../routing/route-table.js';
import type { Backend } from '../upstream/backend.js';
import type { BackendHealthView, HealthMonitor } from '../upstream/health-monitor.js';

/** One backend as the admin API and `Gateway.backends()` show it. */
export interface BackendReport extends BackendHealthView {
  readonly id: string;
  /** host:port */
  readonly address: string;
  readonly tls: boolean;
  readonly weight: number;
  /** In rotation as far as health goes (active checks and passive ejection). */
  readonly healthy: boolean;
  /** Taken out of rotation by an operator: no new tunnels or requests. */
  readonly draining: boolean;
  readonly activeTunnels: number;
}

export interface RouteReport {
  readonly route: string;
  readonly backends: readonly BackendReport[];
}

export function reportBackend(backend: Backend, health: HealthMonitor): BackendReport {
  return {
    id: backend.id,
    address: backend.label,
    tls: backend.tls,
    weight: backend.weight,
    healthy: backend.healthy,
    draining: backend.draining,
    activeTunnels: backend.activeTunnels,
    ...health.view(backend),
  };
}

/** Routes in the order they are configured (not the order they are tried), each with its backends. */
export function routesInConfiguredOrder(routes: readonly Route[]): Route[] {
  return [...routes].sort((a, b) => a.index - b.index);
}

export function reportRoutes(routes: readonly Route[], health: HealthMonitor): RouteReport[] {
  return routesInConfiguredOrder(routes).map((route) => ({ route: route.name, backends: route.pool.backends.map((backend) => reportBackend(backend, health)) }));
}
