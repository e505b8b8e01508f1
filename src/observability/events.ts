/**
 * What happens to connections, published on node:diagnostics_channel as
 * undici does: each stage publishes one plain object, and logs, metrics and
 * library users subscribe (`diagnostics_channel.subscribe('wsgate:tunnel:close', fn)`).
 * Publishing costs one `hasSubscribers` check when nobody listens; the objects
 * are built only when somebody does. The channel names and fields are public:
 * README lists them, and dashboards built on them must keep working.
 */
import { channel, subscribe, unsubscribe, type Channel } from 'node:diagnostics_channel';
import type { FailureCode } from '../errors.js';
import type { TunnelSummary } from '../tunnel/tunnel.js';

/**
 * Every event names the Gateway that published it: channels are process-wide,
 * and one process may run several gateways (tests, or a library user's own).
 */
export interface GatewayEvent {
  readonly gateway: object;
}

/** Who ended a tunnel or sent the first Close. */
export type Initiator = 'client' | 'backend' | 'gateway';

/** An upgrade wsgate answered with an error of its own (an X-Wsgate-Error code): refused, or no backend answered. */
export interface UpgradeRejectedEvent extends GatewayEvent {
  /** The route's name, or undefined when the refusal came before routing. */
  readonly route: string | undefined;
  readonly code: FailureCode;
  readonly status: number;
  readonly client: string;
  /** The request target as sent (logs only: never a metric label). */
  readonly url: string | undefined;
  readonly requestId: string | undefined;
  /** Why, for the log: a backend's connect error and the like. */
  readonly detail: string | undefined;
}

/** A backend answered 101 and the tunnel is open. */
export interface TunnelOpenEvent extends GatewayEvent {
  readonly route: string;
  /** The backend's id. */
  readonly backend: string;
  readonly client: string;
  /** Request head complete to the 101 written to the client, in seconds. */
  readonly handshakeSeconds: number;
  /** The TCP (and TLS) connect to the backend that answered, in seconds. */
  readonly connectSeconds: number;
  readonly requestId: string | undefined;
  /** Why this backend: `session id`, `sticky cookie`, `retry`, `hash on cookie NAME`..., or the strategy's name. */
  readonly choice: string;
  /** The request path (without query) that chose the route. */
  readonly path: string;
}

/**
 * A tunnel is over: both sockets are closed. The fields are the tunnel's log
 * line (TunnelSummary: route, backend address, backendId, client, durationMs,
 * bytes and messages each way, closedBy, the Close code each way, path,
 * requestId, reason, error).
 */
export interface TunnelCloseEvent extends GatewayEvent {
  readonly summary: TunnelSummary;
}

/** The client answered a Ping that wsgate injected (--ping-interval). */
export interface TunnelRttEvent extends GatewayEvent {
  readonly route: string;
  readonly seconds: number;
}

/** A plain HTTP request is over: answered by a backend, or by wsgate itself (then `code` says why). */
export interface HttpRequestEvent extends GatewayEvent {
  /** wsgate's X-Wsgate-Error code when wsgate answered; undefined when a backend did. */
  readonly code: FailureCode | undefined;
  readonly route: string | undefined;
  /** The backend's id when one was chosen. */
  readonly backend: string | undefined;
  readonly method: string;
  /** The request path, without the query. */
  readonly path: string;
  readonly status: number;
  readonly durationSeconds: number;
  /** Bytes read from the client while the request lasted (its body), and written to it (the response). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly client: string;
  readonly requestId: string | undefined;
}

/** A backend entered or left rotation, or a check finished. */
export interface BackendStateEvent extends GatewayEvent {
  readonly backend: string;
  readonly address: string;
  readonly routes: readonly string[];
  readonly healthy: boolean;
  readonly reason: string;
  readonly detail: string;
}

export interface HealthCheckEvent extends GatewayEvent {
  readonly backend: string;
  readonly ok: boolean;
}

export interface ReloadEvent extends GatewayEvent {
  readonly result: 'ok' | 'refused';
  readonly routes: number | undefined;
}

/** A connection closed at accept or before any HTTP: global limit, PROXY header, slow or oversized head. */
export interface ConnectionRefusedEvent extends GatewayEvent {
  readonly reason: 'limit' | 'proxy-untrusted' | 'proxy-missing' | 'proxy-invalid' | 'handshake-timeout' | 'header-too-large' | 'malformed';
}

export const channels = {
  upgradeRejected: channel('wsgate:upgrade:rejected'),
  tunnelOpen: channel('wsgate:tunnel:open'),
  tunnelClose: channel('wsgate:tunnel:close'),
  tunnelRtt: channel('wsgate:tunnel:rtt'),
  httpRequest: channel('wsgate:http:request'),
  backendState: channel('wsgate:backend:state'),
  healthCheck: channel('wsgate:health:check'),
  reload: channel('wsgate:reload'),
  connectionRefused: channel('wsgate:connection:refused'),
} as const;

/** Subscriptions to the events of one gateway; close() ends them all. */
export class GatewaySubscriptions {
  readonly #handlers: Array<[string, (message: unknown) => void]> = [];

  constructor(private readonly gateway: object) {}

  on<T extends GatewayEvent>(source: Channel, handler: (event: T) => void): void {
    const gateway = this.gateway;
    const listener = (message: unknown): void => {
      if ((message as GatewayEvent).gateway === gateway) handler(message as T);
    };
    const name = source.name as string;
    subscribe(name, listener);
    this.#handlers.push([name, listener]);
  }

  close(): void {
    for (const [name, listener] of this.#handlers) unsubscribe(name, listener);
    this.#handlers.length = 0;
  }
}
