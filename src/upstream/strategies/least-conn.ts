import type { Backend, BalancingStrategy, SelectionContext } from '../backend.js';
import { compareLoad } from './load.js';

/**
 * Least connections: the candidate with the fewest activeTunnels per unit of
 * weight. Ties go to the tied backend this strategy picked least recently, so
 * an idle pool (all at 0) rotates instead of piling every new tunnel onto the
 * first backend before its counter has moved. Recency is a pick sequence number
 * in a WeakMap, which survives candidate lists that change between calls
 * (an index cursor would not).
 */
export class LeastConnStrategy implements BalancingStrategy {
  readonly name = 'least-conn';
  readonly #lastPicked = new WeakMap<Backend, number>();
  #picks = 0;

  select(candidates: readonly Backend[], _context?: SelectionContext): Backend | undefined {
    if (candidates.length <= 1) return candidates[0];
    let best: Backend | undefined;
    let bestLastPicked = 0;
    for (const backend of candidates) {
      // 0 = never picked, so a newly added backend wins ties.
      const lastPicked = this.#lastPicked.get(backend) ?? 0;
      if (best === undefined) {
        best = backend;
        bestLastPicked = lastPicked;
        continue;
      }
      const order = compareLoad(backend, best);
      if (order < 0 || (order === 0 && lastPicked < bestLastPicked)) {
        best = backend;
        bestLastPicked = lastPicked;
      }
    }
    if (best !== undefined) this.#lastPicked.set(best, ++this.#picks);
    return best;
  }
}
