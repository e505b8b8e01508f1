import type { BalancingStrategy } from '../backend.js';
import { HashStrategy } from './hash.js';
import { LeastConnStrategy } from './least-conn.js';
import { RandomStrategy, type RandomSource } from './random.js';
import { RoundRobinStrategy } from './round-robin.js';

export { HashStrategy } from './hash.js';
export { LeastConnStrategy } from './least-conn.js';
export { RandomStrategy, type RandomSource } from './random.js';
export { RoundRobinStrategy } from './round-robin.js';

/** The strategies by name, listed once: the config schema, the flags and `wsgate check` take them from here. */
export const BALANCE_NAMES = ['round-robin', 'least-conn', 'random', 'hash'] as const;

export type BalanceName = (typeof BALANCE_NAMES)[number];

export interface StrategyOptions {
  /** Random source for 'random' (defaults to Math.random); tests inject a seeded one. */
  readonly random?: RandomSource;
}

/** A fresh strategy with its own state; use one per route so routes do not share rotation. */
export function createStrategy(name: BalanceName, options: StrategyOptions = {}): BalancingStrategy {
  switch (name) {
    case 'round-robin':
      return new RoundRobinStrategy();
    case 'least-conn':
      return new LeastConnStrategy();
    case 'random':
      return new RandomStrategy(options.random);
    case 'hash':
      return new HashStrategy();
    default: {
      // Reached only from untyped input (a config cast past validation).
      const unknown: never = name;
      throw new RangeError(`unknown balancing strategy: ${String(unknown)}`);
    }
  }
}
