/**
 * The form of a request path that routes are matched against: percent-decoded
 * once, runs of "/" merged, and dot segments removed (RFC 3986 5.2.4). Matching
 * the raw path would let "/chat/../admin" or "/chat%2f..%2fadmin" pass a
 * "/chat" route and reach whatever "/admin" means on that backend; nginx
 * matches its locations against the same decoded, normalised form.
 */
export type NormalizedPath = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

/** Anything that decoding or normalising could change; most paths have none and are returned as they are. */
const NEEDS_WORK = /%|\/\/|\/\.\.?(?:\/|$)/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** `raw` is an origin-form path ("/a/b", no query), as `requestPath` returns it. */
export function normalizePath(raw: string): NormalizedPath {
  if (!NEEDS_WORK.test(raw)) return { ok: true, path: raw };
  let decoded = raw;
  if (raw.includes('%')) {
    if (BAD_ESCAPE.test(raw)) return { ok: false, reason: 'malformed percent-encoding' };
    try {
      // Once only: "%252e" stays "%2e", which is what the backend will see after its own single decode.
      decoded = decodeURIComponent(raw);
    } catch {
      return { ok: false, reason: 'percent-encoded bytes are not UTF-8' };
    }
    // A NUL cuts strings short in C code behind the backend; no legitimate path carries one.
    if (decoded.includes('\0')) return { ok: false, reason: 'NUL in the path' };
  }
  // Merged first, as nginx's merge_slashes: "/chat//../admin" is "/admin", not "/chat/admin".
  return { ok: true, path: removeDotSegments(decoded.replace(/\/{2,}/g, '/')) };
}

/**
 * RFC 3986 5.2.4 for an absolute path: "." segments vanish, ".." removes the
 * segment before it and never climbs above the root, and a path ending in "."
 * or ".." keeps its trailing "/" ("/a/b/.." is "/a/").
 */
export function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const output: string[] = [];
  const last = segments.length - 1;
  for (let i = 1; i <= last; i++) {
    const segment = segments[i] as string;
    if (segment === '.' || segment === '..') {
      if (segment === '..') output.pop();
      if (i === last) output.push('');
      continue;
    }
    output.push(segment);
  }
  return `/${output.join('/')}`;
}

/** Characters a path segment may carry unescaped (RFC 3986 3.3 pchar) plus "/". */
const PATH_SAFE = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/gu;

/**
 * Percent-encodes a decoded path for the request line sent to a backend after
 * a rewrite: what decoding turned into "%", "?", "#", spaces or non-ASCII goes
 * back to escapes (UTF-8), so the backend reads the path wsgate routed.
 */
export function encodePath(path: string): string {
  return path.replace(PATH_SAFE, (char) => encodeURIComponent(char));
}
