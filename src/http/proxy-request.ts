import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import httpProxy from 'http-proxy';
import type { FailureCode } from '../errors.js';
import type { Route } from '../routing/route-table.js';
import { stickySetCookie, type RouteSelection } from '../routing/route-selection.js';
import type { Backend } from '../upstream/backend.js';
import type { Forwarding } from '../handshake/forwarded.js';
import { forwardedHeaders } from '../handshake/upstream-request.js';
import { isConnectFailure, isLocalFault } from '../upstream/connect-failure.js';
import { answerFailure } from './failure-response.js';

export interface PlainRequestEvents {
  backendSkipped(backend: Backend, detail: string): void;
  requestFailed(code: FailureCode, detail: string, backend: Backend | undefined): void;
  /** The backend answered with a response head (passive health counts it as a success). */
  backendResponded?(backend: Backend): void;
}

/** An agent whose one connection starts with `header`, before TLS and HTTP. */
function agentSendingProxyHeader(tls: boolean, header: Buffer, tlsOptions: HttpsAgent['options']): Agent {
  const agent = tls ? new HttpsAgent({ ...tlsOptions, keepAlive: false }) : new Agent({ keepAlive: false });
  agent.createConnection = ((options: TlsConnectionOptions) => {
    const tcp = netConnect({ host: options.host ?? 'localhost', port: options.port ?? 80 });
    tcp.write(header);
    // TLS, when the backend wants it, runs over the connection that already carried the header.
    return tls ? tlsConnect({ ...options, socket: tcp }) : tcp;
  }) as Agent['createConnection'];
  return agent;
}

/** A request without a body can be sent again after a failed connect (HAProxy's `redispatch`). */
function hasNoBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}

/**
 * The one adapter around http-proxy for plain HTTP (health checks, Socket.IO
 * long-polling, REST), under the same route table as upgrades. Its `error`
 * handler answers 502 and never throws; keep-alive agents reuse backend
 * connections across requests.
 */
export class PlainHttpProxy {
  private readonly proxy: httpProxy;
  private readonly httpAgent = new Agent({ keepAlive: true, maxFreeSockets: 64 });
  private readonly httpsAgent: HttpsAgent;
  /** Requests whose client-sent X-Real-IP must not reach the backend (options.headers can set, not remove). */
  private readonly untrusted = new WeakSet<IncomingMessage>();
  /** The backend each request in flight was last sent to, for the proxyRes event. */
  private readonly backendFor = new WeakMap<IncomingMessage, Backend>();
  /** Issue 4: the sticky cookie to add to each response in flight, and the rewritten path of each request. */
  private readonly setCookieOf = new WeakMap<IncomingMessage, string>();
  private readonly upstreamTargetOf = new WeakMap<IncomingMessage, string>();

