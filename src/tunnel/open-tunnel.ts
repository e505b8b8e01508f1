import type { Socket } from 'node:net';
import type { FailureCode } from '../errors.js';
import { rejectUpgrade } from '../http/failure-response.js';
import { explainChoice, type BackendChoice } from '../routing/explain-choice.js';
import { stickySetCookie, type RouteSelection } from '../routing/route-selection.js';
import type { Route } from '../routing/route-table.js';
import { addSetCookieToHead } from '../routing/sticky-cookie.js';
import type { Backend } from '../upstream/backend.js';
import { parseResponseHead, type ResponseHead } from '../http/response-head.js';
import { OWNER } from '../listener/socket-stage.js';
import { isLocalFault, isUpgradeRetryable } from '../upstream/connect-failure.js';
import { dialBackend, readyEvent } from '../upstream/dial-backend.js';
import { Tunnel, type TunnelOwner } from './tunnel.js';

/** The settings an upgrade attempt reads: fixed for the attempt's life (a reload makes a new object). */
export interface UpgradeSettings {
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  /** TCP keep-alive delay for backend sockets, 0 for none (issue 5). */
  readonly backendKeepAliveMs: number;
  /** The TLS options for wss:// backends. */
  readonly backendTls: { readonly rejectUnauthorized: boolean; readonly ca?: Buffer | undefined };
}

/** How the way to a tunnel went (metrics and the debug log, issue 12). */
export interface UpgradeTiming {
  /** Why this backend (explain-choice.ts). */
  readonly choice: BackendChoice;
  /** Request head complete to the 101 written to the client. */
  readonly handshakeSeconds: number;
  /** The connect (TCP, and TLS for wss://) to the backend that answered. */
  readonly connectSeconds: number;
}

/** What an upgrade attempt, and the tunnel it opens, tell the gateway. */
export interface UpgradeEvents extends TunnelOwner {
  tunnelOpened(tunnel: Tunnel, timing: UpgradeTiming): void;
  upgradeFailed(attempt: UpgradeAttempt, code: FailureCode, detail: string): void;
  /** The backend answered with a status other than 101, relayed to the client. */
  upgradeRefused(attempt: UpgradeAttempt, statusCode: number): void;
  backendSkipped(attempt: UpgradeAttempt, backend: Backend, detail: string): void;
  /** The backend answered with a valid response head (passive health counts it as a success). */
  backendAnswered(attempt: UpgradeAttempt, backend: Backend, statusCode: number): void;
}

/** Headers a non-101 answer must not carry to a connection we are about to close. */
const NOT_RELAYED = new Set(['connection', 'keep-alive', 'proxy-connection']);

/**
 * One upgrade request on its way to a backend: pick a backend, connect, send
 * the prebuilt request head (and any bytes that came with it), read the
 * response head. A backend that cannot be connected to is skipped and the next
 * one tried; nothing is written to the client before a backend has answered,
 * so retries are invisible. A 101 becomes a Tunnel; any other answer is relayed
 * and both connections are closed.
 */
export class UpgradeAttempt {
  private readonly tried = new Set<Backend>();
  private upstream: Socket | undefined;
  private backend: Backend | undefined;
  private connected = false;
  private received: Buffer | undefined;
  private settled = false;
  /** Connect timeout, then response timeout: one timer per attempt, not a socket timer (see start()). */
  private timer: NodeJS.Timeout | undefined;
  /** performance.now() when the current backend was dialled, then the connect's duration in ms. */
  private dialedAt = 0;
  private connectMs = 0;

  constructor(
    readonly client: Socket,
    readonly route: Route,
    readonly selection: RouteSelection,
    private readonly requestHead: string,
    private readonly bodyHead: Buffer,
    private readonly settings: UpgradeSettings,
    private readonly events: UpgradeEvents,
    /** performance.now() when the request head was complete. */
    private readonly receivedAt: number,
    readonly requestId: string,
  ) {
    // Hold client bytes until the backend accepts: they are sent after the 101.
    client.pause();
    (client as AttemptSocket)[OWNER] = this;
    client.on('error', onClientGone);
    client.on('close', onClientGone);
  }

