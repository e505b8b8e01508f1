/**
 * The gateway: the stages one connection passes through, in the order it
 * meets them, and the lifecycle (listen, reload, drain, close) around them.
 *
 *   1. admit     listener/listener.ts            accept, connection cap, PROXY header, TLS, first bytes
 *   2. validate  handshake/validate-handshake.ts  RFC 6455 4.2.1; draining refuses everything here
 *   3. route     routing/route-request.ts        the first route whose conditions hold, then its gate
 *   4. choose    upstream/pool.ts                 a backend of the route's pool (sticky, hash, strategy)
 *   5. connect   upstream/dial-backend.ts         with the PROXY header out, retried on the next backend
 *   6. answer    tunnel/open-tunnel.ts           the backend's 101 relayed (or its refusal, as it is)
 *   7. tunnel    tunnel/tunnel.ts                 bytes relayed both ways until one side ends
 *
 * Upgrades and plain requests share stages 2 and 3 (routeIncoming below);
 * plain requests then go to http/proxy-request.ts for stages 4 to 6.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { GatewayConfig, GatewayConfigInput } from './config/schema.js';
import { tlsFileProblems } from './config/tls-files.js';
import { validateConfig } from './config/validate.js';
import { ConfigError, FAILURES, type FailureCode } from './errors.js';
import { Admission } from './handshake/admission.js';
import type { UpgradeRequest } from './handshake/clean-upgrade-head.js';
import { decideForwarding, type Forwarding } from './handshake/forwarded.js';
import { buildUpgradeRequestHead } from './handshake/upstream-request.js';
import { isWebSocketRequest, validateHandshake } from './handshake/validate-handshake.js';
import { answerFailure, rejectMalformedRequest, rejectUpgrade } from './http/failure-response.js';
import { answerHealth, isHealthRequest } from './http/health-endpoint.js';
import { PlainHttpProxy } from './http/proxy-request.js';
import { connectionContext, type ConnectionContext } from './listener/connection-context.js';
import { boundAddress } from './listener/listen.js';
import { Listener } from './listener/listener.js';
import { plainAddress } from './listener/plain-address.js';
import { proxyHeaderFor } from './listener/proxy-protocol/proxy-header-for.js';
import { earlierStageErrorHandler } from './listener/socket-stage.js';
import { TrustedProxies } from './listener/trusted-proxies.js';
import { AdminServer } from './observability/admin.js';
import { reportRoutes, type RouteReport } from './observability/backend-report.js';
import { EventLog } from './observability/event-log.js';
import { LogFlood } from './observability/log-flood.js';
import {
  channels,
  type ConnectionRefusedEvent,
  type HttpRequestEvent,
  type TunnelCloseEvent,
  type TunnelOpenEvent,
  type TunnelRttEvent,
  type UpgradeRejectedEvent,
} from './observability/events.js';
import { GatewayMetrics } from './observability/metrics.js';
import { createLogger, type Logger } from './observability/logger.js';
import { routeRequest } from './routing/route-request.js';
import type { RouteSelection } from './routing/route-selection.js';
import { RouteTable, type Route } from './routing/route-table.js';
import { closeTunnelsSpread } from './tunnel/drain.js';
import { CLOSE_GRACE_MS } from './tunnel/inject.js';
import { KeepaliveSweeper } from './tunnel/keepalive.js';
import { UpgradeAttempt, type UpgradeEvents, type UpgradeSettings } from './tunnel/open-tunnel.js';
import type { Tunnel } from './tunnel/tunnel.js';
import type { Backend } from './upstream/backend.js';
import { HealthMonitor, routeHealthSettings, withoutDecisions, type PassiveObserver } from './upstream/health-monitor.js';

export interface DrainOptions {
  /** How long open tunnels keep running; default: the config's `drain.timeout`. */
  readonly timeoutMs?: number;
  /** The window over which the remaining tunnels' closes are spread; default: `drain.closeSpread`. */
  readonly spreadMs?: number;
}

