/**
 * The configuration schema: one source for validation, defaults and the types
 * the rest of the code reads. Flags and files both produce a raw object that
 * goes through `GatewayConfigSchema`; every problem is reported with its path.
 *
 * valibot rather than zod: zod 4 adds ~3.4 MB to the V8 heap at import, which
 * was enough to push the relay into back-to-back old-space collections under
 * streaming load (measured: CPU per GB relayed 1.2-1.5 s with zod loaded,
 * 0.7 s without). valibot adds ~0.9 MB.
 */
import { availableParallelism } from 'node:os';
import * as v from 'valibot';
import { parseCidr } from '../listener/trusted-proxies.js';
import { parseBackendSpec, parseDuration, parseHostPort, type Parsed } from './parse-address.js';
import { BackendIdSecretSchema, BALANCE_NAMES, BalanceSchema, DefaultsSchema, ROUTE_ENTRIES } from './route-schema.js';

export { BALANCE_NAMES };
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** json: one JSON object a line (for collectors); pretty: pino-pretty's text, for a human at a terminal. */
export const LOG_FORMATS = ['json', 'pretty'] as const;

/** A string parsed by `parse` into T, with the parser's own sentence as the error. */
function parsedString<T>(parse: (text: string) => Parsed<T>) {
  return v.pipe(
    v.string(),
    v.rawTransform<string, T>(({ dataset, addIssue, NEVER }) => {
      const parsed = parse(dataset.value);
      if (!parsed.ok) {
        addIssue({ message: parsed.error });
        return NEVER;
      }
      return parsed.value;
    }),
  );
}

const DurationStringSchema = parsedString(parseDuration);
const DurationNumberSchema = v.pipe(v.number('expected a duration such as "500ms" or "5s" (a number is milliseconds)'), v.finite(), v.minValue(0, 'expected a duration of 0 or more'));
const DurationSchema = v.lazy((input) => (typeof input === 'string' ? DurationStringSchema : DurationNumberSchema));
/**
 * A timeout that has no "off": 0 would fail every request (issue 13: --connect-timeout 0 made
 * every upgrade fail while plain HTTP worked), and under 10 ms no backend or client can make it.
 */
// A negative number is reported by DurationSchema already: one problem per value.
const TimeoutSchema = v.pipe(DurationSchema, v.check((ms) => ms < 0 || ms >= 10, 'expected a timeout of at least 10ms (there is no "off" for this one)'));

const BackendObjectSchema = v.strictObject({
  host: v.pipe(v.string(), v.minLength(1)),
  port: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
  tls: v.optional(v.boolean(), false),
  /** Opaque id used in sticky cookies; derived from host:port when absent. */
  id: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'id must be 1-64 letters, digits, "-" or "_"'))),
  weight: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)), 1),
});

/**
 * A backend is written as a string ("host:port", "ws://host:port") or as an
 * object. `lazy` picks the schema by the input's type, so an error names the
 * real problem rather than "expected string or object".
 */
const BackendStringSchema = v.pipe(
  parsedString(parseBackendSpec),
  v.transform((spec): { host: string; port: number; tls: boolean; id?: string; weight: number } => ({ weight: 1, ...spec })),
);
const BackendSchema = v.lazy((input) => (typeof input === 'string' ? BackendStringSchema : BackendObjectSchema));

export const HEALTH_CHECK_TYPES = ['tcp', 'http', 'websocket'] as const;

/** Active health check settings, as the gateway reads them. */
export interface HealthCheckConfig {
  readonly type: (typeof HEALTH_CHECK_TYPES)[number];
  /** http: the path that must answer 2xx; websocket: the handshake's path. Absent for tcp. */
  readonly path?: string;
  readonly interval: number;
  readonly timeout: number;
  readonly rise: number;
  readonly fall: number;
}

const CheckCountSchema = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100));

/**
 * An active health check (issue 6), HAProxy's `check inter rise fall` with its
 * defaults (2s, 2, 3) and, as HAProxy does without `timeout check`, a timeout
 * equal to the interval.
 */
const HealthCheckSchema = v.pipe(
  v.strictObject({
    type: v.picklist(HEALTH_CHECK_TYPES, `expected one of ${HEALTH_CHECK_TYPES.join(', ')}`),
    path: v.optional(v.pipe(v.string(), v.regex(/^\/[!-~]*$/, 'a check path is "/" followed by visible ASCII characters'))),
    interval: v.optional(DurationSchema, 2000),
    timeout: v.optional(DurationSchema),
    rise: v.optional(CheckCountSchema, 2),
    fall: v.optional(CheckCountSchema, 3),
  }),
  v.forward(
    v.partialCheck([['type'], ['path']], (check) => check.type !== 'tcp' || check.path === undefined, 'a tcp check has no path'),
    ['path'],
  ),
  v.forward(v.check((check) => check.interval >= 10, 'the interval must be at least 10ms'), ['interval']),
  v.forward(v.check((check) => check.timeout === undefined || check.timeout >= 1, 'the timeout must be at least 1ms'), ['timeout']),
  v.transform((check): HealthCheckConfig => {
    const common = { interval: check.interval, timeout: check.timeout ?? check.interval, rise: check.rise, fall: check.fall };
    return check.type === 'tcp' ? { type: 'tcp', ...common } : { type: check.type, path: check.path ?? '/', ...common };
  }),
);

