import type { GatewayConfig, RouteConfig } from '../config/schema.js';
import { compileRoute, type Route, type RouteCompileOptions } from './compile-route.js';
import { RequestFacts } from './request-facts.js';

export type { Route } from './compile-route.js';
export { prefixMatches } from './match-path.js';

/**
 * The order routes are tried in, one rule for issues 2 and 4; the first
 * route whose conditions all hold wins:
 * 1. routes with any condition besides a path prefix (host, header, cookie,
 *    query, an exact or regex path), in the order written, as HAProxy's
 *    `use_backend` rules and Envoy's routes;
 * 2. then "plain prefix" routes, whose only condition is a path prefix (the
 *    `--route PREFIX=BACKENDS` kind), longest prefix first whatever the
 *    written order (issue 2; equal lengths keep the written order), as
 *    nginx's prefix locations, which also lose to exact and regex ones;
 * 3. then the route marked default.
 * So a catch-all "/" never hides a conditional route written after it, and
 * no written order can make a route unreachable except among conditional
 * routes, where the order is the user's to choose.
 */
export function orderRoutes(routes: readonly Route[]): Route[] {
  const conditional = routes.filter((route) => !route.isDefault && !route.plainPrefix);
  const plain = routes
    .filter((route) => !route.isDefault && route.plainPrefix)
    // Array.prototype.sort is stable: equal lengths keep the written order.
    .sort((a, b) => (b.pathPrefix?.length ?? 0) - (a.pathPrefix?.length ?? 0));
  return [...conditional, ...plain, ...routes.filter((route) => route.isDefault)];
}

/** The compiled route table, in the order routes are tried (orderRoutes). */
export class RouteTable {
  readonly routes: readonly Route[];

  constructor(configs: readonly RouteConfig[], options: RouteCompileOptions = {}) {
    this.routes = Object.freeze(orderRoutes(configs.map((config, index) => compileRoute(config, index, options))));
  }

  /** The gateway's table: every route with the gateway-wide settings it inherits. */
  static fromConfig(config: Pick<GatewayConfig, 'routes' | 'backendIdSecret' | 'healthCheck'>, reuse?: RouteCompileOptions['reuse']): RouteTable {
    return new RouteTable(config.routes, { backendIdSecret: config.backendIdSecret, defaultHealthCheck: config.healthCheck, reuse });
  }

  /** The first route whose conditions hold; a bare string is a normalised path with no other facts. */
  match(request: RequestFacts | string): Route | undefined {
    const facts = typeof request === 'string' ? RequestFacts.forPath(request) : request;
    for (const route of this.routes) {
      if (route.matches(facts)) return route;
    }
    return undefined;
  }
}
