import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerFailure } from './failure-response.js';

/**
 * wsgate's own health endpoint (issue 5), for the balancer's HTTP health check:
 * 200 while the gateway serves, 503 as soon as it drains, so the balancer takes
 * the instance out of rotation before it stops (a CLB passes a check only on
 * 200). It says nothing about backends: an instance whose routes are all down
 * still answers upgrades (with 503), and taking every instance out because one
 * backend pool is down would turn a partial outage into a whole one.
 */

/** True for a GET or HEAD of exactly `path` (any query string ignored). */
export function isHealthRequest(req: IncomingMessage, path: string | false): boolean {
  if (path === false || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return (query === -1 ? url : url.slice(0, query)) === path;
}

export function answerHealth(res: ServerResponse, draining: boolean): void {
  if (draining) {
    answerFailure(res, 'ERR_GATEWAY_DRAINING', { headers: { 'cache-control': 'no-store', connection: 'close' }, body: 'draining\n' });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end('ok\n');
}
