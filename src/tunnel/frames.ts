import { randomFillSync } from 'node:crypto';

/*
 * The WebSocket frames wsgate writes itself (RFC 6455 5.5): a keep-alive Ping
 * injected into a tunnel, a Close injected on idle timeout or drain, and the
 * Close a websocket health check ends its probe with. Everything wsgate relays
 * it never re-frames; these are the only frames it builds.
 */

export const OPCODE_CONTINUATION = 0x0;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;

/** RFC 6455 5.5: control frame payloads are at most 125 bytes. */
export const MAX_CONTROL_PAYLOAD = 125;
/** RFC 6455 5.5.1: a Close body starts with a 2-byte status code. */
const MAX_CLOSE_REASON_BYTES = MAX_CONTROL_PAYLOAD - 2;

/** RFC 6455 7.4.1: "indicates a normal closure". */
export const CLOSE_NORMAL = 1000;

/**
 * Builds one unfragmented control frame (RFC 6455 5.5). `mask`: a frame sent
 * as a client (toward a backend) is masked with a fresh random key, one sent as
 * a server (toward a client) is not (5.3: a client masks every frame, a server
 * none).
 */
function buildControlFrame(opcode: number, payload: Uint8Array, mask: boolean): Buffer {
  if (payload.length > MAX_CONTROL_PAYLOAD) {
    throw new RangeError(`control frame payload is ${payload.length} bytes; RFC 6455 5.5 allows at most ${MAX_CONTROL_PAYLOAD}`);
  }
  const headerSize = mask ? 6 : 2;
  const frame = Buffer.allocUnsafe(headerSize + payload.length);
  frame[0] = 0x80 | opcode;
  frame[1] = (mask ? 0x80 : 0) | payload.length;
  if (!mask) {
    frame.set(payload, 2);
    return frame;
  }
  // 5.3: the masking key is fresh for every frame and unpredictable.
  randomFillSync(frame, 2, 4);
  for (let index = 0; index < payload.length; index++) {
    frame[headerSize + index] = payload[index]! ^ frame[2 + (index & 3)]!;
  }
  return frame;
}

const EMPTY_PAYLOAD = Buffer.alloc(0);

/** A Ping frame (RFC 6455 5.5.2). Throws RangeError if the payload exceeds 125 bytes. */
export function buildPingFrame(payload: Uint8Array = EMPTY_PAYLOAD, mask = false): Buffer {
  return buildControlFrame(OPCODE_PING, payload, mask);
}

/** A Pong frame (RFC 6455 5.5.3). Throws RangeError if the payload exceeds 125 bytes. */
export function buildPongFrame(payload: Uint8Array = EMPTY_PAYLOAD, mask = false): Buffer {
  return buildControlFrame(OPCODE_PONG, payload, mask);
}

/**
 * Close codes an endpoint may put on the wire: RFC 6455 7.4.1 plus the IANA
 * registry (1012-1014) and the 3000-4999 ranges (7.4.2). 1004 is reserved;
 * 1005, 1006 and 1015 must never be sent. Same set ws's receiver accepts.
 */
function isSendableCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999))
  );
}

/**
 * A Close frame (RFC 6455 5.5.1) with a status code and a UTF-8 reason,
 * masked when sent as a client (5.3). The reason is cut to fit the 125-byte
 * payload at a character boundary, because the peer must fail the connection
 * on invalid UTF-8 (8.1).
 */
export function buildCloseFrame(code: number, reason: string, mask: boolean): Buffer {
  if (!isSendableCloseCode(code)) throw new RangeError(`${code} is not a close code that may be sent`);
  const payload = Buffer.allocUnsafe(2 + MAX_CLOSE_REASON_BYTES);
  payload.writeUInt16BE(code, 0);
  // Buffer#write never writes a partial character, so a reason that does not
  // fit stops at the last whole character; lone surrogates become U+FFFD.
  const reasonLength = payload.write(reason, 2, MAX_CLOSE_REASON_BYTES, 'utf8');
  return buildControlFrame(OPCODE_CLOSE, payload.subarray(0, 2 + reasonLength), mask);
}
