/**
 * Decides `backend.healthy` from active checks and passive observations
 * (issue 6): a backend is in rotation while its active check (if any) says up
 * and passive health has not ejected it. Existing tunnels are never touched;
 * only new selections skip an unhealthy backend.
 *
 * Routes that name the same address share state: one checker per address and
 * check settings, one passive count per address and passive settings, so a
 * backend listed by three routes is probed once and a connect failure seen on
 * one route counts for all of them. Routes that configure different checks
 * for one address get one checker each, and each route follows its own.
 *
 * Every change of a backend's rotation state is logged once ("backend down" /
 * "backend up", with the routes, a reason and the detail that decided it).
 *
 * On reload the gateway builds a new monitor over the backends it kept; given
 * the old one, the new monitor carries over the check counters and passive
 * state of every group whose address and settings did not change, then sets
 * every backend's `healthy` from its new state. So a backend that was down
 * stays down until its checks say otherwise, and one whose check was removed
 * from the configuration comes back at once.
 *
 * With `--workers N` one monitor, in the primary, decides for the whole
 * gateway: it runs the checks once per backend and interval, hears the
 * workers' passive observations, and its changes are sent to every worker
 * (cluster/primary-gateway.ts).
 */
import type { HealthCheckConfig, PassiveConfig } from '../config/schema.js';
import { channels, type BackendStateEvent, type HealthCheckEvent } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import type { Route } from '../routing/route-table.js';
import type { Backend } from './backend.js';
import { deriveBackendId } from './backend-id.js';
import { HealthChecker, type CheckResult, type ProbeTls } from './health-check.js';
import { PassiveHealth } from './passive-health.js';

export interface RouteHealth {
  /** The route's name (its prefix), for logs and the admin API. */
  readonly route: string;
  readonly backends: readonly Backend[];
  /** The route's own check or the gateway-wide default; undefined: no active checks. */
  readonly healthCheck: HealthCheckConfig | undefined;
  readonly passive: PassiveConfig;
}

/** Each route's health settings: its own check or the gateway-wide one (compile-route.ts), and its passive settings. */
export function routeHealthSettings(routes: readonly Route[]): RouteHealth[] {
  return routes.map((route) => ({ route: route.name, backends: route.pool.backends, healthCheck: route.healthCheck, passive: route.passive }));
}

/**
 * The settings of a monitor that decides nothing: no active checks, no
 * passive counts. A worker of `--workers N` has one (so its reports show no
 * check of its own), because the primary checks and ejects for every worker
 * (cluster/primary-gateway.ts) and its decisions arrive as `healthy`.
 */
export function withoutDecisions(routes: readonly RouteHealth[]): RouteHealth[] {
  return routes.map((route) => ({ ...route, healthCheck: undefined, passive: { ...route.passive, failures: 0 } }));
}

/** What live traffic tells about backends: the monitor decides from it, or a cluster worker passes it to the primary. */
export type PassiveObserver = Pick<HealthMonitor, 'connectFailed' | 'badResponse' | 'succeeded'>;

interface ActiveGroup {
  readonly key: string;
  readonly checker: HealthChecker;
  readonly members: Backend[];
}

interface PassiveGroup {
  readonly key: string;
  readonly state: PassiveHealth;
  readonly members: Backend[];
  timer: NodeJS.Timeout | undefined;
}

/** What the admin API shows about one backend's health. */
export interface BackendHealthView {
  readonly check: {
    readonly type: HealthCheckConfig['type'];
    readonly path?: string;
    readonly status: 'up' | 'down';
    readonly lastResult: CheckResult | null;
  } | null;
  readonly passive: {
    readonly consecutiveFailures: number;
    readonly ejectedUntil: string | null;
    readonly lastFailure: string | null;
  } | null;
}

function addressKey(backend: Backend): string {
  return `${backend.tls ? 'tls' : 'tcp'}:${deriveBackendId(backend.host, backend.port)}`;
}

export class HealthMonitor {
  private readonly activeOf = new Map<Backend, ActiveGroup>();
  private readonly passiveOf = new Map<Backend, PassiveGroup>();
  private readonly routeOf = new Map<Backend, string>();
  private readonly activeGroups: ActiveGroup[] = [];
  private readonly passiveGroups: PassiveGroup[] = [];

  constructor(
    routes: readonly RouteHealth[],
    private readonly logger: Logger,
    tls: ProbeTls,
    previous?: HealthMonitor,
    /** The gateway whose events (events.ts) the monitor publishes: checks and state changes. */
    private readonly gateway: object = {},
  ) {
    const active = new Map<string, ActiveGroup>();
    const passive = new Map<string, PassiveGroup>();
    for (const route of routes) {
      for (const backend of route.backends) {
        this.routeOf.set(backend, route.route);
        const address = addressKey(backend);
        if (route.healthCheck !== undefined) {
          const key = `${address}|${JSON.stringify(route.healthCheck)}`;
          let group = active.get(key);
          if (group === undefined) {
            const members: Backend[] = [];
            const check = route.healthCheck;
            const checker = new HealthChecker(backend, check, tls, {
              changed: (up, result) => this.activeChanged(members, check, up, result),
              checked: (result) => {
                if (channels.healthCheck.hasSubscribers) channels.healthCheck.publish({ gateway: this.gateway, backend: backend.id, ok: result.ok } satisfies HealthCheckEvent);
              },
            });
            group = { key, checker, members };
            active.set(key, group);
            this.activeGroups.push(group);
          }
          group.members.push(backend);
          this.activeOf.set(backend, group);
        }
        if (route.passive.failures > 0) {
          const key = `${address}|${route.passive.failures}|${route.passive.coolOff}`;
          let group = passive.get(key);
          if (group === undefined) {
            const state = previous?.passiveGroups.find((g) => g.key === key)?.state;
            group = { key, state: state ?? new PassiveHealth({ failures: route.passive.failures, coolOffMs: route.passive.coolOff }), members: [], timer: undefined };
            passive.set(key, group);
            this.passiveGroups.push(group);
          }
          group.members.push(backend);
          this.passiveOf.set(backend, group);
        }
      }
    }
    if (previous !== undefined) this.carryOver(previous);
  }

