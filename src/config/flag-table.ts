/**
 * The command line's flags, one row each: spelling, help text, parser and the
 * config path the flag sets (issue 11). cli.ts builds the commander program
 * from these rows and `configFromFlags` turns the flags given into a raw
 * config object, which load-config.ts lays over the config file (flags win)
 * before the schema fills in its defaults. Adding a setting is adding a row.
 *
 * Only flags that were given set anything: a row's `default` is shown in
 * --help (it is the schema's default too) but never written, so a config
 * file's value wins over it.
 *
 * The spellings, placeholders, help texts and defaults are a public contract.
 * The rows carry what a later layer needs (an environment variable
 * WSGATE_<FLAG_IN_CAPS> read through the same `parse`, `wsgate check` naming
 * the flag behind each `path`); `--backend-id-secret` already has its `env`.
 */
import { InvalidArgumentError } from 'commander';
import { parseWorkerCount } from '../supervisor.js';
import { parseHashOnArg, parseRouteArg, parseSessionArg, ROUTE_FLAG_HELP } from './routing-flags.js';
import { BALANCE_NAMES, LOG_FORMATS, LOG_LEVELS, type GatewayConfigInput } from './schema.js';

/** Every key path into what a config file may write (`['timeouts', 'backendConnect']`), arrays as a whole. */
type ConfigPath<T> = T extends readonly unknown[]
  ? never
  : T extends object
    ? { [K in keyof T & string]-?: [K] | [K, ...ConfigPath<NonNullable<T[K]>>] }[keyof T & string]
    : never;

export interface FlagRow {
  /** commander's spelling, e.g. '--max-connections <n>'; without a <placeholder> the flag is a switch. */
  readonly flags: string;
  readonly help: string;
  /** The config value it sets; absent: the command reads the flag itself (`--config`). */
  readonly path?: Readonly<ConfigPath<GatewayConfigInput>>;
  /** The text given to its value (commander's argParser): throws InvalidArgumentError, exit 2. `previous`: repeated flags. */
  parse?(text: string, previous: unknown): unknown;
  /** The only values allowed (commander lists them in --help). */
  readonly choices?: readonly string[];
  /** Shown in --help; the schema's default is the same, and a flag left at it sets nothing. */
  readonly default?: unknown;
  /** An environment variable commander reads when the flag is absent (counts as given). */
  readonly env?: string;
  /** What a switch sets at `path` (default true). */
  readonly switchValue?: unknown;
  /** Set next to `path` (same parent object) unless another flag sets them: the object is written whole, not merged with the file's. */
  readonly alongside?: Readonly<Record<string, unknown>>;
  /** Another flag (its long name) that must be given with this one, else exit 2. */
  readonly needs?: string;
  /** `wsgate check` takes every flag (issue 13); a string gives it its own help there and no default. */
  readonly check?: true | string;
}

/** A flag combination the rows do not allow (`needs`): a usage error, exit 2. */
export class FlagUsageError extends Error {}

export function parseCount(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value)) throw new InvalidArgumentError(`expected a positive whole number, got "${value}"`);
  return Number(value);
}

export function parseList(value: string, previous: unknown): string[] {
  const earlier = Array.isArray(previous) ? (previous as string[]) : [];
  return [...earlier, ...value.split(',').map((part) => part.trim()).filter((part) => part !== '')];
}

/** `--health-check TYPE[:PATH]`: tcp, http[:/path] or websocket[:/path]; the schema checks both parts. */
export function parseHealthCheckFlag(value: string): { type: string; path?: string } {
  const colon = value.indexOf(':');
  return colon === -1 ? { type: value } : { type: value.slice(0, colon), path: value.slice(colon + 1) };
}

function parseWorkersFlag(value: string): number {
  const count = parseWorkerCount(value);
  if (count === undefined) throw new InvalidArgumentError(`expected a number of workers or "auto", got "${value}"`);
  return count;
}

