import type { BackendConfig } from '../config/schema.js';
import type { Backend, BalancingStrategy, SelectionContext } from './backend.js';
import { createBackend } from './backend-id.js';
import { createStrategy, type BalanceName } from './strategies/index.js';

const NOTHING_EXCLUDED: ReadonlySet<Backend> = new Set();

/** A route's backends and the strategy that chooses among them. */
export class BackendPool {
  readonly backends: readonly Backend[];
  readonly strategy: BalancingStrategy;

  constructor(configs: readonly BackendConfig[], balance: BalanceName) {
    this.backends = configs.map((config) =>
      createBackend({ host: config.host, port: config.port, tls: config.tls }, { id: config.id, weight: config.weight }),
    );
    this.strategy = createStrategy(balance);
  }

  /**
   * Picks a backend for a new connection, skipping those out of rotation and
   * those in `exclude` (already tried for this request). Undefined when none is left.
   */
  selectBackend(context: SelectionContext, exclude: ReadonlySet<Backend> = NOTHING_EXCLUDED): Backend | undefined {
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
