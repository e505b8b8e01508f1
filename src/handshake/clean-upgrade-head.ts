import type { IncomingHttpHeaders } from 'node:http';
import { headerHasToken } from '../http/header-token.js';

/**
 * The request head an upgrade is handled from: what the handshake rules,
 * routing, forwarding and the upstream request read. Node's IncomingMessage
 * has this shape; so does what parseCleanUpgradeHead() returns.
 */
export interface UpgradeRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** Lower-case names; one entry per name, as Node joins them. */
  readonly headers: IncomingHttpHeaders;
  /** Names as sent and values, alternating, in the order sent. */
  readonly rawHeaders: readonly string[];
}

export interface CleanUpgradeHead extends UpgradeRequest {
  /** Bytes of the head including its final empty line; what follows belongs to the tunnel. */
  readonly headLength: number;
}

// Why a parser of our own: Node's HTTP server builds a parser, an
// IncomingMessage, a headers object and their listeners for every connection,
// and hands the socket over only after all that; a WebSocket handshake is one
// small, well-formed head. This parser takes only that case, and only when
// every byte is unambiguous. It never says "bad request": anything it does not
// take (a partial head, a body, obs-fold, bare CR or LF, obs-text, duplicate
// or framing headers, odd spacing, a long head) goes to Node's
// llhttp unchanged, so what clients see for anything unusual is exactly what
// Node decides. What it takes, llhttp would read the same way: the unit tests
// check that against llhttp itself on generated and mutated heads.

/** `GET origin-form HTTP/1.1`: RFC 9112 3; the target limited to RFC 3986 pchar, "/", "?" and "%". */
const REQUEST_LINE = /^GET (\/[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*) HTTP\/1\.1$/;
/** field-name ":" OWS field-value OWS (RFC 9112 5); tchar names, visible ASCII, SP and HTAB in values. */
const FIELD_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?[ \t]*$/;
/** Anything but visible ASCII, SP, HTAB, CR and LF sends the head to llhttp. */
const UNUSUAL_BYTE = /[^\x20-\x7e\t\r\n]/;
/** More fields than a browser ever sends is not the common case either. */
const MAX_FIELDS = 64;
/**
 * Node and llhttp treat these specially (framing, arrays, the prototype, and
 * Proxy-Connection, which llhttp reads like Connection); their heads go to llhttp.
 */
const LEFT_TO_LLHTTP = new Set(['content-length', 'transfer-encoding', 'proxy-connection', 'set-cookie', '__proto__']);
/**
 * llhttp finds "upgrade" in Connection with a byte matcher of its own that
 * skips spaces but not tabs ("Upgrade\t" is no upgrade to it): a Connection
 * line with a tab goes to llhttp.
 */
const TAB = '\t';

const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');

/**
 * The upgrade request at the start of `chunk`, when it is complete and clean;
 * undefined means "hand the bytes to Node's HTTP server". `maxHeadLength`:
 * heads this long or longer are left to the server (its 431 is the answer).
 */
export function parseCleanUpgradeHead(chunk: Buffer, maxHeadLength: number): CleanUpgradeHead | undefined {
  const end = chunk.indexOf(CRLF_CRLF);
  if (end < 0 || end + 4 >= maxHeadLength) return undefined;
  const text = chunk.toString('latin1', 0, end);
  if (UNUSUAL_BYTE.test(text)) return undefined;
  const lines = text.split('\r\n');
  if (lines.length - 1 > MAX_FIELDS) return undefined;
  const requestLine = REQUEST_LINE.exec(lines[0] as string);
  if (requestLine === null) return undefined;
  const headers: IncomingHttpHeaders = Object.create(null) as IncomingHttpHeaders;
  const rawHeaders: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    // A lone CR or LF inside a line (a bare line ending), or a folded line.
    if (line.includes('\r') || line.includes('\n')) return undefined;
    const field = FIELD_LINE.exec(line);
    if (field === null) return undefined;
    const name = field[1] as string;
    const value = field[2] ?? '';
    const lower = name.toLowerCase();
    if (LEFT_TO_LLHTTP.has(lower) || headers[lower] !== undefined) return undefined;
    if (lower === 'connection' && line.includes(TAB)) return undefined;
    headers[lower] = value;
    rawHeaders.push(name, value);
  }
  // What llhttp calls an upgrade: an Upgrade field and "upgrade" among the Connection options
  // (RFC 9110 7.8). Anything else is a plain request, for the HTTP server.
  if (headers.upgrade === undefined || !headerHasToken(headers.connection, 'upgrade')) return undefined;
  return {
    method: 'GET',
    url: requestLine[1] as string,
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    headers,
    rawHeaders,
    headLength: end + 4,
  };
}