/** In --help order. */
export const FLAG_TABLE: readonly FlagRow[] = [
  // Routing (issue 4): --route's grammar and parsers are in routing-flags.ts; the rest are route defaults.
  { flags: '--route <route>', help: ROUTE_FLAG_HELP, parse: parseRouteArg, default: [], path: ['routes'], check: true },
  { flags: '--config <file>', help: 'read the configuration from a YAML or JSON file (JSON Schema: wsgate/schema.json); flags override it', check: true },
  { flags: '--balance <strategy>', help: 'how routes that set none choose a backend (default round-robin)', choices: BALANCE_NAMES, path: ['defaults', 'balance'], check: true },
  { flags: '--hash-on <key>', help: 'what --balance hash hashes: client (address), cookie:NAME, header:NAME or query:NAME', parse: parseHashOnArg, path: ['defaults', 'hashOn'], check: true },
  {
    flags: '--sticky-cookie <name>',
    help: 'set this cookie to the chosen backend\'s opaque id on HTTP and 101 responses, and follow it while that backend is healthy',
    path: ['defaults', 'stickyCookie'],
    check: true,
  },
  {
    flags: '--session-affinity <param[:sep]>',
    help: 'send requests whose session id (query PARAM, e.g. sid) starts with a backend id and SEP (default ".") to that backend',
    parse: parseSessionArg,
    path: ['defaults', 'sessionAffinity'],
    check: true,
  },
  {
    flags: '--backend-id-secret <secret>',
    help: 'key the hash that derives backend ids (sticky cookie values) from addresses; prefer the environment variable',
    env: 'WSGATE_BACKEND_ID_SECRET',
    path: ['backendIdSecret'],
    check: true,
  },
  // Listener, logging, timeouts, workers.
  { flags: '--listen <host:port>', help: 'address to accept clients on ([::1]:8080 for IPv6)', default: '0.0.0.0:8080', path: ['listen'], check: 'the listen address to check' },
  { flags: '--log-level <level>', help: 'log level', choices: LOG_LEVELS, default: 'info', path: ['logLevel'] },
  {
    flags: '--log-format <format>',
    help: 'json: one JSON object a line, for log collectors; pretty: readable text (pino-pretty), for a terminal',
    choices: LOG_FORMATS,
    default: 'json',
    path: ['logFormat'],
  },
  { flags: '--connect-timeout <duration>', help: 'backend TCP connect timeout; a backend that misses it is skipped', default: '5s', path: ['timeouts', 'backendConnect'] },
  { flags: '--response-timeout <duration>', help: 'time a backend has to answer an upgrade (504 after)', default: '30s', path: ['timeouts', 'backendResponse'] },
  { flags: '--workers <n>', help: 'worker processes sharing the listener; "auto" for one per core', parse: parseWorkersFlag, default: 1, path: ['workers'] },
  // PROXY protocol, TLS, limits (issue 3).
  {
    flags: '--accept-proxy-protocol',
    help: 'expect a PROXY protocol v1 or v2 header on every connection (ELB/NLB with proxy protocol on); needs --trusted-proxies',
    path: ['acceptProxyProtocol'],
  },
  {
    flags: '--trusted-proxies <cidrs>',
    help: 'comma-separated addresses or CIDR ranges whose PROXY headers and X-Forwarded-*/Forwarded headers are believed (default: none)',
    parse: parseList,
    path: ['trustedProxies'],
  },
  { flags: '--proxy-protocol-timeout <duration>', help: 'time a PROXY header has to arrive after accept (default 5s)', path: ['timeouts', 'proxyProtocol'] },
  // Either TLS flag writes both files: one without the other is reported, not completed from the config file.
  { flags: '--tls-cert <file>', help: 'PEM certificate (chain) to terminate TLS (wss://, https://); reloaded on SIGHUP', path: ['tls', 'cert'], alongside: { key: '' } },
  { flags: '--tls-key <file>', help: 'PEM private key for --tls-cert', path: ['tls', 'key'], alongside: { cert: '' } },
  { flags: '--backend-ca <file>', help: 'PEM CA to trust for wss:// and https:// backends', path: ['backendTls', 'ca'], alongside: { verify: true } },
  { flags: '--backend-insecure', help: 'do not verify wss:// and https:// backends\' certificates', path: ['backendTls', 'verify'], switchValue: false },
  { flags: '--send-proxy-protocol <version>', help: 'send a PROXY header to every backend (HAProxy\'s send-proxy)', choices: ['v1', 'v2'], path: ['defaults', 'sendProxyProtocol'] },
  { flags: '--max-connections <n>', help: 'open client connections in all; more are closed at accept', parse: parseCount, path: ['limits', 'maxConnections'] },
  {
    flags: '--max-connections-per-client <n>',
    help: 'open tunnels per client address (after PROXY protocol); more get 503',
    parse: parseCount,
    path: ['limits', 'maxConnectionsPerClient'],
  },
  { flags: '--max-connections-per-route <n>', help: 'open tunnels per route; more get 503', parse: parseCount, path: ['defaults', 'maxConnections'] },
  { flags: '--max-header-size <bytes>', help: 'largest request head; larger gets 431 (default 16384)', parse: parseCount, path: ['limits', 'maxHeaderSize'] },
  { flags: '--handshake-timeout <duration>', help: 'time a client has to send its whole request head; 408 after (default 10s)', path: ['timeouts', 'handshake'] },
  // Health checks and the admin API (issue 6); the check applies to every route without its own.
  {
    flags: '--health-check <type[:path]>',
    help: 'active health check for every route: tcp (connect), http[:/path] (GET, 2xx passes; default path /) or websocket[:/path] (a full handshake)',
    parse: parseHealthCheckFlag,
    path: ['healthCheck'],
  },
  { flags: '--health-interval <duration>', help: 'time between two checks of one backend (default 2s)', path: ['healthCheck', 'interval'], needs: '--health-check' },
  { flags: '--health-timeout <duration>', help: 'time one check may take (default: the interval)', path: ['healthCheck', 'timeout'], needs: '--health-check' },
  {
    flags: '--health-rise <n>',
    help: 'consecutive passes that bring a down backend back (default 2)',
    parse: parseCount,
    path: ['healthCheck', 'rise'],
    needs: '--health-check',
  },
  {
    flags: '--health-fall <n>',
    help: 'consecutive failures that take an up backend out (default 3)',
    parse: parseCount,
    path: ['healthCheck', 'fall'],
    needs: '--health-check',
  },
  {
    flags: '--admin <host:port>',
    help: 'serve the admin API (dashboard, metrics, JSON: list, drain, undrain, weight) on its own listener; off by default',
    path: ['admin'],
  },
  {
    flags: '--admin-token <token>',
    help: 'require "Authorization: Bearer TOKEN" on every admin request (at least 16 characters); prefer the environment variable',
    env: 'WSGATE_ADMIN_TOKEN',
    path: ['adminToken'],
  },
  // Keep-alive, idle, health endpoint and drain (issues 5 and 6).
  {
    flags: '--ping-interval <duration>',
    help: 'send a WebSocket ping to a client whose tunnel has been quiet this long, so a balancer that counts data (Classic ELB: 60s) keeps it; default off',
    path: ['tunnels', 'pingInterval'],
  },
  { flags: '--idle-timeout <duration>', help: 'close a tunnel quiet this long (no byte from either side) with a Close 1001; default off', path: ['tunnels', 'idleTimeout'] },
  {
    flags: '--tcp-keepalive <duration>',
    help: 'TCP keep-alive initial delay on client and backend sockets (an NLB counts probes, 350s idle timeout); 0 turns it off (default 30s)',
    path: ['tunnels', 'tcpKeepAlive'],
  },
  {
    flags: '--health-path <path>',
    help: 'path wsgate answers itself for the balancer\'s HTTP health check: 200 while serving, 503 while draining; "off" for none (default /healthz)',
    parse: (text) => (text === 'off' ? false : text),
    path: ['healthPath'],
  },
  { flags: '--drain-timeout <duration>', help: 'on SIGTERM/SIGINT: how long open tunnels keep running before each gets a Close 1001 (default 30s)', path: ['drain', 'timeout'] },
  { flags: '--close-spread <duration>', help: 'spread those closes evenly over this window, so clients do not all reconnect at once (default 0)', path: ['drain', 'closeSpread'] },
];

