import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import httpProxy from 'http-proxy';
import type { FailureCode } from '../errors.js';
import { FAILURES } from '../errors.js';
import type { Route } from '../routing/route-table.js';
import type { Backend, SelectionContext } from '../upstream/backend.js';
import type { Forwarding } from '../handshake/forwarded.js';
import { forwardedHeaders } from '../handshake/upstream-request.js';

/** Errors that mean the request never reached the backend, so another may take it. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN']);

export interface PlainRequestEvents {
  backendSkipped(backend: Backend, detail: string): void;
  requestFailed(code: FailureCode, detail: string, backend: Backend | undefined): void;
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

  constructor(
    private readonly events: PlainRequestEvents,
    backendTls: { readonly rejectUnauthorized: boolean },
    responseTimeoutMs: number,
  ) {
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxFreeSockets: 64, rejectUnauthorized: backendTls.rejectUnauthorized });
    this.proxy = httpProxy.createProxyServer({ xfwd: false, ws: false, proxyTimeout: responseTimeoutMs });
    // Errors arrive through the per-call callback; this guard only keeps a stray one from crashing the process.
    this.proxy.on('error', () => {});
    this.proxy.on('proxyReq', (proxyReq, req) => {
      if (this.untrusted.has(req)) proxyReq.removeHeader('x-real-ip');
    });
  }

  forward(req: IncomingMessage, res: ServerResponse, route: Route, selection: SelectionContext, forwarded: Forwarding): void {
    const tried = new Set<Backend>();
    if (!forwarded.trusted) this.untrusted.add(req);
    const headers = forwardedHeaders(forwarded);
    const attempt = (): void => {
      const backend = route.pool.selectBackend(selection, tried);
      if (backend === undefined) {
        this.answer(res, 'ERR_UPSTREAM_UNAVAILABLE');
        this.events.requestFailed('ERR_UPSTREAM_UNAVAILABLE', `all ${tried.size} tried`, undefined);
        return;
      }
      tried.add(backend);
      const target = { protocol: backend.tls ? 'https:' : 'http:', host: backend.host, port: backend.port };
      this.proxy.web(
        req,
        res,
        { target, headers, agent: backend.tls ? this.httpsAgent : this.httpAgent, secure: false },
        (error: NodeJS.ErrnoException) => {
          const code = error.code ?? '';
          if (CONNECT_FAILURES.has(code) && !res.headersSent && hasNoBody(req)) {
            this.events.backendSkipped(backend, `${code}: ${error.message}`);
            attempt();
            return;
          }
          const failure: FailureCode = CONNECT_FAILURES.has(code) ? 'ERR_UPSTREAM_UNAVAILABLE' : 'ERR_UPSTREAM_BAD_RESPONSE';
          this.answer(res, failure);
          this.events.requestFailed(failure, `${code}: ${error.message}`, backend);
        },
      );
    };
    attempt();
  }

  answer(res: ServerResponse, code: FailureCode, extraHeaders: Record<string, string> = {}): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const { status, message } = FAILURES[code];
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-wsgate-error': code, ...extraHeaders });
    res.end(`${message}\n`);
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.proxy.close();
  }
}
