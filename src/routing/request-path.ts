/**
 * The path part of a request target, without the query. Handles origin-form
 * ("/a/b?x") and absolute-form ("http://host/a/b", RFC 9112 3.2.2), which a
 * client may send to a proxy. Returns undefined for anything else.
 */
export function requestPath(target: string): string | undefined {
  const queryStart = target.indexOf('?');
  const beforeQuery = queryStart === -1 ? target : target.slice(0, queryStart);
  if (beforeQuery.charCodeAt(0) === 0x2f /* "/" */) return beforeQuery;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(beforeQuery)) return undefined;
  try {
    return new URL(beforeQuery).pathname;
  } catch {
    return undefined;
  }
}
