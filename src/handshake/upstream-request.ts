import type { UpgradeRequest } from './clean-upgrade-head.js';
import type { Forwarding } from './forwarded.js';

/**
 * Connection-specific headers (RFC 9110 7.6.1) never pass a proxy; the upgrade
 * pair is written again by us. Forwarding headers are written again from the
 * `Forwarding` decision (kept and extended only from trusted peers).
 */
const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
  'x-request-id',
]);

/** Header names that the Connection header marks as hop-by-hop (RFC 9110 7.6.1). */
function connectionOptions(connection: string | undefined): Set<string> | undefined {
  if (connection === undefined) return undefined;
  let named: Set<string> | undefined;
  for (const part of connection.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '' && name !== 'upgrade' && name !== 'close' && name !== 'keep-alive') (named ??= new Set()).add(name);
  }
  return named;
}

/**
 * The request head sent to the backend for an upgrade: the client's request
 * line and headers in their original order and spelling (subprotocols,
 * extensions, cookies and Origin intact), minus hop-by-hop headers, plus the
 * upgrade pair and X-Forwarded-*. Built as one string so it goes out in one write.
 */
export function buildUpgradeRequestHead(req: UpgradeRequest, forwarded: Forwarding, target?: string): string {
  const extraDropped = connectionOptions(req.headers.connection);
  const raw = req.rawHeaders;
  // `target`: the path a route rewrote (issue 4); otherwise the client's target as sent.
  let head = `${req.method ?? 'GET'} ${target ?? req.url ?? '/'} HTTP/1.1\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (DROPPED.has(lower) || extraDropped?.has(lower) || (lower === 'x-real-ip' && !forwarded.trusted)) continue;
    head += `${name}: ${raw[i + 1] as string}\r\n`;
  }
  head += 'Connection: Upgrade\r\nUpgrade: websocket\r\n';
  head += `X-Forwarded-For: ${forwarded.xForwardedFor}\r\nX-Forwarded-Proto: ${forwarded.xForwardedProto}\r\n`;
  if (forwarded.xForwardedHost !== undefined) head += `X-Forwarded-Host: ${forwarded.xForwardedHost}\r\n`;
  head += `Forwarded: ${forwarded.forwarded}\r\nX-Request-Id: ${forwarded.requestId}\r\n`;
  return `${head}\r\n`;
}

/** The same forwarding headers for http-proxy's outgoing request (set, never appended). */
export function forwardedHeaders(forwarded: Forwarding): Record<string, string> {
  const headers: Record<string, string> = {
    'x-forwarded-for': forwarded.xForwardedFor,
    'x-forwarded-proto': forwarded.xForwardedProto,
    forwarded: forwarded.forwarded,
    'x-request-id': forwarded.requestId,
  };
  if (forwarded.xForwardedHost !== undefined) headers['x-forwarded-host'] = forwarded.xForwardedHost;
  return headers;
}
