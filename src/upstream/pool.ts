import type { BackendConfig } from '../config/schema.js';
import type { Backend, BalancingStrategy, SelectionContext } from './backend.js';
import { createBackend } from './backend-id.js';
import { createStrategy, type BalanceName } from './strategies/index.js';

const NOTHING_EXCLUDED: ReadonlySet<Backend> = new Set();
const NO_PREFERENCE: readonly string[] = [];

export interface BackendPoolOptions {
  /** Keys derived backend ids (config `backendIdSecret`); see deriveBackendId. */
  readonly backendIdSecret?: string | undefined;
  /** On reload: the running backend for this address, whose state (tunnels, health, drain) carries over. */
  readonly reuse?: ((backend: Backend) => Backend | undefined) | undefined;
}

/** A selection that may name backends the request is bound to (session id, sticky cookie). */
export interface PoolSelection extends SelectionContext {
  /** Backend ids to use if usable, strongest first; the strategy chooses when none is. */
  readonly preferredBackendIds?: readonly string[];
}

/** A route's backends and the strategy that chooses among them. */
export class BackendPool {
  readonly backends: readonly Backend[];
  readonly strategy: BalancingStrategy;
  readonly #byId = new Map<string, Backend>();

  constructor(configs: readonly BackendConfig[], balance: BalanceName, options: BackendPoolOptions = {}) {
    this.backends = configs.map((config) => {
      const fresh = createBackend(
        { host: config.host, port: config.port, tls: config.tls },
        { id: config.id, weight: config.weight, ...(options.backendIdSecret === undefined ? {} : { idSecret: options.backendIdSecret }) },
      );
      const running = options.reuse?.(fresh);
      if (running === undefined) return fresh;
      running.weight = fresh.weight;
      return running;
    });
    // The first of two backends with one id wins (configured ids are unique per route: check-routes.ts).
    for (const backend of this.backends) if (!this.#byId.has(backend.id)) this.#byId.set(backend.id, backend);
    this.strategy = createStrategy(balance);
  }

  /** The backend with this id, if the pool has one. */
  backendById(id: string): Backend | undefined {
    return this.#byId.get(id);
  }

  /**
   * Picks a backend for a new connection, skipping those out of rotation and
   * those in `exclude` (already tried for this request). A backend the
   * request is bound to (`preferredBackendIds`) is taken while it is usable,
   * as HAProxy does with a server cookie; otherwise the strategy chooses.
   * Undefined when none is left.
   */
  selectBackend(context: PoolSelection, exclude: ReadonlySet<Backend> = NOTHING_EXCLUDED): Backend | undefined {
    for (const id of context.preferredBackendIds ?? NO_PREFERENCE) {
      const bound = this.#byId.get(id);
      if (bound !== undefined && bound.healthy && !bound.draining && !exclude.has(bound)) return bound;
    }
    // Fast path: the common case builds no array.
    let allUsable = exclude.size === 0;
    if (allUsable) {
      for (const backend of this.backends) {
        if (!backend.healthy || backend.draining) {
          allUsable = false;
          break;
        }
      }
    }
    if (allUsable) return this.strategy.select(this.backends, context);
    const candidates = this.backends.filter((b) => b.healthy && !b.draining && !exclude.has(b));
    return candidates.length === 0 ? undefined : this.strategy.select(candidates, context);
  }
}
