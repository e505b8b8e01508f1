import { createHash, createHmac } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { Backend, BackendAddress } from './backend.js';

/**
 * A stable, opaque backend id: "b" + the first 10 hex digits (40 bits) of
 * sha256("host:port"). Same on every process and restart, so sticky cookies
 * and session affinity survive both. Hostnames are lowercased and IPv6
 * literals canonicalized first, so "::1" and "[0:0::1]" name one backend.
 *
 * A plain hash of an address can be reversed by trying addresses (private
 * ranges times common ports is a small space), so a sticky cookie would
 * reveal the backend's address. With `secret` the digest is
 * HMAC-SHA256(secret, "host:port") instead (`backendIdSecret`): as stable
 * across processes that share the secret, and not reversible without it.
 */
export function deriveBackendId(host: string, port: number, secret?: string): string {
  const hostPort = formatHostPort(normalizeHost(host), port);
  const digest = (secret === undefined ? createHash('sha256') : createHmac('sha256', secret)).update(hostPort).digest('hex');
  return `b${digest.slice(0, 10)}`;
}

export interface CreateBackendOptions {
  /** A configured id; otherwise one is derived from host:port. */
  readonly id?: string;
  /** Keys the derivation of ids (deriveBackendId); ignored when `id` is given. */
  readonly idSecret?: string;
  /** Relative share for weighted strategies; finite and >= 1. Defaults to 1. */
  readonly weight?: number;
}

/** A backend with runtime fields at rest: no tunnels, healthy, not draining. */
export function createBackend(address: BackendAddress, options: CreateBackendOptions = {}): Backend {
  const weight = options.weight ?? 1;
  if (!Number.isFinite(weight) || weight < 1) {
    throw new RangeError(`backend weight must be a finite number >= 1, got ${weight}`);
  }
  // Brackets belong to URLs and labels; net.connect wants the bare address.
  const host = stripBrackets(address.host);
  return {
    host,
    port: address.port,
    tls: address.tls,
    id: options.id ?? deriveBackendId(host, address.port, options.idSecret),
    label: formatHostPort(host, address.port),
    weight,
    activeTunnels: 0,
    healthy: true,
    draining: false,
  };
}

/** "host:port", with IPv6 literals in brackets so the port stays unambiguous. */
function formatHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function normalizeHost(host: string): string {
  const bare = stripBrackets(host);
  if (!isIPv6(bare)) return bare.toLowerCase(); // DNS names are case-insensitive
  // The URL parser canonicalizes IPv6 (zero compression, hex case) but rejects
  // zone ids ("%eth0"), which are interface names and keep their case.
  const zoneAt = bare.indexOf('%');
  const address = zoneAt < 0 ? bare : bare.slice(0, zoneAt);
  const zone = zoneAt < 0 ? '' : bare.slice(zoneAt);
  return new URL(`http://[${address}]/`).hostname.slice(1, -1) + zone;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
