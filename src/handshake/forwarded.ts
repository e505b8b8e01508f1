import { randomUUID } from 'node:crypto';
import type { ConnectionContext } from '../listener/connection-context.js';
import type { TrustedProxies } from '../listener/trusted-proxies.js';
import type { UpgradeRequest } from './clean-upgrade-head.js';

/**
 * What the backend is told about the original request, and who the client
 * really is. Forwarding headers (X-Forwarded-*, Forwarded, X-Real-IP) are
 * believed only from a trusted peer: from any other they are replaced, never
 * appended to, so a client cannot choose the address a backend sees.
 */
export interface Forwarding {
  /** The real client: what logs, hashing and per-client limits use. */
  readonly clientAddress: string;
  readonly xForwardedFor: string;
  readonly xForwardedProto: string;
  readonly xForwardedHost: string | undefined;
  /** RFC 7239 Forwarded, with this hop's element appended. */
  readonly forwarded: string;
  /** Client-sent headers were believed (kept and extended) rather than replaced. */
  readonly trusted: boolean;
  /**
   * X-Request-Id: a trusted proxy's, else one of our own. It goes to the
   * backend, into every log line and event about the request, and into
   * wsgate's own error responses.
   */
  readonly requestId: string;
}

/** A request id from a trusted proxy is kept when it is plain printable ASCII of sane length. */
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

function firstValue(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const first = text.split(',')[0]?.trim();
  return first === '' ? undefined : first;
}

function joined(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text === undefined || text.trim() === '' ? undefined : text;
}

/** RFC 7239 6: an IPv6 node is bracketed and the value quoted. */
function forwardedNode(address: string): string {
  return address.includes(':') ? `"[${address}]"` : address;
}

/** The rightmost address in a forwarding chain that is not a trusted proxy (nginx's real_ip_recursive). */
function realClient(chain: readonly string[], trusted: TrustedProxies): string {
  for (let i = chain.length - 1; i >= 0; i--) {
    const address = chain[i] as string;
    if (!trusted.has(address)) return address;
  }
  return chain[0] ?? '';
}

/** `secure`: the client's own connection to us is TLS. */
export function decideForwarding(req: Pick<UpgradeRequest, 'headers'>, context: ConnectionContext, trusted: TrustedProxies, secure: boolean): Forwarding {
  // The HTTP peer is the PROXY header's client when one was believed, else the TCP peer.
  const peer = context.clientAddress;
  const believed = trusted.has(peer);
  const scheme = secure ? 'https' : 'http';
  const host = req.headers.host;
  if (!believed) {
    return {
      clientAddress: peer,
      xForwardedFor: peer,
      xForwardedProto: scheme,
      xForwardedHost: host,
      forwarded: `for=${forwardedNode(peer)};proto=${scheme}${host !== undefined ? `;host="${host}"` : ''}`,
      trusted: false,
      // randomUUID draws from a cached pool of random bytes: about 0.1 µs.
      requestId: randomUUID(),
    };
  }
  const priorFor = joined(req.headers['x-forwarded-for']);
  const chain = priorFor === undefined ? [peer] : [...priorFor.split(',').map((part) => part.trim()), peer];
  const priorForwarded = joined(req.headers.forwarded);
  const element = `for=${forwardedNode(peer)};proto=${scheme}${host !== undefined ? `;host="${host}"` : ''}`;
  return {
    clientAddress: realClient(chain, trusted),
    xForwardedFor: chain.join(', '),
    xForwardedProto: firstValue(req.headers['x-forwarded-proto']) ?? scheme,
    xForwardedHost: firstValue(req.headers['x-forwarded-host']) ?? host,
    forwarded: priorForwarded === undefined ? element : `${priorForwarded}, ${element}`,
    trusted: true,
    requestId: trustedRequestId(req.headers['x-request-id']) ?? randomUUID(),
  };
}

function trustedRequestId(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text !== undefined && REQUEST_ID.test(text) ? text : undefined;
}
