import { buildCloseFrame, buildPingFrame } from './frames.js';
import type { Tunnel } from './tunnel.js';

/*
 * Frames wsgate writes into a tunnel of its own accord (issues 5 and 6): a
 * keep-alive Ping toward the client, and a Close toward both peers when the
 * gateway ends a tunnel (idle timeout, drain). The relay never re-frames, so an
 * injected frame must land where the relayed stream of that direction is
 * between frames (RFC 6455 5.2), and a Close must land between messages, never
 * inside a fragmented one (5.4, 5.5.1). Each direction's FrameBoundaryTracker
 * says where that is; every injected frame is pushed into it too, so its state
 * stays true for what the peer has actually received.
 */

/**
 * How long a gateway-initiated close may take: first to reach a message
 * boundary in each direction, then (re-armed once both Close frames are out)
 * for the peers to answer and close their TCP connections. After it, both
 * sockets are destroyed.
 */
export const CLOSE_GRACE_MS = 2000;

/** RFC 6455 7.4.1: "an endpoint is going away, such as a server going down". */
export const CLOSE_GOING_AWAY = 1001;

// Written as is to every client that gets a ping: sockets never modify what they write.
const PING = buildPingFrame();

/**
 * One direction of a gateway-initiated close. `pending`: waiting for a message
 * boundary; `sent`: our Close went out, and the peer gets nothing more in this
 * direction (RFC 6455 5.5.1); `skipped`: no Close of ours is needed, one from a
 * peer is already under way.
 */
type CloseLeg = 'pending' | 'sent' | 'skipped';

/**
 * Per-tunnel injection state, allocated only while something is waiting for a
 * boundary or a close is under way; the relay's fast path checks one field.
 */
export class Injector {
  pingPending = false;
  closing = false;
  /** Why the gateway closed the tunnel (the tunnel's log line). */
  reason: string | undefined;
  code = CLOSE_GOING_AWAY;
  toClient: CloseLeg = 'pending';
  toBackend: CloseLeg = 'pending';
  timer: NodeJS.Timeout | undefined;

  constructor(readonly tunnel: Tunnel) {}
}

function injectorOf(tunnel: Tunnel): Injector {
  return (tunnel.injector ??= new Injector(tunnel));
}

/**
 * Sends a Ping (RFC 6455 5.5.2) to the client now if the backend-to-client
 * stream is at a frame boundary (a control frame may sit between the fragments
 * of a message, 5.4), else as soon as a relayed chunk ends at one. Nothing is
 * sent once a Close has passed in either direction or the stream could not be
 * followed. The client's Pong goes on to the backend as an unsolicited Pong,
 * which 5.5.3 allows.
 */
export function pingClient(tunnel: Tunnel): void {
  const injector = tunnel.injector;
  if (injector !== undefined && (injector.closing || injector.pingPending)) return;
  if (!canPing(tunnel)) return;
  if (tunnel.fromBackend.atFrameBoundary) writePing(tunnel);
  else injectorOf(tunnel).pingPending = true;
}

function canPing(tunnel: Tunnel): boolean {
  const frames = tunnel.fromBackend;
  return !frames.invalid && !frames.closeSeen && !tunnel.fromClient.closeSeen && tunnel.client.writable;
}

function writePing(tunnel: Tunnel): void {
  tunnel.fromBackend.push(PING);
  tunnel.client.write(PING);
  // One Ping awaited at a time: its Pong gives the client's round-trip time (metrics, issue 12).
  if (tunnel.pingSentAt === 0) {
    tunnel.pingSentAt = performance.now();
    tunnel.pongsBeforePing = tunnel.fromClient.pongs;
  }
}

/**
 * Ends a tunnel the way a server going away should (RFC 6455 7.1.2): a Close
 * with `code` to the client (unmasked) at a message boundary of the
 * backend-to-client stream, then to the backend (masked, 5.3: it sees wsgate
 * as its client) at a message boundary of the client-to-backend stream. The
 * client hears nothing from the backend after our Close, and the backend
 * nothing from the client after its own, so each peer sees exactly one Close
 * and whole messages before it. The peers then answer and close; whatever is
 * left after the grace is destroyed. If a stream cannot be followed (a
 * protocol violation), the TCP connections are ended instead.
 */
