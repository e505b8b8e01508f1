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
import * as v from 'valibot';
import { parseBackendSpec, parseDuration, parseHostPort, type Parsed } from './parse-address.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const BALANCE_NAMES = ['round-robin', 'least-conn', 'random', 'hash'] as const;

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
const DurationNumberSchema = v.pipe(v.number('expected a duration such as "500ms", "5s" or a number of milliseconds'), v.finite(), v.minValue(0));
const DurationSchema = v.lazy((input) => (typeof input === 'string' ? DurationStringSchema : DurationNumberSchema));

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
  v.transform((spec): { host: string; port: number; tls: boolean; id?: string; weight: number } => ({ ...spec, weight: 1 })),
);
const BackendSchema = v.lazy((input) => (typeof input === 'string' ? BackendStringSchema : BackendObjectSchema));

const RouteSchema = v.strictObject({
  /** Path prefix, matched at a "/" boundary: "/chat" matches "/chat" and "/chat/x", not "/chatroom". */
  path: v.pipe(v.string(), v.startsWith('/', 'a route path must start with "/"')),
  backends: v.pipe(v.array(BackendSchema), v.minLength(1, 'a route needs at least one backend')),
  balance: v.optional(v.picklist(BALANCE_NAMES, `expected one of ${BALANCE_NAMES.join(', ')}`), 'round-robin'),
});

const ListenStringSchema = parsedString((text) => parseHostPort(text, true));
const ListenObjectSchema = v.strictObject({
  host: v.optional(v.pipe(v.string(), v.minLength(1)), '0.0.0.0'),
  port: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)),
});
const ListenSchema = v.lazy((input) => (typeof input === 'string' ? ListenStringSchema : ListenObjectSchema));

export const GatewayConfigSchema = v.strictObject({
  listen: v.optional(ListenSchema, { host: '0.0.0.0', port: 8080 }),
  routes: v.pipe(v.array(RouteSchema), v.minLength(1, 'at least one route is needed')),
  logLevel: v.optional(v.picklist(LOG_LEVELS, `expected one of ${LOG_LEVELS.join(', ')}`), 'info'),
  timeouts: v.optional(
    v.strictObject({
      /** TCP connect to a backend; a backend that does not connect in time is skipped. */
      backendConnect: v.optional(DurationSchema, 5000),
      /** From the request being sent until the backend's response head is complete (504 after). */
      backendResponse: v.optional(DurationSchema, 30_000),
    }),
    {},
  ),
});

/** What users write (defaults optional, strings allowed where parsed). */
export type GatewayConfigInput = v.InferInput<typeof GatewayConfigSchema>;
/** What the gateway reads: validated, defaults filled in. */
export type GatewayConfig = v.InferOutput<typeof GatewayConfigSchema>;
export type RouteConfig = GatewayConfig['routes'][number];
export type BackendConfig = RouteConfig['backends'][number];
export type LogLevel = GatewayConfig['logLevel'];
