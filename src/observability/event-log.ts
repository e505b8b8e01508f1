/**
 * The log lines about connections, written from the events (events.ts) rather
 * than inline in the pipeline: one line per tunnel when it closes, one per
 * rejected upgrade, one access-log line per plain HTTP request, and debug
 * lines for opened tunnels. Levels and `msg`s are stable: people grep them.
 */
import { channels, GatewaySubscriptions, type HttpRequestEvent, type TunnelCloseEvent, type TunnelOpenEvent, type UpgradeRejectedEvent } from './events.js';
import type { Logger } from './logger.js';

export class EventLog {
  readonly #subscriptions: GatewaySubscriptions;

  constructor(
    gateway: object,
    private readonly logger: Logger,
  ) {
    this.#subscriptions = new GatewaySubscriptions(gateway);
    this.#subscriptions.on<TunnelCloseEvent>(channels.tunnelClose, ({ summary }) => this.logger.info(summary, 'tunnel closed'));
    this.#subscriptions.on<UpgradeRejectedEvent>(channels.upgradeRejected, (event) => {
      const fields = { code: event.code, status: event.status, client: event.client, url: event.url, route: event.route, requestId: event.requestId };
      // Refused before any backend was tried: a client's problem (info). No backend answered: ours (warn).
      if (event.detail === undefined) this.logger.info(fields, 'handshake rejected');
      else this.logger.warn({ ...fields, detail: event.detail }, 'upgrade failed');
    });
    this.#subscriptions.on<HttpRequestEvent>(channels.httpRequest, (event) => {
      const { method, path, status, route, backend, client, requestId, code } = event;
      this.logger.info(
        { method, path, status, route, backend, durationMs: Math.round(event.durationSeconds * 1e6) / 1e3, bytesIn: event.bytesIn, bytesOut: event.bytesOut, client, requestId, code },
        'http request',
      );
    });
    if (this.logger.isLevelEnabled('debug')) {
      this.#subscriptions.on<TunnelOpenEvent>(channels.tunnelOpen, (event) =>
        this.logger.debug(
          { route: event.route, backendId: event.backend, client: event.client, requestId: event.requestId, handshakeMs: event.handshakeSeconds * 1e3 },
          'tunnel opened',
        ),
      );
    }
  }

  close(): void {
    this.#subscriptions.close();
  }

}

