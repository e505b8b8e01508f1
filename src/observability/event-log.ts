/**
 * The log lines about connections, written from the events (events.ts) rather
 * than inline in the pipeline: one line per tunnel when it closes, one per
 * rejected upgrade, one access-log line per plain HTTP request, and debug
 * lines for opened tunnels. Levels and `msg`s are stable: people grep them.
 */
import { channels, GatewaySubscriptions, type HttpRequestEvent, type TunnelCloseEvent, type TunnelOpenEvent, type UpgradeRejectedEvent } from './events.js';
import { LogFlood } from './log-flood.js';
import type { Logger } from './logger.js';

export class EventLog {
  readonly #subscriptions: GatewaySubscriptions;
  /** Refusals come in floods (a client retrying in a loop, a dead pool): one line, then one summary a second per code. */
  readonly #flood: LogFlood;

  constructor(
    gateway: object,
    private readonly logger: Logger,
  ) {
    this.#subscriptions = new GatewaySubscriptions(gateway);
    this.#flood = new LogFlood(logger);
    this.#subscriptions.on<TunnelCloseEvent>(channels.tunnelClose, ({ summary }) => this.logger.info(summary, 'tunnel closed'));
    this.#subscriptions.on<UpgradeRejectedEvent>(channels.upgradeRejected, (event) => {
      const fields = { code: event.code, status: event.status, client: event.client, url: event.url, route: event.route, requestId: event.requestId };
      // Refused before any backend was tried: a client's problem (info). No backend answered: ours (warn).
      if (event.detail === undefined) this.#flood.log('info', `handshake rejected ${event.code}`, fields, 'handshake rejected');
      else this.#flood.log('warn', `upgrade failed ${event.code}`, { ...fields, detail: event.detail }, 'upgrade failed');
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
          {
            path: event.path,
            route: event.route,
            backendId: event.backend,
            choice: event.choice,
            client: event.client,
            requestId: event.requestId,
            handshakeMs: Math.round(event.handshakeSeconds * 1e6) / 1e3,
          },
          'tunnel opened',
        ),
      );
    }
  }

  close(): void {
    this.#subscriptions.close();
    this.#flood.stop();
  }

}

