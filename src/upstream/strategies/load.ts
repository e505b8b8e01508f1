import type { Backend } from '../backend.js';

/**
 * The weight a strategy should use. `weight` is mutable at runtime (operators
 * may change it), so a bad value degrades to 1 instead of poisoning comparisons
 * with NaN or dividing by zero.
 */
export function weightOf(backend: Backend): number {
  const weight = backend.weight;
  return weight > 0 && Number.isFinite(weight) ? weight : 1;
}

/**
 * Compares activeTunnels / weight of two backends without dividing
 * (cross-multiplied, so integer loads compare exactly).
 * Negative when `a` is less loaded, positive when `b` is, 0 when equal.
 */
export function compareLoad(a: Backend, b: Backend): number {
  return a.activeTunnels * weightOf(b) - b.activeTunnels * weightOf(a);
}