export function closeTunnel(tunnel: Tunnel, reason: string, code = CLOSE_GOING_AWAY): void {
  if (tunnel.client.destroyed && tunnel.upstream.destroyed) return;
  const injector = injectorOf(tunnel);
  if (injector.closing) return;
  injector.closing = true;
  injector.pingPending = false;
  injector.reason = reason;
  injector.code = code;
  tunnel.closedBy ??= 'gateway';
  injector.timer = setTimeout(graceExpired, CLOSE_GRACE_MS, tunnel);
  injector.timer.unref();
  if (tunnel.fromBackend.closeSeen || tunnel.fromClient.closeSeen) {
    // A closing handshake is already under way: let it finish within the grace.
    injector.toClient = 'skipped';
    injector.toBackend = 'skipped';
    return;
  }
  progress(injector);
}

function graceExpired(tunnel: Tunnel): void {
  tunnel.destroy('close grace expired');
}

/** @internal The tunnel has finished: no timer may outlive it. */
export function tunnelFinished(injector: Injector): void {
  clearTimeout(injector.timer);
}

/**
 * @internal The relay for a tunnel with an injector: called for every chunk
 * read (already pushed into its direction's tracker). Drops what a peer must
 * no longer receive, relays the rest with backpressure, then injects whatever
 * the chunk's end allows.
 */
export function relayInjecting(injector: Injector, fromBackend: boolean, chunk: Buffer): void {
  const tunnel = injector.tunnel;
  const source = fromBackend ? tunnel.upstream : tunnel.client;
  if (fromBackend ? injector.toClient === 'sent' : injector.toBackend === 'sent') {
    // After our Close the peer may get no more frames in this direction (RFC 6455 5.5.1).
    if (!fromBackend && injector.toClient === 'sent' && tunnel.fromClient.closeSeen) {
      // The client has sent and received a Close: the server side closes TCP first (7.1.1).
      tunnel.client.end();
    }
    return;
  }
  const target = fromBackend ? tunnel.client : tunnel.upstream;
  if (!target.write(chunk)) source.pause();
  if (injector.closing) progress(injector);
  else if (fromBackend && injector.pingPending && tunnel.fromBackend.atFrameBoundary) {
    injector.pingPending = false;
    if (canPing(tunnel)) writePing(tunnel);
    // Nothing else is waiting: back to the relay's fast path.
    tunnel.injector = undefined;
  }
}

/** Sends each Close whose direction has reached a message boundary, client first. */
function progress(injector: Injector): void {
  const tunnel = injector.tunnel;
  if (tunnel.fromBackend.invalid || tunnel.fromClient.invalid) {
    // No boundary can be known: a FIN each way is the cleanest close left.
    injector.toClient = 'skipped';
    injector.toBackend = 'skipped';
    tunnel.client.end();
    tunnel.upstream.end();
    return;
  }
  if (injector.toClient === 'pending') {
    const frames = tunnel.fromBackend;
    if (frames.closeSeen) {
      // The backend began closing while we waited: its Close serves both peers.
      injector.toClient = 'skipped';
      injector.toBackend = 'skipped';
      return;
    }
    if (!tunnel.client.writable) {
      // The backend's FIN already went on to the client (half-close): nothing more can follow it.
      injector.toClient = 'skipped';
    } else {
      if (!frames.atMessageBoundary) return;
      const frame = buildCloseFrame(injector.code, '', false);
      frames.push(frame);
      tunnel.client.write(frame);
      injector.toClient = 'sent';
    }
  }
  if (injector.toBackend === 'pending') {
    const frames = tunnel.fromClient;
    if (frames.closeSeen || !tunnel.upstream.writable) {
      // The client answered our Close (or began closing) while its own message was open, and its
      // Close goes on; or its FIN already went on to the backend (half-close). Nothing of ours follows.
      injector.toBackend = 'skipped';
    } else {
      if (!frames.atMessageBoundary) return;
      const frame = buildCloseFrame(injector.code, '', true);
      frames.push(frame);
      tunnel.upstream.write(frame);
      injector.toBackend = 'sent';
    }
    // Both Close frames are out: the peers now get the grace to answer and close.
    injector.timer?.refresh();
  }
}
