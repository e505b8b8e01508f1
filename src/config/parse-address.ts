/**
 * Parsers for the address forms users write in flags and files. Pure; each
 * returns a value or an error sentence, so callers can report every problem.
 */
import { isIP } from 'node:net';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export interface HostPort {
  host: string;
  port: number;
}

export interface BackendSpec extends HostPort {
  tls: boolean;
  /** From "ID@address": the backend's opaque id (sticky cookies, session ids). */
  id?: string;
  /** From "address*WEIGHT". */
  weight?: number;
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

/** "host:port", "[v6]:port", or "v4:port"; `allowPortZero` for listeners (0 = pick a free port). */
export function parseHostPort(text: string, allowPortZero = false): Parsed<HostPort> {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text.trim());
  if (!match) return { ok: false, error: `"${text}" is not HOST:PORT (IPv6 goes in brackets: [::1]:8080)` };
  const host = match[1] ?? match[2] ?? '';
  if (match[1] !== undefined && isIP(host) !== 6) return { ok: false, error: `"${host}" is not an IPv6 address` };
  const port = parsePort(match[3] ?? '');
  if (port === undefined || (port === 0 && !allowPortZero)) {
    return { ok: false, error: `"${match[3]}" is not a valid port in "${text}"` };
  }
  return { ok: true, value: { host, port } };
}

const SCHEMES: Readonly<Record<string, { tls: boolean; defaultPort: number }>> = {
  'ws:': { tls: false, defaultPort: 80 },
  'http:': { tls: false, defaultPort: 80 },
  'wss:': { tls: true, defaultPort: 443 },
  'https:': { tls: true, defaultPort: 443 },
};

const BACKEND_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A backend as flags write it: "[ID@]ADDRESS[*WEIGHT]", where ADDRESS is
 * "host:port", "ws://host:port" or "http://host:port" (wss/https for TLS):
 * "b1@10.0.0.5:3000*2". The id is what sticky cookies and session ids name.
 */
export function parseBackendSpec(text: string): Parsed<BackendSpec> {
  let rest = text.trim();
  // "ID@" comes before the address; an "@" after "://" is a URL's userinfo, not an id.
  const at = rest.indexOf('@');
  const schemeEnd = rest.indexOf('://');
  let id: string | undefined;
  if (at !== -1 && (schemeEnd === -1 || at < schemeEnd)) {
    id = rest.slice(0, at);
    // Issue 13: "b.1@127.0.0.1:9001" was read as the host "b.1@127.0.0.1".
    if (!BACKEND_ID.test(id)) return { ok: false, error: `"${id}" in "${text}" is not a backend id (letters, digits, "_" and "-", at most 64)` };
    rest = rest.slice(at + 1);
  }
  let weight: number | undefined;
  const star = rest.lastIndexOf('*');
  if (star !== -1) {
    const weightText = rest.slice(star + 1);
    weight = /^\d{1,4}$/.test(weightText) ? Number(weightText) : NaN;
    if (!(weight >= 1 && weight <= 1000)) return { ok: false, error: `"${weightText}" in "${text}" is not a weight (1 to 1000)` };
    rest = rest.slice(0, star);
  }
  const address = parseBackendAddress(rest, text);
  if (!address.ok) return address;
  return { ok: true, value: { ...address.value, ...(id === undefined ? {} : { id }), ...(weight === undefined ? {} : { weight }) } };
}

function parseBackendAddress(trimmed: string, text: string): Parsed<BackendSpec> {
  const schemeEnd = trimmed.indexOf('://');
  if (schemeEnd === -1) {
    const hostPort = parseHostPort(trimmed);
    return hostPort.ok ? { ok: true, value: { ...hostPort.value, tls: false } } : hostPort;
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { ok: false, error: `"${text}" is not a valid backend URL` };
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme) return { ok: false, error: `"${url.protocol}" in "${text}" is not a backend scheme (ws, wss, http, https)` };
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    return { ok: false, error: `backend "${text}" must be only scheme://host:port` };
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? scheme.defaultPort : Number(url.port);
  if (port === 0) return { ok: false, error: `"0" is not a valid port in "${text}"` };
  return { ok: true, value: { host, port, tls: scheme.tls } };
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * "500ms", "5s", "2m", "1h", or "0". Text needs its unit (issue 13): a bare
 * "30" was read as 30 milliseconds where people meant seconds. A number (in a
 * JSON or YAML file, or from the library) is milliseconds, as typed.
 */
export function parseDuration(input: string | number): Parsed<number> {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 ? { ok: true, value: input } : { ok: false, error: `${input} is not a duration` };
  }
  const text = input.trim();
  if (text === '0') return { ok: true, value: 0 };
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(text);
  if (!match) {
    const bare = /^\d+(?:\.\d+)?$/.test(text);
    return { ok: false, error: bare ? `"${input}" needs a unit: ${text}ms, ${text}s, ${text}m or ${text}h` : `"${input}" is not a duration (examples: 500ms, 5s, 2m, 1h)` };
  }
  return { ok: true, value: Math.round(Number(match[1]) * (DURATION_UNITS[match[2] as string] ?? 1)) };
}
