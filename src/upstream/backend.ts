/**
 * A backend is one server in a route's pool. Its identity (`id`) is derived from
 * its address so that every gateway process with the same backend list names it
 * the same way (sticky cookies and session-id affinity depend on that).
 */
export interface BackendAddress {
  readonly host: string;
  readonly port: number;
  /** Connect with TLS (wss:// or https:// backends). */
  readonly tls: boolean;
}

export interface Backend extends BackendAddress {
  /** Stable, opaque id: the configured one, or one derived from host:port. */
  readonly id: string;
  /** "host:port", for logs. */
  readonly label: string;
  /** Relative share of new connections for weighted strategies (>= 1). */
  weight: number;
  /** Tunnels currently open to this backend (least-conn reads it). */
  activeTunnels: number;
  /** False while health checks or passive ejection hold it out of rotation. */
  healthy: boolean;
  /** True while an operator drains it: no new tunnels, existing ones stay. */
  draining: boolean;
}

/** What a balancing strategy may look at besides the pool. */
export interface SelectionContext {
  /** The real client address (after PROXY protocol when trusted). */
  readonly clientAddress: string;
  /** The key a hash strategy hashes (cookie, header, query value or address), if any. */
  readonly hashKey?: string | undefined;
}

/**
 * Picks one backend among `candidates` (already filtered to those usable now).
 * Implementations keep whatever state they need (smooth weighted round-robin
 * keeps current weights) and must cope with the candidate list changing between
 * calls, because retries and health changes remove backends from it.
 */
export interface BalancingStrategy {
  readonly name: string;
  select(candidates: readonly Backend[], context: SelectionContext): Backend | undefined;
}
