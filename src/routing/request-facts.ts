import type { IncomingHttpHeaders } from 'node:http';
import { normalizePath } from './normalize-path.js';
import { parseCookies } from './parse-cookies.js';
import { requestPath } from './request-path.js';

/**
 * What routing may look at in one request, read once: the normalised path,
 * the host, headers, and (parsed only when a route asks) cookies and query.
 */
export class RequestFacts {
  #cookies: ReadonlyMap<string, string> | undefined;
  #query: URLSearchParams | undefined;

  constructor(
    /** Percent-decoded, dot segments removed (normalize-path.ts). */
    readonly path: string,
    /** Lower case, without port or trailing dot; IPv6 literals keep their brackets. */
    readonly host: string | undefined,
    /** Node's header object: names in lower case, repeated headers joined. */
    readonly headers: IncomingHttpHeaders,
    /** The query string without "?", as the client sent it. */
    readonly search: string,
  ) {}

  /** A header's value, repeated lines joined with ", " (RFC 9110 5.3). */
  header(lowerCaseName: string): string | undefined {
    const value = this.headers[lowerCaseName];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  cookie(name: string): string | undefined {
    this.#cookies ??= parseCookies(this.header('cookie'));
    return this.#cookies.get(name);
  }

  /** The first value of a query parameter, decoded as a form (application/x-www-form-urlencoded). */
  queryParam(name: string): string | undefined {
    this.#query ??= new URLSearchParams(this.search);
    return this.#query.get(name) ?? undefined;
  }

  /** Facts with only a path, for code (and tests) that route by path alone. */
  static forPath(path: string): RequestFacts {
    return new RequestFacts(path, undefined, {}, '');
  }
}

export type ReadFactsResult =
  | { readonly ok: true; readonly facts: RequestFacts }
  /** `not-a-path`: "*" or authority-form, which no route serves; `bad-path`: a path that cannot be decoded. */
  | { readonly ok: false; readonly problem: 'not-a-path' | 'bad-path'; readonly reason: string };

/**
 * Reads the facts of a request from its target and headers. The host is the
 * authority of an absolute-form target if there is one, else the Host header
 * (RFC 9112 3.2.2: a server must then ignore Host).
 */
export function readRequestFacts(target: string, headers: IncomingHttpHeaders): ReadFactsResult {
  const rawPath = requestPath(target);
  if (rawPath === undefined) return { ok: false, problem: 'not-a-path', reason: 'not an origin-form or absolute-form target' };
  const normalized = normalizePath(rawPath);
  if (!normalized.ok) return { ok: false, problem: 'bad-path', reason: normalized.reason };
  const queryAt = target.indexOf('?');
  const search = queryAt === -1 ? '' : target.slice(queryAt + 1);
  const authority = target.startsWith('/') ? headers.host : absoluteAuthority(target);
  return { ok: true, facts: new RequestFacts(normalized.path, hostName(authority), headers, search) };
}

function absoluteAuthority(target: string): string | undefined {
  try {
    return new URL(target).host;
  } catch {
    return undefined;
  }
}

/** "Chat.Example.com.:8080" -> "chat.example.com"; "[::1]:80" -> "[::1]". */
export function hostName(authority: string | undefined): string | undefined {
  if (authority === undefined || authority === '') return undefined;
  let host = authority.trim().toLowerCase();
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return close === -1 ? undefined : host.slice(0, close + 1);
  }
  const colon = host.indexOf(':');
  if (colon !== -1) host = host.slice(0, colon);
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host === '' ? undefined : host;
}