  start(): void {
    const backend = this.route.pool.selectBackend(this.selection, this.tried);
    if (backend === undefined) {
      // Nothing in rotation before any attempt: 503 at once, not a connect timeout (issue 6).
      if (this.tried.size === 0) this.fail('ERR_UPSTREAM_NO_HEALTHY', 'no backend in rotation');
      else this.fail('ERR_UPSTREAM_UNAVAILABLE', `all ${this.tried.size} tried`);
      return;
    }
    this.backend = backend;
    this.tried.add(backend);
    this.connected = false;
    this.received = undefined;
    this.dialedAt = performance.now();
    // Keep-alive as a connect option: Node sets it once the connection is up, without a call per tunnel.
    const upstream = dialBackend(backend, this.settings.backendTls, {
      noDelay: true,
      allowHalfOpen: true,
      keepAliveMs: this.settings.backendKeepAliveMs,
    }) as AttemptSocket;
    this.upstream = upstream;
    upstream[OWNER] = this;
    upstream.on('error', onUpstreamError);
    upstream.on(readyEvent(upstream), onUpstreamConnect);
    upstream.on('data', onUpstreamData);
    upstream.on('end', onUpstreamEnd);
    // A plain timer rather than socket.setTimeout(): a socket timer stays on
    // the socket for the tunnel's whole life (a Timeout and a bound function
    // per tunnel, and a refresh on every read and write) even once cleared.
    this.armTimer(this.settings.connectTimeoutMs);
    // Queued until the connection is up, then flushed in one write.
    upstream.cork();
    upstream.write(this.requestHead, 'latin1');
    upstream.uncork();
  }