export interface GatewayOptions {
  /** A pino logger to use instead of JSON lines on stdout (the CLI passes its own; tests capture lines this way). */
  readonly logger?: Logger;
  /** @internal The CLI's `--workers N`: this gateway is a worker (GatewayClusterHook). */
  readonly cluster?: GatewayClusterHook;
}

/**
 * @internal For a worker of the CLI's `--workers N` (cluster/worker-link.ts):
 * the cluster's primary decides backend health for every worker. With the
 * hook the gateway runs no active checks and ejects nothing itself: what
 * live traffic shows (connect failures, bad responses, successes) goes to the
 * hook instead of a health monitor, and the primary's decisions arrive as
 * `healthy`, `draining` and `weight` on the backends of `routes()`, which the
 * hook sets. Everything else (routing, tunnels, reload, drain) is as without it.
 */
export interface GatewayClusterHook extends PassiveObserver {
  /**
   * Called once, at the end of the constructor, with the gateway (the `gateway` of its events, events.ts),
   * its live route table (replaced on reload) and its metrics.
   */
  attach(gateway: object, live: { readonly routes: () => readonly Route[]; readonly metrics: GatewayMetrics }): void;
}

/** What stages 2 and 3 decided for one request, upgrade or plain. */
type RoutingDecision =
  | {
      readonly kind: 'rejected';
      readonly failure: FailureCode;
      readonly clientAddress: string;
      readonly requestId: string;
      /** The route, when the refusal came after routing (its gate). */
      readonly route: Route | undefined;
    }
  | {
      readonly kind: 'routed';
      readonly route: Route;
      readonly selection: RouteSelection;
      readonly forwarding: Forwarding;
      /** The PROXY protocol header to send first on the backend connection (the route's send-proxy). */
      readonly proxyHeader: Buffer | undefined;
    };

// Shared no-op so that an error between accept and tunnel never goes unhandled;
// the stage that owns the socket at that moment reports it.
const ignoreSocketError = earlierStageErrorHandler((): void => {});

/** Rejections that end the connection rather than leave a keep-alive connection open. */
function closesConnection(failure: FailureCode): boolean {
  return failure === 'ERR_GATEWAY_DRAINING' || failure.startsWith('ERR_HANDSHAKE_');
}

export class Gateway {
  #config: GatewayConfig;
  readonly #logger: Logger;
  readonly #trustedProxies: TrustedProxies;
  readonly #backendTls: UpgradeSettings['backendTls'];
  #upgradeSettings: UpgradeSettings;
  readonly #upgradeEvents: UpgradeEvents;
  /** Node's HTTP parser for what the listener's fast path does not take; it never listens itself. */
  readonly #http: Server;
  readonly #listener: Listener;
  #secureContext: SecureContext | undefined;
  readonly #admission: Admission;
  /** Replaced whole on reload: compiled routes carry their own settings (compile-route.ts). */
  #routes: RouteTable;
  readonly #plainProxy: PlainHttpProxy;
  readonly #tunnels = new Set<Tunnel>();
  #clientKeepAliveInherited = false;
  /** Pings and idle timeouts: one timer for all tunnels (issue 5); created by listen(). */
  #keepalive: KeepaliveSweeper | undefined;
  /** Set once drain() starts: health 503, new upgrades and requests 503 (issue 6). */
  #drainStarted: Promise<void> | undefined;
  #closing = false;
  /** Resolves a waiter of untilNoTunnels() when the last tunnel finishes. */
  #onNoTunnels: (() => void) | undefined;
  /** Active checks and passive ejection; owns every backend's `healthy` flag (issue 6), unless #cluster does. */
  #health: HealthMonitor;
  /** A worker of `--workers N`: the primary decides health (GatewayClusterHook). */
  readonly #cluster: GatewayClusterHook | undefined;
  /** The admin API on its own listener, when `admin` is configured. */
  readonly #admin: AdminServer | undefined;
  /** Metrics and connection logs subscribe to this gateway's events (observability/events.ts). */
  readonly #metrics: GatewayMetrics;
  readonly #eventLog: EventLog;
  /** Lines that come in floods (a dead backend, a scanner) become one line and a summary a second. */
  readonly #flood: LogFlood;

