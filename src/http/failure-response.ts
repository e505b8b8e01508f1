import type { Duplex } from 'node:stream';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import { FAILURES, type FailureCode } from '../errors.js';

/**
 * The one writer of wsgate's failure responses, for every stage: a raw socket
 * (upgrade rejections, the listener's malformed heads) or a ServerResponse
 * (plain HTTP, the health endpoint). Every refusal is a real response with its
 * status, the sentence of errors.ts as the body and `X-Wsgate-Error: CODE`,
 * never a silent destroy.
 */

/**
 * Extra headers some failures must carry (RFC 6455 4.2.2: 426 names the versions we speak).
 * A 503 for a pool with nothing in rotation says when to try again (RFC 9110 10.2.3): the
 * shortest hint, since a check, a cool-off or an operator can bring a backend back at any moment.
 */
export function rejectionHeaders(code: FailureCode): Record<string, string> {
  if (code === 'ERR_HANDSHAKE_WS_VERSION') return { 'Sec-WebSocket-Version': '13' };
  // Every 503 is temporary: no backend in rotation, a limit, draining (the balancer sends the retry to
  // another instance once its health check sees the 503), or wsgate out of a local resource.
  if (FAILURES[code].status === 503) return { 'Retry-After': '1' };
  return {};
}

/**
 * A complete HTTP/1.1 failure response for a raw socket: the connection is
 * closed after it, so it says `Connection: close`.
 */
export function buildRejection(code: FailureCode, extraHeaders: Readonly<Record<string, string>> = {}): string {
  const { status, message } = FAILURES[code];
  const body = `${message}\n`;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Wsgate-Error: ${code}\r\n`;
  for (const [name, value] of Object.entries(extraHeaders)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n${body}`;
}

/**
 * Answers an upgrade request on its raw socket and closes it. The socket is
 * destroyed once the response is flushed (as ws's abortHandshake does), so a
 * client that never closes its side cannot hold the descriptor.
 */
export function rejectUpgrade(socket: Duplex, code: FailureCode, requestId?: string): void {
  if (socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  const headers = rejectionHeaders(code);
  // The id the logs carry, so that a client's report can be found (issue 12).
  if (requestId !== undefined) headers['X-Request-Id'] = requestId;
  socket.end(buildRejection(code, headers));
}

/**
 * Answers a request head that could not be read (400, 408 slow head, 431 too
 * large) the way Node's HTTP server does, without a body, and closes the socket
 * once the answer is flushed.
 */
export function rejectMalformedRequest(socket: Duplex, status: 400 | 408 | 431): void {
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export interface FailureAnswerOptions {
  /** Headers beyond the code's own (e.g. `connection: close`, `cache-control`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A body other than the code's sentence (the health endpoint answers `draining`). */
  readonly body?: string;
}

/**
 * The same failure through Node's HTTP server, for plain requests; a response
 * whose head already went out can only be cut off.
 */
export function answerFailure(res: ServerResponse, code: FailureCode, options: FailureAnswerOptions = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, message } = FAILURES[code];
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-wsgate-error': code, ...rejectionHeaders(code), ...options.headers });
  res.end(options.body ?? `${message}\n`);
}
