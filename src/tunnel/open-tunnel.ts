import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { FailureCode } from '../errors.js';
import { rejectUpgrade } from '../handshake/reject.js';
import { stickySetCookie, type RouteSelection } from '../routing/route-selection.js';
import type { Route } from '../routing/route-table.js';
import { addSetCookieToHead } from '../routing/sticky-cookie.js';
import type { Backend } from '../upstream/backend.js';
import { parseResponseHead, type ResponseHead } from './response-head.js';
import { Tunnel } from './tunnel.js';

/** What opening a tunnel needs from the gateway. */
export interface TunnelOpener {
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  /** The TLS options for wss:// backends. */
  readonly backendTls: { readonly rejectUnauthorized: boolean; readonly ca?: Buffer | undefined };
  tunnelOpened(tunnel: Tunnel): void;
  tunnelFinished(tunnel: Tunnel): void;
  upgradeFailed(attempt: UpgradeAttempt, code: FailureCode, detail: string): void;
  /** The backend answered with a status other than 101, relayed to the client. */
  upgradeRefused(attempt: UpgradeAttempt, statusCode: number): void;
  backendSkipped(attempt: UpgradeAttempt, backend: Backend, detail: string): void;
  /** The backend answered with a valid response head (passive health counts it as a success). */
  backendAnswered?(attempt: UpgradeAttempt, backend: Backend, statusCode: number): void;
}

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET']);

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

  constructor(
    readonly client: Socket,
    readonly route: Route,
    readonly selection: RouteSelection,
    private readonly requestHead: string,
    private readonly bodyHead: Buffer,
    private readonly opener: TunnelOpener,
  ) {
    // Hold client bytes until the backend accepts: they are sent after the 101.
    client.pause();
    client.on('error', this.onClientGone);
    client.on('close', this.onClientGone);
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
    const options = { host: backend.host, port: backend.port, noDelay: true, allowHalfOpen: true };
    const upstream = backend.tls
      ? tlsConnect({ ...options, servername: isIP(backend.host) === 0 ? backend.host : undefined, rejectUnauthorized: this.opener.backendTls.rejectUnauthorized, ca: this.opener.backendTls.ca })
      : netConnect(options);
    this.upstream = upstream;
    upstream.on('error', this.onUpstreamError);
    upstream.on('timeout', this.onUpstreamTimeout);
    upstream.on(backend.tls ? 'secureConnect' : 'connect', this.onUpstreamConnect);
    upstream.on('data', this.onUpstreamData);
    upstream.on('end', this.onUpstreamEnd);
    upstream.setTimeout(this.opener.connectTimeoutMs);
    // Queued until the connection is up, then flushed in one write.
    upstream.cork();
    upstream.write(this.requestHead, 'latin1');
    if (this.bodyHead.length > 0) upstream.write(this.bodyHead);
    upstream.uncork();
  }

  get backendLabel(): string | undefined {
    return this.backend?.label;
  }

  /** The backend being tried (or that answered), if any. */
  get currentBackend(): Backend | undefined {
    return this.backend;
  }

  private readonly onClientGone = (): void => {
    if (this.settled) return;
    this.settled = true;
    this.detachClient();
    this.upstream?.destroy();
    this.opener.upgradeFailed(this, 'ERR_UPSTREAM_UNAVAILABLE', 'client closed before the backend answered');
  };

  private readonly onUpstreamConnect = (): void => {
    this.connected = true;
    this.upstream?.setTimeout(this.opener.responseTimeoutMs);
  };

  private readonly onUpstreamError = (error: NodeJS.ErrnoException): void => {
    this.retryOrFail(`${error.code ?? 'error'}: ${error.message}`, error.code !== undefined && CONNECT_FAILURES.has(error.code));
  };

  private readonly onUpstreamTimeout = (): void => {
    if (!this.connected) this.retryOrFail('connect timeout', true);
    else this.fail('ERR_UPSTREAM_TIMEOUT', 'no response head in time');
  };

  private readonly onUpstreamEnd = (): void => {
    this.fail('ERR_UPSTREAM_BAD_RESPONSE', 'backend closed before a complete response head');
  };

  private readonly onUpstreamData = (chunk: Buffer): void => {
    this.received = this.received === undefined ? chunk : Buffer.concat([this.received, chunk]);
    const result = parseResponseHead(this.received);
    if (result.kind === 'need-more') return;
    if (result.kind === 'error') {
      this.fail('ERR_UPSTREAM_BAD_RESPONSE', result.reason);
      return;
    }
    if (this.backend !== undefined) this.opener.backendAnswered?.(this, this.backend, result.head.statusCode);
    if (result.head.statusCode === 101) this.join(this.received, result.head.headLength);
    else this.relayRefusal(result.head, this.received);
  };

  /** Connect errors before anything was sent back are retried on the next backend. */
  private retryOrFail(detail: string, isConnectFailure: boolean): void {
    if (this.settled) return;
    const backend = this.backend;
    this.upstream?.destroy();
    this.upstream = undefined;
    if (isConnectFailure && this.received === undefined && backend !== undefined) {
      this.opener.backendSkipped(this, backend, detail);
      this.start();
      return;
    }
    this.fail('ERR_UPSTREAM_BAD_RESPONSE', detail);
  }

  private fail(code: FailureCode, detail: string): void {
    if (this.settled) return;
    this.settled = true;
    this.upstream?.destroy();
    this.detachClient();
    rejectUpgrade(this.client, code);
    this.opener.upgradeFailed(this, code, detail);
  }

  private detachUpstream(upstream: Socket): void {
    upstream.removeListener('error', this.onUpstreamError);
    upstream.removeListener('timeout', this.onUpstreamTimeout);
    upstream.removeListener('connect', this.onUpstreamConnect);
    upstream.removeListener('secureConnect', this.onUpstreamConnect);
    upstream.removeListener('data', this.onUpstreamData);
    upstream.removeListener('end', this.onUpstreamEnd);
  }

  private detachClient(): void {
    this.client.removeListener('error', this.onClientGone);
    this.client.removeListener('close', this.onClientGone);
  }

  /** 101: relay the backend's head and any frames behind it, then relay bytes both ways. */
  private join(received: Buffer, parsedHeadLength: number): void {
    const upstream = this.upstream as Socket;
    const backend = this.backend as Backend;
    this.settled = true;
    this.detachUpstream(upstream);
    this.detachClient();
    // The tunnel lives until a side closes; idle limits are a separate feature.
    upstream.setTimeout(0);
    // The sticky cookie (issue 4) rides on the 101 itself: a WebSocket client's first request may be this upgrade.
    const setCookie = stickySetCookie(this.route, this.selection, backend);
    this.client.write(setCookie === undefined ? received : addSetCookieToHead(received, parsedHeadLength, setCookie));
    const tunnel = new Tunnel(
      this.client,
      upstream,
      this.route,
      backend,
      this.selection.clientAddress,
      (t) => this.opener.tunnelFinished(t),
      received.subarray(parsedHeadLength),
    );
    this.opener.tunnelOpened(tunnel);
  }

  /**
   * Any other status: the backend refused the upgrade. Relay its status,
   * headers and body as they are (with Connection: close), then close both.
   */
  private relayRefusal(head: ResponseHead, received: Buffer): void {
    const upstream = this.upstream as Socket;
    const client = this.client;
    this.settled = true;
    this.detachUpstream(upstream);
    this.detachClient();
    this.opener.upgradeRefused(this, head.statusCode);
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
    upstream.on('timeout', finish);
    client.on('close', () => upstream.destroy());
  }
}

