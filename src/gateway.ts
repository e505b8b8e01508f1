import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { GatewayConfig, GatewayConfigInput } from './config/schema.js';
import { validateConfig } from './config/validate.js';
import { FAILURES, type FailureCode } from './errors.js';
import { rejectUpgrade, rejectionHeaders } from './handshake/reject.js';
import { decideForwarding } from './handshake/forwarded.js';
import { buildUpgradeRequestHead, plainAddress } from './handshake/upstream-request.js';
import { isWebSocketRequest, validateHandshake } from './handshake/validate-handshake.js';
import { PlainHttpProxy } from './http/proxy-request.js';
import { connectionContext, type ConnectionContext } from './listener/connection-context.js';
import { Listener } from './listener/listener.js';
import { TrustedProxies } from './listener/trusted-proxies.js';
import { createLogger, type Logger } from './observability/logger.js';
import { requestPath } from './routing/request-path.js';
import { RouteTable, type Route } from './routing/route-table.js';
import { UpgradeAttempt, type TunnelOpener } from './tunnel/open-tunnel.js';
import type { Tunnel } from './tunnel/tunnel.js';
import type { Backend } from './upstream/backend.js';

export interface GatewayOptions {
  /** A pino logger to use instead of JSON lines on stdout (tests capture lines this way). */
  readonly logger?: Logger;
}

// Shared no-op so that an error between accept and tunnel never goes unhandled;
// the stage that owns the socket at that moment reports it.
function ignoreSocketError(): void {}

/**
 * Composes the stages of one connection: accept (HTTP server), handshake
 * validation, routing, backend selection, tunnel or plain proxying. Owns the
 * lifecycle (listen, close) and the registry of live tunnels.
 */
export class Gateway implements TunnelOpener {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly backendTls: { readonly rejectUnauthorized: boolean; readonly ca?: Buffer | undefined };
  readonly trustedProxies: TrustedProxies;
  private readonly server: Server;
  private readonly listener: Listener;
  private secureContext: SecureContext | undefined;
  private readonly routes: RouteTable;
  private readonly plainProxy: PlainHttpProxy;
  private readonly tunnels = new Set<Tunnel>();

