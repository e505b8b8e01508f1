/**
 * Parses the head of a backend's HTTP/1.1 response (RFC 9112 section 4 and 5):
 * the answer to an upgrade attempt and to an http or websocket health check.
 * Pure: it re-reads the buffer from the start each call, which is cheap
 * because heads are small and usually arrive in one chunk.
 */
import { headerHasToken } from './header-token.js';

/** Larger heads are refused, as Node's own parser does past 16 KiB. */
export const MAX_RESPONSE_HEAD = 16 * 1024;

export interface ResponseHead {
  readonly statusCode: number;
  /** Status line without CRLF, relayed as the backend wrote it. */
  readonly statusLine: string;
  /** [name, value] pairs in order, names as written. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Bytes of the head including the blank line; the body (or tunnel data) starts here. */
  readonly headLength: number;
  readonly contentLength: number | undefined;
  readonly chunked: boolean;
}

export type ResponseHeadResult =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'done'; readonly head: ResponseHead }
  | { readonly kind: 'error'; readonly reason: string };

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function parseResponseHead(buffer: Buffer): ResponseHeadResult {
  const end = buffer.indexOf('\r\n\r\n', 0, 'latin1');
  if (end === -1) {
    return buffer.length >= MAX_RESPONSE_HEAD
      ? { kind: 'error', reason: 'response head too large' }
      : { kind: 'need-more' };
  }
  if (end + 4 > MAX_RESPONSE_HEAD) return { kind: 'error', reason: 'response head too large' };
  const lines = buffer.toString('latin1', 0, end).split('\r\n');
  const statusLine = lines[0] ?? '';
  const status = STATUS_LINE.exec(statusLine);
  if (!status) return { kind: 'error', reason: 'invalid status line' };
  const headers: Array<readonly [string, string]> = [];
  let contentLength: number | undefined;
  let chunked = false;
  let transferEncoding = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    // No obs-fold, no bare LF, no whitespace before the colon (RFC 9112 5.1, 5.2).
    if (!HEADER_NAME.test(name) || line.includes('\n')) return { kind: 'error', reason: 'invalid header line' };
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (contentLength !== undefined && contentLength !== Number(value))) {
        return { kind: 'error', reason: 'invalid Content-Length' };
      }
      contentLength = Number(value);
    } else if (lower === 'transfer-encoding') {
      // Several Transfer-Encoding lines form one list (RFC 9110 5.3); any of them may say chunked.
      transferEncoding = true;
      chunked ||= headerHasToken(value, 'chunked');
    }
    headers.push([name, value]);
  }
  // RFC 9112 6.3: Transfer-Encoding overrides Content-Length; a sender must not send both.
  if (transferEncoding && contentLength !== undefined) return { kind: 'error', reason: 'both Content-Length and Transfer-Encoding' };
  return {
    kind: 'done',
    head: { statusCode: Number(status[1]), statusLine, headers, headLength: end + 4, contentLength, chunked },
  };
}
