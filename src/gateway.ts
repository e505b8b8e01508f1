import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { GatewayConfig, GatewayConfigInput } from './config/schema.js';
import { validateConfig } from './config/validate.js';
import { FAILURES, type FailureCode } from './errors.js';
import { rejectMalformedRequest, rejectUpgrade, rejectionHeaders } from './handshake/reject.js';
import { Admission } from './handshake/admission.js';
import type { UpgradeRequest } from './handshake/clean-upgrade-head.js';
import { decideForwarding } from './handshake/forwarded.js';
import { buildUpgradeRequestHead, plainAddress } from './handshake/upstream-request.js';
import { isWebSocketRequest, validateHandshake } from './handshake/validate-handshake.js';
import { answerHealth, isHealthRequest } from './http/health-endpoint.js';
import { PlainHttpProxy } from './http/proxy-request.js';
import { connectionContext, type ConnectionContext } from './listener/connection-context.js';
import { Listener } from './listener/listener.js';
import { encodeProxyHeaderV1, encodeProxyHeaderV2 } from './listener/proxy-protocol.js';
import { TrustedProxies } from './listener/trusted-proxies.js';
import { AdminServer } from './observability/admin.js';
import { createLogger, type Logger } from './observability/logger.js';
import { routeRequest } from './routing/route-request.js';
import { RouteTable, type Route } from './routing/route-table.js';
import { earlierStageErrorHandler } from './listener/socket-stage.js';
import { UpgradeAttempt, type TunnelOpener } from './tunnel/open-tunnel.js';
import { closeTunnelsSpread } from './tunnel/drain.js';
import { CLOSE_GRACE_MS } from './tunnel/inject.js';
import { KeepaliveSweeper } from './tunnel/keepalive.js';
import type { Tunnel } from './tunnel/tunnel.js';
import type { Backend } from './upstream/backend.js';
import { HealthMonitor, routeHealthSettings } from './upstream/health-monitor.js';

export interface DrainOptions {
  /** How long open tunnels keep running; default: the config's `drain.timeout`. */
  readonly timeoutMs?: number;
  /** The window over which the remaining tunnels' closes are spread; default: `drain.closeSpread`. */
  readonly spreadMs?: number;
}

export interface GatewayOptions {
  /** A pino logger to use instead of JSON lines on stdout (tests capture lines this way). */
  readonly logger?: Logger;
}

// Shared no-op so that an error between accept and tunnel never goes unhandled;
// the stage that owns the socket at that moment reports it.
const ignoreSocketError = earlierStageErrorHandler((): void => {});

/**
 * Composes the stages of one connection: accept (HTTP server), handshake
 * validation, routing, backend selection, tunnel or plain proxying. Owns the
 * lifecycle (listen, close) and the registry of live tunnels.
 */
export class Gateway implements TunnelOpener {
  #config: GatewayConfig;
  readonly logger: Logger;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  get backendKeepAliveMs(): number {
    return this.#config.tunnels.tcpKeepAlive;
  }
  readonly backendTls: { readonly rejectUnauthorized: boolean; readonly ca?: Buffer | undefined };
  readonly trustedProxies: TrustedProxies;
  private readonly server: Server;
  private readonly listener: Listener;
  private secureContext: SecureContext | undefined;
  private readonly admission: Admission;
  private routes: RouteTable;
  private readonly plainProxy: PlainHttpProxy;
  private readonly tunnels = new Set<Tunnel>();
  private clientKeepAliveInherited = false;
  /** Pings and idle timeouts: one timer for all tunnels (issue 5); created by listen(). */
  private keepalive: KeepaliveSweeper | undefined;
  /** Set once drain() starts: health 503, new upgrades and requests 503 (issue 6). */
  private drainStarted: Promise<void> | undefined;
  private closing = false;
  /** Resolves a waiter of untilNoTunnels() when the last tunnel finishes. */
  private onNoTunnels: (() => void) | undefined;
  /** Active checks and passive ejection; owns every backend's `healthy` flag (issue 6). */
  health: HealthMonitor;
  /** The admin API on its own listener, when `admin` is configured. */
  private readonly admin: AdminServer | undefined;

