import type { Backend, BalancingStrategy, SelectionContext } from '../backend.js';
import { weightOf } from './load.js';

/**
 * Smooth weighted round-robin (nginx's algorithm): every pick adds each
 * candidate's weight to its current weight, takes the largest, and subtracts
 * the candidates' total from the winner. Weights 5:1:1 give a,a,b,a,c,a,a
 * rather than bursts; equal weights give a strict rotation.
 *
 * Current weights live in a WeakMap keyed by backend object, so a candidate
 * list that shrinks (retries, ejection) or grows (recovery) needs no reset: a
 * backend that sits out a pick keeps its value, as in nginx, and one dropped
 * from the config is garbage-collected with its entry.
 */
export class RoundRobinStrategy implements BalancingStrategy {
  readonly name = 'round-robin';
  readonly #currentWeight = new WeakMap<Backend, number>();

  select(candidates: readonly Backend[], _context?: SelectionContext): Backend | undefined {
    if (candidates.length <= 1) return candidates[0];
    let total = 0;
    let best: Backend | undefined;
    let bestCurrent = -Infinity;
    for (const backend of candidates) {
      const weight = weightOf(backend);
      const current = (this.#currentWeight.get(backend) ?? 0) + weight;
      this.#currentWeight.set(backend, current);
      total += weight;
      // Strictly greater: the first of equal maxima wins, which is what makes
      // equal weights rotate in list order.
      if (current > bestCurrent) {
        bestCurrent = current;
        best = backend;
      }
    }
    if (best !== undefined) this.#currentWeight.set(best, bestCurrent - total);
    return best;
  }
}
