import { RouteTable, type Route } from '../routing/route-table.js';
import type { GatewayConfig, RouteConfig } from './schema.js';

function balanceText(config: RouteConfig): string {
  if (config.balance !== 'hash') return config.balance;
  const key = config.hashOn;
  if (key === undefined || key === 'client') return 'hash on the client address';
  const [kind, name] = Object.entries(key)[0] ?? ['?', '?'];
  return `hash on ${kind} ${String(name)}`;
}

function routeLines(route: Route, config: RouteConfig, position: number): string[] {
  const written = `routes.${route.index}`;
  const lines = [`  ${position}. ${route.name}${route.name === route.summary ? '' : `  [${route.summary}]`}  (${written}${route.isDefault ? ', default' : ''})`];
  const backends = route.pool.backends.map((backend) => `${backend.id}=${backend.tls ? 'tls:' : ''}${backend.label}${backend.weight === 1 ? '' : `*${backend.weight}`}`);
  lines.push(`       backends  ${backends.join(', ')}`);
  lines.push(`       balance   ${balanceText(config)}`);
  if (route.stickyCookie !== undefined) lines.push(`       sticky    ${route.stickyCookie.setCookie('<backend id>', false)}`);
  if (route.sessionAffinity !== undefined) {
    const { param, separator } = route.sessionAffinity;
    lines.push(`       session   query ${param}="<backend id>${separator}<rest>" goes to that backend`);
  }
  const rewritten = route.pathPrefix ?? (typeof config.path === 'object' ? config.path.exact : undefined);
  const replacement = config.stripPrefix === true ? '/' : config.rewritePrefix;
  if (replacement !== undefined && rewritten !== undefined) lines.push(`       rewrite   ${rewritten} -> ${replacement}`);
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
  const table = new RouteTable(config.routes, { backendIdSecret: config.backendIdSecret });
  const lines = [
    `${source}: configuration is valid`,
    `listen ${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${config.listen.port}`,
    `backend ids: ${config.backendIdSecret === undefined ? 'configured, else sha256 of host:port' : 'configured, else HMAC-SHA256 of host:port keyed by backendIdSecret'}`,
    'routes, in the order they are tried (the first that matches wins):',
  ];
  table.routes.forEach((route, position) => lines.push(...routeLines(route, config.routes[route.index] as RouteConfig, position + 1)));
  const hider = table.routes.findIndex(catchAll);
  if (hider !== -1) {
    for (const hidden of table.routes.slice(hider + 1)) {
      lines.push(`warning: routes.${hidden.index} (${hidden.name}) is never tried: routes.${table.routes[hider]?.index} before it matches every request`);
    }
  }
  return `${lines.join('\n')}\n`;
}