  constructor(config: GatewayConfig, options: GatewayOptions = {}) {
    // Unreadable or mismatched certificate files are a configuration problem, not a stack trace (issue 13).
    const fileProblems = tlsFileProblems(config);
    if (fileProblems.length > 0) throw new ConfigError(fileProblems.join('\n'), fileProblems);
    this.#config = config;
    this.#cluster = options.cluster;
    this.#logger = options.logger ?? createLogger(config.logLevel, { format: config.logFormat });
    this.#routes = RouteTable.fromConfig(config);
    this.#trustedProxies = new TrustedProxies(config.trustedProxies);
    this.#backendTls = {
      rejectUnauthorized: config.backendTls.verify,
      ca: config.backendTls.ca !== undefined ? readFileSync(config.backendTls.ca) : undefined,
    };
    this.#upgradeSettings = this.#settingsOf(config);
    this.#upgradeEvents = this.#createUpgradeEvents();
    this.#secureContext = this.#loadSecureContext();
    this.#admission = new Admission(config.limits.maxConnectionsPerClient);
    this.#health = this.#createHealth(this.#routes.routes, undefined);
    this.#metrics = new GatewayMetrics({ gateway: this, tunnels: () => this.#tunnels, routes: () => this.#routes.routes, draining: () => this.draining });
    this.#eventLog = new EventLog(this, this.#logger);
    this.#flood = new LogFlood(this.#logger);
    this.#admin =
      config.admin === undefined
        ? undefined
        : new AdminServer({
            routes: () => this.#routes.routes,
            health: () => this.#health,
            logger: this.#logger,
            metrics: this.#metrics,
            stats: () => this.#metrics.stats(),
            token: config.adminToken,
          });
    this.#plainProxy = this.#createPlainProxy();
    this.#http = createServer({
      maxHeaderSize: config.limits.maxHeaderSize,
      headersTimeout: config.timeouts.handshake,
      requestTimeout: 0,
      connectionsCheckingInterval: Math.min(1000, config.timeouts.handshake),
    });
    this.#listener = new Listener(
      {
        acceptProxyProtocol: config.acceptProxyProtocol,
        trustedProxies: this.#trustedProxies,
        proxyProtocolTimeoutMs: config.timeouts.proxyProtocol,
        maxConnections: config.limits.maxConnections,
        fastUpgrade: (socket, request, bodyHead, context) => this.#onUpgrade(request, socket, bodyHead, context),
        maxHeaderSize: config.limits.maxHeaderSize,
        headTimeoutMs: config.timeouts.handshake,
        refused: (reason) => this.#publishRefused(reason),
      },
      this.#http,
      this.#logger,
      () => this.#secureContext,
    );
    this.#http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket as Socket, head, this.#contextOf(socket as Socket)));
    this.#http.on('request', (req: IncomingMessage, res: ServerResponse) => this.#onRequest(req, res));
    this.#http.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => this.#onClientError(error, socket));
    this.#cluster?.attach(this, { routes: () => this.#routes.routes, metrics: this.#metrics });
  }

  // ---------------------------------------------------------------- the path of one connection

  // 1. admit: the Listener accepted the socket, read any PROXY header and TLS, and
  //    handed the request head over: a clean upgrade head straight here, anything
  //    else through Node's HTTP server (its 'upgrade', 'request' and 'clientError').

  /** An upgrade request: stages 2 and 3, the route's connection limits, then stages 4 to 7 in an UpgradeAttempt. */
  #onUpgrade(req: UpgradeRequest, socket: Socket, bodyHead: Buffer, context: ConnectionContext): void {
    const receivedAt = performance.now();
    // The listener's handler is normally still there; one more would turn the listener list into an array.
    if (socket.listenerCount('error') === 0) socket.on('error', ignoreSocketError);
    const decision = this.#routeIncoming(req, socket, context, 'upgrade');
    if (decision.kind === 'rejected') {
      this.#refuseUpgrade(socket, decision.failure, req, decision);
      return;
    }
    const { route, selection, forwarding, proxyHeader } = decision;
    const limited = this.#admission.admit(route, route.maxConnections, selection.clientAddress);
    if (limited !== undefined) {
      this.#refuseUpgrade(socket, limited, req, { clientAddress: selection.clientAddress, requestId: forwarding.requestId, route });
      return;
    }
    let head = buildUpgradeRequestHead(req, forwarding, selection.upstreamTarget);
    // The PROXY header goes first on the backend connection; latin1 carries its bytes unchanged.
    if (proxyHeader !== undefined) head = proxyHeader.toString('latin1') + head;
    new UpgradeAttempt(socket, route, selection, head, bodyHead, this.#upgradeSettings, this.#upgradeEvents, receivedAt, forwarding.requestId).start();
  }

  /** A plain request: the health endpoint, else stages 2 and 3, then http-proxy (proxy-request.ts). */
  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (isHealthRequest(req, this.#config.healthPath)) {
      answerHealth(res, this.draining);
      return;
    }
    const decision = this.#routeIncoming(req, req.socket, this.#contextOf(req.socket), 'plain');
    // One access-log line and one count per request, when it is over (events.ts).
    if (channels.httpRequest.hasSubscribers) this.#publishWhenAnswered(req, res, decision);
    if (decision.kind === 'rejected') {
      const { failure } = decision;
      const headers: Record<string, string> = { 'x-request-id': decision.requestId };
      if (closesConnection(failure)) headers.connection = 'close';
      answerFailure(res, failure, { headers });
      return;
    }
    this.#plainProxy.forward(req, res, decision.route, decision.selection, decision.forwarding, decision.proxyHeader);
  }

  #publishWhenAnswered(req: IncomingMessage, res: ServerResponse, decision: RoutingDecision): void {
    const startedAt = performance.now();
    const socket = req.socket;
    const readBefore = socket.bytesRead;
    const writtenBefore = socket.bytesWritten;
    res.once('close', () => {
      const routed = decision.kind === 'routed';
      const route = decision.route;
      channels.httpRequest.publish({
        gateway: this,
        code: routed ? undefined : decision.failure,
        route: route?.name,
        backend: routed ? this.#plainProxy.backendOf(req)?.id : undefined,
        method: req.method ?? '',
        path: routed ? decision.selection.path : pathOf(req.url),
        // A response cut off before its head went out (client gone, backend reset) counts as a 502.
        status: res.headersSent ? res.statusCode : 502,
        durationSeconds: (performance.now() - startedAt) / 1000,
        bytesIn: socket.bytesRead - readBefore,
        bytesOut: socket.bytesWritten - writtenBefore,
        client: decision.kind === 'routed' ? decision.selection.clientAddress : decision.clientAddress,
        requestId: decision.kind === 'routed' ? decision.forwarding.requestId : decision.requestId,
      } satisfies HttpRequestEvent);
    });
  }

  /**
   * Stages 2 and 3, shared by upgrades and plain requests: who the client is
   * (forwarding headers believed only from trusted proxies), refusal while
   * draining, the handshake's validity, the route, the route's gate, and the
   * PROXY header the route sends out.
   */
  #routeIncoming(req: UpgradeRequest, socket: Socket, context: ConnectionContext, kind: 'upgrade' | 'plain'): RoutingDecision {
    const forwarding = decideForwarding(req, context, this.#trustedProxies, isEncrypted(socket));
    const { clientAddress, requestId } = forwarding;
    // A client reconnecting during the drain must reach another instance, never a backend through this one.
    if (this.draining) return { kind: 'rejected', failure: 'ERR_GATEWAY_DRAINING', clientAddress, requestId, route: undefined };
    const invalid = kind === 'upgrade' ? handshakeFailure(req) : plainRequestFailure(req);
    if (invalid !== undefined) return { kind: 'rejected', failure: invalid, clientAddress, requestId, route: undefined };
    const routed = routeRequest(this.#routes, req, clientAddress, forwarding.xForwardedProto === 'https');
    if (routed.kind === 'rejected') return { kind: 'rejected', failure: routed.code, clientAddress, requestId, route: undefined };
    const { route } = routed;
    // The route's gate: PrivateLink-only routes (PROXY v2 TLV 0xEA, issue 3 of elb.md).
    if (route.allowedVpceIds !== undefined && (context.vpceId === undefined || !route.allowedVpceIds.includes(context.vpceId))) {
      return { kind: 'rejected', failure: 'ERR_ROUTE_FORBIDDEN', clientAddress, requestId, route };
    }
    const proxyHeader =
      route.sendProxyProtocol === undefined
        ? undefined
        : proxyHeaderFor(route.sendProxyProtocol, { address: clientAddress, port: context.clientPort }, { address: socket.localAddress, port: socket.localPort });
    return { kind: 'routed', route, selection: routed.selection, forwarding, proxyHeader };
  }

  #publishRefused(reason: ConnectionRefusedEvent['reason']): void {
    if (channels.connectionRefused.hasSubscribers) channels.connectionRefused.publish({ gateway: this, reason } satisfies ConnectionRefusedEvent);
  }

  #refuseUpgrade(socket: Socket, failure: FailureCode, req: UpgradeRequest, who: { clientAddress: string; requestId: string; route: Route | undefined }): void {
    rejectUpgrade(socket, failure, who.requestId);
    this.#publishRejected(failure, who.route, who.clientAddress, req.url, who.requestId, undefined);
  }

  #publishRejected(code: FailureCode, route: Route | undefined, client: string, url: string | undefined, requestId: string, detail: string | undefined): void {
    if (!channels.upgradeRejected.hasSubscribers) return;
    channels.upgradeRejected.publish({ gateway: this, route: route?.name, code, status: FAILURES[code].status, client, url, requestId, detail } satisfies UpgradeRejectedEvent);
  }

  /** A request head Node's HTTP parser could not read. */
  #onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    const code = error.code ?? '';
    // Resets and timeouts of idle keep-alive connections are routine.
    if (code === 'ECONNRESET' || !socket.writable) {
      this.#logger.debug({ err: code }, 'client connection reset');
      socket.destroy();
      return;
    }
    const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    this.#flood.log('info', `malformed request ${status}`, { status, err: code }, 'malformed request');
    this.#publishRefused(status === 431 ? 'header-too-large' : status === 408 ? 'handshake-timeout' : 'malformed');
    rejectMalformedRequest(socket, status);
  }

  // 4-7. choose, connect, answer, tunnel: an UpgradeAttempt runs them and reports here.
  #createUpgradeEvents(): UpgradeEvents {
    return {
      tunnelOpened: (tunnel, timing) => {
        if (this.#closing) {
          // An upgrade that was under way when close() ended the others.
          tunnel.destroy('gateway closing');
          return;
        }
        this.#tunnels.add(tunnel);
        // TCP keep-alive (issue 5): an NLB counts probes as traffic (350 s idle timeout); Linux's own first
        // probe comes after 7200 s. The backend socket was dialled with it (open-tunnel.ts), and the client
        // socket inherited it from the listener, unless the listener could not take it.
        const keepAliveMs = this.#config.tunnels.tcpKeepAlive;
        if (keepAliveMs > 0 && !this.#clientKeepAliveInherited) tunnel.client.setKeepAlive(true, keepAliveMs);
        if (channels.tunnelOpen.hasSubscribers) {
          channels.tunnelOpen.publish({
            gateway: this,
            route: tunnel.route.name,
            backend: tunnel.backend.id,
            client: tunnel.clientAddress,
            handshakeSeconds: timing.handshakeSeconds,
            connectSeconds: timing.connectSeconds,
            requestId: tunnel.requestId,
            choice: timing.choice,
            path: tunnel.path,
          } satisfies TunnelOpenEvent);
        }
      },
      tunnelFinished: (tunnel) => {
        this.#tunnels.delete(tunnel);
        if (this.#tunnels.size === 0 && this.#onNoTunnels !== undefined) {
          const notify = this.#onNoTunnels;
          this.#onNoTunnels = undefined;
          notify();
        }
        this.#admission.release(tunnel.route, tunnel.clientAddress);
        if (channels.tunnelClose.hasSubscribers) channels.tunnelClose.publish({ gateway: this, summary: tunnel.summary() } satisfies TunnelCloseEvent);
      },
      clientAnsweredPing: (tunnel, seconds) => {
        if (channels.tunnelRtt.hasSubscribers) channels.tunnelRtt.publish({ gateway: this, route: tunnel.route.name, seconds } satisfies TunnelRttEvent);
      },
      upgradeRefused: (attempt, statusCode) => {
        this.#admission.release(attempt.route, attempt.selection.clientAddress);
        this.#logger.info(
          { status: statusCode, route: attempt.route.name, backend: attempt.backendLabel, client: attempt.selection.clientAddress, requestId: attempt.requestId },
          'upgrade refused by backend',
        );
      },
      upgradeFailed: (attempt, code, detail) => {
        this.#admission.release(attempt.route, attempt.selection.clientAddress);
        this.#publishRejected(code, attempt.route, attempt.selection.clientAddress, undefined, attempt.requestId, `${detail}${attempt.backendLabel === undefined ? '' : ` (backend ${attempt.backendLabel})`}`);
        const backend = attempt.currentBackend;
        if (code === 'ERR_UPSTREAM_BAD_RESPONSE' && backend !== undefined) this.#observer().badResponse(backend, detail);
      },
      backendSkipped: (attempt, backend, detail) => {
        // One line per skip (not flood-limited): passive ejection stops a dead backend's skips after `failures`.
        this.#logger.warn({ route: attempt.route.name, backend: backend.label, detail, requestId: attempt.requestId }, 'backend skipped');
        this.#observer().connectFailed(backend, detail);
      },
      backendAnswered: (_attempt, backend) => this.#observer().succeeded(backend),
    };
  }

  // 4-6 for plain requests: http-proxy chooses through the same pools and reports here.
  #createPlainProxy(): PlainHttpProxy {
    return new PlainHttpProxy(
      {
        backendSkipped: (backend, detail) => {
          this.#logger.warn({ backend: backend.label, detail }, 'backend skipped');
          this.#observer().connectFailed(backend, detail);
        },
        requestFailed: (code, detail, backend) => {
          this.#flood.log('warn', `request failed ${code}`, { code, status: FAILURES[code].status, detail, backend: backend?.label }, 'request failed');
          if (backend !== undefined && code === 'ERR_UPSTREAM_UNAVAILABLE') this.#observer().connectFailed(backend, detail);
          if (backend !== undefined && code === 'ERR_UPSTREAM_BAD_RESPONSE') this.#observer().badResponse(backend, detail);
        },
        backendResponded: (backend) => this.#observer().succeeded(backend),
      },
      this.#backendTls,
      this.#config.timeouts.backendResponse,
    );
  }

  // ---------------------------------------------------------------- lifecycle

  /** The configuration in force (replaced by reload()). */
  get config(): GatewayConfig {
    return this.#config;
  }

  /** Number of tunnels open now. */
  get activeTunnels(): number {
    return this.#tunnels.size;
  }

  /** True once drain() has started: the health endpoint, upgrades and requests answer 503. */
  get draining(): boolean {
    return this.#drainStarted !== undefined;
  }

  /** Every route (in configured order) with its backends' weight, health, drain state and open tunnels, as the admin API shows them. */
  backends(): RouteReport[] {
    return reportRoutes(this.#routes.routes, this.#health);
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = this.#config.listen;
    const address = await this.#listener.listen(host, port);
    this.#applyListenerKeepAlive();
    // The HTTP server never listens itself, but its 'listening' event is what
    // starts Node's connection tracking: the headers timeout (408) and
    // closeAllConnections() depend on it.
    this.#http.emit('listening');
    this.#logger.info({ address: address.address, port: address.port, routes: this.#routes.routes.length, tls: this.#secureContext !== undefined }, 'listening');
    this.#health.start();
    const { pingInterval, idleTimeout } = this.#config.tunnels;
    this.#keepalive ??= new KeepaliveSweeper(this.#tunnels, { pingIntervalMs: pingInterval, idleTimeoutMs: idleTimeout });
    this.#keepalive.start();
    if (this.#admin !== undefined && this.#config.admin !== undefined) {
      const { host: adminHost } = this.#config.admin;
      if (this.#config.adminToken === undefined && !isLoopback(adminHost)) {
        this.#logger.warn({ admin: adminHost }, 'the admin listener is not on loopback and has no --admin-token: anyone who reaches it can drain backends');
      }
      try {
        await this.#admin.listen(this.#config.admin.host, this.#config.admin.port);
      } catch (error) {
        await this.close();
        throw error;
      }
    }
    return address;
  }

  address(): AddressInfo | undefined {
    return boundAddress(this.#listener.server);
  }

  /** The admin API's address, while it listens. */
  adminAddress(): AddressInfo | undefined {
    return this.#admin?.address();
  }

  /**
   * Applies a new configuration to new connections (SIGHUP) without touching
   * open tunnels: routes, backends, balancing, health checks, per-route
   * limits and TCP keep-alive change; a backend that stays (same address and
   * id) keeps its state (open tunnels, health, drain, stickiness). What is
   * bound at listen time (listen address, PROXY protocol, TLS files, workers,
   * timeouts, the admin listener) needs a restart and is left as it was.
   */
  reload(config: GatewayConfig): void {
    const kept = new Map<string, Backend>();
    for (const route of this.#routes.routes) for (const backend of route.pool.backends) kept.set(backendKey(backend), backend);
    const routes = RouteTable.fromConfig(config, (backend) => kept.get(backendKey(backend)));
    const listening = this.address() !== undefined;
    this.#health.stop();
    this.#routes = routes;
    this.#config = { ...config, listen: this.#config.listen };
    // Backend timeouts stay as started (http-proxy holds them too); TCP keep-alive follows the reload.
    this.#upgradeSettings = { ...this.#upgradeSettings, backendKeepAliveMs: this.#config.tunnels.tcpKeepAlive };
    // The old monitor's counters and cool-offs carry over for backends and settings that stayed (issue 6).
    this.#health = this.#createHealth(routes.routes, this.#health);
    if (listening) {
      this.#health.start();
      this.#applyListenerKeepAlive();
    }
    this.#logger.info({ routes: routes.routes.length }, 'configuration reloaded');
    channels.reload.publish({ gateway: this, result: 'ok', routes: routes.routes.length });
  }

  /** Reads the certificate and key again (SIGHUP); new connections use them, open ones keep theirs. */
  reloadCertificate(): void {
    this.#secureContext = this.#loadSecureContext();
    this.#logger.info('TLS certificate reloaded');
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
    this.#drainStarted ??= this.#runDrain(options.timeoutMs ?? this.#config.drain.timeout, options.spreadMs ?? this.#config.drain.closeSpread);
    return this.#drainStarted;
  }

  /** Stops accepting, ends every tunnel and plain connection, and resolves once the listener is closed. */
  close(): Promise<void> {
    this.#closing = true;
    this.#keepalive?.stop();
    this.#health.stop();
    const adminClosed = this.#admin?.close() ?? Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#listener.server.close(() => void adminClosed.then(resolve));
      this.#listener.closeWaiting();
      for (const tunnel of this.#tunnels) tunnel.destroy('gateway closing');
      this.#http.closeAllConnections();
      this.#plainProxy.close();
      this.#metrics.close();
      this.#eventLog.close();
      this.#flood.stop();
    });
  }

  async #runDrain(timeoutMs: number, spreadMs: number): Promise<void> {
    this.#logger.info({ tunnels: this.#tunnels.size, timeoutMs, spreadMs }, 'draining');
    await this.#untilNoTunnels(timeoutMs);
    if (this.#tunnels.size > 0) {
      this.#logger.info({ tunnels: this.#tunnels.size, spreadMs }, 'drain timeout: closing tunnels (1001)');
      await closeTunnelsSpread(this.#tunnels, spreadMs, 'drain');
      // Each close ends within two graces (boundary wait, then the peers' answer); whatever is left, close() destroys.
      await this.#untilNoTunnels(2 * CLOSE_GRACE_MS + 500);
    }
    this.#logger.info({ tunnels: this.#tunnels.size }, 'drained');
    // close() may have been called meanwhile (library users); it ran once, and that is enough.
    if (!this.#closing) await this.close();
  }

  /** Resolves when no tunnel is open, or after `timeoutMs`. */
  #untilNoTunnels(timeoutMs: number): Promise<void> {
    if (this.#tunnels.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const previous = this.#onNoTunnels;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#onNoTunnels = () => {
        previous?.();
        done();
      };
    });
  }

  /**
   * The health monitor for `routes`, carrying `previous`'s state over (reload).
   * A cluster worker's decides nothing and carries nothing over (it would set
   * `healthy` from its own empty state): the primary's decisions stand.
   */
  #createHealth(routes: readonly Route[], previous: HealthMonitor | undefined): HealthMonitor {
    const settings = routeHealthSettings(routes);
    if (this.#cluster !== undefined) return new HealthMonitor(withoutDecisions(settings), this.#logger, this.#backendTls, undefined, this);
    return new HealthMonitor(settings, this.#logger, this.#backendTls, previous, this);
  }

  /** Where passive observations go: the monitor, or a cluster worker's primary. */
  #observer(): PassiveObserver {
    return this.#cluster ?? this.#health;
  }

  #settingsOf(config: GatewayConfig): UpgradeSettings {
    return {
      connectTimeoutMs: config.timeouts.backendConnect,
      responseTimeoutMs: config.timeouts.backendResponse,
      backendKeepAliveMs: config.tunnels.tcpKeepAlive,
      backendTls: this.#backendTls,
    };
  }

  /** Accepted sockets inherit keep-alive from the listener; false: set per tunnel instead (tunnelOpened). */
  #applyListenerKeepAlive(): void {
    this.#clientKeepAliveInherited = this.#listener.setAcceptedKeepAlive(this.#config.tunnels.tcpKeepAlive);
  }

  #loadSecureContext(): SecureContext | undefined {
    const tls = this.#config.tls;
    if (tls === undefined) return undefined;
    return createSecureContext({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) });
  }

  /** What the listener learned; sockets always have one, this default only guards the type. */
  #contextOf(socket: Socket): ConnectionContext {
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
}

