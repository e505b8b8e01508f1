/** A validated sticky cookie setting (config/affinity-schema.ts); a bare name arrives as { name }. */
export interface StickyCookieOptions {
  readonly name: string;
  readonly path?: string | undefined;
  readonly domain?: string | undefined;
  /** Seconds. */
  readonly maxAge?: number | undefined;
  readonly sameSite?: 'Strict' | 'Lax' | 'None' | undefined;
  readonly secure?: boolean | 'auto' | undefined;
}

/** A route's sticky cookie, compiled: its name and the Set-Cookie value for a backend. */
export interface StickyCookie {
  readonly name: string;
  /** The Set-Cookie header value naming `backendId`; `secureConnection` when the client came over TLS. */
  setCookie(backendId: string, secureConnection: boolean): string;
}

/**
 * The cookie's value is the backend's opaque id (configured, or derived from
 * its address by a hash that is the same in every gateway process: see
 * upstream/backend-id.ts), so any replica follows a cookie another set, and a
 * restart changes nothing. Attributes (RFC 6265 4.1.2): Path=/ so every route
 * of the site sends it back; HttpOnly because it is for wsgate, not scripts;
 * SameSite=Lax unless configured; Secure when configured, or in "auto" mode
 * (the default) when the client reached wsgate over TLS. No Max-Age by
 * default: a session cookie, as HAProxy's `cookie ... insert`.
 */
export function compileStickyCookie(setting: StickyCookieOptions): StickyCookie {
  let attributes = `; Path=${setting.path ?? '/'}`;
  if (setting.domain !== undefined) attributes += `; Domain=${setting.domain}`;
  if (setting.maxAge !== undefined) attributes += `; Max-Age=${setting.maxAge}`;
  const sameSite = setting.sameSite ?? 'Lax';
  attributes += `; HttpOnly; SameSite=${sameSite}`;
  // Browsers drop SameSite=None without Secure, so None always carries it.
  const secure = sameSite === 'None' ? true : (setting.secure ?? 'auto');
  const name = setting.name;
  return {
    name,
    setCookie(backendId, secureConnection) {
      const withSecure = secure === true || (secure === 'auto' && secureConnection);
      return `${name}=${backendId}${attributes}${withSecure ? '; Secure' : ''}`;
    },
  };
}

/**
 * A raw response head (as relayed for upgrades) with one more Set-Cookie
 * line, inserted before the blank line that ends the head; bytes after the
 * head (frames sent right behind a 101) are kept as they are.
 */
export function addSetCookieToHead(received: Buffer, headLength: number, setCookie: string): Buffer {
  const endOfHeaders = headLength - 2; // before the final CRLF
  return Buffer.concat([received.subarray(0, endOfHeaders), Buffer.from(`Set-Cookie: ${setCookie}\r\n`, 'latin1'), received.subarray(endOfHeaders)]);
}
