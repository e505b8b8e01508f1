import * as v from 'valibot';
import { DefaultsSchema } from './route-schema.js';

type RawObject = Record<string, unknown>;

function isObject(value: unknown): value is RawObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A default is copied only when valid, so a bad one is reported once, at `defaults.x`, not again per route. */
function validDefault(defaults: RawObject, key: keyof typeof DefaultsSchema.entries): unknown {
  const value = defaults[key];
  return value !== undefined && v.is(DefaultsSchema.entries[key], value) ? value : undefined;
}

/**
 * Fills each raw route's unset balancing and affinity fields from `defaults`,
 * before validation, so that "was it written?" is still known:
 * - `balance`: the route's; else `hash` if the route names `hashOn`; else
 *   `defaults.balance`; else `hash` if `defaults.hashOn` is set; else the
 *   schema's default (round-robin).
 * - `hashOn`: the route's; else `defaults.hashOn` when the route balances by hash.
 * - `stickyCookie`, `sessionAffinity`: the route's (`false` keeps the default off); else the default.
 * - `sendProxyProtocol`, `maxConnections`: the route's; else the default.
 * Returns new objects; the input is never changed.
 */
export function applyRouteDefaults(input: unknown): unknown {
  if (!isObject(input) || !Array.isArray(input.routes)) return input;
  const defaults = isObject(input.defaults) ? input.defaults : {};
  const defaultBalance = validDefault(defaults, 'balance');
  const defaultHashOn = validDefault(defaults, 'hashOn');
  const inherited = {
    stickyCookie: validDefault(defaults, 'stickyCookie'),
    sessionAffinity: validDefault(defaults, 'sessionAffinity'),
    sendProxyProtocol: validDefault(defaults, 'sendProxyProtocol'),
    maxConnections: validDefault(defaults, 'maxConnections'),
  };
  const routes = input.routes.map((route: unknown) => {
    if (!isObject(route)) return route;
    const resolved: RawObject = { ...route };
    resolved.balance ??= route.hashOn !== undefined ? 'hash' : (defaultBalance ?? (defaultHashOn !== undefined ? 'hash' : undefined));
    if (resolved.balance === undefined) delete resolved.balance;
    if (resolved.balance === 'hash' && route.hashOn === undefined && defaultHashOn !== undefined) resolved.hashOn = defaultHashOn;
    for (const [key, value] of Object.entries(inherited)) {
      if (route[key] === undefined && value !== undefined) resolved[key] = value;
    }
    return resolved;
  });
  return { ...input, routes };
}
