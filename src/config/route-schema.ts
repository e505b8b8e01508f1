/**
 * The route fields of issue 4, spread into schema.ts's RouteSchema: what a
 * route matches on, how it rewrites the path, and how it keeps clients on a
 * backend. Also `defaults`, the top-level values routes inherit.
 */
import * as v from 'valibot';
import { HashOnSchema, SessionAffinitySchema, StickyCookieSchema } from './affinity-schema.js';
import { BALANCE_NAMES } from '../upstream/strategies/index.js';
import {
  CookieConditionsSchema,
  HeaderConditionsSchema,
  HostSchema,
  PathMatchSchema,
  PathStringSchema,
  QueryConditionsSchema,
} from './match-schema.js';

/** The balancing strategies, listed once in upstream/strategies/index.ts; schema.ts re-exports them. */
export { BALANCE_NAMES };
export const BalanceSchema = v.picklist(BALANCE_NAMES, `expected one of ${BALANCE_NAMES.join(', ')}`);

/** Fields a route may leave to `defaults` (and the command line sets as defaults: --balance, --sticky-cookie...). */
const INHERITABLE_ENTRIES = {
  /** The key `balance: hash` hashes; written without `balance`, it implies hash. */
  hashOn: v.optional(HashOnSchema),
  /** Set this cookie to the chosen backend's opaque id and follow it on later requests. */
  stickyCookie: v.optional(StickyCookieSchema),
  /** Send requests whose session id (a query parameter) names a backend to that backend. */
  sessionAffinity: v.optional(SessionAffinitySchema),
};

export const INHERITABLE_KEYS = ['balance', ...Object.keys(INHERITABLE_ENTRIES)] as const;

export const ROUTE_ENTRIES = {
  /** A path condition: "/chat" (prefix at a "/" boundary), { exact }, { prefix } or { regex }. Absent: any path. */
  path: v.optional(PathMatchSchema),
  /** Shown in logs and by `wsgate check`; defaults to a summary of the conditions. */
  name: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(100))),
  /** Exact ("chat.example.com") or wildcard ("*.example.com"); compared without port, case-insensitively. */
  host: v.optional(HostSchema),
  /** Header name (case-insensitive) -> condition. */
  headers: v.optional(HeaderConditionsSchema),
  /** Cookie name -> condition. */
  cookies: v.optional(CookieConditionsSchema),
  /** Query parameter name -> condition. */
  query: v.optional(QueryConditionsSchema),
  /** Tried after every other route, wherever it is written. At most one. */
  default: v.optional(v.boolean()),
  /** Remove the matched prefix before forwarding: "/chat/x" reaches the backend as "/x". */
  stripPrefix: v.optional(v.boolean()),
  /** Replace the matched prefix: with "/v2", "/chat/x" reaches the backend as "/v2/x". */
  rewritePrefix: v.optional(PathStringSchema),
  ...INHERITABLE_ENTRIES,
};

/** `defaults`: what routes that do not set these inherit. */
export const DefaultsSchema = v.strictObject({
  balance: v.optional(BalanceSchema),
  ...INHERITABLE_ENTRIES,
  /** send-proxy for every route that does not say (a route's own sendProxyProtocol wins). */
  sendProxyProtocol: v.optional(v.picklist(['v1', 'v2'], 'expected v1 or v2')),
  /** Open tunnels per route for every route that does not set its own maxConnections. */
  maxConnections: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
});

/** At least 16 characters: it is all that stands between a cookie value and a brute-forced address. */
export const BackendIdSecretSchema = v.pipe(v.string(), v.minLength(16, 'the secret needs at least 16 characters'));
