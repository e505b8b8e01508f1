/**
 * The admin API (issue 6): JSON over HTTP on its own listener (`--admin
 * HOST:PORT`, off by default), never on the public one, so nothing a client of
 * the gateway sends can reach it. Bind it to loopback or a private interface;
 * with a token (issue 12) every request but the dashboard's page shell needs
 * `Authorization: Bearer TOKEN`.
 *
 *   GET  /                          the dashboard (dashboard.ts): one self-contained page, no token needed
 *   GET  /backends                  every route's backends with weight, health, drain state, tunnels
 *   POST /backends/{id}/drain       no new tunnels or requests; open tunnels stay
 *   POST /backends/{id}/undrain
 *   PUT  /backends/{id}/weight      body {"weight": N}, N an integer from 1 to 1000
 *   GET  /stats                     {now, history}: the gateway's figures now and over the last 15 minutes
 *   GET  /metrics                   Prometheus text
 *
 * An id names every backend that carries it, in every route (derived ids are
 * per address, so a server listed by two routes is drained in both).
 *
 * With `--workers N` the primary serves it (cluster/primary-gateway.ts) over
 * a route table of its own: the source's optional hooks read the workers'
 * figures (`stats` as a promise, `refresh` for tunnel counts) and apply an
 * action in every worker (`applied`) before it is answered.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { boundAddress, listenOn } from '../listener/listen.js';
import type { Route } from '../routing/route-table.js';
import type { Backend } from '../upstream/backend.js';
import type { HealthMonitor } from '../upstream/health-monitor.js';
import { reportBackend, reportRoutes, routesInConfiguredOrder } from './backend-report.js';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard.js';
import type { Logger } from './logger.js';
import { StatsHistory, type StatsHistoryOptions, type StatsSample } from './stats-history.js';

export type { StatsSample } from './stats-history.js';

/** Request bodies are tiny ({"weight": 5}); anything larger is refused. */
const MAX_BODY_BYTES = 1024;
export const MIN_WEIGHT = 1;
export const MAX_WEIGHT = 1000;

/** A drain, undrain or weight change, by backend id, as the admin API applied it. */
export type BackendAction = { readonly kind: 'drain' | 'undrain'; readonly backendId: string } | { readonly kind: 'weight'; readonly backendId: string; readonly weight: number };

/** What the admin API reads from the gateway; routes and health are replaced on reload, hence getters. */
export interface AdminSource {
  readonly routes: () => readonly Route[];
  readonly health: () => HealthMonitor;
  readonly logger: Logger;
  /** `--admin-token`: every request but `GET /` then needs `Authorization: Bearer TOKEN`. Never empty. */
  readonly token?: string | undefined;
  /** Prometheus text for `GET /metrics`; without it, 404. */
  readonly metrics?: { readonly contentType: string; text(): Promise<string> } | undefined;
  /**
   * The gateway's figures now, for `GET /stats` and its history; without it, 404. A promise (figures
   * gathered from workers) is awaited for `GET /stats`; the history then records each answer one
   * sampling interval later, with the time it was taken.
   */
  readonly stats?: (() => StatsSample | Promise<StatsSample>) | undefined;
  /** Awaited before backends are reported (`GET /backends`, an action's answer): brings `activeTunnels` up to date. */
  readonly refresh?: (() => Promise<void>) | undefined;
  /** Awaited after an action changed the backends of `routes()`, before the answer: applies it wherever else it must apply. */
  readonly applied?: ((action: BackendAction) => Promise<void>) | undefined;
}

export interface AdminServerOptions {
  /** How often `stats` is sampled and how far back `GET /stats` reaches (5 s over 15 minutes). */
  readonly history?: Pick<StatsHistoryOptions, 'intervalMs' | 'windowMs'>;
}

const WWW_AUTHENTICATE = 'Bearer realm="wsgate admin"';

