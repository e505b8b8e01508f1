// Minimal RFC 6455 client on a raw net.Socket, for load generation.
// Why not the `ws` library: the generator shares 2 cores with the proxy and
// the backends, and every microsecond it spends is taken from what is being
// measured. This client verifies the handshake (101 + Sec-WebSocket-Accept),
// masks what it sends with masks/keys drawn from pools made once, lets the
// caller pre-build frames it sends repeatedly, and parses server frames
// without copying payloads larger than SMALL.
import net from 'node:net';
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Messages up to this size are handed to onMessage as a Buffer; bigger ones only by length. */
const SMALL = 1024;
const POOL = 1024;

// A load generator needs no fresh randomness per connection: this keeps
// crypto off the per-connection path (the server cannot tell).
const KEY_POOL = Array.from({ length: POOL }, () => {
  const key = crypto.randomBytes(16).toString('base64');
  return { key, accept: crypto.createHash('sha1').update(key + GUID).digest('base64') };
});
const MASK_POOL = Array.from({ length: POOL }, () => crypto.randomBytes(4));
let poolIdx = 0;

function buildFrame(opcode: number, payload: Buffer, mask: Buffer): Buffer {
  const len = payload.length;
  const hl = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const buf = Buffer.allocUnsafe(hl + 4 + len);
  buf[0] = 0x80 | opcode;
  if (len < 126) buf[1] = 0x80 | len;
  else if (len < 65536) {
    buf[1] = 0x80 | 126;
    buf.writeUInt16BE(len, 2);
  } else {
    buf[1] = 0x80 | 127;
    buf.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    buf.writeUInt32BE(len >>> 0, 6);
  }
  mask.copy(buf, hl);
  const o = hl + 4;
  for (let i = 0; i < len; i++) buf[o + i] = payload[i]! ^ mask[i & 3]!;
  return buf;
}

export type MessageHandler = (conn: WsConn, payload: Buffer | null, length: number) => void;

export interface OpenOptions {
  port: number;
  path: string;
  host?: string;
  localAddress?: string;
  timeoutMs: number;
  onMessage?: MessageHandler;
}

export class WsConn {
  /** Time from connect() to a verified 101, in ms. */
  readonly handshakeMs: number;
  closed = false;
  private readonly mask: Buffer;
  private closeSent = false;
  private closeWaiters: Array<() => void> = [];
  // Frame parser state: header bytes accumulate in hdr until complete.
  private readonly hdr = Buffer.alloc(14);
  private hdrLen = 0;
  private need = 2;
  private inPayload = false;
  private remaining = 0;
  private opcode = 0;
  private fin = true;
  private payload: Buffer | null = null;
  private pOff = 0;
  private msgBytes = 0;

