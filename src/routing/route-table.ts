import type { RouteConfig } from '../config/schema.js';
import { BackendPool } from '../upstream/pool.js';

/** A route ready to serve: its match rule compiled, its pool built. */
export interface Route {
  /** Position in the configuration, for logs and metrics. */
  readonly index: number;
  /** The prefix as written, for logs. */
  readonly name: string;
  readonly pathPrefix: string;
  readonly pool: BackendPool;
}

/** A prefix matches at a "/" boundary: "/chat" matches "/chat" and "/chat/x", never "/chatroom". */
export function prefixMatches(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || prefix.endsWith('/') || path.charCodeAt(prefix.length) === 0x2f;
}

/**
 * The compiled route table. Prefix routes are kept longest first, so the first
 * match is the longest prefix, as with nginx's prefix locations.
 */
export class RouteTable {
  readonly routes: readonly Route[];

  constructor(configs: readonly RouteConfig[]) {
    const routes = configs.map(
      (config, index): Route => ({
        index,
        name: config.path,
        pathPrefix: config.path,
        pool: new BackendPool(config.backends, config.balance),
      }),
    );
    // Stable sort: among equal lengths the order written is kept.
    this.routes = routes.sort((a, b) => b.pathPrefix.length - a.pathPrefix.length);
  }

  match(path: string): Route | undefined {
    for (const route of this.routes) {
      if (prefixMatches(route.pathPrefix, path)) return route;
    }
    return undefined;
  }
}