  /** Reload: adopts the old monitor's state where nothing changed, then reconciles every backend. */
  private carryOver(previous: HealthMonitor): void {
    previous.stop();
    for (const group of this.activeGroups) {
      const old = previous.activeGroups.find((g) => g.key === group.key);
      if (old !== undefined) group.checker.carryOver(old.checker);
    }
    for (const group of this.passiveGroups) {
      const until = group.state.ejectedUntil;
      if (until !== undefined) this.scheduleCoolOffEnd(group, Math.max(0, until - Date.now()));
    }
    this.apply([...this.routeOf.keys()], 'configuration reloaded', 'health settings or state changed');
  }

  /** Starts the active checks, their first probes spread over one interval. */
  start(): void {
    const count = this.activeGroups.length;
    this.activeGroups.forEach(({ checker }, index) => checker.start(Math.floor((checker.check.interval * index) / count)));
  }

  /** Stops every check and cool-off timer. */
  stop(): void {
    for (const { checker } of this.activeGroups) checker.stop();
    for (const group of this.passiveGroups) {
      clearTimeout(group.timer);
      group.timer = undefined;
    }
  }

  /** A connect to `backend` failed (refused, unreachable, timed out). */
  connectFailed(backend: Backend, detail: string): void {
    this.passiveFailure(backend, `connect failed: ${detail}`);
  }

  /** `backend` answered with something that is not a valid HTTP response head. */
  badResponse(backend: Backend, detail: string): void {
    this.passiveFailure(backend, `invalid response: ${detail}`);
  }

  /** `backend` connected and answered with a valid response head. */
  succeeded(backend: Backend): void {
    this.passiveOf.get(backend)?.state.recordSuccess();
  }

  view(backend: Backend): BackendHealthView {
    const active = this.activeOf.get(backend);
    const passive = this.passiveOf.get(backend)?.state;
    const until = passive?.ejectedUntil;
    return {
      check:
        active === undefined
          ? null
          : {
              type: active.checker.check.type,
              ...(active.checker.check.path === undefined ? {} : { path: active.checker.check.path }),
              status: active.checker.up ? 'up' : 'down',
              lastResult: active.checker.lastResult ?? null,
            },
      passive:
        passive === undefined
          ? null
          : {
              consecutiveFailures: passive.consecutiveFailures,
              ejectedUntil: until === undefined ? null : new Date(until).toISOString(),
              lastFailure: passive.lastFailure ?? null,
            },
    };
  }

  private passiveFailure(backend: Backend, detail: string): void {
    const group = this.passiveOf.get(backend);
    if (group === undefined || !group.state.recordFailure(Date.now(), detail)) return;
    const { failures, coolOffMs } = group.state.settings;
    this.scheduleCoolOffEnd(group, coolOffMs);
    this.apply(group.members, 'passive', `${failures} consecutive failures, last: ${detail}; out for ${coolOffMs}ms`);
  }

  private scheduleCoolOffEnd(group: PassiveGroup, delayMs: number): void {
    clearTimeout(group.timer);
    group.timer = setTimeout(() => {
      group.timer = undefined;
      if (group.state.endCoolOff()) {
        this.apply(group.members, 'cool-off ended', `after ${group.state.settings.coolOffMs}ms; one more failure ejects it again`);
      }
    }, delayMs).unref();
  }

  private activeChanged(members: readonly Backend[], check: HealthCheckConfig, up: boolean, result: CheckResult): void {
    if (up) {
      // Recovery proven by `rise` passes also ends any passive ejection of the same backends.
      for (const member of members) {
        const passive = this.passiveOf.get(member);
        if (passive === undefined) continue;
        passive.state.reset();
        clearTimeout(passive.timer);
        passive.timer = undefined;
      }
    }
    const counted = up ? `passed ${check.rise} time(s) in a row` : 'failed';
    this.apply(members, 'health check', `${check.type} check ${counted}: ${result.detail}`);
  }

  /** Recomputes `healthy` for `members` and logs one line per backend address whose state changed. */
  private apply(members: readonly Backend[], reason: string, detail: string): void {
    const changed = new Map<string, { backend: Backend; routes: string[] }>();
    for (const backend of members) {
      const healthy = (this.activeOf.get(backend)?.checker.up ?? true) && !(this.passiveOf.get(backend)?.state.ejected ?? false);
      if (healthy === backend.healthy) continue;
      backend.healthy = healthy;
      const key = `${backend.label}|${backend.id}|${healthy}`;
      const entry = changed.get(key) ?? { backend, routes: [] };
      entry.routes.push(this.routeOf.get(backend) ?? '');
      changed.set(key, entry);
    }
    for (const { backend, routes } of changed.values()) {
      const fields = { backend: backend.label, backendId: backend.id, routes, reason, detail };
      if (backend.healthy) this.logger.info(fields, 'backend up');
      else this.logger.warn(fields, 'backend down');
      if (channels.backendState.hasSubscribers) {
        channels.backendState.publish({ gateway: this.gateway, backend: backend.id, address: backend.label, routes, healthy: backend.healthy, reason, detail } satisfies BackendStateEvent);
      }
    }
  }
}
