/**
 * Active health checks (issue 6): one checker per distinct backend address and
 * check, probing on a timer and counting results the way HAProxy does.
 *
 * HAProxy keeps one counter per server, `health`, from 0 to rise+fall-1; the
 * server is up while health >= rise. A pass adds one and, on reaching rise,
 * jumps to rise+fall-1 ("OK now"); a failure takes one off and, below rise,
 * drops to 0. So a fully up server goes down after `fall` consecutive
 * failures, a down one needs `rise` consecutive passes (a failure in between
 * starts the count again), and a server starts at `rise`: "up, but will fall
 * down at first failure" (haproxy src/cfgparse.c), so a backend that is dead
 * when the gateway starts leaves rotation at its first check.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { HealthCheckConfig } from '../config/schema.js';
import { headerHasToken } from '../http/header-token.js';
import { parseResponseHead, type ResponseHead } from '../http/response-head.js';
import { buildCloseFrame, CLOSE_NORMAL } from '../tunnel/frames.js';
import type { BackendAddress } from './backend.js';
import { dialBackend, readyEvent, type BackendTls } from './dial-backend.js';

export interface RiseFall {
  readonly rise: number;
  readonly fall: number;
}

/** The counter a checker starts with: up, but down at the first failure. */
export function initialHealth(thresholds: RiseFall): number {
  return thresholds.rise;
}

export function isUp(health: number, thresholds: RiseFall): boolean {
  return health >= thresholds.rise;
}

/** HAProxy's counter after one check (set_server_check_status in haproxy src/check.c). */
export function nextHealth(health: number, passed: boolean, { rise, fall }: RiseFall): number {
  const full = rise + fall - 1;
  if (passed) {
    if (health >= full) return full;
    return health + 1 >= rise ? full : health + 1;
  }
  if (health <= 0) return 0;
  return health - 1 < rise ? 0 : health - 1;
}

/** What one probe found. `detail` is short and stable enough for logs and the admin API. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly detail: string;
}

export interface CheckResult extends ProbeResult {
  /** When the probe finished (ISO 8601). */
  readonly at: string;
  readonly durationMs: number;
}

/** The gateway's TLS settings for wss:// and https:// backends, used by http and websocket checks. */
export type ProbeTls = BackendTls;

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** How long a finished probe's socket may take to close politely before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

