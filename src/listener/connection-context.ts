import type { Socket } from 'node:net';
import type { ProxyProtocolHeader } from './proxy-protocol/types.js';

/**
 * What the listener learned about a connection before any HTTP: who the
 * client really is (from a trusted PROXY header, else the TCP peer) and
 * whether the TCP peer is a trusted proxy.
 */
export interface ConnectionContext {
  /** The real client address: the PROXY header's source when one was believed, else the TCP peer. */
  readonly clientAddress: string;
  readonly clientPort: number | undefined;
  /** The TCP peer is in --trusted-proxies (a balancer), so its forwarding headers may be believed. */
  readonly peerTrusted: boolean;
  /** The AWS VPC endpoint id from a PROXY v2 TLV 0xEA (PrivateLink), if any. */
  readonly vpceId: string | undefined;
  readonly proxyHeader: ProxyProtocolHeader | undefined;
}

const contexts = new WeakMap<Socket, ConnectionContext>();

export function setConnectionContext(socket: Socket, context: ConnectionContext): void {
  contexts.set(socket, context);
}

export function connectionContext(socket: Socket): ConnectionContext | undefined {
  return contexts.get(socket);
}