  constructor(
    private readonly sock: net.Socket,
    handshakeMs: number,
    private readonly onMessage: MessageHandler | undefined,
  ) {
    this.handshakeMs = handshakeMs;
    this.mask = MASK_POOL[poolIdx++ % POOL]!;
    sock.on('data', (c: Buffer) => this.onData(c));
    sock.on('error', () => {
      /* a reset shows up as 'close' */
    });
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.closeWaiters) w();
      this.closeWaiters = [];
    });
  }

  onData(chunk: Buffer): void {
    let off = 0;
    const n = chunk.length;
    while (off < n) {
      if (!this.inPayload) {
        while (this.hdrLen < this.need && off < n) this.hdr[this.hdrLen++] = chunk[off++]!;
        if (this.hdrLen < this.need) return;
        const b1 = this.hdr[1]! & 0x7f;
        const full = 2 + (b1 === 126 ? 2 : b1 === 127 ? 8 : 0) + (this.hdr[1]! & 0x80 ? 4 : 0);
        if (this.need < full) {
          this.need = full;
          continue;
        }
        const b0 = this.hdr[0]!;
        const len =
          b1 === 126 ? this.hdr.readUInt16BE(2) : b1 === 127 ? this.hdr.readUInt32BE(2) * 2 ** 32 + this.hdr.readUInt32BE(6) : b1;
        const op = b0 & 0x0f;
        this.fin = (b0 & 0x80) !== 0;
        if (op !== 0) this.opcode = op;
        this.remaining = len;
        // Control frames and small single-frame messages are copied out;
        // big data is only counted, which keeps S3's generator cheap.
        if (op >= 8 || (this.msgBytes === 0 && len <= SMALL && this.fin)) {
          this.payload = Buffer.allocUnsafe(len);
          this.pOff = 0;
        } else this.payload = null;
        this.hdrLen = 0;
        this.need = 2;
        this.inPayload = true;
        if (len === 0) this.frameDone();
      } else {
        const take = Math.min(this.remaining, n - off);
        if (this.payload) {
          chunk.copy(this.payload, this.pOff, off, off + take);
          this.pOff += take;
        }
        off += take;
        this.remaining -= take;
        if (this.opcode < 8) this.msgBytes += take;
        if (this.remaining === 0) this.frameDone();
      }
    }
  }

  private frameDone(): void {
    this.inPayload = false;
    const op = this.opcode;
    const payload = this.payload ?? Buffer.alloc(0);
    if (op === 8) {
      // Echo the close if the server started it; the server then closes TCP
      // first (RFC 6455 7.1.1), so TIME_WAIT lands on the server side and
      // the generator does not run out of ephemeral ports.
      if (!this.closeSent) {
        this.closeSent = true;
        this.sock.write(buildFrame(8, payload.subarray(0, 2), this.mask));
      }
      return;
    }
    if (op === 9) {
      this.sock.write(buildFrame(10, payload, this.mask));
      return;
    }
    if (op === 10 || !this.fin) return;
    const len = this.msgBytes;
    this.msgBytes = 0;
    this.onMessage?.(this, this.payload, len);
  }

  /** Sends one binary message; false means wait for drain. */
  send(payload: Buffer): boolean {
    return this.sock.write(buildFrame(2, payload, this.mask));
  }

  /** Pre-builds (and masks) a message this connection will send repeatedly. */
  prepare(payload: Buffer): Buffer {
    return buildFrame(2, payload, this.mask);
  }

  sendPrepared(frame: Buffer): boolean {
    return this.sock.write(frame);
  }

  onDrain(cb: () => void): void {
    this.sock.once('drain', cb);
  }

  /** Close handshake; resolves once TCP is closed (destroyed after timeoutMs). */
  close(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => this.sock.destroy(), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
      if (!this.closeSent) {
        this.closeSent = true;
        this.sock.write(buildFrame(8, Buffer.from([0x03, 0xe8]), this.mask)); // 1000 normal closure
      }
    });
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** Connects, upgrades and verifies the 101 response; rejects on any deviation or timeout. */
export function openWs(opts: OpenOptions): Promise<WsConn> {
  const host = opts.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const { key, accept } = KEY_POOL[poolIdx++ % POOL]!;
    const sock = net.connect({ host, port: opts.port, localAddress: opts.localAddress, noDelay: true });
    let acc: Buffer | null = null;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error('handshake timeout')), opts.timeoutMs);
    const onClose = (): void => fail(new Error('closed during handshake'));
    const onData = (chunk: Buffer): void => {
      acc = acc ? Buffer.concat([acc, chunk]) : chunk;
      const end = acc.indexOf('\r\n\r\n');
      if (end < 0) {
        if (acc.length > 16384) fail(new Error('response header too large'));
        return;
      }
      const head = acc.toString('latin1', 0, end);
      if (!head.startsWith('HTTP/1.1 101')) return fail(new Error(`bad status: ${head.split('\r\n', 1)[0] ?? ''}`));
      const m = /\r\nsec-websocket-accept:[ \t]*(\S+)/i.exec(head);
      if (!m || m[1] !== accept) return fail(new Error('bad Sec-WebSocket-Accept'));
      settled = true;
      clearTimeout(timer);
      sock.removeListener('data', onData);
      sock.removeListener('error', fail);
      sock.removeListener('close', onClose);
      const conn = new WsConn(sock, performance.now() - t0, opts.onMessage);
      // Frames that arrived in the same chunk as the 101 belong to the connection.
      const rest = acc.subarray(end + 4);
      if (rest.length > 0) conn.onData(rest);
      resolve(conn);
    };
    sock.on('error', fail);
    sock.on('close', onClose);
    sock.on('data', onData);
    sock.on('connect', () => {
      sock.write(
        `GET ${opts.path} HTTP/1.1\r\nHost: ${host}:${opts.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  });
}
