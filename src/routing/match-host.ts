/**
 * Host conditions, compared with the request's host (request-facts.ts: lower
 * case, no port, no trailing dot). "*.example.com" matches any name below
 * example.com at any depth ("a.example.com", "a.b.example.com") but not
 * "example.com" itself, as nginx's server_name and Envoy's domains do.
 */
export function compileHostMatcher(pattern: string): (host: string | undefined) => boolean {
  let wanted = pattern.toLowerCase();
  if (wanted.endsWith('.')) wanted = wanted.slice(0, -1);
  if (wanted.startsWith('*.')) {
    const suffix = wanted.slice(1);
    return (host) => host !== undefined && host.length > suffix.length && host.endsWith(suffix);
  }
  return (host) => host === wanted;
}
