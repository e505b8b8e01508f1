/**
 * Replaces the matched prefix (or exact path) of a normalised path with
 * `replacement`, keeping exactly one "/" at the seam: with prefix "/chat",
 * "/chat/x" becomes "/x" for replacement "/" (strip) and "/v2/x" for "/v2";
 * "/chat" becomes "/" and "/v2". nginx does the same for
 * `location /chat/ { proxy_pass http://b/v2/; }`.
 */
export function rewritePrefix(path: string, prefix: string, replacement: string): string {
  const rest = path.slice(prefix.length);
  if (rest === '') return replacement;
  const restHasSlash = rest.startsWith('/');
  if (replacement.endsWith('/')) return restHasSlash ? replacement + rest.slice(1) : replacement + rest;
  return restHasSlash ? replacement + rest : `${replacement}/${rest}`;
}
