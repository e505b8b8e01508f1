import { connect as netConnect, isIP, type Socket, type TcpNetConnectOpts } from 'node:net';
import { connect as tlsConnect, TLSSocket, type ConnectionOptions } from 'node:tls';
import type { BackendAddress } from './backend.js';

/** The gateway's TLS settings for wss:// and https:// backends. */
export interface BackendTls {
  readonly rejectUnauthorized: boolean;
  /** Trusted CAs instead of Node's bundled roots. */
  readonly ca?: Buffer | undefined;
}

export interface DialOptions {
  /** Disable Nagle's algorithm. */
  readonly noDelay?: boolean;
  /** Keep the writable side open after the backend's FIN (the tunnel relays half-closes). */
  readonly allowHalfOpen?: boolean;
  /** TCP keep-alive: first probe after this much idle time; 0 or absent for none. */
  readonly keepAliveMs?: number;
  /** false: plain TCP even to a TLS backend (a layer-4 health check). */
  readonly useTls?: boolean;
}

/**
 * Opens a connection to a backend: the tunnel's upgrade attempt and the health
 * checks dial the same way. TLS when the backend is a TLS one (unless
 * `useTls` is false), verified against `tls`. SNI carries the backend's host
 * name, never an IP literal (RFC 6066 section 3); the certificate is checked
 * against the host either way. Keep-alive is a connect option, so Node sets it
 * once a plain connection is up, without a call per connection.
 *
 * Node 20's tls.connect() does not apply the `noDelay` and `keepAlive`
 * options (TLSSocket builds its net.Socket without them), so a TLS socket
 * gets them by call instead, applied once the connection is up (strace shows
 * TCP_NODELAY and SO_KEEPALIVE set on the connected socket).
 *
 * Listen for readyEvent(socket) to know when to write.
 */
export function dialBackend(backend: BackendAddress, tls: BackendTls, options: DialOptions = {}): Socket {
  const keepAliveMs = options.keepAliveMs ?? 0;
  const noDelay = options.noDelay === true;
  const allowHalfOpen = options.allowHalfOpen === true;
  if (!backend.tls || options.useTls === false) {
    return netConnect({ host: backend.host, port: backend.port, noDelay, allowHalfOpen, keepAlive: keepAliveMs > 0, keepAliveInitialDelay: keepAliveMs });
  }
  // Typed as both so that allowHalfOpen type-checks (tls.connect passes it on to its net.Socket).
  const tlsOptions: ConnectionOptions & TcpNetConnectOpts = {
    host: backend.host,
    port: backend.port,
    allowHalfOpen,
    servername: isIP(backend.host) === 0 ? backend.host : undefined,
    rejectUnauthorized: tls.rejectUnauthorized,
    ca: tls.ca,
  };
  const socket = tlsConnect(tlsOptions);
  if (noDelay) socket.setNoDelay(true);
  if (keepAliveMs > 0) socket.setKeepAlive(true, keepAliveMs);
  return socket;
}

/**
 * The event after which a socket from dialBackend() is ready for the request:
 * `secureConnect` once the TLS handshake is done, else `connect`.
 */
export function readyEvent(socket: Socket): 'secureConnect' | 'connect' {
  return socket instanceof TLSSocket ? 'secureConnect' : 'connect';
}
