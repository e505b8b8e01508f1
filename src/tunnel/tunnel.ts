import type { Socket } from 'node:net';
import type { Backend } from '../upstream/backend.js';
import type { Route } from '../routing/route-table.js';
import { FrameBoundaryTracker } from './frame-tracker.js';
import { relayInjecting, tunnelFinished, type Injector } from './inject.js';
import { isEarlierStageErrorHandler, OWNER } from '../listener/socket-stage.js';

/** Which side ended the tunnel first. */
export type ClosedBy = 'client' | 'backend' | 'gateway';

export interface TunnelSummary {
  readonly route: string;
  readonly backend: string;
  readonly backendId: string;
  readonly client: string;
  readonly durationMs: number;
  /** Bytes received from the client (and sent on to the backend). */
  readonly bytesFromClient: number;
  /** Bytes received from the backend (and sent on to the client). */
  readonly bytesFromBackend: number;
  readonly closedBy: ClosedBy;
  readonly error?: string | undefined;
  /** Why wsgate closed the tunnel itself (`idle timeout`, `drain`), when it did. */
  readonly reason?: string | undefined;
  /** The request path, without the query. */
  readonly path: string;
  readonly requestId: string | undefined;
  /** Whole messages each way (final frames of Text/Binary messages). */
  readonly messagesFromClient: number;
  readonly messagesFromBackend: number;
  /**
   * The Close code that travelled toward the backend (sent by the client, or by
   * wsgate for it) and toward the client: a number, `none` for a Close without
   * a code, undefined when no Close passed that way.
   */
  readonly clientCloseCode: number | 'none' | undefined;
  readonly backendCloseCode: number | 'none' | undefined;
}

// Each socket knows its tunnel through its OWNER slot, so the relay handlers
// below are shared functions: no closures are created per tunnel, and nothing
// outlives the sockets.
interface TunnelSocket extends Socket {
  [OWNER]: Tunnel;
}

/** Who is told when a tunnel has ended (the gateway). */
export interface TunnelOwner {
  tunnelFinished(tunnel: Tunnel): void;
  /** The client answered a Ping wsgate injected, `seconds` after it was sent. */
  clientAnsweredPing(tunnel: Tunnel, seconds: number): void;
}

/**
 * A client socket joined to one backend socket for the connection's whole life.
 * Bytes are relayed as they come, without re-framing; a full write buffer
 * pauses the other side until it drains (backpressure both ways). A FIN is
 * passed on as a FIN (half-close); a close or error on one side ends the other.
 */
export class Tunnel {
  readonly startedAt = Date.now();
  /** The side whose Close frame passed first, else the first side whose TCP connection ended. */
  closedBy: ClosedBy | undefined;
  /** Frames read from the client (client-to-backend direction). */
  readonly fromClient = new FrameBoundaryTracker();
  /** Frames read from the backend (backend-to-client direction). */
  readonly fromBackend = new FrameBoundaryTracker();
  error: string | undefined;
  /**
   * Set on every chunk read from either side; the keep-alive sweep turns it
   * into `quietSince` once per tick (keepalive.ts), so the relay reads no clock.
   */
  active = false;
  /** When the sweep last saw bytes (or the tunnel opened). */
  quietSince: number = this.startedAt;
  /** When the sweep last decided to ping the client. */
  pingedAt = 0;
  /** Frames waiting to be injected at a boundary, or a close under way (inject.ts); usually undefined. */
  injector: Injector | undefined;
  /** performance.now() when wsgate's last Ping went out and no Pong has come since; 0: none awaited. */
  pingSentAt = 0;
  /** The client's Pong count when that Ping went out: the next Pong answers it. */
  pongsBeforePing = 0;
  private openSockets = 2;

  /**
   * `backendPrefix` holds bytes the backend sent right behind its 101, and
   * `clientPrefix` bytes the client sent right behind its upgrade head (both
   * already relayed); they are fed to the frame trackers here.
   */
  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    readonly route: Route,
    readonly backend: Backend,
    readonly clientAddress: string,
    /** The request path (without query) and id, for logs and events. */
    readonly path: string,
    readonly requestId: string | undefined,
    private readonly owner: TunnelOwner,
    backendPrefix?: Buffer,
    clientPrefix?: Buffer,
  ) {
    if (backendPrefix !== undefined && backendPrefix.length > 0) this.fromBackend.push(backendPrefix);
    if (clientPrefix !== undefined && clientPrefix.length > 0) this.fromClient.push(clientPrefix);
    const c = client as TunnelSocket;
    const u = upstream as TunnelSocket;
    c[OWNER] = this;
    u[OWNER] = this;
    for (const socket of [c, u]) {
      dropEarlierErrorHandlers(socket);
      socket.on('error', onSocketError);
      socket.on('data', onSocketData);
      socket.on('drain', onSocketDrain);
      socket.on('end', onSocketEnd);
      socket.on('close', onSocketClose);
    }
    backend.activeTunnels++;
    if (client.isPaused()) client.resume();
    if (upstream.isPaused()) upstream.resume();
  }

  /** Ends both sides now (shutdown, limits). */
  destroy(reason: string): void {
    this.closedBy ??= 'gateway';
    this.error ??= reason;
    this.client.destroy();
    this.upstream.destroy();
  }

  sideOf(socket: Socket): ClosedBy {
    return socket === this.client ? 'client' : 'backend';
  }

  summary(): TunnelSummary {
    return {
      route: this.route.name,
      backend: this.backend.label,
      backendId: this.backend.id,
      client: this.clientAddress,
      durationMs: Date.now() - this.startedAt,
      bytesFromClient: this.client.bytesRead,
      bytesFromBackend: this.upstream.bytesRead,
      closedBy: this.closedBy ?? 'gateway',
      error: this.error,
      reason: this.injector?.reason,
      path: this.path,
      requestId: this.requestId,
      messagesFromClient: this.fromClient.messages,
      messagesFromBackend: this.fromBackend.messages,
      clientCloseCode: this.fromClient.closeCode,
      backendCloseCode: this.fromBackend.closeCode,
    };
  }

  /** @internal The client's Pong to wsgate's Ping arrived (keep-alive pings, issue 5): its round trip. */
  pongArrived(): void {
    const seconds = (performance.now() - this.pingSentAt) / 1000;
    this.pingSentAt = 0;
    this.owner.clientAnsweredPing(this, seconds);
  }

  /** @internal called once per socket close. */
  socketClosed(): void {
    if (--this.openSockets === 0) {
      if (this.injector !== undefined) tunnelFinished(this.injector);
      this.backend.activeTunnels--;
      this.owner.tunnelFinished(this);
    }
  }
}