/** Passive health (issue 6): on by default, like HAProxy's `observe layer4` with `on-error mark-down`. */
const PassiveSchema = v.strictObject({
  /** Consecutive connect failures or invalid responses that take a backend out of rotation; 0 turns this off. */
  failures: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1000)), 3),
  /** How long it stays out before it is tried again. */
  coolOff: v.optional(DurationSchema, 10_000),
});

const RouteSchema = v.strictObject({
  /** Match conditions, rewrites, hashOn, stickyCookie, sessionAffinity (issue 4; route-schema.ts). */
  ...ROUTE_ENTRIES,
  backends: v.pipe(v.array(BackendSchema), v.minLength(1, 'a route needs at least one backend')),
  balance: v.optional(BalanceSchema, 'round-robin'),
  /** Send a PROXY protocol header to this route's backends (HAProxy's send-proxy / send-proxy-v2). */
  sendProxyProtocol: v.optional(v.picklist(['v1', 'v2'], 'expected v1 or v2')),
  /** Open tunnels allowed on this route; upgrades beyond it get 503 with Retry-After. */
  maxConnections: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  /** PrivateLink: only connections whose PROXY v2 header names one of these VPC endpoints (TLV 0xEA); others get 403. */
  allowedVpceIds: v.optional(v.array(v.pipe(v.string(), v.regex(/^vpce-[0-9a-z]+$/, 'expected a VPC endpoint id such as vpce-0123abcd')))),
  /** Active health check for this route's backends; overrides the top-level `healthCheck`. Off by default. */
  healthCheck: v.optional(HealthCheckSchema),
  passive: v.optional(PassiveSchema, {}),
});

const ListenStringSchema = parsedString((text) => parseHostPort(text, true));
const ListenObjectSchema = v.strictObject({
  host: v.optional(v.pipe(v.string(), v.minLength(1)), '0.0.0.0'),
  port: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)),
});
const ListenSchema = v.lazy((input) => (typeof input === 'string' ? ListenStringSchema : ListenObjectSchema));

const CidrSchema = v.pipe(
  v.string(),
  v.check((text) => parseCidr(text) !== undefined, 'expected an address or CIDR range such as 10.0.0.0/8 or ::1'),
);

const PositiveInteger = v.pipe(v.number(), v.integer(), v.minValue(1));

/** A duration where 0 turns the feature off, else at least `minMs` (and at most `maxMs`). */
function optionalPeriod(minMs: number, maxMs: number) {
  return v.pipe(
    DurationSchema,
    v.check((ms) => ms === 0 || (ms >= minMs && ms <= maxMs), `expected 0 (off) or a duration from ${minMs} ms to ${maxMs} ms`),
  );
}

/** Keep-alive and idle limits of open tunnels (issue 5). */
const TunnelsSchema = v.pipe(
  v.strictObject({
    /** Ping a client whose tunnel has been quiet this long (a CLB counts data only); 0: off, as in HAProxy and nginx. */
    pingInterval: v.optional(optionalPeriod(100, 3_600_000), 0),
    /** Close a tunnel quiet this long with a Close 1001 at a message boundary; 0: off. */
    idleTimeout: v.optional(optionalPeriod(100, 7 * 86_400_000), 0),
    /** TCP keep-alive initial delay on both sockets (an NLB counts probes; Linux's own is 7200 s); 0: off. The kernel counts seconds. */
    tcpKeepAlive: v.optional(optionalPeriod(1000, 32_767_000), 30_000),
  }),
  v.forward(
    v.check(
      (t) => t.idleTimeout === 0 || t.pingInterval === 0 || t.idleTimeout > t.pingInterval,
      'idleTimeout must be longer than pingInterval, or no ping is ever sent before a tunnel counts as idle',
    ),
    ['idleTimeout'],
  ),
);

/** Graceful drain on SIGTERM/SIGINT or `gateway.drain()` (issue 6). */
const DrainSchema = v.strictObject({
  /** How long open tunnels keep running after the drain starts. */
  timeout: v.optional(DurationSchema, 30_000),
  /** The closes of the tunnels left after `timeout` are spread evenly over this window (0: all at once). */
  closeSpread: v.optional(DurationSchema, 0),
});

