/**
 * Schemas for what a route matches on (issue 4): path (prefix, exact, regular
 * expression), host (exact or "*.example.com"), and header, cookie and query
 * conditions (present, absent, equals, regular expression). Kept out of
 * schema.ts so that file stays an overview.
 */
import * as v from 'valibot';
import { removeDotSegments } from '../routing/normalize-path.js';

/** RFC 9110 5.6.2 token: header names, and cookie names (RFC 6265 4.1.1). */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The reason `source` is not a JavaScript regular expression, or undefined when it is one. */
export function regexError(source: string): string | undefined {
  try {
    new RegExp(source);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const RegexSourceSchema = v.pipe(
  v.string(),
  v.minLength(1, 'a regular expression cannot be empty'),
  v.check((source) => regexError(source) === undefined, (issue) => regexError(String(issue.input)) ?? 'invalid regular expression'),
);

/**
 * A configured path is written in the form requests are matched in (decoded,
 * no "//", no dot segments), or it could never match.
 */
function isMatchablePath(path: string): boolean {
  return !/%[0-9A-Fa-f]{2}/.test(path) && removeDotSegments(path.replace(/\/{2,}/g, '/')) === path;
}

export const PathStringSchema = v.pipe(
  v.string(),
  v.startsWith('/', 'a route path must start with "/"'),
  v.check(
    (path) => !path.startsWith('/') || isMatchablePath(path),
    'write the path as requests are matched: percent-decoded, without "//", "." or ".." segments',
  ),
);

/** A path condition: "/chat" (prefix at a "/" boundary), { prefix }, { exact } or { regex, ignoreCase }. */
const PathObjectSchema = v.pipe(
  v.strictObject({
    prefix: v.optional(PathStringSchema),
    exact: v.optional(PathStringSchema),
    regex: v.optional(RegexSourceSchema),
    ignoreCase: v.optional(v.boolean()),
  }),
  v.check(
    (path) => [path.prefix, path.exact, path.regex].filter((part) => part !== undefined).length === 1,
    'write exactly one of prefix, exact or regex',
  ),
  v.check((path) => path.ignoreCase === undefined || path.regex !== undefined, 'ignoreCase applies only to regex'),
);

export const PathMatchSchema = v.lazy((input) => (typeof input === 'object' && input !== null ? PathObjectSchema : PathStringSchema));

/** "chat.example.com", "*.example.com" (any name below example.com, not example.com itself), "10.0.0.5" or "[::1]". */
const HOST_PATTERN = /^(?:(?:\*\.)?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])$/;

export const HostSchema = v.pipe(
  v.string(),
  v.regex(HOST_PATTERN, 'expected a host name such as "chat.example.com", "*.example.com" or an IP address'),
);

const RegexConditionSchema = v.strictObject({ regex: RegexSourceSchema, ignoreCase: v.optional(v.boolean()) });

const NumberAsStringSchema = v.pipe(v.number(), v.finite(), v.transform(String));

/**
 * A value condition: a string (or number) must equal the value, `true` asks
 * that it be present, `false` that it be absent, `{ regex }` that it match.
 */
export const ValueMatchSchema = v.lazy((input) => {
  if (typeof input === 'boolean') return v.boolean();
  if (typeof input === 'number') return NumberAsStringSchema;
  if (typeof input === 'object' && input !== null) return RegexConditionSchema;
  return v.string('expected a string to equal, true (present), false (absent) or { regex: "..." }');
});

export type ValueMatch = v.InferOutput<typeof ValueMatchSchema>;
export type PathMatch = v.InferOutput<typeof PathMatchSchema>;

function conditions(nameSchema: v.GenericSchema<string>) {
  return v.record(nameSchema, ValueMatchSchema);
}

const HeaderNameSchema = v.pipe(v.string(), v.regex(TOKEN, 'not a valid header name (RFC 9110 5.6.2 token)'));
const CookieNameSchema = v.pipe(v.string(), v.regex(TOKEN, 'not a valid cookie name (RFC 6265 4.1.1 token)'));
const QueryNameSchema = v.pipe(v.string(), v.minLength(1, 'a query parameter name cannot be empty'));

export const HeaderConditionsSchema = conditions(HeaderNameSchema);
export const CookieConditionsSchema = conditions(CookieNameSchema);
export const QueryConditionsSchema = conditions(QueryNameSchema);
export { CookieNameSchema, HeaderNameSchema, QueryNameSchema };