/** '--max-connections <n>' -> '--max-connections'. */
export function longName(row: FlagRow): string {
  return row.flags.split(/[ ,]/)[0] as string;
}

/** '--health-check <type[:path]>' -> '--health-check TYPE[:PATH]', as usage messages write it. */
function usageText(row: FlagRow): string {
  return row.flags.replace(/<([^>]*)>/g, (_, placeholder: string) => placeholder.toUpperCase());
}

/** "a", "a and b", "a, b and c". */
function andList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `path` inside `config`, made (or copied from a flag's parsed value) as needed. */
function objectAt(config: Plain, path: readonly string[]): Plain {
  let parent = config;
  for (const key of path) {
    const child = parent[key];
    parent = parent[key] = isPlain(child) ? child : {};
  }
  return parent;
}

/**
 * The raw config the flags given set, for loadConfig to lay over the file.
 * `valueOf(row)` is the row's parsed value when it was given, else undefined
 * (a value left at its `default` counts as not given). Throws FlagUsageError
 * for a flag given without the flag it `needs`.
 */
export function configFromFlags(valueOf: (row: FlagRow) => unknown, rows: readonly FlagRow[] = FLAG_TABLE): Plain {
  const given = rows.filter((row) => valueOf(row) !== undefined);
  for (const needed of new Set(given.flatMap((row) => (row.needs === undefined ? [] : [row.needs])))) {
    if (given.some((row) => longName(row) === needed)) continue;
    const needing = rows.filter((row) => row.needs === needed).map(longName);
    const neededRow = rows.find((row) => longName(row) === needed);
    throw new FlagUsageError(`${andList(needing)} ${needing.length === 1 ? 'needs' : 'need'} ${neededRow === undefined ? needed : usageText(neededRow)}`);
  }
  const config: Plain = {};
  for (const row of given) {
    if (row.path === undefined) continue;
    const value = row.switchValue !== undefined ? row.switchValue : valueOf(row);
    const parent = objectAt(config, row.path.slice(0, -1));
    const key = row.path[row.path.length - 1] as string;
    // An object (--health-check's) is copied, and later rows (--health-interval) add to it.
    parent[key] = isPlain(value) ? { ...value, ...(isPlain(parent[key]) ? parent[key] : {}) } : value;
  }
  for (const row of given) {
    if (row.path === undefined || row.alongside === undefined) continue;
    const parent = objectAt(config, row.path.slice(0, -1));
    for (const [key, value] of Object.entries(row.alongside)) parent[key] ??= value;
  }
  return config;
}
