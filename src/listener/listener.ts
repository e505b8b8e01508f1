import type { Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { ConnectionRefusedEvent } from '../observability/events.js';
import { LogFlood } from '../observability/log-flood.js';
import type { Logger } from '../observability/logger.js';
import { connectionCapFor, readDescriptorLimit } from './descriptor-limit.js';
import { listenOn } from './listen.js';
import { setConnectionContext, type ConnectionContext } from './connection-context.js';
import { plainAddress } from './plain-address.js';
import type { ProxyProtocolHeader } from './proxy-protocol/types.js';
import { readProxyHeader } from './read-proxy-header.js';
import type { TrustedProxies } from './trusted-proxies.js';
import { earlierStageErrorHandler, OWNER } from './socket-stage.js';
import { parseCleanUpgradeHead, type CleanUpgradeHead } from '../handshake/clean-upgrade-head.js';
import { rejectMalformedRequest } from '../http/failure-response.js';

export interface ListenerSettings {
  /** Every connection must start with a PROXY protocol v1 or v2 header (a per-listener setting: never guessed). */
  readonly acceptProxyProtocol: boolean;
  readonly trustedProxies: TrustedProxies;
  readonly proxyProtocolTimeoutMs: number;
  /**
   * Connections beyond this many are closed at once (not accepted). Undefined:
   * derived from the descriptor limit (descriptor-limit.ts).
   */
  readonly maxConnections: number | undefined;
  /**
   * Where a plain-TCP connection whose first bytes are a complete, clean
   * upgrade request goes without Node's HTTP server (clean-upgrade-head.ts);
   * undefined sends every connection through the HTTP server.
   */
  readonly fastUpgrade: ((socket: Socket, request: CleanUpgradeHead, bodyHead: Buffer, context: ConnectionContext) => void) | undefined;
  /** The HTTP server's own head limit: longer heads go to it, for its 431. */
  readonly maxHeaderSize: number;
  /** A connection that sends no byte for this long gets 408, as the HTTP server would answer. */
  readonly headTimeoutMs: number;
  /** A connection was closed before HTTP (metrics, issue 12). */
  readonly refused: (reason: ConnectionRefusedEvent['reason']) => void;
}

/** A socket waiting for its first bytes; the listener is found through the OWNER slot. */
interface WaitingSocket extends Socket {
  [OWNER]: Listener;
}

interface WaitingConnection {
  readonly context: ConnectionContext;
  readonly since: number;
}

function clientOf(header: ProxyProtocolHeader): { address: string; port: number } | undefined {
  return header.command === 'proxy' && (header.family === 'tcp4' || header.family === 'tcp6') ? header.source : undefined;
}

/**
 * The first stage of every connection: TCP accept, then (when configured) the
 * PROXY protocol header, then TLS, and only then HTTP. It records what it
 * learned in the connection context and hands the socket to the HTTP server,
 * which never listens itself.
 */
export class Listener {
  readonly server: Server;
  /** Plain connections waiting for their first bytes, with what the listener knows of them. */
  private readonly waiting = new Map<Socket, WaitingConnection>();
  private waitingSweep: NodeJS.Timeout | undefined;

  /** The soft RLIMIT_NOFILE, when known, and the cap on client connections in force. */
  readonly descriptorLimit: number | undefined;
  readonly connectionCap: number | undefined;
  /** Refusals come in floods (a port scan, a balancer without PROXY protocol): one line, then a summary a second. */
  private readonly flood: LogFlood;

  constructor(
    private readonly settings: ListenerSettings,
    private readonly http: HttpServer,
    private readonly logger: Logger,
    /** The TLS context for new connections (swapped on certificate reload), or undefined for plain TCP. */
    private readonly secureContext: () => SecureContext | undefined,
  ) {
    this.flood = new LogFlood(logger);
    // allowHalfOpen: a client's FIN must reach the backend as a FIN, not close our side.
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
    this.descriptorLimit = readDescriptorLimit();
    this.connectionCap = settings.maxConnections ?? (this.descriptorLimit === undefined ? undefined : connectionCapFor(this.descriptorLimit));
    if (this.connectionCap !== undefined) this.server.maxConnections = this.connectionCap;
    this.server.on('drop', (data?: { remoteAddress?: string }) => {
      this.flood.log('warn', 'limit', { client: plainAddress(data?.remoteAddress), limit: this.connectionCap }, 'connection refused: global connection limit reached');
      settings.refused('limit');
    });
  }

  /**
   * TCP keep-alive for every accepted connection, set once on the listening
   * socket: Linux copies SO_KEEPALIVE and the TCP_KEEP* settings from a
   * listener to the sockets it accepts (tcp_create_openreq_child), which saves
   * four setsockopt(2) calls per connection. Node has no public call for a
   * listener, so this uses the handle's own setKeepAlive (the one
   * socket.setKeepAlive uses) and reports false when it is not there; the
   * caller then sets keep-alive per socket. `delayMs` 0 turns it off.
   */
  setAcceptedKeepAlive(delayMs: number): boolean {
    const handle = (this.server as Server & { _handle?: { setKeepAlive?: (enable: boolean, delaySeconds: number) => number } | null })._handle;
    if (typeof handle?.setKeepAlive !== 'function') return false;
    return handle.setKeepAlive(delayMs > 0, Math.floor(delayMs / 1000)) === 0;
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    const address = await listenOn(this.server, host, port, (error) => this.logger.error({ err: error }, 'listener error'));
    const fields = { descriptorLimit: this.descriptorLimit ?? null, maxConnections: this.connectionCap ?? null, derived: this.settings.maxConnections === undefined };
    this.logger.info(fields, 'connection limit');
    // 10,000 is where a busy WebSocket gateway starts; below it, raise `ulimit -n` (LimitNOFILE= in systemd).
    if (this.connectionCap !== undefined && this.connectionCap < 10_000 && fields.derived) {
      this.logger.warn(fields, 'the descriptor limit allows fewer than 10,000 connections: raise it (ulimit -n, LimitNOFILE=) or set --max-connections');
    }
    return address;
  }

  /** One handler for every accepted socket (no closure per connection); the tunnel replaces it. */
  private readonly onEarlySocketError = earlierStageErrorHandler((error: NodeJS.ErrnoException): void =>
    this.logger.debug({ err: error.code ?? error.message }, 'client socket error before HTTP'),
  );

  private accept(socket: Socket): void {
    socket.on('error', this.onEarlySocketError);
    const peer = plainAddress(socket.remoteAddress);
    const peerTrusted = this.settings.trustedProxies.has(peer);
    if (!this.settings.acceptProxyProtocol) {
      this.handOver(socket, { clientAddress: peer, clientPort: socket.remotePort, peerTrusted, vpceId: undefined, proxyHeader: undefined }, undefined);
      return;
    }
    if (!peerTrusted) {
      // proxy-protocol.txt 7 (security): a header is only believed from a known balancer.
      this.flood.log('warn', 'untrusted', { peer }, 'connection refused: PROXY protocol expected, but the peer is not in --trusted-proxies');
      this.settings.refused('proxy-untrusted');
      socket.destroy();
      return;
    }
    readProxyHeader(socket, this.settings.proxyProtocolTimeoutMs, (outcome) => {
      if (outcome.kind === 'error') {
        if (outcome.code === 'closed-before-header' && outcome.bytes === 0) {
          // A TCP health check: connect, then close without a byte. Routine.
          this.logger.debug({ peer }, 'connection closed before any byte (TCP health check)');
        } else if (outcome.code === 'not-proxy') {
          this.flood.log('warn', 'not-proxy', { peer, code: outcome.code }, 'connection without a PROXY header: is PROXY protocol enabled on the load balancer?');
          this.settings.refused('proxy-missing');
        } else {
          this.flood.log('warn', `invalid ${outcome.code}`, { peer, code: outcome.code, detail: outcome.message }, 'invalid PROXY header');
          this.settings.refused('proxy-invalid');
        }
        socket.destroy();
        return;
      }
      const header = outcome.header;
      // A LOCAL header (NLB health checks) carries no client: the connection's own address stands.
      const client = clientOf(header);
      this.handOver(socket, {
        clientAddress: client !== undefined ? plainAddress(client.address) : peer,
        clientPort: client !== undefined ? client.port : socket.remotePort,
        peerTrusted,
        vpceId: header.awsVpceId,
        proxyHeader: header,
      }, outcome.rest);
    });
  }

  /** Ends connections still waiting for their first bytes (gateway close). */
  closeWaiting(): void {
    this.flood.stop();
    if (this.waitingSweep !== undefined) clearInterval(this.waitingSweep);
    this.waitingSweep = undefined;
    for (const socket of this.waiting.keys()) socket.destroy();
    this.waiting.clear();
  }

  /** `rest`: bytes read past a PROXY header, which the next stage must see first. */
  private handOver(socket: Socket, context: ConnectionContext, rest: Buffer | undefined): void {
    const secureContext = this.secureContext();
    if (secureContext === undefined) {
      if (this.settings.fastUpgrade === undefined) this.toHttp(socket, rest, context);
      else if (rest !== undefined && rest.length > 0) this.firstBytes(socket, rest, context);
      else this.awaitFirstBytes(socket, context);
      return;
    }
    // TLS after the PROXY header (the header is never encrypted): bytes buffered
    // in the socket are replayed into the TLS socket when it wraps it.
    if (rest !== undefined && rest.length > 0) socket.unshift(rest);
    const tlsSocket = new TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
    tlsSocket.on('error', (error: NodeJS.ErrnoException) =>
      this.logger.debug({ client: context.clientAddress, err: error.code ?? error.message }, 'TLS error'),
    );
    setConnectionContext(tlsSocket, context);
    if (socket.isPaused()) socket.resume();
    this.http.emit('connection', tlsSocket);
  }

  private awaitFirstBytes(socket: Socket, context: ConnectionContext): void {
    (socket as WaitingSocket)[OWNER] = this;
    this.waiting.set(socket, { context, since: Date.now() });
    socket.on('data', onFirstBytes);
    socket.on('end', onEndBeforeBytes);
    socket.on('close', onCloseBeforeBytes);
    if (socket.isPaused()) socket.resume();
    this.waitingSweep ??= setInterval(() => this.sweepWaiting(), Math.max(10, Math.min(1000, this.settings.headTimeoutMs / 2))).unref();
  }

  /**
   * @internal the first bytes of a plain connection: a clean upgrade goes the
   * fast way (with its context in hand: nothing is stored per socket), anything
   * else to the HTTP server.
   */
  firstBytes(socket: Socket, chunk: Buffer, context: ConnectionContext): void {
    const request = parseCleanUpgradeHead(chunk, this.settings.maxHeaderSize);
    const fastUpgrade = this.settings.fastUpgrade;
    if (request === undefined || fastUpgrade === undefined) this.toHttp(socket, chunk, context);
    else fastUpgrade(socket, request, chunk.subarray(request.headLength), context);
  }

  /** @internal stops waiting for `socket`'s first bytes; returns what was known of it. */
  stopWaiting(socket: Socket): ConnectionContext | undefined {
    const waiting = this.waiting.get(socket);
    this.waiting.delete(socket);
    socket.removeListener('data', onFirstBytes);
    socket.removeListener('end', onEndBeforeBytes);
    socket.removeListener('close', onCloseBeforeBytes);
    return waiting?.context;
  }

  private sweepWaiting(): void {
    const expired = Date.now() - this.settings.headTimeoutMs;
    for (const [socket, { since }] of this.waiting) {
      if (since > expired) continue;
      this.stopWaiting(socket);
      // What Node's HTTP server answers when no complete head arrives in time (headersTimeout).
      this.logger.info({ status: 408, err: 'ERR_HTTP_REQUEST_TIMEOUT' }, 'malformed request');
      this.settings.refused('handshake-timeout');
      rejectMalformedRequest(socket, 408);
    }
    if (this.waiting.size === 0 && this.waitingSweep !== undefined) {
      clearInterval(this.waitingSweep);
      this.waitingSweep = undefined;
    }
  }

  /** Node's HTTP server takes the socket, with any bytes already read; the gateway finds the context by socket. */
  private toHttp(socket: Socket, rest: Buffer | undefined, context: ConnectionContext): void {
    setConnectionContext(socket, context);
    this.http.emit('connection', socket);
    // The HTTP server reads the socket's handle directly (parser.consume), so
    // bytes put back with unshift() would never reach it: hand them to its
    // data listener instead, before any newer bytes can arrive.
    if (rest !== undefined && rest.length > 0) socket.emit('data', rest);
    if (socket.isPaused()) socket.resume();
  }
}

function onFirstBytes(this: WaitingSocket, chunk: Buffer): void {
  const listener = this[OWNER];
  const context = listener.stopWaiting(this);
  if (context !== undefined) listener.firstBytes(this, chunk, context);
  else this.destroy();
}

/** A FIN before any byte: a TCP health check, or a client that gave up. */
function onEndBeforeBytes(this: WaitingSocket): void {
  this[OWNER].stopWaiting(this);
  this.destroy();
}

function onCloseBeforeBytes(this: WaitingSocket): void {
  this[OWNER].stopWaiting(this);
}