  /** @internal */
  armTimer(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(onAttemptTimeout, ms, this).unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get backendLabel(): string | undefined {
    return this.backend?.label;
  }

  /** The backend being tried (or that answered), if any. */
  get currentBackend(): Backend | undefined {
    return this.backend;
  }

  /** @internal */
  clientGone(): void {
    if (this.settled) return;
    this.settled = true;
    this.clearTimer();
    this.detachClient();
    this.upstream?.destroy();
    this.events.upgradeFailed(this, 'ERR_UPSTREAM_UNAVAILABLE', 'client closed before the backend answered');
  }

  /** @internal */
  upstreamConnected(): void {
    this.connected = true;
    this.connectMs = performance.now() - this.dialedAt;
    this.armTimer(this.settings.responseTimeoutMs);
  }

  /** @internal */
  timedOut(): void {
    this.timer = undefined;
    if (!this.connected) this.retryOrFail('connect timeout', true);
    else this.fail('ERR_UPSTREAM_TIMEOUT', 'no response head in time');
  }

  /** @internal */
  upstreamData(chunk: Buffer): void {
    this.received = this.received === undefined ? chunk : Buffer.concat([this.received, chunk]);
    const result = parseResponseHead(this.received);
    if (result.kind === 'need-more') return;
    if (result.kind === 'error') {
      this.fail('ERR_UPSTREAM_BAD_RESPONSE', result.reason);
      return;
    }
    if (this.backend !== undefined) this.events.backendAnswered(this, this.backend, result.head.statusCode);
    if (result.head.statusCode === 101) this.join(this.received, result.head.headLength);
    else this.relayRefusal(result.head, this.received);
  }

  /** Connect errors before anything was sent back are retried on the next backend. */
  /** @internal */
  retryOrFail(detail: string, isConnectFailure: boolean): void {
    if (this.settled) return;
    this.clearTimer();
    const backend = this.backend;
    this.upstream?.destroy();
    this.upstream = undefined;
    if (isConnectFailure && this.received === undefined && backend !== undefined) {
      this.events.backendSkipped(this, backend, detail);
      this.start();
      return;
    }
    this.fail('ERR_UPSTREAM_BAD_RESPONSE', detail);
  }

  /** @internal */
  fail(code: FailureCode, detail: string): void {
    if (this.settled) return;
    this.settled = true;
    this.clearTimer();
    this.upstream?.destroy();
    this.detachClient();
    rejectUpgrade(this.client, code, this.requestId);
    this.events.upgradeFailed(this, code, detail);
  }

  private detachUpstream(upstream: Socket): void {
    upstream.removeListener('error', onUpstreamError);
    upstream.removeListener('connect', onUpstreamConnect);
    upstream.removeListener('secureConnect', onUpstreamConnect);
    upstream.removeListener('data', onUpstreamData);
    upstream.removeListener('end', onUpstreamEnd);
  }

  private detachClient(): void {
    this.client.removeListener('error', onClientGone);
    this.client.removeListener('close', onClientGone);
  }

  /** 101: relay the backend's head and any frames behind it, then relay bytes both ways. */
  private join(received: Buffer, parsedHeadLength: number): void {
    const upstream = this.upstream as Socket;
    const backend = this.backend as Backend;
    this.settled = true;
    this.clearTimer();
    this.detachUpstream(upstream);
    this.detachClient();
    // The sticky cookie (issue 4) rides on the 101 itself: a WebSocket client's first request may be this upgrade.
    const setCookie = stickySetCookie(this.route, this.selection, backend);
    this.client.write(setCookie === undefined ? received : addSetCookieToHead(received, parsedHeadLength, setCookie));
    // Bytes the client sent behind its upgrade head go on only now that the backend has switched
    // protocols: on any other answer they are dropped with the connection, so a second request
    // smuggled behind a refused upgrade never reaches the backend (issue 13).
    if (this.bodyHead.length > 0) upstream.write(this.bodyHead);
    const tunnel = new Tunnel(
      this.client,
      upstream,
      this.route,
      backend,
      this.selection.clientAddress,
      this.selection.path,
      this.requestId,
      this.events,
      received.subarray(parsedHeadLength),
      this.bodyHead,
    );
    this.events.tunnelOpened(tunnel, {
      choice: explainChoice(this.route, this.selection, backend, this.tried.size),
      handshakeSeconds: (performance.now() - this.receivedAt) / 1000,
      connectSeconds: this.connectMs / 1000,
    });
  }

  /**
   * Any other status: the backend refused the upgrade. Relay its status,
   * headers and body as they are (with Connection: close), then close both.
   */
  private relayRefusal(head: ResponseHead, received: Buffer): void {
    const upstream = this.upstream as Socket;
    const client = this.client;
    this.settled = true;
    this.clearTimer();
    this.detachUpstream(upstream);
    this.detachClient();
    this.events.upgradeRefused(this, head.statusCode);
    let text = `${head.statusLine}\r\n`;
    for (const [name, value] of head.headers) {
      if (!NOT_RELAYED.has(name.toLowerCase())) text += `${name}: ${value}\r\n`;
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    const setCookie = this.backend === undefined ? undefined : stickySetCookie(this.route, this.selection, this.backend);
    if (setCookie !== undefined) text += `Set-Cookie: ${setCookie}\r\n`;
    client.write(`${text}Connection: close\r\n\r\n`, 'latin1');
    const noBody = head.statusCode < 200 || head.statusCode === 204 || head.statusCode === 304;
    let remaining = noBody ? 0 : (head.contentLength ?? Number.POSITIVE_INFINITY);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      upstream.destroy();
      client.once('finish', () => client.destroy());
      client.end();
    };
    const forward = (chunk: Buffer): void => {
      if (remaining <= 0) return;
      const part = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
      remaining -= part.length;
      client.write(part);
      if (remaining <= 0) finish();
    };
    forward(received.subarray(head.headLength));
    if (remaining <= 0) {
      finish();
      return;
    }
    // Without a length the body runs until the backend closes (RFC 9112 6.3 item 8).
    upstream.on('data', forward);
    upstream.on('end', finish);
    upstream.on('close', finish);
    // A body without a length that stalls is cut off after the response timeout.
    upstream.setTimeout(this.settings.responseTimeoutMs);
    upstream.on('timeout', finish);
    client.on('close', () => upstream.destroy());
  }
}


// Shared socket handlers for attempts: each finds its attempt in the socket's
// OWNER slot, so an attempt costs no closures.
interface AttemptSocket extends Socket {
  [OWNER]: UpgradeAttempt;
}

function onClientGone(this: AttemptSocket): void {
  this[OWNER].clientGone();
}

function onUpstreamConnect(this: AttemptSocket): void {
  this[OWNER].upstreamConnected();
}

function onUpstreamError(this: AttemptSocket, error: NodeJS.ErrnoException): void {
  const detail = `${error.code ?? 'error'}: ${error.message}`;
  if (isLocalFault(error.code)) this[OWNER].fail('ERR_GATEWAY_RESOURCES', detail);
  else this[OWNER].retryOrFail(detail, isUpgradeRetryable(error.code));
}

function onUpstreamEnd(this: AttemptSocket): void {
  this[OWNER].fail('ERR_UPSTREAM_BAD_RESPONSE', 'backend closed before a complete response head');
}

function onUpstreamData(this: AttemptSocket, chunk: Buffer): void {
  this[OWNER].upstreamData(chunk);
}

function onAttemptTimeout(attempt: UpgradeAttempt): void {
  attempt.timedOut();
}
