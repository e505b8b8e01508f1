import { closeTunnel, pingClient } from './inject.js';
import type { Tunnel } from './tunnel.js';

export interface KeepaliveSettings {
  /** Ping a client whose tunnel has been quiet this long; 0: never. */
  readonly pingIntervalMs: number;
  /** Close (1001) a tunnel that has been quiet this long; 0: never. */
  readonly idleTimeoutMs: number;
}

/** The sweep runs at a quarter of the shortest period, but at least every second and at most every 10 ms. */
const MAX_TICK_MS = 1000;
const MIN_TICK_MS = 10;

/**
 * Keep-alive pings and the idle timeout for every tunnel of a gateway, with ONE
 * timer: each tick walks the tunnel set once. The relay only sets
 * `tunnel.active` on each chunk read (a store, no clock read); the tick turns
 * that into `tunnel.quietSince`, so quiet time is known to within a tick.
 *
 * "Quiet" counts bytes read from either peer. wsgate's own pings are writes, so
 * they do not count: a client that answers them (its Pong is read) is alive and
 * keeps its tunnel, a dead one goes quiet and meets the idle timeout.
 *
 * A ping is due when neither peer has sent anything, nor wsgate pinged, for an
 * interval; with the tick at a quarter of it, the largest gap a balancer sees
 * is about 1.5 intervals.
 */
export class KeepaliveSweeper {
  readonly tickMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly tunnels: ReadonlySet<Tunnel>,
    private readonly settings: KeepaliveSettings,
  ) {
    const periods = [settings.pingIntervalMs, settings.idleTimeoutMs].filter((ms) => ms > 0);
    this.tickMs = Math.max(MIN_TICK_MS, Math.min(MAX_TICK_MS, ...periods.map((ms) => Math.floor(ms / 4))));
  }

  /** True when there is nothing to do: no timer is started. */
  get disabled(): boolean {
    return this.settings.pingIntervalMs <= 0 && this.settings.idleTimeoutMs <= 0;
  }

  start(): void {
    if (this.disabled || this.timer !== undefined) return;
    this.timer = setInterval(() => this.sweep(Date.now()), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass over the tunnels at time `now` (public for tests). */
  sweep(now: number): void {
    const { pingIntervalMs, idleTimeoutMs } = this.settings;
    for (const tunnel of this.tunnels) {
      if (tunnel.active) {
        tunnel.active = false;
        tunnel.quietSince = now;
      }
      if (tunnel.injector?.closing === true) continue;
      if (idleTimeoutMs > 0 && now - tunnel.quietSince >= idleTimeoutMs) {
        closeTunnel(tunnel, 'idle timeout');
      } else if (pingIntervalMs > 0 && now - Math.max(tunnel.quietSince, tunnel.pingedAt) >= pingIntervalMs) {
        tunnel.pingedAt = now;
        pingClient(tunnel);
      }
    }
  }
}