  constructor(
    private readonly events: PlainRequestEvents,
    backendTls: { readonly rejectUnauthorized: boolean; readonly ca?: Buffer | undefined },
    responseTimeoutMs: number,
  ) {
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxFreeSockets: 64, rejectUnauthorized: backendTls.rejectUnauthorized, ca: backendTls.ca });
    this.proxy = httpProxy.createProxyServer({ xfwd: false, ws: false, proxyTimeout: responseTimeoutMs });
    // Errors arrive through the per-call callback; this guard only keeps a stray one from crashing the process.
    this.proxy.on('error', () => {});
    this.proxy.on('proxyReq', (proxyReq, req) => {
      if (this.untrusted.has(req)) proxyReq.removeHeader('x-real-ip');
      // A rewritten path replaces the request line's target (http-proxy builds it from req.url, which stays the client's).
      // The line is rendered when the body starts, after this event; with Expect it already is (see forward()).
      const upstreamTarget = this.upstreamTargetOf.get(req);
      if (upstreamTarget !== undefined && proxyReq.getHeader('expect') === undefined) proxyReq.path = upstreamTarget;
    });
    this.proxy.on('proxyRes', (proxyRes, req) => {
      const backend = this.backendFor.get(req);
      if (backend !== undefined) this.events.backendResponded?.(backend);
      // Added to the backend's own cookies (http-proxy copies these headers to the client after this event).
      const setCookie = this.setCookieOf.get(req);
      if (setCookie !== undefined) proxyRes.headers['set-cookie'] = [...(proxyRes.headers['set-cookie'] ?? []), setCookie];
    });
  }

  /**
   * `proxyHeader`: a PROXY protocol header to send first on the backend
   * connection (send-proxy). Such a connection names one client, so it is
   * never reused: it gets an agent of its own without keep-alive.
   */
  forward(req: IncomingMessage, res: ServerResponse, route: Route, selection: RouteSelection, forwarded: Forwarding, proxyHeader?: Buffer): void {
    const tried = new Set<Backend>();
    if (!forwarded.trusted) this.untrusted.add(req);
    const headers = forwardedHeaders(forwarded);
    const attempt = (): void => {
      const backend = route.pool.selectBackend(selection, tried);
      if (backend === undefined) {
        // Nothing in rotation before any attempt: 503 at once (issue 6); 502 once every candidate failed.
        const code: FailureCode = tried.size === 0 ? 'ERR_UPSTREAM_NO_HEALTHY' : 'ERR_UPSTREAM_UNAVAILABLE';
        answerFailure(res, code);
        this.events.requestFailed(code, tried.size === 0 ? 'no backend in rotation' : `all ${tried.size} tried`, undefined);
        return;
      }
      tried.add(backend);
      this.backendFor.set(req, backend);
      const setCookie = stickySetCookie(route, selection, backend);
      if (setCookie === undefined) this.setCookieOf.delete(req);
      else this.setCookieOf.set(req, setCookie);
      const upstreamTarget = selection.upstreamTarget;
      if (upstreamTarget !== undefined) this.upstreamTargetOf.set(req, upstreamTarget);
      // With Expect, Node renders the request line as the request is created, too early for the proxyReq hook:
      // http-proxy's own ignorePath + target path then. Its urlJoin merges "//" in the whole target, query
      // included: the one imperfection, for rewritten requests with Expect and "//" in their query only.
      const early = upstreamTarget !== undefined && req.headers.expect !== undefined;
      const target = { protocol: backend.tls ? 'https:' : 'http:', host: backend.host, port: backend.port, ...(early ? { path: upstreamTarget } : {}) };
      this.proxy.web(
        req,
        res,
        { target, headers, agent: proxyHeader !== undefined ? agentSendingProxyHeader(backend.tls, proxyHeader, this.httpsAgent.options) : backend.tls ? this.httpsAgent : this.httpAgent, secure: false, ignorePath: early },
        (error: NodeJS.ErrnoException) => {
          const connectFailed = isConnectFailure(error.code);
          const detail = `${error.code ?? ''}: ${error.message}`;
          if (isLocalFault(error.code)) {
            // Our own descriptors, ports or memory ran out: not the backend's fault (connect-failure.ts).
            answerFailure(res, 'ERR_GATEWAY_RESOURCES');
            this.events.requestFailed('ERR_GATEWAY_RESOURCES', detail, undefined);
            return;
          }
          if (connectFailed && !res.headersSent && hasNoBody(req)) {
            this.events.backendSkipped(backend, detail);
            attempt();
            return;
          }
          const failure: FailureCode = connectFailed ? 'ERR_UPSTREAM_UNAVAILABLE' : 'ERR_UPSTREAM_BAD_RESPONSE';
          answerFailure(res, failure);
          this.events.requestFailed(failure, detail, backend);
        },
      );
    };
    attempt();
  }

  /** The backend a request was (last) sent to, if any. */
  backendOf(req: IncomingMessage): Backend | undefined {
    return this.backendFor.get(req);
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.proxy.close();
  }
}
