/**
 * Schemas for how a route keeps a client on one backend (issue 4): the key a
 * `hash` balance hashes, the sticky cookie, and session-id affinity.
 */
import * as v from 'valibot';
import { CookieNameSchema, HeaderNameSchema, QueryNameSchema } from './match-schema.js';
import { parseDuration } from './parse-address.js';

/** What `balance: hash` hashes: the client address, or a cookie, header or query parameter. */
const HashOnObjectSchema = v.pipe(
  v.strictObject({ cookie: v.optional(CookieNameSchema), header: v.optional(HeaderNameSchema), query: v.optional(QueryNameSchema) }),
  v.check((key) => Object.keys(key).length === 1, 'write exactly one of cookie, header or query'),
);
export const HashOnSchema = v.lazy((input) =>
  typeof input === 'string' ? v.picklist(['client'], 'expected "client" or one of { cookie }, { header }, { query }') : HashOnObjectSchema,
);
export type HashOn = v.InferOutput<typeof HashOnSchema>;

const SAME_SITE = ['Strict', 'Lax', 'None'] as const;

const MaxAgeSchema = v.pipe(
  v.union([v.string(), v.number()], 'expected a duration such as "1h" or a number of seconds'),
  v.rawTransform<string | number, number>(({ dataset, addIssue, NEVER }) => {
    // A number is seconds, as in the Max-Age attribute itself (RFC 6265 5.2.2).
    const parsed = typeof dataset.value === 'number' ? parseDuration(dataset.value * 1000) : parseDuration(dataset.value);
    if (!parsed.ok) {
      addIssue({ message: parsed.error });
      return NEVER;
    }
    return Math.floor(parsed.value / 1000);
  }),
);

const StickyCookieObjectSchema = v.pipe(
  v.strictObject({
    name: CookieNameSchema,
    /** Path attribute; "/" so that every route of the site sends it back. */
    path: v.optional(v.pipe(v.string(), v.startsWith('/', 'a cookie path must start with "/"'), v.regex(/^[!-:<-~]*$/, 'a cookie path has no ";" or spaces'))),
    domain: v.optional(v.pipe(v.string(), v.regex(/^\.?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/, 'expected a domain such as "example.com"'))),
    /** Absent: a session cookie, gone when the browser closes (HAProxy's default too). */
    maxAge: v.optional(MaxAgeSchema),
    sameSite: v.optional(v.picklist(SAME_SITE, `expected one of ${SAME_SITE.join(', ')}`)),
    /** "auto": Secure when the client reached wsgate over TLS. */
    secure: v.optional(v.union([v.boolean(), v.literal('auto')], 'expected true, false or "auto"')),
  }),
  v.forward(
    v.check((cookie) => cookie.sameSite !== 'None' || cookie.secure !== false, 'SameSite=None needs Secure: browsers drop the cookie otherwise'),
    ['secure'],
  ),
);

/** The sticky cookie: its name, or `{ name, ... }` with attributes, or `false` to turn a default off. */
export const StickyCookieSchema = v.lazy((input) => {
  if (typeof input === 'boolean') return v.literal(false, 'expected a cookie name, { name, ... } or false');
  if (typeof input === 'object' && input !== null) return StickyCookieObjectSchema;
  return v.pipe(CookieNameSchema, v.transform((name) => ({ name })));
});
export type StickyCookieSetting = v.InferOutput<typeof StickyCookieSchema>;

/** Characters of backend ids; a separator must use none of them so that "b1.x" splits one way only. */
const SEPARATOR = /^[^A-Za-z0-9_\-\s]{1,4}$/;

const SessionAffinityObjectSchema = v.strictObject({
  /** The query parameter carrying the session id: "sid" for Socket.IO / Engine.IO. */
  param: QueryNameSchema,
  /** Between the backend id and the rest of the session id: "b1.Xyz" with ".". */
  separator: v.optional(v.pipe(v.string(), v.regex(SEPARATOR, 'a separator is 1-4 characters, none of them a letter, digit, "-", "_" or space')), '.'),
});

/** Session-id affinity: the query parameter's name, `{ param, separator }`, or `false` to turn a default off. */
export const SessionAffinitySchema = v.lazy((input) => {
  if (typeof input === 'boolean') return v.literal(false, 'expected a query parameter name, { param, separator } or false');
  if (typeof input === 'object' && input !== null) return SessionAffinityObjectSchema;
  return v.pipe(QueryNameSchema, v.transform((param) => ({ param, separator: '.' })));
});
export type SessionAffinitySetting = v.InferOutput<typeof SessionAffinitySchema>;
