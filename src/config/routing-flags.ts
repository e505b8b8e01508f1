/**
 * The routing, balancing and config-file flags (issue 4), kept apart from
 * cli.ts so the command line stays an overview: `--route` in its extended
 * syntax (parse-route-flag.ts), `--config`, and the defaults every route
 * inherits (`--balance`, `--hash-on`, `--sticky-cookie`, `--session-affinity`).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { BALANCE_CHOICES } from './route-schema.js';
import { parseHashOnSpec, parseRouteFlag, parseSessionSpec, RouteFlagError, type RouteInput } from './parse-route-flag.js';

export type { RouteInput } from './parse-route-flag.js';

export interface RoutingFlags {
  route: RouteInput[];
  config?: string;
  balance?: string;
  hashOn?: RouteInput['hashOn'];
  stickyCookie?: string;
  sessionAffinity?: RouteInput['sessionAffinity'];
  backendIdSecret?: string;
}

/** commander reducers: grammar errors become usage errors (exit 2) naming the word. */
function usage<T>(parse: (value: string, previous: T) => T): (value: string, previous: T) => T {
  return (value, previous) => {
    try {
      return parse(value, previous);
    } catch (error) {
      if (error instanceof RouteFlagError) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };
}

export const ROUTE_FLAG_HELP =
  'a route, repeatable: "[CONDITION...] PATH=BACKEND[,BACKEND...] [OPTION...]". PATH: /prefix (at a "/" boundary), =/exact, ~regex, ~*regex (ignore case) or *. ' +
  'CONDITION: host:NAME|*.DOMAIN, header:NAME, header:!NAME, header:NAME=VALUE, header:NAME~REGEX (cookie: and query: alike). ' +
  'OPTION: balance:NAME, hash:KEY, sticky:COOKIE, session:PARAM[:SEP], strip, rewrite:/PREFIX, default, name:NAME. ' +
  'BACKEND: [ID@]host:port (or ws://, http://, wss://, https://)[*WEIGHT]. The first route that matches wins: routes with conditions beyond a path prefix first, in the order written, then plain prefix routes, longest first, then the default';

export const ROUTING_EXAMPLES = `
  $ wsgate --route '/chat=b1@10.0.0.5:3000,b2@10.0.0.6:3000' --route '/=10.0.0.9:8080'
  $ wsgate --route 'cookie:tenant=acme /chat=127.0.0.1:9001' --route '/chat=127.0.0.1:9002,127.0.0.1:9003'
  $ wsgate --route 'host:*.example.com header:x-beta /app=10.0.0.7:3000' --route '=/status=10.0.0.8:80 name:status'
  $ wsgate --route '~^/rooms/[0-9]+$=10.0.0.5:3000 strip' --route '/api=10.0.0.6:3000 rewrite:/v2'
  $ wsgate --route '/socket.io=b1@10.0.0.5:3000,b2@10.0.0.6:3000' --sticky-cookie WSGATE --session-affinity sid
  $ wsgate --route '/=10.0.0.5:3000,10.0.0.6:3000' --balance hash --hash-on cookie:user
  $ wsgate --config wsgate.yaml --listen 127.0.0.1:9090      # flags override the file
  $ wsgate check --config wsgate.yaml                        # validate, print the effective route table`;

/** `--route` and the options every route inherits; added to the main command and to `check`. */
export function addRoutingOptions(command: Command): Command {
  return command
    .option('--route <route>', ROUTE_FLAG_HELP, usage(parseRouteFlag), [] as RouteInput[])
    .option('--config <file>', 'read the configuration from a YAML or JSON file (JSON Schema: wsgate/schema.json); flags override it')
    .addOption(new Option('--balance <strategy>', 'how routes that set none choose a backend (default round-robin)').choices(BALANCE_CHOICES))
    .option('--hash-on <key>', 'what --balance hash hashes: client (address), cookie:NAME, header:NAME or query:NAME', usage(parseHashOnSpec))
    .option('--sticky-cookie <name>', 'set this cookie to the chosen backend\'s opaque id on HTTP and 101 responses, and follow it while that backend is healthy')
    .option('--session-affinity <param[:sep]>', 'send requests whose session id (query PARAM, e.g. sid) starts with a backend id and SEP (default ".") to that backend', usage(parseSessionSpec))
    .addOption(
      new Option('--backend-id-secret <secret>', 'key the hash that derives backend ids (sticky cookie values) from addresses; prefer the environment variable').env(
        'WSGATE_BACKEND_ID_SECRET',
      ),
    );
}

/** `defaults` and `backendIdSecret` from the flags given (none: nothing, so a file's values stand). */
export function routingConfigFromFlags(flags: RoutingFlags): Record<string, unknown> {
  const defaults = {
    ...(flags.balance !== undefined ? { balance: flags.balance } : {}),
    ...(flags.hashOn !== undefined ? { hashOn: flags.hashOn } : {}),
    ...(flags.stickyCookie !== undefined ? { stickyCookie: flags.stickyCookie } : {}),
    ...(flags.sessionAffinity !== undefined ? { sessionAffinity: flags.sessionAffinity } : {}),
  };
  return {
    ...(Object.keys(defaults).length > 0 ? { defaults } : {}),
    ...(flags.backendIdSecret !== undefined ? { backendIdSecret: flags.backendIdSecret } : {}),
  };
}

/**
 * Options whose commander default would otherwise override the file: each is
 * dropped unless given (its default is the schema's too). Maps option name to
 * config path; a new defaulted option that a file can also set belongs here.
 */
const DEFAULTED_OPTIONS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['listen', ['listen']],
  ['logLevel', ['logLevel']],
  ['connectTimeout', ['timeouts', 'backendConnect']],
  ['responseTimeout', ['timeouts', 'backendResponse']],
];

export function withoutDefaultedOptions(config: Record<string, unknown>, command: Command): Record<string, unknown> {
  const result: Record<string, unknown> = structuredClone(config);
  for (const [option, path] of DEFAULTED_OPTIONS) {
    if (command.getOptionValueSource(option) !== 'default') continue;
    let parent: Record<string, unknown> | undefined = result;
    for (const key of path.slice(0, -1)) {
      const child: unknown = parent?.[key];
      parent = typeof child === 'object' && child !== null ? (child as Record<string, unknown>) : undefined;
    }
    if (parent !== undefined) delete parent[path[path.length - 1] as string];
  }
  if (Array.isArray(result.routes) && result.routes.length === 0) delete result.routes;
  return result;
}