/** Stage 2 for an upgrade: RFC 6455 4.2.1. */
function handshakeFailure(req: UpgradeRequest): FailureCode | undefined {
  const verdict = validateHandshake(req);
  return verdict.ok ? undefined : verdict.code;
}

/**
 * Stage 2 for a plain request: an `Upgrade: websocket` request that Node did
 * not treat as an upgrade lacks the Connection token; it is a broken handshake,
 * not a plain request.
 */
function plainRequestFailure(req: UpgradeRequest): FailureCode | undefined {
  if (!isWebSocketRequest(req.headers)) return undefined;
  return handshakeFailure(req) ?? 'ERR_HANDSHAKE_CONNECTION';
}

/** The path of a request target, without its query (for a request refused before routing). */
function pathOf(url: string | undefined): string {
  const target = url ?? '';
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function isEncrypted(socket: Socket): boolean {
  return (socket as Socket & { encrypted?: boolean }).encrypted === true;
}

/** What makes a backend "the same" across a reload. */
function backendKey(backend: { host: string; port: number; tls: boolean; id?: string | undefined }): string {
  return `${backend.host}|${backend.port}|${backend.tls}|${backend.id ?? ''}`;
}

/** The library's entry point: validates `config` (throws ConfigError) and builds a gateway, not yet listening. */
export function createGateway(config: GatewayConfigInput, options: GatewayOptions = {}): Gateway {
  return new Gateway(validateConfig(config), options);
}