/** The other socket of this socket's tunnel. */
function peerOf(socket: TunnelSocket): Socket {
  const tunnel = socket[OWNER];
  return socket === tunnel.client ? tunnel.upstream : tunnel.client;
}

/**
 * The accept and HTTP stages' error handlers only log or ignore; from here the
 * tunnel's handler decides, and one listener instead of three keeps the
 * socket's listener list from becoming an array (memory per idle tunnel).
 */
function dropEarlierErrorHandlers(socket: Socket): void {
  for (const handler of socket.listeners('error')) {
    if (isEarlierStageErrorHandler(handler)) socket.removeListener('error', handler);
  }
}

function onSocketData(this: TunnelSocket, chunk: Buffer): void {
  const tunnel = this[OWNER];
  const fromBackend = this === tunnel.upstream;
  const frames = fromBackend ? tunnel.fromBackend : tunnel.fromClient;
  frames.push(chunk);
  tunnel.active = true;
  if (tunnel.pingSentAt !== 0 && !fromBackend && frames.pongs !== tunnel.pongsBeforePing) tunnel.pongArrived();
  if (frames.closeSeen) tunnel.closedBy ??= fromBackend ? 'backend' : 'client';
  const injector = tunnel.injector;
  if (injector !== undefined) {
    relayInjecting(injector, fromBackend, chunk);
    return;
  }
  const peer = fromBackend ? tunnel.client : tunnel.upstream;
  if (chunk.length >= BULK_CHUNK) {
    coalesce(peer as TunnelSocket, this, chunk);
    return;
  }
  if (!peer.write(chunk)) this.pause();
}

/**
 * Bulk transfer: a chunk this large means the source had a full read buffer
 * and libuv will read it again in the same poll phase. Writing each chunk at
 * once costs one write(2) and one wake-up of the receiver per 64 KiB; corking
 * the peer until the poll phase ends sends what arrived in one writev(2).
 * Small chunks (interactive messages) are written at once, as before.
 */
const BULK_CHUNK = 16 * 1024;
/** Beyond this much corked for one peer the source is paused, as backpressure. */
const MAX_COALESCED = 512 * 1024;
const corkedPeers: TunnelSocket[] = [];
let flushScheduled = false;

function coalesce(peer: TunnelSocket, source: TunnelSocket, chunk: Buffer): void {
  if (!peer.writableCorked) {
    peer.cork();
    corkedPeers.push(peer);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushCorked);
    }
  }
  // Returns false while corked (a bulk chunk exceeds the high-water mark), which
  // also arms 'drain'; the pause decision is made at the flush.
  peer.write(chunk);
  if (peer.writableLength >= MAX_COALESCED) source.pause();
}

function flushCorked(): void {
  flushScheduled = false;
  const peers = corkedPeers.splice(0);
  for (const peer of peers) {
    if (peer.destroyed) continue;
    while (peer.writableCorked > 0) peer.uncork();
    // Not all taken by the kernel: wait for 'drain' before reading more (backpressure).
    if (peer.writableLength > 0) peerOf(peer).pause();
  }
}

function onSocketDrain(this: TunnelSocket): void {
  peerOf(this).resume();
}

function onSocketEnd(this: TunnelSocket): void {
  const tunnel = this[OWNER];
  tunnel.closedBy ??= tunnel.sideOf(this);
  const peer = peerOf(this);
  // Once Close frames have passed both ways the WebSocket is over (RFC 6455
  // 7.1.1: the TCP connection goes next), so nothing more can flow either way:
  // close both at once rather than pass a FIN and wait for the other one,
  // which saves two shutdown(2) calls and a round of events per tunnel.
  if (tunnel.fromClient.closeSeen && tunnel.fromBackend.closeSeen && peer.writableLength === 0 && this.writableLength === 0) {
    peer.destroy();
    this.destroy();
    return;
  }
  // Otherwise a half-close: the FIN travels on, and the other direction keeps flowing.
  peer.end();
}

function onSocketError(this: TunnelSocket, error: Error): void {
  const tunnel = this[OWNER];
  tunnel.closedBy ??= tunnel.sideOf(this);
  tunnel.error ??= (error as NodeJS.ErrnoException).code ?? error.message;
  peerOf(this).destroy();
}

function onSocketClose(this: TunnelSocket): void {
  const peer = peerOf(this);
  const tunnel = this[OWNER];
  tunnel.closedBy ??= tunnel.sideOf(this);
  if (!peer.destroyed) {
    // This side is gone for good, so nothing the peer sends can be delivered:
    // flush what we owe the peer, then close it rather than wait for its FIN.
    if (peer.writableFinished) peer.destroy();
    else {
      peer.once('finish', destroyPeer);
      peer.end();
    }
  }
  tunnel.socketClosed();
}

function destroyPeer(this: Socket): void {
  this.destroy();
}
