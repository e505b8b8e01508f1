import { RouteTable, type Route } from '../routing/route-table.js';
import type { GatewayConfig } from './schema.js';

function balanceText(route: Route): string {
  if (route.balance !== 'hash') return route.balance;
  return route.hashOnText === 'client' ? 'hash on the client address' : `hash on ${route.hashOnText}`;
}

function routeLines(route: Route, position: number): string[] {
  const written = `routes.${route.index}`;
  const lines = [`  ${position}. ${route.name}${route.name === route.summary ? '' : `  [${route.summary}]`}  (${written}${route.isDefault ? ', default' : ''})`];
  const backends = route.pool.backends.map((backend) => `${backend.id}=${backend.tls ? 'tls:' : ''}${backend.label}${backend.weight === 1 ? '' : `*${backend.weight}`}`);
  lines.push(`       backends  ${backends.join(', ')}`);
  lines.push(`       balance   ${balanceText(route)}`);
  if (route.stickyCookie !== undefined) lines.push(`       sticky    ${route.stickyCookie.setCookie('<backend id>', false)}`);
  if (route.sessionAffinity !== undefined) {
    const { param, separator } = route.sessionAffinity;
    lines.push(`       session   query ${param}="<backend id>${separator}<rest>" goes to that backend`);
  }
  if (route.rewriteRule !== undefined) lines.push(`       rewrite   ${route.rewriteRule.from} -> ${route.rewriteRule.to}`);
  return lines;
}

/** A route that every request matches hides all routes tried after it. */
function catchAll(route: Route): boolean {
  return route.plainPrefix && route.pathPrefix === '/';
}

/**
 * `wsgate check`: the effective route table in the order routes are tried,
 * each with its conditions (in --route flag syntax), backends with their ids
 * (the values sticky cookies carry), strategy and affinity; then warnings for
 * routes that can never match. Secrets are never printed.
 */
export function describeConfig(config: GatewayConfig, source: string): string {
  const table = RouteTable.fromConfig(config);
  const lines = [
    `${source}: configuration is valid`,
    `listen ${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${config.listen.port}`,
    `backend ids: ${config.backendIdSecret === undefined ? 'configured, else sha256 of host:port' : 'configured, else HMAC-SHA256 of host:port keyed by backendIdSecret'}`,
    'routes, in the order they are tried (the first that matches wins):',
  ];
  table.routes.forEach((route, position) => lines.push(...routeLines(route, position + 1)));
  const hider = table.routes.findIndex(catchAll);
  if (hider !== -1) {
    for (const hidden of table.routes.slice(hider + 1)) {
      lines.push(`warning: routes.${hidden.index} (${hidden.name}) is never tried: routes.${table.routes[hider]?.index} before it matches every request`);
    }
  }
  return `${lines.join('\n')}\n`;
}
