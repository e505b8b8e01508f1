import type { HealthCheckConfig, PassiveConfig, RouteConfig } from '../config/schema.js';
import { BackendPool, type BackendPoolOptions } from '../upstream/pool.js';
import type { BalanceName } from '../upstream/strategies/index.js';
import { compileHostMatcher } from './match-host.js';
import { compilePathMatcher, type PathMatcher } from './match-path.js';
import { compileValueMatcher, describeValueMatch } from './match-value.js';
import type { RequestFacts } from './request-facts.js';
import { rewritePrefix } from './rewrite-path.js';
import type { SessionAffinity } from './session-affinity.js';
import { compileStickyCookie, type StickyCookie } from './sticky-cookie.js';

type Condition = (facts: RequestFacts) => boolean;

/** A route ready to serve: its conditions compiled, its pool built. */
export interface Route {
  /** Position in the configuration (config.routes[index]), for logs, metrics and the admin API. */
  readonly index: number;
  /** For logs: the configured name, else the prefix as written (plain prefix routes), else a summary of the conditions. */
  readonly name: string;
  /** The path prefix when the path condition is a prefix. */
  readonly pathPrefix: string | undefined;
  /** Its only condition is a path prefix: such routes are ordered longest prefix first among themselves. */
  readonly plainPrefix: boolean;
  /** Tried after every other route. */
  readonly isDefault: boolean;
  readonly pool: BackendPool;
  readonly stickyCookie: StickyCookie | undefined;
  readonly sessionAffinity: SessionAffinity | undefined;
  /** The key `balance: hash` hashes; undefined hashes the client address. */
  readonly hashKey: ((facts: RequestFacts) => string | undefined) | undefined;
  /** Every condition holds. */
  matches(facts: RequestFacts): boolean;
  /** The path to send upstream when the route rewrites it; undefined to send the request target unchanged. */
  rewrite(path: string): string | undefined;
  /** The conditions in --route flag syntax, for `wsgate check` and names. */
  readonly summary: string;
  // The route's own settings, compiled in so that nothing reads config.routes[i] after start-up:
  // a reload swaps one immutable table.
  readonly balance: BalanceName;
  /** What `balance: hash` hashes, for `wsgate check`: `client`, or `cookie NAME`, `header NAME`, `query NAME`. */
  readonly hashOnText: string;
  /** The path rewrite, for `wsgate check`: the prefix (or exact path) and its replacement. */
  readonly rewriteRule: { readonly from: string; readonly to: string } | undefined;
  /** Send a PROXY protocol header first on every backend connection (send-proxy). */
  readonly sendProxyProtocol: 'v1' | 'v2' | undefined;
  /** Upgrades in flight plus open tunnels on this route, at most. */
  readonly maxConnections: number | undefined;
  /** Only connections through these AWS VPC endpoints (PROXY v2 TLV 0xEA) may use the route. */
  readonly allowedVpceIds: readonly string[] | undefined;
  /** The route's own active check, else the gateway-wide one; undefined: no active checks. */
  readonly healthCheck: HealthCheckConfig | undefined;
  readonly passive: PassiveConfig;
}

export interface RouteCompileOptions extends BackendPoolOptions {
  /** The gateway-wide check (top-level `healthCheck`) for routes without their own. */
  readonly defaultHealthCheck?: HealthCheckConfig | undefined;
}

function hashKeyOf(config: RouteConfig): Route['hashKey'] {
  const key = config.hashOn;
  if (key === undefined || key === 'client') return undefined;
  if (key.cookie !== undefined) {
    const name = key.cookie;
    return (facts) => facts.cookie(name);
  }
  if (key.header !== undefined) {
    const name = key.header.toLowerCase();
    return (facts) => facts.header(name);
  }
  const name = key.query as string;
  return (facts) => facts.queryParam(name);
}