/** wsgate's own health endpoint for the balancer's HTTP check (issue 5), or `false` for none. */
const HealthPathSchema = v.union(
  // No query or fragment: the request's query string is ignored when matching.
  [v.literal(false), v.pipe(v.string(), v.regex(/^\/[!-"$->@-~]*$/, 'a health path is "/" followed by visible ASCII characters except "?" and "#", or false'))],
  'expected a path such as "/healthz", or false',
);

export const GatewayConfigSchema = v.strictObject({
  listen: v.optional(ListenSchema, { host: '0.0.0.0', port: 8080 }),
  routes: v.pipe(v.array(RouteSchema), v.minLength(1, 'at least one route is needed')),
  logLevel: v.optional(v.picklist(LOG_LEVELS, `expected one of ${LOG_LEVELS.join(', ')}`), 'info'),
  /** Worker processes sharing the listener (`--workers`); "auto" is one per core. Read once at start. */
  workers: v.optional(
    v.union([
      v.pipe(v.literal('auto'), v.transform(() => availableParallelism())),
      v.pipe(v.number(), v.integer('expected a whole number of workers or "auto"'), v.minValue(1, 'expected at least 1 worker'), v.maxValue(999, 'expected at most 999 workers')),
    ], 'expected a number of workers or "auto"'),
    1,
  ),
  /** How log lines are written (`--log-format`); read once at start. */
  logFormat: v.optional(v.picklist(LOG_FORMATS, `expected one of ${LOG_FORMATS.join(', ')}`), 'json'),
  /** balance, hashOn, stickyCookie, sessionAffinity for routes that do not set their own (issue 4). */
  defaults: v.optional(DefaultsSchema),
  /** Keys the HMAC that derives backend ids (sticky cookie values) from addresses; without it ids are a plain hash. */
  backendIdSecret: v.optional(BackendIdSecretSchema),
  /** The active health check of every route that does not set its own (`--health-check`). */
  healthCheck: v.optional(HealthCheckSchema),
  /** The admin API's own listener (`--admin`); off when absent. Never the public listener. */
  admin: v.optional(ListenSchema),
  /** Bearer token every admin request needs (the dashboard's page shell aside); prefer WSGATE_ADMIN_TOKEN. */
  adminToken: v.optional(v.pipe(v.string(), v.minLength(16, 'expected at least 16 characters'), v.regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces'))),
  /** Every connection starts with a PROXY protocol v1/v2 header (behind an ELB/NLB with proxy protocol on). */
  acceptProxyProtocol: v.optional(v.boolean(), false),
  /** Peers whose PROXY headers and forwarding headers (X-Forwarded-*, Forwarded) are believed. Default: none. */
  trustedProxies: v.optional(v.array(CidrSchema), []),
  /** Terminate TLS on the listener (wss://, https://): PEM file paths. */
  tls: v.optional(v.strictObject({ cert: v.pipe(v.string(), v.minLength(1)), key: v.pipe(v.string(), v.minLength(1)) })),
  /** For wss:// and https:// backends: a PEM CA file to trust, and whether to verify at all. */
  backendTls: v.optional(
    v.strictObject({ ca: v.optional(v.pipe(v.string(), v.minLength(1))), verify: v.optional(v.boolean(), true) }),
    {},
  ),
  limits: v.optional(
    v.strictObject({
      /** Open client connections in all; beyond it connections are closed at accept. */
      maxConnections: v.optional(PositiveInteger),
      /** Open tunnels per real client address (after PROXY protocol); beyond it 503. */
      maxConnectionsPerClient: v.optional(PositiveInteger),
      /** Request head size; larger heads get 431 (Node's default is 16 KiB). */
      maxHeaderSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1024), v.maxValue(1024 * 1024)), 16 * 1024),
    }),
    {},
  ),
  timeouts: v.optional(
    v.strictObject({
      /** TCP connect to a backend; a backend that does not connect in time is skipped. */
      backendConnect: v.optional(TimeoutSchema, 5000),
      /** From the request being sent until the backend's response head is complete (504 after). */
      backendResponse: v.optional(TimeoutSchema, 30_000),
      /** A client's whole request head must arrive within this (slowloris); 408 after. */
      handshake: v.optional(TimeoutSchema, 10_000),
      /** A PROXY protocol header must arrive within this after accept. */
      proxyProtocol: v.optional(TimeoutSchema, 5000),
    }),
    {},
  ),
  /** Keep-alive pings, idle timeout and TCP keep-alive of open tunnels (issue 5). */
  tunnels: v.optional(TunnelsSchema, {}),
  /** Graceful drain (issue 6). */
  drain: v.optional(DrainSchema, {}),
  /** A plain GET/HEAD of this path is answered by wsgate: 200 while serving, 503 while draining. */
  healthPath: v.optional(HealthPathSchema, '/healthz'),
});

/** What users write (defaults optional, strings allowed where parsed). */
export type GatewayConfigInput = v.InferInput<typeof GatewayConfigSchema>;
/** What the gateway reads: validated, defaults filled in. */
export type GatewayConfig = v.InferOutput<typeof GatewayConfigSchema>;
export type RouteConfig = GatewayConfig['routes'][number];
export type BackendConfig = RouteConfig['backends'][number];
export type LogLevel = GatewayConfig['logLevel'];
export type LogFormat = GatewayConfig['logFormat'];
export type PassiveConfig = RouteConfig['passive'];
