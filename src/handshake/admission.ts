import type { FailureCode } from '../errors.js';

/**
 * Connection limits checked before a backend is touched: per route and per
 * real client address (after PROXY protocol). Counts cover upgrades in flight
 * and open tunnels; each admitted connection is released exactly once.
 */
export class Admission {
  // Keyed by the route object: after a reload, open tunnels release against the route they were admitted to.
  private readonly perRoute = new Map<object, number>();
  private readonly perClient = new Map<string, number>();

  constructor(private readonly maxPerClient: number | undefined) {}

  /** Admits a connection or names the limit it hits. */
  admit(route: object, routeLimit: number | undefined, client: string): FailureCode | undefined {
    const routeCount = this.perRoute.get(route) ?? 0;
    if (routeLimit !== undefined && routeCount >= routeLimit) return 'ERR_LIMIT_ROUTE';
    if (this.maxPerClient !== undefined) {
      const clientCount = this.perClient.get(client) ?? 0;
      if (clientCount >= this.maxPerClient) return 'ERR_LIMIT_CLIENT';
      this.perClient.set(client, clientCount + 1);
    }
    this.perRoute.set(route, routeCount + 1);
    return undefined;
  }

  release(route: object, client: string): void {
    const routeCount = (this.perRoute.get(route) ?? 1) - 1;
    if (routeCount <= 0) this.perRoute.delete(route);
    else this.perRoute.set(route, routeCount);
    if (this.maxPerClient === undefined) return;
    // Delete at zero so the map holds only clients with open connections.
    const clientCount = (this.perClient.get(client) ?? 1) - 1;
    if (clientCount <= 0) this.perClient.delete(client);
    else this.perClient.set(client, clientCount);
  }
}
