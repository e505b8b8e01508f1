/**
 * The routing flags' parsers and help (issue 4), kept apart from cli.ts so the
 * command line stays an overview: `--route` in its extended syntax
 * (parse-route-flag.ts), and the route defaults' `--hash-on` and
 * `--session-affinity`. Their rows, with `--config`, `--balance`,
 * `--sticky-cookie` and `--backend-id-secret`, are in flag-table.ts.
 */
import { InvalidArgumentError } from 'commander';
import { parseHashOnSpec, parseRouteFlag, parseSessionSpec, RouteFlagError } from './parse-route-flag.js';

export type { RouteInput } from './parse-route-flag.js';

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

/** `--route`, repeatable: each appends one route. */
export const parseRouteArg = usage(parseRouteFlag);
export const parseHashOnArg = usage(parseHashOnSpec);
export const parseSessionArg = usage(parseSessionSpec);

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