/** Thrown by the history's sampler while an asynchronous source has no fresh answer yet: that tick is skipped. */
const NO_SAMPLE_YET = Symbol('no sample yet');

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Parses a weight body; returns the weight or throws a 400. */
export function parseWeightBody(text: string): number {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AdminError(400, 'the body must be JSON such as {"weight": 5}');
  }
  const weight = body !== null && typeof body === 'object' && 'weight' in body ? (body as { weight: unknown }).weight : undefined;
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < MIN_WEIGHT || weight > MAX_WEIGHT) {
    throw new AdminError(400, `"weight" must be an integer from ${MIN_WEIGHT} to ${MAX_WEIGHT}`);
  }
  return weight;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new AdminError(413, `the body must be at most ${MAX_BODY_BYTES} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export class AdminServer {
  private readonly server: Server;
  /** SHA-256 of the token: both sides of the comparison have the same length whatever was sent. */
  private readonly tokenDigest: Buffer | undefined;
  private readonly history: StatsHistory | undefined;

  constructor(
    private readonly source: AdminSource,
    options: AdminServerOptions = {},
  ) {
    if (source.token !== undefined && source.token === '') throw new TypeError('the admin token must not be empty');
    this.tokenDigest = source.token === undefined ? undefined : sha256(source.token);
    const stats = source.stats;
    const onError = (error: unknown): void => {
      if (error !== NO_SAMPLE_YET) this.source.logger.error({ err: error }, 'admin stats sample failed');
    };
    this.history = stats === undefined ? undefined : new StatsHistory(historySampler(stats, onError), { ...options.history, onError });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (error instanceof AdminError) {
          send(res, error.status, { error: error.message }, { ...error.headers, ...(error.status === 413 ? { connection: 'close' } : {}) });
          return;
        }
        this.source.logger.error({ err: error }, 'admin request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    });
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    const address = await listenOn(this.server, host, port, (error) => this.source.logger.error({ err: error }, 'admin listener error'));
    this.history?.start();
    this.source.logger.info({ address: address.address, port: address.port }, 'admin listening');
    return address;
  }

  address(): AddressInfo | undefined {
    return boundAddress(this.server);
  }

  close(): Promise<void> {
    this.history?.stop();
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    // The page shell holds nothing secret; it asks for the token when its data requests get 401.
    if (path === '/' && req.method === 'GET') {
      sendPage(res);
      return;
    }
    this.authorize(req);
    refuseCrossSite(req);
    if (path === '/') throw new AdminError(405, 'use GET here', { allow: 'GET' });
    if (path === '/stats') {
      allow(req, 'GET');
      if (this.source.stats === undefined || this.history === undefined) throw new AdminError(404, 'no stats here');
      send(res, 200, { now: await this.source.stats(), history: this.history.samples() });
      return;
    }
    if (path === '/metrics') {
      allow(req, 'GET');
      if (this.source.metrics === undefined) throw new AdminError(404, 'no metrics here');
      const text = await this.source.metrics.text();
      res.writeHead(200, { 'content-type': this.source.metrics.contentType, 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    const parts = path.split('/').filter((part) => part !== '');
    if (parts[0] !== 'backends' || parts.length > 3 || parts.length === 2) throw new AdminError(404, `no such endpoint: ${path}`);
    if (parts.length === 1) {
      allow(req, 'GET');
      await this.source.refresh?.();
      send(res, 200, { routes: reportRoutes(this.source.routes(), this.source.health()) });
      return;
    }
    const id = decodeURIComponent(parts[1] ?? '');
    const action = parts[2];
    if (action !== 'drain' && action !== 'undrain' && action !== 'weight') throw new AdminError(404, `no such endpoint: ${path}`);
    allow(req, action === 'weight' ? 'PUT' : 'POST');
    // The body is read before answering, so the connection stays usable for the next request.
    const body = action === 'weight' ? await readBody(req) : '';
    const backends = this.backendsWithId(id);
    if (backends.length === 0) throw new AdminError(404, `no backend has id "${id}"`);
    const weight = action === 'weight' ? parseWeightBody(body) : undefined;
    const first = backends[0] as Backend;
    const fields = { backendId: id, backend: first.label, routes: backends.map((b) => this.routeNameOf(b)) };
    if (weight !== undefined) {
      const previous = first.weight;
      for (const backend of backends) backend.weight = weight;
      this.source.logger.info({ ...fields, weight, previous }, 'backend weight set');
      await this.source.applied?.({ kind: 'weight', backendId: id, weight });
    } else {
      const draining = action === 'drain';
      for (const backend of backends) backend.draining = draining;
      this.source.logger.info(fields, draining ? 'backend draining' : 'backend undrained');
      await this.source.applied?.({ kind: draining ? 'drain' : 'undrain', backendId: id });
    }
    await this.source.refresh?.();
    const health = this.source.health();
    send(res, 200, { backends: backends.map((backend) => ({ route: this.routeNameOf(backend), ...reportBackend(backend, health) })) });
  }

  /** With a token configured: throws a 401 unless the request carries it (compared in constant time). */
  private authorize(req: IncomingMessage): void {
    if (this.tokenDigest === undefined) return;
    const match = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    // Hashing first makes both buffers 32 bytes, so neither the comparison nor its length check leaks the token's length.
    if (match !== null && timingSafeEqual(sha256(match[1] ?? ''), this.tokenDigest)) return;
    this.source.logger.debug({ client: req.socket.remoteAddress, presented: match !== null }, 'admin request without a valid token');
    throw new AdminError(401, 'this admin API needs a token: send Authorization: Bearer TOKEN', {
      'www-authenticate': match === null ? WWW_AUTHENTICATE : `${WWW_AUTHENTICATE}, error="invalid_token"`,
    });
  }

  private backendsWithId(id: string): Backend[] {
    return routesInConfiguredOrder(this.source.routes()).flatMap((route) => route.pool.backends.filter((b) => b.id === id));
  }

  private routeNameOf(backend: Backend): string {
    return this.source.routes().find((route) => route.pool.backends.includes(backend))?.name ?? '';
  }
}

/**
 * The history's sampler (StatsHistory calls it synchronously). A synchronous
 * source is sampled as it is. An asynchronous one is asked at each tick, and
 * the tick records the answer to the previous one (it carries its own `at`),
 * or nothing when that has not come yet.
 */
function historySampler(stats: () => StatsSample | Promise<StatsSample>, onError: (error: unknown) => void): () => StatsSample {
  let answered: StatsSample | undefined;
  return () => {
    const now = stats();
    if (!(now instanceof Promise)) return now;
    now.then((sample) => (answered = sample), onError);
    const sample = answered;
    answered = undefined;
    if (sample === undefined) throw NO_SAMPLE_YET;
    return sample;
  };
}

/** Warns when the admin listener is reachable beyond this host and no token guards it. */
export function warnIfAdminExposed(host: string, token: string | undefined, logger: Logger): void {
  if (token !== undefined || host === 'localhost' || host === '::1' || host.startsWith('127.')) return;
  logger.warn({ admin: host }, 'the admin listener is not on loopback and has no --admin-token: anyone who reaches it can drain backends');
}

function sendPage(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(DASHBOARD_HTML)),
    'cache-control': 'no-store',
    'content-security-policy': DASHBOARD_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(DASHBOARD_HTML);
}

/**
 * A browser sends a cross-site POST or PUT without asking first (a "simple"
 * request), so any page the operator visits could drain a backend through a
 * loopback admin port. Such a request carries an Origin that is not this
 * listener's own: refuse it. curl and scripts send no Origin and are unaffected.
 */
function refuseCrossSite(req: IncomingMessage): void {
  if (req.method === 'GET' || req.method === 'HEAD') return;
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host === undefined || host !== req.headers.host) throw new AdminError(403, 'cross-site requests to the admin API are refused');
}

function allow(req: IncomingMessage, method: string): void {
  if (req.method !== method) throw new AdminError(405, `use ${method} here`, { allow: method });
}
