import type { UpgradeRequest } from '../handshake/clean-upgrade-head.js';
import type { Route } from './compile-route.js';
import { encodePath } from './normalize-path.js';
import { readRequestFacts } from './request-facts.js';
import type { RouteTable } from './route-table.js';
import { selectionFor, type RouteSelection } from './route-selection.js';

export type RoutingResult =
  | { readonly kind: 'routed'; readonly route: Route; readonly selection: RouteSelection }
  | { readonly kind: 'rejected'; readonly code: 'ERR_ROUTE_NOT_FOUND' | 'ERR_ROUTE_BAD_PATH'; readonly detail: string };

/**
 * Routing for one request, upgrade or plain: read its facts, find the first
 * route whose conditions hold, and prepare backend selection. `secure`: the
 * client connection is TLS (directly, or per a trusted proxy).
 *
 * The request target goes upstream unchanged unless the route rewrites its
 * path; then the rewritten, normalised path is re-encoded and the query kept
 * as the client sent it.
 */
export function routeRequest(table: RouteTable, req: Pick<UpgradeRequest, 'url' | 'headers'>, clientAddress: string, secure: boolean): RoutingResult {
  const target = req.url ?? '';
  const read = readRequestFacts(target, req.headers);
  if (!read.ok) {
    // A target that is not a path at all ("*", authority-form) has no route; a broken path is a bad request.
    return { kind: 'rejected', code: read.problem === 'not-a-path' ? 'ERR_ROUTE_NOT_FOUND' : 'ERR_ROUTE_BAD_PATH', detail: read.reason };
  }
  const route = table.match(read.facts);
  if (route === undefined) return { kind: 'rejected', code: 'ERR_ROUTE_NOT_FOUND', detail: read.facts.path };
  const rewritten = route.rewrite(read.facts.path);
  const upstreamTarget = rewritten === undefined ? undefined : `${encodePath(rewritten)}${target.includes('?') ? `?${read.facts.search}` : ''}`;
  return { kind: 'routed', route, selection: selectionFor(route, read.facts, clientAddress, secure, upstreamTarget) };
}
