/**
 * The `--route` flag (issue 4): one route per flag, written as words separated
 * by spaces, all conditions of which must hold:
 *
 *   --route '[CONDITION...] PATH=BACKEND[,BACKEND...] [OPTION...]'
 *
 * PATH:       /chat (prefix at a "/" boundary, as before), =/status (exact),
 *             ~^/rooms/[0-9]+$ (regular expression; ~* ignores case), * (any path)
 * CONDITION:  host:chat.example.com   host:*.example.com
 *             header:NAME (present)  header:!NAME (absent)  header:NAME=VALUE  header:NAME~REGEX  header:NAME~*REGEX
 *             cookie:... and query:... the same way
 * OPTION:     balance:round-robin|least-conn|random|hash   hash:client|cookie:NAME|header:NAME|query:NAME
 *             sticky:COOKIE   session:PARAM[:SEPARATOR]   strip   rewrite:/PREFIX   default   name:NAME
 * BACKEND:    [ID@]host:port | ws://host:port | http://host:port (wss/https for TLS) [*WEIGHT]
 *
 * `--route /chat=a:1,b:2` is unchanged. Order: routing/route-table.ts (orderRoutes). Words cannot contain spaces (write
 * \s in a regular expression); what flags cannot say, the config file can.
 * Values are checked by the config schema, so flags and files report alike.
 */
import type { GatewayConfigInput } from './schema.js';

export type RouteInput = GatewayConfigInput['routes'][number];
type Conditions = Record<string, string | boolean | { regex: string; ignoreCase?: boolean }>;
type MutableRoute = { -readonly [K in keyof RouteInput]: RouteInput[K] };

/** Thrown for a word the grammar does not know; cli.ts turns it into commander's InvalidArgumentError. */
export class RouteFlagError extends Error {}

/** "NAME", "!NAME", "NAME=VALUE", "NAME~REGEX", "NAME~*REGEX". */
export function parseConditionSpec(spec: string): [string, Conditions[string]] {
  if (spec.startsWith('!')) return [spec.slice(1), false];
  const at = spec.search(/[=~]/);
  if (at === -1) return [spec, true];
  const name = spec.slice(0, at);
  if (spec[at] === '=') return [name, spec.slice(at + 1)];
  const ignoreCase = spec[at + 1] === '*';
  const regex = spec.slice(at + (ignoreCase ? 2 : 1));
  return [name, ignoreCase ? { regex, ignoreCase: true } : { regex }];
}

/** "client", "cookie:NAME", "header:NAME", "query:NAME" (also `--hash-on`). */
export function parseHashOnSpec(spec: string): RouteInput['hashOn'] {
  if (spec === 'client') return 'client';
  const colon = spec.indexOf(':');
  const kind = spec.slice(0, colon);
  const name = spec.slice(colon + 1);
  if (colon === -1 || (kind !== 'cookie' && kind !== 'header' && kind !== 'query') || name === '') {
    throw new RouteFlagError(`expected client, cookie:NAME, header:NAME or query:NAME to hash on, got "${spec}"`);
  }
  return { [kind]: name };
}

/** "PARAM" or "PARAM:SEPARATOR" (also `--session-affinity`). */
export function parseSessionSpec(spec: string): RouteInput['sessionAffinity'] {
  const colon = spec.indexOf(':');
  return colon === -1 ? spec : { param: spec.slice(0, colon), separator: spec.slice(colon + 1) };
}

function addCondition(route: MutableRoute, key: 'headers' | 'cookies' | 'query', spec: string, word: string): void {
  const [name, condition] = parseConditionSpec(spec);
  if (name === '') throw new RouteFlagError(`"${word}" names no ${key === 'headers' ? 'header' : key === 'cookies' ? 'cookie' : 'query parameter'}`);
  const existing = (route[key] ?? {}) as Conditions;
  route[key] = { ...existing, [name]: condition };
}

function setPathAndBackends(route: MutableRoute, word: string): void {
  const eq = word.lastIndexOf('=');
  const pathSpec = word.slice(0, eq);
  const list = word.slice(eq + 1);
  const backends = list.split(',').map((backend) => backend.trim());
  // Issue 13: "a:1,b:2," used to drop the empty item silently; a doubled or trailing comma is a typo.
  if (list !== '' && backends.includes('')) throw new RouteFlagError(`an empty backend in "${list}" (a doubled or trailing comma?)`);
  if (list === '') backends.length = 0;
  if (pathSpec === '*') delete route.path;
  else if (pathSpec.startsWith('=')) route.path = { exact: pathSpec.slice(1) };
  else if (pathSpec.startsWith('~*')) route.path = { regex: pathSpec.slice(2), ignoreCase: true };
  else if (pathSpec.startsWith('~')) route.path = { regex: pathSpec.slice(1) };
  else if (pathSpec.startsWith('/')) route.path = pathSpec;
  else throw new RouteFlagError(`the prefix must start with "/", got "${pathSpec}" (or write =/exact, ~regex or *)`);
  if (backends.length === 0) throw new RouteFlagError(`route "${pathSpec}" names no backend`);
  route.backends = backends;
}

const OPTION_WORDS: Readonly<Record<string, (route: MutableRoute, value: string, word: string) => void>> = {
  host: (route, value) => (route.host = value),
  header: (route, value, word) => addCondition(route, 'headers', value, word),
  cookie: (route, value, word) => addCondition(route, 'cookies', value, word),
  query: (route, value, word) => addCondition(route, 'query', value, word),
  balance: (route, value) => (route.balance = value as RouteInput['balance']),
  hash: (route, value) => {
    route.hashOn = parseHashOnSpec(value);
  },
  sticky: (route, value) => (route.stickyCookie = value),
  session: (route, value) => (route.sessionAffinity = parseSessionSpec(value)),
  rewrite: (route, value) => (route.rewritePrefix = value),
  name: (route, value) => (route.name = value),
};

/** One `--route` value; appends to `previous` (commander's repeatable-option reducer). */
export function parseRouteFlag(value: string, previous: readonly RouteInput[] = []): RouteInput[] {
  const route: MutableRoute = { backends: [] };
  let sawTarget = false;
  for (const word of value.trim().split(/\s+/)) {
    if (word === '') continue;
    if (word === 'strip' || word === 'default') {
      route[word === 'strip' ? 'stripPrefix' : 'default'] = true;
      continue;
    }
    const colon = word.indexOf(':');
    const handler = colon > 0 ? OPTION_WORDS[word.slice(0, colon)] : undefined;
    if (handler !== undefined) {
      handler(route, word.slice(colon + 1), word);
      continue;
    }
    if (!word.includes('=') && /^[/=~*]/.test(word)) throw new RouteFlagError(`expected PATH=BACKEND[,BACKEND...], got "${word}"`);
    if (!word.includes('=')) {
      throw new RouteFlagError(
        `"${word}" is neither PATH=BACKENDS nor a condition (host:, header:, cookie:, query:) or option (balance:, hash:, sticky:, session:, strip, rewrite:, default, name:)`,
      );
    }
    if (sawTarget) throw new RouteFlagError(`route "${value}" has two PATH=BACKENDS words`);
    sawTarget = true;
    setPathAndBackends(route, word);
  }
  if (!sawTarget) throw new RouteFlagError(`expected PATH=BACKEND[,BACKEND...] in route "${value}"`);
  return [...previous, route];
}
