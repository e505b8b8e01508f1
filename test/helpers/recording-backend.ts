import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** A message that carries the SHA-256 of its own payload in its first 32 bytes. */
export function sealedMessage(payloadBytes: number): Buffer {
  const payload = randomBytes(payloadBytes);
  return Buffer.concat([createHash('sha256').update(payload).digest(), payload]);
}

/** True when `data` is a message from sealedMessage() that arrived whole. */
export function isWhole(data: Buffer): boolean {
  return data.length >= 32 && createHash('sha256').update(data.subarray(32)).digest().equals(data.subarray(0, 32));
}

export interface RecordingBackend {
  readonly port: number;
  /** "127.0.0.1:PORT" */
  readonly address: string;
  readonly wss: WebSocketServer;
  /** WebSocket connections accepted so far. */
  connections: number;
  /** Pongs received (unsolicited: this backend never pings). */
  pongs: number;
  /** The close code of every connection that ended (1006 when no Close frame came). */
  readonly closeCodes: number[];
  /** Protocol errors ws reported (an unmasked or corrupt frame would land here). */
  readonly errors: string[];
  close(): Promise<void>;
}

export interface RecordingBackendOptions {
  /** Echo every message back split into this many frames (a fragmented message, RFC 6455 5.4); 0: no echo. */
  readonly echoFragments?: number;
  /** Pause between the frames of an echo, so that the message stays open on the wire for a while. */
  readonly fragmentGapMs?: number;
  /** Called for each new connection, to drive it (stream to it, etc.). */
  readonly onConnection?: (ws: WebSocket) => void;
}

/** Splits `data` into `count` pieces (the last may be empty when data is short). */
export function splitInto(data: Buffer, count: number): Buffer[] {
  const size = Math.ceil(data.length / count);
  return Array.from({ length: count }, (_, i) => data.subarray(i * size, (i + 1) * size));
}

/** Sends `data` as one message of `pieces.length` frames, `gapMs` apart; resolves once written. */
export async function sendFragmented(ws: WebSocket, pieces: readonly Buffer[], gapMs = 0, binary = true): Promise<void> {
  for (const [index, piece] of pieces.entries()) {
    if (index > 0 && gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    if (ws.readyState !== ws.OPEN) return;
    await new Promise<void>((resolve, reject) =>
      ws.send(piece, { binary, fin: index === pieces.length - 1 }, (error) => (error ? reject(error) : resolve())),
    );
  }
}

/**
 * A `ws` server (a real RFC 6455 endpoint: it fails the connection on an
 * unmasked client frame, 5.1) that records what it saw: connections, pongs,
 * close codes, protocol errors. Echoes keep the message type (text or binary).
 */
export function startRecordingBackend(options: RecordingBackendOptions = {}): Promise<RecordingBackend> {
  const server: Server = createServer((_req, res) => res.end('recording backend\n'));
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  const backend: RecordingBackend = {
    port: 0,
    address: '',
    wss,
    connections: 0,
    pongs: 0,
    closeCodes: [],
    errors: [],
    close: () =>
      new Promise<void>((done) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
  wss.on('connection', (ws) => {
    backend.connections++;
    ws.on('pong', () => backend.pongs++);
    ws.on('error', (error) => backend.errors.push(error.message));
    ws.on('close', (code) => backend.closeCodes.push(code));
    const fragments = options.echoFragments ?? 0;
    if (fragments > 0) {
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (ws.readyState === ws.OPEN) void sendFragmented(ws, splitInto(data, fragments), options.fragmentGapMs, isBinary).catch(() => {});
      });
    }
    options.onConnection?.(ws);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      Object.assign(backend, { port, address: `127.0.0.1:${port}` });
      resolve(backend);
    });
  });
}
