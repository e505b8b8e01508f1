import type { Backend } from '../upstream/backend.js';
import type { Route } from './compile-route.js';
import type { RouteSelection } from './route-selection.js';

/** Why a backend was chosen, for the debug log (issue 12); never a cookie or header value. */
export type BackendChoice = 'session id' | 'sticky cookie' | 'retry' | `hash on ${string}` | Route['balance'];

/**
 * Explains a choice after the fact, from what selectBackend() saw, so the
 * selection itself stays as lean as it is: the backend a request was bound to
 * (its session id first, then its sticky cookie, upstream/pool.ts), a retry
 * after a backend that could not be reached, else the route's strategy.
 */
export function explainChoice(route: Route, selection: RouteSelection, backend: Backend, attempts: number): BackendChoice {
  const preferred = selection.preferredBackendIds;
  if (preferred.length > 0 && preferred[0] === backend.id) {
    // The session id, when there is one, is the first preference (route-selection.ts).
    return route.sessionAffinity !== undefined && selection.stickyCookieValue !== backend.id ? 'session id' : 'sticky cookie';
  }
  if (preferred.includes(backend.id)) return 'sticky cookie';
  if (attempts > 1) return 'retry';
  return route.balance === 'hash' ? `hash on ${route.hashOnText}` : route.balance;
}