  constructor(config: GatewayConfig, options: GatewayOptions = {}) {
    this.#config = config;
    this.logger = options.logger ?? createLogger(config.logLevel);
    this.connectTimeoutMs = config.timeouts.backendConnect;
    this.responseTimeoutMs = config.timeouts.backendResponse;
    this.routes = new RouteTable(config.routes, { backendIdSecret: config.backendIdSecret });
    this.trustedProxies = new TrustedProxies(config.trustedProxies);
    this.backendTls = {
      rejectUnauthorized: config.backendTls.verify,
      ca: config.backendTls.ca !== undefined ? readFileSync(config.backendTls.ca) : undefined,
    };
    this.secureContext = this.loadSecureContext();
    this.admission = new Admission(config.limits.maxConnectionsPerClient);
    this.health = new HealthMonitor(routeHealthSettings(this.routes.routes, config), this.logger, this.backendTls);
    this.admin = config.admin === undefined ? undefined : new AdminServer(this);
    this.plainProxy = new PlainHttpProxy(
      {
        backendSkipped: (backend, detail) => {
          this.logger.warn({ backend: backend.label, detail }, 'backend skipped');
          this.health.connectFailed(backend, detail);
        },
        requestFailed: (code, detail, backend) => {
          this.logger.warn({ code, status: FAILURES[code].status, detail, backend: backend?.label }, 'request failed');
          if (backend !== undefined && code === 'ERR_UPSTREAM_UNAVAILABLE') this.health.connectFailed(backend, detail);
          if (backend !== undefined && code === 'ERR_UPSTREAM_BAD_RESPONSE') this.health.badResponse(backend, detail);
        },
        backendResponded: (backend) => this.health.succeeded(backend),
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
        fastUpgrade: (socket, request, bodyHead, context) => this.handleUpgrade(request, socket, bodyHead, context),
        maxHeaderSize: config.limits.maxHeaderSize,
        headTimeoutMs: config.timeouts.handshake,
      },
      this.server,
      this.logger,
      () => this.secureContext,
    );
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket as Socket, head));
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.handleRequest(req, res));
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => this.handleClientError(error, socket));
  }

  /** The configuration in force (replaced by reload()). */
  get config(): GatewayConfig {
    return this.#config;
  }

  /**
   * Applies a new configuration to new connections (SIGHUP) without touching
   * open tunnels: routes, backends, balancing, health checks and per-route
   * limits change; a backend that stays (same address and id) keeps its
   * state (open tunnels, health, drain, stickiness). What is bound at listen
   * time (listen address, PROXY protocol, TLS files, workers, timeouts of the
   * HTTP parser, the admin listener) needs a restart and is left as it was.
   */
  reload(config: GatewayConfig): void {
    const kept = new Map<string, Backend>();
    for (const route of this.routes.routes) for (const backend of route.pool.backends) kept.set(backendKey(backend), backend);
    const routes = new RouteTable(config.routes, { backendIdSecret: config.backendIdSecret, reuse: (backend) => kept.get(backendKey(backend)) });
    const listening = this.address() !== undefined;
    this.health.stop();
    this.routes = routes;
    this.#config = { ...config, listen: this.#config.listen };
    // The old monitor's counters and cool-offs carry over for backends and settings that stayed (issue 6).
    this.health = new HealthMonitor(routeHealthSettings(this.routes.routes, this.#config), this.logger, this.backendTls, this.health);
    if (listening) {
      this.health.start();
      this.applyListenerKeepAlive();
    }
    this.logger.info({ routes: routes.routes.length }, 'configuration reloaded');
  }

  /** Accepted sockets inherit keep-alive from the listener; false: set per tunnel instead (tunnelOpened). */
  private applyListenerKeepAlive(): void {
    this.clientKeepAliveInherited = this.listener.setAcceptedKeepAlive(this.config.tunnels.tcpKeepAlive);
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
    this.applyListenerKeepAlive();
    // The HTTP server never listens itself, but its 'listening' event is what
    // starts Node's connection tracking: the headers timeout (408) and
    // closeAllConnections() depend on it.
    this.server.emit('listening');
    this.logger.info({ address: address.address, port: address.port, routes: this.routes.routes.length, tls: this.secureContext !== undefined }, 'listening');
    this.health.start();
    const { pingInterval, idleTimeout } = this.config.tunnels;
    this.keepalive ??= new KeepaliveSweeper(this.tunnels, { pingIntervalMs: pingInterval, idleTimeoutMs: idleTimeout });
    this.keepalive.start();
    if (this.admin !== undefined && this.config.admin !== undefined) {
      try {
        await this.admin.listen(this.config.admin.host, this.config.admin.port);
      } catch (error) {
        await this.close();
        throw error;
      }
    }
    return address;
  }

  /** The admin API's address, while it listens. */
  adminAddress(): AddressInfo | undefined {
    return this.admin?.address();
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
    this.closing = true;
    this.keepalive?.stop();
    this.health.stop();
    const adminClosed = this.admin?.close() ?? Promise.resolve();
    return new Promise<void>((resolve) => {
      this.listener.server.close(() => void adminClosed.then(resolve));
      this.listener.closeWaiting();
      for (const tunnel of this.tunnels) tunnel.destroy('gateway closing');
      this.server.closeAllConnections();
      this.plainProxy.close();
    });
  }

  /** True once drain() has started: the health endpoint, upgrades and requests answer 503. */
  get draining(): boolean {
    return this.drainStarted !== undefined;
  }

  /**
   * Graceful stop (issue 6). At once: the health endpoint answers 503, and so do
   * new upgrades and plain requests (ERR_GATEWAY_DRAINING, Connection: close),
   * while the listener stays open so that the balancer's health check sees the
   * 503 and deregisters this instance rather than meeting refused connections.
   * Open tunnels run for `timeoutMs`; the rest then get a Close 1001 each way at
   * message boundaries, spread over `spreadMs`. Resolves once every tunnel is
   * gone and the gateway is closed. Calling it again returns the same promise.
   */
  drain(options: DrainOptions = {}): Promise<void> {
    this.drainStarted ??= this.runDrain(options.timeoutMs ?? this.config.drain.timeout, options.spreadMs ?? this.config.drain.closeSpread);
    return this.drainStarted;
  }

  private async runDrain(timeoutMs: number, spreadMs: number): Promise<void> {
    this.logger.info({ tunnels: this.tunnels.size, timeoutMs, spreadMs }, 'draining');
    await this.untilNoTunnels(timeoutMs);
    if (this.tunnels.size > 0) {
      this.logger.info({ tunnels: this.tunnels.size, spreadMs }, 'drain timeout: closing tunnels (1001)');
      await closeTunnelsSpread(this.tunnels, spreadMs, 'drain');
      // Each close ends within two graces (boundary wait, then the peers' answer); whatever is left, close() destroys.
      await this.untilNoTunnels(2 * CLOSE_GRACE_MS + 500);
    }
    this.logger.info({ tunnels: this.tunnels.size }, 'drained');
    // close() may have been called meanwhile (library users); it ran once, and that is enough.
    if (!this.closing) await this.close();
  }

  /** Resolves when no tunnel is open, or after `timeoutMs`. */
  private untilNoTunnels(timeoutMs: number): Promise<void> {
    if (this.tunnels.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const previous = this.onNoTunnels;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.onNoTunnels = () => {
        previous?.();
        done();
      };
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

  /** An upgrade request, from Node's HTTP server or from the listener's fast path (clean-upgrade-head.ts). */
  handleUpgrade(req: UpgradeRequest, socket: Socket, bodyHead: Buffer, context = this.contextOf(socket)): void {
    // The listener's handler is normally still there; one more would turn the listener list into an array.
    if (socket.listenerCount('error') === 0) socket.on('error', ignoreSocketError);
    const forwarding = decideForwarding(req, context, this.trustedProxies, isEncrypted(socket));
    const clientAddress = forwarding.clientAddress;
    if (this.draining) {
      // A client reconnecting during the drain must reach another instance, never a backend through this one.
      this.rejectHandshake(socket, 'ERR_GATEWAY_DRAINING', req, clientAddress);
      return;
    }
    const verdict = validateHandshake(req);
    if (!verdict.ok) {
      this.rejectHandshake(socket, verdict.code, req, clientAddress);
      return;
    }
    const routed = routeRequest(this.routes, req, clientAddress, forwarding.xForwardedProto === 'https');
    if (routed.kind === 'rejected') {
      this.rejectHandshake(socket, routed.code, req, clientAddress);
      return;
    }
    const route = routed.route;
    const routeConfig = this.config.routes[route.index];
    const allowed = routeConfig?.allowedVpceIds;
    if (allowed !== undefined && (context.vpceId === undefined || !allowed.includes(context.vpceId))) {
      this.rejectHandshake(socket, 'ERR_ROUTE_FORBIDDEN', req, clientAddress);
      return;
    }
    const limited = this.admission.admit(route, routeConfig?.maxConnections, clientAddress);
    if (limited !== undefined) {
      this.rejectHandshake(socket, limited, req, clientAddress);
      return;
    }
    let head = buildUpgradeRequestHead(req, forwarding, routed.selection.upstreamTarget);
    const sendProxy = routeConfig?.sendProxyProtocol;
    // The PROXY header goes first on the backend connection; latin1 carries its bytes unchanged.
    if (sendProxy !== undefined) head = proxyHeaderFor(sendProxy, socket, clientAddress, context.clientPort).toString('latin1') + head;
    new UpgradeAttempt(socket, route, routed.selection, head, bodyHead, this).start();
  }

  private rejectHandshake(socket: Socket, code: FailureCode, req: UpgradeRequest, clientAddress: string): void {
    rejectUpgrade(socket, code);
    this.logger.info({ code, status: FAILURES[code].status, client: clientAddress, url: req.url }, 'handshake rejected');
  }

  private handleRequest(req: IncomingMessage, res: ServerResponse): void {
    if (isHealthRequest(req, this.config.healthPath)) {
      answerHealth(res, this.draining);
      return;
    }
    if (this.draining) {
      this.plainProxy.answer(res, 'ERR_GATEWAY_DRAINING', { connection: 'close' });
      return;
    }
    const context = this.contextOf(req.socket);
    const forwarding = decideForwarding(req, context, this.trustedProxies, isEncrypted(req.socket));
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
    const routed = routeRequest(this.routes, req, clientAddress, forwarding.xForwardedProto === 'https');
    if (routed.kind === 'rejected') {
      this.plainProxy.answer(res, routed.code);
      return;
    }
    const route = routed.route;
    const sendProxy = this.config.routes[route.index]?.sendProxyProtocol;
    const proxyHeader = sendProxy !== undefined ? proxyHeaderFor(sendProxy, req.socket, clientAddress, context.clientPort) : undefined;
    this.plainProxy.forward(req, res, route, routed.selection, forwarding, proxyHeader);
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
    rejectMalformedRequest(socket, status);
  }

  // TunnelOpener: events from upgrade attempts and tunnels.

  tunnelOpened(tunnel: Tunnel): void {
    if (this.closing) {
      // An upgrade that was under way when close() ended the others.
      tunnel.destroy('gateway closing');
      return;
    }
    this.tunnels.add(tunnel);
    // TCP keep-alive (issue 5): an NLB counts probes as traffic (350 s idle timeout); Linux's own first
    // probe comes after 7200 s. The backend socket was dialled with it (open-tunnel.ts), and the client
    // socket inherited it from the listener, unless the listener could not take it.
    const keepAliveMs = this.config.tunnels.tcpKeepAlive;
    if (keepAliveMs > 0 && !this.clientKeepAliveInherited) tunnel.client.setKeepAlive(true, keepAliveMs);
  }

  tunnelFinished(tunnel: Tunnel): void {
    this.tunnels.delete(tunnel);
    if (this.tunnels.size === 0 && this.onNoTunnels !== undefined) {
      const notify = this.onNoTunnels;
      this.onNoTunnels = undefined;
      notify();
    }
    this.admission.release(tunnel.route, tunnel.clientAddress);
    this.logger.info(tunnel.summary(), 'tunnel closed');
  }

  upgradeRefused(attempt: UpgradeAttempt, statusCode: number): void {
    this.admission.release(attempt.route, attempt.selection.clientAddress);
    this.logger.info(
      { status: statusCode, route: attempt.route.name, backend: attempt.backendLabel, client: attempt.selection.clientAddress },
      'upgrade refused by backend',
    );
  }

  upgradeFailed(attempt: UpgradeAttempt, code: FailureCode, detail: string): void {
    this.admission.release(attempt.route, attempt.selection.clientAddress);
    this.logger.warn(
      { code, status: FAILURES[code].status, detail, route: attempt.route.name, backend: attempt.backendLabel, client: attempt.selection.clientAddress },
      'upgrade failed',
    );
    const backend = attempt.currentBackend;
    if (code === 'ERR_UPSTREAM_BAD_RESPONSE' && backend !== undefined) this.health.badResponse(backend, detail);
  }

  backendSkipped(attempt: UpgradeAttempt, backend: Backend, detail: string): void {
    this.logger.warn({ route: attempt.route.name, backend: backend.label, detail }, 'backend skipped');
    this.health.connectFailed(backend, detail);
  }

  backendAnswered(_attempt: UpgradeAttempt, backend: Backend): void {
    this.health.succeeded(backend);
  }
}

function isEncrypted(socket: Socket): boolean {
  return (socket as Socket & { encrypted?: boolean }).encrypted === true;
}

/** What makes a backend "the same" across a reload. */
function backendKey(backend: { host: string; port: number; tls: boolean; id?: string | undefined }): string {
  return `${backend.host}|${backend.port}|${backend.tls}|${backend.id ?? ''}`;
}

/** A PROXY protocol header naming the real client and the address it reached (send-proxy to backends). */
export function proxyHeaderFor(version: 'v1' | 'v2', client: Socket, clientAddress: string, clientPort: number | undefined): Buffer {
  const family = clientAddress.includes(':') ? 'tcp6' : 'tcp4';
  const source = { address: clientAddress, port: clientPort ?? 0 };
  let localAddress = plainAddress(client.localAddress);
  // The two addresses of one header share a family (proxy-protocol.txt 2.1).
  if (family === 'tcp6' && !localAddress.includes(':')) localAddress = `::ffff:${localAddress}`;
  if (family === 'tcp4' && localAddress.includes(':')) localAddress = '0.0.0.0';
  const destination = { address: localAddress, port: client.localPort ?? 0 };
  return version === 'v1'
    ? encodeProxyHeaderV1({ family, source, destination })
    : encodeProxyHeaderV2({ command: 'proxy', family, source, destination });
}

/** The library's entry point: validates `config` (throws ConfigError) and builds a gateway, not yet listening. */
export function createGateway(config: GatewayConfigInput, options: GatewayOptions = {}): Gateway {
  return new Gateway(validateConfig(config), options);
}
