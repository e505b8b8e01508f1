/**
 * Reads a request's Cookie header (RFC 6265 5.4: "name=value" pairs joined by
 * "; "; Node joins repeated Cookie headers the same way). The first pair with a
 * name wins, as in most servers: RFC 6265 5.4 puts cookies with longer paths
 * first, so the first is the most specific. A value in double quotes is read
 * without them (RFC 6265 4.1.1 cookie-value). Nothing is percent-decoded:
 * RFC 6265 gives values no encoding, and wsgate only compares them.
 */
export function parseCookies(header: string | undefined): ReadonlyMap<string, string> {
  const cookies = new Map<string, string>();
  if (header === undefined || header === '') return cookies;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    // A pair without "=" is not a cookie (RFC 6265 5.2 step 2 drops it on the client side too).
    if (eq === -1) continue;
    const name = pair.slice(0, eq).trim();
    if (name === '' || cookies.has(name)) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    cookies.set(name, value);
  }
  return cookies;
}
