import type { PathMatch } from '../config/match-schema.js';

/** A prefix matches at a "/" boundary: "/chat" matches "/chat" and "/chat/x", never "/chatroom". */
export function prefixMatches(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || prefix.endsWith('/') || path.charCodeAt(prefix.length) === 0x2f;
}

/** A compiled path condition; `prefix` and `exact` are kept for ordering and rewrites. */
export interface PathMatcher {
  readonly kind: 'prefix' | 'exact' | 'regex';
  /** The prefix or exact path as written; the source for a regex. */
  readonly text: string;
  test(path: string): boolean;
}

/**
 * "/chat" and { prefix } match at a "/" boundary; { exact } only that path;
 * { regex } anywhere in the path unless anchored (JavaScript syntax, like
 * nginx's "location ~"). All of them see the normalised path.
 */
export function compilePathMatcher(config: PathMatch): PathMatcher {
  if (typeof config === 'string' || config.prefix !== undefined) {
    const prefix = typeof config === 'string' ? config : (config.prefix as string);
    return { kind: 'prefix', text: prefix, test: (path) => prefixMatches(prefix, path) };
  }
  if (config.exact !== undefined) {
    const exact = config.exact;
    return { kind: 'exact', text: exact, test: (path) => path === exact };
  }
  const source = config.regex as string;
  const regex = new RegExp(source, config.ignoreCase === true ? 'i' : '');
  return { kind: 'regex', text: source, test: (path) => regex.test(path) };
}