  constructor(config: GatewayConfig, options: GatewayOptions = {}) {
    this.config = config;
    this.logger = options.logger ?? createLogger(config.logLevel);
    this.connectTimeoutMs = config.timeouts.backendConnect;
    this.responseTimeoutMs = config.timeouts.backendResponse;
    this.routes = new RouteTable(config.routes);
    this.trustedProxies = new TrustedProxies(config.trustedProxies);
    this.backendTls = {
      rejectUnauthorized: config.backendTls.verify,
      ca: config.backendTls.ca !== undefined ? readFileSync(config.backendTls.ca) : undefined,
    };
    this.secureContext = this.loadSecureContext();
    this.plainProxy = new PlainHttpProxy(
      {
        backendSkipped: (backend, detail) => this.logger.warn({ backend: backend.label, detail }, 'backend skipped'),
        requestFailed: (code, detail, backend) =>
          this.logger.warn({ code, status: FAILURES[code].status, detail, backend: backend?.label }, 'request failed'),
      },
      this.backendTls,
      this.responseTimeoutMs,
    );
    // The HTTP server never listens: the Listener accepts, reads PROXY headers and TLS, then hands sockets over.
    this.server = createServer({
      maxHeaderSize: config.limits.maxHeaderSize,
      headersTimeout: config.timeouts.handshake,
      requestTimeout: 0,
      connectionsCheckingInterval: Math.min(1000, config.timeouts.handshake),
    });
    this.listener = new Listener(
      {
        acceptProxyProtocol: config.acceptProxyProtocol,
        trustedProxies: this.trustedProxies,
        proxyProtocolTimeoutMs: config.timeouts.proxyProtocol,
        maxConnections: config.limits.maxConnections,
      },
      this.server,
      this.logger,
      () => this.secureContext,
    );
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket as Socket, head));
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.handleRequest(req, res));
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => this.handleClientError(error, socket));
  }

  /** Number of tunnels open now. */
  get activeTunnels(): number {
    return this.tunnels.size;
  }

  /** The route table in force (read-only). */
  get routeTable(): readonly Route[] {
    return this.routes.routes;
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = this.config.listen;
    const address = await this.listener.listen(host, port);
    this.logger.info({ address: address.address, port: address.port, routes: this.routes.routes.length, tls: this.secureContext !== undefined }, 'listening');
    return address;
  }

  /** Reads the certificate and key again (SIGHUP); new connections use them, open ones keep theirs. */
  reloadCertificate(): void {
    this.secureContext = this.loadSecureContext();
    this.logger.info('TLS certificate reloaded');
  }

  private loadSecureContext(): SecureContext | undefined {
    const tls = this.config.tls;
    if (tls === undefined) return undefined;
    return createSecureContext({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) });
  }

  address(): AddressInfo | undefined {
    const address = this.listener.server.address();
    return address !== null && typeof address === 'object' ? address : undefined;
  }

  /** Stops accepting, ends every tunnel and plain connection, and resolves once the listener is closed. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.listener.server.close(() => resolve());
      for (const tunnel of this.tunnels) tunnel.destroy('gateway closing');
      this.server.closeAllConnections();
      this.plainProxy.close();
    });
  }

  /** What the listener learned; sockets always have one, this default only guards the type. */
  private contextOf(socket: Socket): ConnectionContext {
    return (
      connectionContext(socket) ?? {
        clientAddress: plainAddress(socket.remoteAddress),
        clientPort: socket.remotePort,
        peerTrusted: false,
        vpceId: undefined,
        proxyHeader: undefined,
      }
    );
  }

  private handleUpgrade(req: IncomingMessage, socket: Socket, bodyHead: Buffer): void {
    socket.on('error', ignoreSocketError);
    const forwarding = decideForwarding(req, this.contextOf(socket), this.trustedProxies);
    const clientAddress = forwarding.clientAddress;
    const verdict = validateHandshake(req);
    if (!verdict.ok) {
      this.rejectHandshake(socket, verdict.code, req, clientAddress);
      return;
    }
    const path = requestPath(req.url ?? '');
    const route = path === undefined ? undefined : this.routes.match(path);
    if (route === undefined) {
      this.rejectHandshake(socket, 'ERR_ROUTE_NOT_FOUND', req, clientAddress);
      return;
    }
    const head = buildUpgradeRequestHead(req, forwarding);
    new UpgradeAttempt(socket, route, { clientAddress }, head, bodyHead, this).start();
  }

  private rejectHandshake(socket: Socket, code: FailureCode, req: IncomingMessage, clientAddress: string): void {
    rejectUpgrade(socket, code);
    this.logger.info({ code, status: FAILURES[code].status, client: clientAddress, url: req.url }, 'handshake rejected');
  }

  private handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const forwarding = decideForwarding(req, this.contextOf(req.socket), this.trustedProxies);
    const clientAddress = forwarding.clientAddress;
    // An Upgrade: websocket request that Node did not treat as an upgrade lacks
    // the Connection token: it is a broken handshake, not a plain request.
    if (isWebSocketRequest(req.headers)) {
      const verdict = validateHandshake(req);
      const code: FailureCode = verdict.ok ? 'ERR_HANDSHAKE_CONNECTION' : verdict.code;
      this.plainProxy.answer(res, code, { connection: 'close', ...rejectionHeaders(code) });
      this.logger.info({ code, status: FAILURES[code].status, client: clientAddress, url: req.url }, 'handshake rejected');
      return;
    }
    const path = requestPath(req.url ?? '');
    const route = path === undefined ? undefined : this.routes.match(path);
    if (route === undefined) {
      this.plainProxy.answer(res, 'ERR_ROUTE_NOT_FOUND');
      return;
    }
    this.plainProxy.forward(req, res, route, { clientAddress }, forwarding);
  }

  private handleClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    const code = error.code ?? '';
    // Resets and timeouts of idle keep-alive connections are routine.
    if (code === 'ECONNRESET' || !socket.writable) {
      this.logger.debug({ err: code }, 'client connection reset');
      socket.destroy();
      return;
    }
    const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    this.logger.info({ status, err: code }, 'malformed request');
    socket.once('finish', () => socket.destroy());
    socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }

  // TunnelOpener: events from upgrade attempts and tunnels.

  tunnelOpened(tunnel: Tunnel): void {
    this.tunnels.add(tunnel);
  }

  tunnelFinished(tunnel: Tunnel): void {
    this.tunnels.delete(tunnel);
    this.logger.info(tunnel.summary(), 'tunnel closed');
  }

  upgradeFailed(attempt: UpgradeAttempt, code: FailureCode, detail: string): void {
    this.logger.warn(
      { code, status: FAILURES[code].status, detail, route: attempt.route.name, backend: attempt.backendLabel, client: attempt.selection.clientAddress },
      'upgrade failed',
    );
  }

  backendSkipped(attempt: UpgradeAttempt, backend: Backend, detail: string): void {
    this.logger.warn({ route: attempt.route.name, backend: backend.label, detail }, 'backend skipped');
  }
}

/** The library's entry point: validates `config` (throws ConfigError) and builds a gateway, not yet listening. */
export function createGateway(config: GatewayConfigInput, options: GatewayOptions = {}): Gateway {
  return new Gateway(validateConfig(config), options);
}
