import type { Backend } from '../upstream/backend.js';
import type { PoolSelection } from '../upstream/pool.js';
import type { Route } from './compile-route.js';
import type { RequestFacts } from './request-facts.js';
import { backendIdInSession } from './session-affinity.js';

/** What backend selection knows about one request, and what the response must tell the client. */
export interface RouteSelection extends PoolSelection {
  readonly preferredBackendIds: readonly string[];
  /** The route's sticky cookie as the request carried it. */
  readonly stickyCookieValue: string | undefined;
  /** The client reached wsgate over TLS (the sticky cookie's "auto" Secure). */
  readonly secure: boolean;
  /** The request target to send upstream when the route rewrites the path; undefined: the client's, unchanged. */
  readonly upstreamTarget: string | undefined;
  /** The normalised request path, without the query (logs, events). */
  readonly path: string;
}

/**
 * The selection for a request on `route`: a session id naming a backend
 * comes first (it is the stronger binding: the session lives on that
 * backend), then the sticky cookie, then the route's strategy, which hashes
 * `hashOn` when balancing by hash.
 */
export function selectionFor(
  route: Route,
  facts: RequestFacts,
  clientAddress: string,
  secure: boolean,
  upstreamTarget?: string,
): RouteSelection {
  const preferred: string[] = [];
  if (route.sessionAffinity !== undefined) {
    const fromSession = backendIdInSession(facts, route.sessionAffinity);
    if (fromSession !== undefined) preferred.push(fromSession);
  }
  const stickyCookieValue = route.stickyCookie === undefined ? undefined : facts.cookie(route.stickyCookie.name);
  if (stickyCookieValue !== undefined && stickyCookieValue !== '') preferred.push(stickyCookieValue);
  return { clientAddress, hashKey: route.hashKey?.(facts), preferredBackendIds: preferred, stickyCookieValue, secure, upstreamTarget, path: facts.path };
}

/**
 * The Set-Cookie value to add to the response from `backend`, or undefined
 * when the route has no sticky cookie or the request already carried this
 * backend's id (HAProxy's `insert indirect`: the cookie is set only when it
 * changes, so caches see fewer personalised responses).
 */
export function stickySetCookie(route: Route, selection: RouteSelection, backend: Backend): string | undefined {
  if (route.stickyCookie === undefined || selection.stickyCookieValue === backend.id) return undefined;
  return route.stickyCookie.setCookie(backend.id, selection.secure);
}
