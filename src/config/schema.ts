/**
 * The configuration schema: one source for validation, defaults and the types
 * the rest of the code reads. Flags and files both produce a raw object that
 * goes through `GatewayConfigSchema`; every problem is reported with its path.
 */
import { z } from 'zod';
import { parseBackendSpec, parseDuration, parseHostPort } from './parse-address.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const BALANCE_NAMES = ['round-robin', 'least-conn', 'random', 'hash'] as const;

const DurationSchema = z.union([z.number(), z.string()]).transform((input, ctx) => {
  const parsed = parseDuration(input);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed.value;
});

const BackendObjectSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  tls: z.boolean().default(false),
  /** Opaque id used in sticky cookies; derived from host:port when absent. */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'id must be 1-64 letters, digits, "-" or "_"').optional(),
  weight: z.number().int().min(1).max(1000).default(1),
});

// A backend is written as a string ("host:port", "ws://host:port") or as an
// object; preprocess turns the string into the object so that errors name the
// real problem instead of a vague union failure.
const BackendSchema = z.preprocess((input, ctx) => {
  if (typeof input !== 'string') return input;
  const parsed = parseBackendSpec(input);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed.value;
}, BackendObjectSchema);

const RouteSchema = z.strictObject({
  /** Path prefix, matched at a "/" boundary: "/chat" matches "/chat" and "/chat/x", not "/chatroom". */
  path: z.string().startsWith('/', 'a route path must start with "/"'),
  backends: z.array(BackendSchema).min(1, 'a route needs at least one backend'),
  balance: z.enum(BALANCE_NAMES).default('round-robin'),
});

const ListenSchema = z.preprocess(
  (input, ctx) => {
    if (typeof input !== 'string') return input;
    const parsed = parseHostPort(input, true);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }
    return parsed.value;
  },
  z.strictObject({ host: z.string().min(1).default('0.0.0.0'), port: z.number().int().min(0).max(65535) }),
);

export const GatewayConfigSchema = z.strictObject({
  listen: ListenSchema.default({ host: '0.0.0.0', port: 8080 }),
  routes: z.array(RouteSchema).min(1, 'at least one route is needed'),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  timeouts: z
    .strictObject({
      /** TCP connect to a backend; a backend that does not connect in time is skipped. */
      backendConnect: DurationSchema.default(5000),
      /** From the request being sent until the backend's response head is complete (504 after). */
      backendResponse: DurationSchema.default(30_000),
    })
    .default({ backendConnect: 5000, backendResponse: 30_000 }),
});

/** What users write (defaults optional, strings allowed where parsed). */
export type GatewayConfigInput = z.input<typeof GatewayConfigSchema>;
/** What the gateway reads: validated, defaults filled in. */
export type GatewayConfig = z.output<typeof GatewayConfigSchema>;
export type RouteConfig = GatewayConfig['routes'][number];
export type BackendConfig = RouteConfig['backends'][number];
export type LogLevel = GatewayConfig['logLevel'];
