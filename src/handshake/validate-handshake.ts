import type { IncomingHttpHeaders } from 'node:http';
import type { FailureCode } from '../errors.js';
import { headerHasToken } from '../http/header-token.js';

/** The parts of a request the handshake rules look at (RFC 6455 section 4.2.1). */
export interface HandshakeRequest {
  readonly method?: string | undefined;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  readonly headers: IncomingHttpHeaders;
}

export type HandshakeVerdict = { readonly ok: true } | { readonly ok: false; readonly code: FailureCode };

// 16 random bytes in base64 are always 22 characters plus "==" (RFC 6455 4.1, item 7).
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

/** True when the request asks for a WebSocket, whether or not the rest of it is valid. */
export function isWebSocketRequest(headers: IncomingHttpHeaders): boolean {
  return headerHasToken(headers.upgrade, 'websocket');
}

/**
 * Checks a client's opening handshake field by field, in the order of RFC 6455
 * section 4.2.1, so the first problem found is the one reported. Runs before
 * any backend is touched.
 */
export function validateHandshake(request: HandshakeRequest): HandshakeVerdict {
  const { headers } = request;
  if (request.method !== 'GET') return { ok: false, code: 'ERR_HANDSHAKE_METHOD' };
  if (request.httpVersionMajor < 1 || (request.httpVersionMajor === 1 && request.httpVersionMinor < 1)) {
    return { ok: false, code: 'ERR_HANDSHAKE_HTTP_VERSION' };
  }
  if (!headerHasToken(headers.upgrade, 'websocket')) return { ok: false, code: 'ERR_HANDSHAKE_UPGRADE' };
  if (!headerHasToken(headers.connection, 'upgrade')) return { ok: false, code: 'ERR_HANDSHAKE_CONNECTION' };
  const key = headers['sec-websocket-key'];
  if (typeof key !== 'string' || !WEBSOCKET_KEY.test(key)) return { ok: false, code: 'ERR_HANDSHAKE_KEY' };
  const version = headers['sec-websocket-version'];
  if (version === undefined) return { ok: false, code: 'ERR_HANDSHAKE_WS_VERSION_MISSING' };
  // A repeated header arrives joined ("13, 13") and is not 13 either (RFC 6455 4.2.2 item 4 asks for 426).
  if (version !== '13') return { ok: false, code: 'ERR_HANDSHAKE_WS_VERSION' };
  return { ok: true };
}