function hashOnText(config: RouteConfig): string {
  const key = config.hashOn;
  if (key === undefined || key === 'client') return 'client';
  const [kind, name] = Object.entries(key)[0] ?? ['?', '?'];
  return `${kind} ${String(name)}`;
}

function rewriteRuleOf(config: RouteConfig, path: PathMatcher | undefined): Route['rewriteRule'] {
  const to = config.stripPrefix === true ? '/' : config.rewritePrefix;
  if (to === undefined || path === undefined || path.kind === 'regex') return undefined;
  return { from: path.text, to };
}

function rewriterOf(rule: Route['rewriteRule']): (path: string) => string | undefined {
  // check-routes.ts refuses a rewrite without a prefix or exact path.
  if (rule === undefined) return () => undefined;
  const { from, to } = rule;
  return (requestPath) => rewritePrefix(requestPath, from, to);
}

export function compileRoute(config: RouteConfig, index: number, options: RouteCompileOptions = {}): Route {
  const conditions: Condition[] = [];
  const described: string[] = [];
  if (config.host !== undefined) {
    const host = compileHostMatcher(config.host);
    conditions.push((facts) => host(facts.host));
    described.push(`host:${config.host}`);
  }
  for (const [name, condition] of Object.entries(config.headers ?? {})) {
    const test = compileValueMatcher(condition);
    const lower = name.toLowerCase(); // Node lower-cases incoming header names
    conditions.push((facts) => test(facts.header(lower)));
    described.push(`header:${describeValueMatch(lower, condition)}`);
  }
  for (const [name, condition] of Object.entries(config.cookies ?? {})) {
    const test = compileValueMatcher(condition);
    conditions.push((facts) => test(facts.cookie(name)));
    described.push(`cookie:${describeValueMatch(name, condition)}`);
  }
  for (const [name, condition] of Object.entries(config.query ?? {})) {
    const test = compileValueMatcher(condition);
    conditions.push((facts) => test(facts.queryParam(name)));
    described.push(`query:${describeValueMatch(name, condition)}`);
  }
  const otherConditions = conditions.length;
  // A route with no condition at all is a catch-all, that is the prefix "/".
  const pathConfig = config.path ?? (otherConditions === 0 ? '/' : undefined);
  const path = pathConfig === undefined ? undefined : compilePathMatcher(pathConfig);
  if (path !== undefined) {
    // The path is checked first: it is the cheapest and the most selective.
    conditions.unshift((facts) => path.test(facts.path));
    described.push(path.kind === 'prefix' ? path.text : path.kind === 'exact' ? `=${path.text}` : `~${path.text}`);
  }
  const plainPrefix = path?.kind === 'prefix' && otherConditions === 0;
  const summary = described.join(' ');
  const sticky = config.stickyCookie === undefined || config.stickyCookie === false ? undefined : compileStickyCookie(config.stickyCookie);
  const rewriteRule = rewriteRuleOf(config, path);
  const route: Route = {
    index,
    name: config.name ?? summary,
    pathPrefix: path?.kind === 'prefix' ? path.text : undefined,
    plainPrefix,
    isDefault: config.default === true,
    pool: new BackendPool(config.backends, config.balance, options),
    stickyCookie: sticky,
    sessionAffinity: config.sessionAffinity === undefined || config.sessionAffinity === false ? undefined : config.sessionAffinity,
    hashKey: hashKeyOf(config),
    matches: (facts) => conditions.every((condition) => condition(facts)),
    rewrite: rewriterOf(rewriteRule),
    summary,
    balance: config.balance,
    hashOnText: hashOnText(config),
    rewriteRule,
    sendProxyProtocol: config.sendProxyProtocol,
    maxConnections: config.maxConnections,
    allowedVpceIds: config.allowedVpceIds === undefined ? undefined : Object.freeze([...config.allowedVpceIds]),
    healthCheck: config.healthCheck ?? options.defaultHealthCheck,
    passive: config.passive ?? { failures: 0, coolOff: 0 },
  };
  return Object.freeze(route);
}
