import type { Backend, BalancingStrategy, SelectionContext } from '../backend.js';
import { compareLoad } from './load.js';

/** Returns a number in [0, 1), like Math.random. */
export type RandomSource = () => number;

/**
 * Power of two choices: sample two distinct candidates uniformly and take the
 * one with fewer activeTunnels per unit of weight (the first sampled on a tie).
 * Nearly as even as least-conn, but without herding: gateway processes that
 * each see only their own counters do not all rush the same "least" backend.
 *
 * Sampling, so tests can replay it: first = floor(r1 * n), and
 * second = floor(r2 * (n - 1)), shifted up by one when >= first.
 */
export class RandomStrategy implements BalancingStrategy {
  readonly name = 'random';
  readonly #random: RandomSource;

  constructor(random: RandomSource = Math.random) {
    this.#random = random;
  }

  select(candidates: readonly Backend[], _context?: SelectionContext): Backend | undefined {
    const count = candidates.length;
    if (count <= 1) return candidates[0];
    const firstIndex = this.#index(count);
    let secondIndex = this.#index(count - 1);
    if (secondIndex >= firstIndex) secondIndex += 1;
    const first = candidates[firstIndex];
    const second = candidates[secondIndex];
    if (first === undefined || second === undefined) return first ?? second;
    return compareLoad(second, first) < 0 ? second : first;
  }

  /** An index in [0, count); clamped so a source returning 1 cannot overflow. */
  #index(count: number): number {
    const index = Math.floor(this.#random() * count);
    return index < count ? (index > 0 ? index : 0) : count - 1;
  }
}
