import type { ValueMatch } from '../config/match-schema.js';

/**
 * A header, cookie or query condition: `true` present, `false` absent, a
 * string equal (case-sensitive, as HAProxy's `-m str`), `{ regex }` matching
 * (unanchored unless written with ^ and $).
 */
export function compileValueMatcher(condition: ValueMatch): (value: string | undefined) => boolean {
  if (condition === true) return (value) => value !== undefined;
  if (condition === false) return (value) => value === undefined;
  if (typeof condition === 'string') return (value) => value === condition;
  // No "g" or "y" flag, so test() keeps no state between requests.
  const regex = new RegExp(condition.regex, condition.ignoreCase === true ? 'i' : '');
  return (value) => value !== undefined && regex.test(value);
}

/** The condition as the --route flag writes it after the name: "", "=acme", "~re", "~*re", or "!" before the name. */
export function describeValueMatch(name: string, condition: ValueMatch): string {
  if (condition === true) return name;
  if (condition === false) return `!${name}`;
  if (typeof condition === 'string') return `${name}=${condition}`;
  return `${name}${condition.ignoreCase === true ? '~*' : '~'}${condition.regex}`;
}
