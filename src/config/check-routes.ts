import type { GatewayConfig } from './schema.js';

/** A problem the schema cannot see because it spans several fields; `path` as in valibot's issues. */
export interface ConfigProblem {
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

/**
 * Checks across fields, run once the schema has passed: combinations that
 * each field's schema accepts alone but that cannot work together.
 */
export function routeProblems(config: GatewayConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  // proxy-protocol.txt 7: a header is believed only from a known balancer; with none known every
  // connection would be refused after start-up (issue 13).
  if (config.acceptProxyProtocol && config.trustedProxies.length === 0) {
    problems.push({
      path: ['acceptProxyProtocol'],
      message: 'needs trustedProxies (--trusted-proxies): PROXY headers are believed only from the balancer\'s addresses, so with none every connection would be refused',
    });
  }
  // Two routes that match exactly the same requests: the second can never be chosen.
  const seen = new Map<string, number>();
  const defaults = config.defaults;
  if (defaults?.hashOn !== undefined && defaults.balance !== undefined && defaults.balance !== 'hash') {
    problems.push({ path: ['defaults', 'hashOn'], message: `hashOn applies only to balance "hash", not "${defaults.balance}"` });
  }
  let defaultRoute: number | undefined;
  config.routes.forEach((route, index) => {
    const at = (...path: Array<string | number>): ReadonlyArray<string | number> => ['routes', index, ...path];
    if (route.hashOn !== undefined && route.balance !== 'hash') {
      problems.push({ path: at('hashOn'), message: `hashOn applies only to balance "hash", not "${route.balance}"` });
    }
    if (route.stripPrefix === true && route.rewritePrefix !== undefined) {
      problems.push({ path: at('rewritePrefix'), message: 'write stripPrefix or rewritePrefix, not both' });
    }
    const rewrites = route.stripPrefix === true || route.rewritePrefix !== undefined;
    const path = route.path;
    if (rewrites && (path === undefined || (typeof path === 'object' && path.regex !== undefined))) {
      problems.push({
        path: at(route.stripPrefix === true ? 'stripPrefix' : 'rewritePrefix'),
        message: 'a rewrite needs a prefix or exact path to replace',
      });
    }
    if (route.default === true) {
      if (defaultRoute === undefined) defaultRoute = index;
      else problems.push({ path: at('default'), message: `only one route may be the default; routes.${defaultRoute} already is` });
    }
    const conditions = JSON.stringify([route.path ?? null, route.host ?? null, route.headers ?? null, route.cookies ?? null, route.query ?? null, route.default === true]);
    const twin = seen.get(conditions);
    if (twin === undefined) seen.set(conditions, index);
    else problems.push({ path: at('path'), message: `routes.${twin} has the same conditions, so this route would never be used` });
    const ids = new Map<string, number>();
    route.backends.forEach((backend, backendIndex) => {
      if (backend.id === undefined) return;
      const first = ids.get(backend.id);
      if (first === undefined) ids.set(backend.id, backendIndex);
      else problems.push({ path: at('backends', backendIndex, 'id'), message: `id "${backend.id}" is already backend ${first} of this route` });
    });
  });
  return problems;
}