/** Sec-WebSocket-Accept for a key (RFC 6455 4.2.2 item 5.4). */
export function websocketAccept(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

function headerValue(head: ResponseHead, name: string): string | undefined {
  for (const [key, value] of head.headers) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** RFC 6455 4.1: the client's checks of the server's handshake response. */
export function verifyWebSocketResponse(head: ResponseHead, key: string): ProbeResult {
  if (head.statusCode !== 101) return { ok: false, detail: `HTTP ${head.statusCode} instead of 101` };
  if (headerValue(head, 'upgrade')?.toLowerCase() !== 'websocket') return { ok: false, detail: '101 without Upgrade: websocket' };
  if (!headerHasToken(headerValue(head, 'connection'), 'upgrade')) return { ok: false, detail: '101 without Connection: upgrade' };
  if (headerValue(head, 'sec-websocket-accept') !== websocketAccept(key)) return { ok: false, detail: 'wrong Sec-WebSocket-Accept' };
  // We asked for neither, so the server must not pick any (4.1, items 5 and 6 of the client's checks).
  if (headerValue(head, 'sec-websocket-extensions') !== undefined) return { ok: false, detail: 'unrequested extension' };
  if (headerValue(head, 'sec-websocket-protocol') !== undefined) return { ok: false, detail: 'unrequested subprotocol' };
  return { ok: true, detail: 'HTTP 101' };
}

function hostHeader(target: BackendAddress): string {
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/**
 * One probe. `tcp` connects (plain TCP even for TLS backends: it is a layer-4
 * check) and closes; `http` sends GET and passes on 2xx; `websocket` performs
 * a real handshake, verifies it, and closes with a Close frame. Never rejects.
 */
export function probe(target: BackendAddress, check: HealthCheckConfig, tls: ProbeTls): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = dialBackend(target, tls, { noDelay: true, useTls: check.type !== 'tcp' });
    const key = randomBytes(16).toString('base64');
    let received: Buffer | undefined;
    let settled = false;

    const settle = (result: ProbeResult, politeClose?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      // Close politely (FIN, and a Close frame after a good handshake); destroy if the peer dawdles.
      socket.resume();
      socket.once('close', () => clearTimeout(grace));
      const grace = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
      if (socket.destroyed) clearTimeout(grace);
      else if (politeClose !== undefined) socket.end(politeClose);
      else socket.end();
      resolve(result);
    };

    const onData = (chunk: Buffer): void => {
      received = received === undefined ? chunk : Buffer.concat([received, chunk]);
      const parsed = parseResponseHead(received);
      if (parsed.kind === 'need-more') return;
      if (parsed.kind === 'error') {
        settle({ ok: false, detail: `invalid response: ${parsed.reason}` });
        return;
      }
      const { head } = parsed;
      if (check.type === 'http') {
        const ok = head.statusCode >= 200 && head.statusCode < 300;
        settle({ ok, detail: `HTTP ${head.statusCode}` });
        return;
      }
      const verdict = verifyWebSocketResponse(head, key);
      // A client's Close is masked (RFC 6455 5.5.1, 5.3).
      settle(verdict, verdict.ok ? buildCloseFrame(CLOSE_NORMAL, '', true) : undefined);
    };

    const timer = setTimeout(() => {
      settle({ ok: false, detail: `timeout after ${check.timeout}ms` });
      socket.destroy();
    }, check.timeout).unref();

    // The error listener stays for the socket's whole life: a reset during the polite close must not throw.
    socket.on('error', (error: NodeJS.ErrnoException) => settle({ ok: false, detail: error.code ?? error.message }));
    socket.on('data', onData);
    socket.once('end', () => settle({ ok: false, detail: 'closed before a response' }));
    socket.once(readyEvent(socket), () => {
      if (check.type === 'tcp') {
        settle({ ok: true, detail: 'connected' });
        return;
      }
      const path = check.path ?? '/';
      let head = `GET ${path} HTTP/1.1\r\nHost: ${hostHeader(target)}\r\nUser-Agent: wsgate-health-check\r\n`;
      head +=
        check.type === 'http'
          ? 'Accept: */*\r\nConnection: close\r\n'
          : `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`;
      socket.write(`${head}\r\n`, 'latin1');
    });
  });
}

export interface CheckerEvents {
  /** The backend went up or down; `result` is the check that decided it. */
  changed(up: boolean, result: CheckResult): void;
  /** Every probe's result (metrics). */
  checked?(result: CheckResult): void;
}

/**
 * Probes one address every `interval` and keeps the rise/fall counter. The
 * next probe is due `interval` after the previous one started (at once if it
 * took longer). Timers are unref'd: checks never keep a process alive.
 */
export class HealthChecker {
  private health: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Bumped by stop(), so a probe in flight across stop/start is ignored. */
  private generation = 0;
  lastResult: CheckResult | undefined;

  constructor(
    readonly target: BackendAddress,
    readonly check: HealthCheckConfig,
    private readonly tls: ProbeTls,
    private readonly events: CheckerEvents,
  ) {
    this.health = initialHealth(check);
  }

  get up(): boolean {
    return isUp(this.health, this.check);
  }

  /** Starts probing after `delayMs` (the monitor spreads first probes over one interval, as HAProxy does). */
  start(delayMs = 0): void {
    if (this.running) return;
    this.running = true;
    this.schedule(delayMs);
  }

  stop(): void {
    this.running = false;
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    const generation = this.generation;
    this.timer = setTimeout(() => void this.run(generation), delayMs).unref();
  }

  private async run(generation: number): Promise<void> {
    const started = Date.now();
    const result = await probe(this.target, this.check, this.tls);
    if (generation !== this.generation) return;
    const durationMs = Date.now() - started;
    this.record({ ...result, at: new Date().toISOString(), durationMs });
    this.schedule(Math.max(0, this.check.interval - durationMs));
  }

  /** Takes over the counter and last result of the checker it replaces (same address and check, on reload). */
  carryOver(previous: HealthChecker): void {
    this.health = previous.health;
    this.lastResult = previous.lastResult;
  }

  /** Applies one result to the counter; public so the counting can be driven without sockets. */
  record(result: CheckResult): void {
    const wasUp = this.up;
    this.lastResult = result;
    this.health = nextHealth(this.health, result.ok, this.check);
    this.events.checked?.(result);
    if (this.up !== wasUp) this.events.changed(this.up, result);
  }
}
