/**
 * The JSON Schema of the config file, generated from the valibot schema so the
 * two never disagree, and published as `wsgate/schema.json` (wsgate.schema.json
 * at the package root) for editors: with the YAML language server, a first
 * line `# yaml-language-server: $schema=./node_modules/wsgate/wsgate.schema.json`
 * completes and checks the file. test/unit/json-schema.test.ts fails when the
 * published file is stale (WSGATE_UPDATE_SCHEMA=1 rewrites it).
 *
 * It describes what users write (typeMode "input"): strings where wsgate
 * parses strings ("5s", "host:port"). Rules that span fields (one default
 * route, hashOn with balance hash) are checked by wsgate only.
 */
import { toJsonSchema, type ConversionConfig, type JsonSchema } from '@valibot/to-json-schema';
import type * as v from 'valibot';
import { BALANCE_NAMES, GatewayConfigSchema } from './schema.js';

/** One value of each JSON type: a `lazy` schema picks its branch by the input's type. */
const SAMPLES: readonly unknown[] = ['', 0, false, {}, []];

type AnySchema = v.BaseSchema<unknown, unknown, v.BaseIssue<unknown>>;

function withoutDialect(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, ...rest } = schema as JsonSchema & { $schema?: string };
  return rest;
}

const conversion: ConversionConfig = {
  typeMode: 'input',
  // Transformations and cross-field checks have no JSON Schema form; the input type is what editors need.
  errorMode: 'ignore',
  overrideSchema(context) {
    const schema = context.valibotSchema as AnySchema & { getter?: (input: unknown) => AnySchema };
    // The converter follows one branch of a lazy schema; the file may use any, so list each once.
    if (schema.type !== 'lazy' || schema.getter === undefined) return undefined;
    const branches = new Map<string, JsonSchema>();
    for (const sample of SAMPLES) {
      const branch = withoutDialect(toJsonSchema(schema.getter(sample), conversion));
      branches.set(JSON.stringify(branch), branch);
    }
    return branches.size === 1 ? [...branches.values()][0] : { anyOf: [...branches.values()] };
  },
};

type Json = unknown;
type Definitions = Record<string, Json>;

function isJsonObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Replaces every "#/$defs/ID" reference by its definition and drops the
 * `$defs` tables: the converter makes them for schemas it meets twice, and
 * the lazy branches converted above carry tables of their own whose ids
 * restart at 0. A reference resolves in the nearest enclosing table (the
 * conversion it came from). wsgate's schema is not recursive, so this ends.
 */
function inlineDefinitions(node: Json, scopes: readonly Definitions[] = []): Json {
  if (Array.isArray(node)) return node.map((item) => inlineDefinitions(item, scopes));
  if (!isJsonObject(node)) return node;
  const own = isJsonObject(node.$defs) ? node.$defs : undefined;
  const inner = own === undefined ? scopes : [own, ...scopes];
  const rest = Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => key !== '$defs' && key !== '$ref')
      .map(([key, value]) => [key, inlineDefinitions(value, inner)]),
  );
  const ref = node.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/$defs/')) return ref === undefined ? rest : { ...rest, $ref: ref };
  const id = ref.slice('#/$defs/'.length).replaceAll('~1', '/').replaceAll('~0', '~');
  const at = inner.findIndex((table) => id in table);
  if (at === -1) throw new Error(`unresolved reference ${ref} in the generated JSON Schema`);
  const resolved = inlineDefinitions(inner[at]?.[id], inner.slice(at));
  return isJsonObject(resolved) ? { ...resolved, ...rest } : resolved;
}

/** A note on each balance name, for the hover text (every name needs one: the type checks it). */
const BALANCE_NOTES: Readonly<Record<(typeof BALANCE_NAMES)[number], string | undefined>> = {
  'round-robin': 'smooth weighted',
  'least-conn': undefined,
  random: 'power of two choices',
  hash: 'rendezvous, on hashOn',
};
const BALANCE_TEXT = BALANCE_NAMES.map((name) => (BALANCE_NOTES[name] === undefined ? name : `${name} (${BALANCE_NOTES[name]})`));

/** Hover text for editors, on the fields of issue 4 (top level and per route). */
const TOP_LEVEL_DESCRIPTIONS: Readonly<Record<string, string>> = {
  routes: 'Routes. Conditional routes (host, headers, cookies, query, exact or regex path) are tried first in the order written, then plain prefix routes longest first, then the default route; the first that matches wins.',
  defaults: 'balance, hashOn, stickyCookie and sessionAffinity for every route that does not set its own (flags: --balance, --hash-on, --sticky-cookie, --session-affinity).',
  backendIdSecret: 'Keys the HMAC that derives backend ids (sticky cookie values) from addresses, so a cookie cannot be reversed to an address. Every gateway replica needs the same secret. Env: WSGATE_BACKEND_ID_SECRET.',
};
const ROUTE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  path: '"/chat": prefix at a "/" boundary; { exact: "/status" }; { regex: "^/rooms/[0-9]+$", ignoreCase: true }. Matched against the percent-decoded path without dot segments.',
  name: 'Shown in logs and by wsgate check.',
  host: 'Host without port, case-insensitive: "chat.example.com" or "*.example.com" (any name below it, not example.com itself).',
  headers: 'Header name (case-insensitive) -> "value" (equals), true (present), false (absent) or { regex, ignoreCase }.',
  cookies: 'Cookie name -> "value" (equals), true (present), false (absent) or { regex, ignoreCase }.',
  query: 'Query parameter -> "value" (equals), true (present), false (absent) or { regex, ignoreCase }.',
  default: 'Tried after every other route, wherever written. At most one route.',
  stripPrefix: 'Remove the matched prefix before forwarding: /chat/x reaches the backend as /x.',
  rewritePrefix: 'Replace the matched prefix: with "/v2", /chat/x reaches the backend as /v2/x.',
  backends: '"[ID@]host:port[*WEIGHT]", "ws://host:port", "http://host:port" (wss/https for TLS), or { host, port, tls, id, weight }. The id is what sticky cookies and session ids name.',
  balance: `${BALANCE_TEXT.slice(0, -1).join(', ')} or ${BALANCE_TEXT[BALANCE_TEXT.length - 1]}.`,
  hashOn: '"client" (address) or { cookie | header | query: NAME }; implies balance hash.',
  stickyCookie: 'Cookie name (or { name, path, domain, maxAge, sameSite, secure }) set to the chosen backend\'s opaque id on HTTP and 101 responses and followed while the backend is healthy; false turns a default off.',
  sessionAffinity: 'Query parameter carrying a session id that starts with a backend id ("sid" for Socket.IO), or { param, separator } (default "."); false turns a default off.',
};

function describe(schema: Json, descriptions: Readonly<Record<string, string>>): void {
  if (!isJsonObject(schema) || !isJsonObject(schema.properties)) return;
  for (const [key, text] of Object.entries(descriptions)) {
    const property = schema.properties[key];
    if (isJsonObject(property)) property.description = text;
  }
}

export function configJsonSchema(): JsonSchema {
  const schema = inlineDefinitions(withoutDialect(toJsonSchema(GatewayConfigSchema, conversion))) as JsonSchema;
  describe(schema, TOP_LEVEL_DESCRIPTIONS);
  const routes = isJsonObject(schema.properties) ? schema.properties.routes : undefined;
  describe(isJsonObject(routes) ? routes.items : undefined, ROUTE_DESCRIPTIONS);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'wsgate configuration',
    description: 'wsgate --config FILE (YAML or JSON). Flags given with --config override these values.',
    ...schema,
  };
}
