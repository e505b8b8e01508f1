import { randomFillSync } from 'node:crypto';

/*
 * wsgate relays WebSocket bytes without re-framing. To inject a frame (a
 * keep-alive Ping, a 1001 Close on drain) into a relayed byte stream it must
 * know where that stream's frames end, so the injected bytes never land inside
 * another frame (RFC 6455 5.2) and a Close never lands inside a fragmented
 * message (5.4, 5.5.1). FrameBoundaryTracker follows one direction of a tunnel
 * by reading frame headers only; payloads are skipped by arithmetic, never
 * copied or unmasked.
 */

const OPCODE_CONTINUATION = 0x0;
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;

/** RFC 6455 5.5: control frame payloads are at most 125 bytes. */
const MAX_CONTROL_PAYLOAD = 125;
/** RFC 6455 5.5.1: a Close body starts with a 2-byte status code. */
const MAX_CLOSE_REASON_BYTES = MAX_CONTROL_PAYLOAD - 2;
/**
 * A 64-bit length is read as high * 2^32 + low; it stays an exact JS number
 * (<= 2^53 - 1) only while the high word is <= 2^21 - 1. This also rejects the
 * MSB, which RFC 6455 5.2 requires to be 0.
 */
const MAX_SAFE_HIGH_WORD = 0x1fffff;
const TWO_POW_32 = 0x1_0000_0000;

/** Total header size (RFC 6455 5.2) implied by the second header byte. */
function headerSizeFor(secondByte: number): number {
  const length7 = secondByte & 0x7f;
  const extendedLengthSize = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
  return 2 + extendedLengthSize + ((secondByte & 0x80) !== 0 ? 4 : 0);
}

/**
 * Follows the frame structure of ONE direction of a WebSocket byte stream.
 * Feed it every chunk as it is forwarded; query it before injecting a frame.
 *
 * RSV bits are not checked: extensions (e.g. permessage-deflate's RSV1) are
 * negotiated end to end and do not change framing.
 */
export class FrameBoundaryTracker {
  /** Header bytes of the current frame gathered so far (0..14) when a header spans chunks. */
  #headerBytesSeen = 0;
  /** Full size of the current header, known once its second byte is seen. */
  #headerSize = 2;
  /** Header offset one past the extended length field (2, 4 or 10). */
  #lengthFieldEnd = 2;
  #firstHeaderByte = 0;
  /** Payload length being assembled from a header that spans chunks. */
  #payloadLength = 0;
  /** Payload bytes of the current frame not yet forwarded. */
  #remainingPayload = 0;
  /** A data frame without FIN started a message whose final fragment has not arrived (RFC 6455 5.4). */
  #messageOpen = false;
  #closeSeen = false;
  #invalid = false;

  /** Consumes a chunk that is being forwarded. Reads header bytes only. */
  push(chunk: Buffer): void {
    if (this.#invalid) return;
    const end = chunk.length;
    let position = 0;
    let remaining = this.#remainingPayload;
    while (position < end) {
      if (remaining > 0) {
        const available = end - position;
        if (available <= remaining) {
          remaining -= available;
          break;
        }
        position += remaining;
        remaining = 0;
      }

      // Fast path: a whole header inside this chunk is parsed in place.
      if (this.#headerBytesSeen === 0 && end - position >= 2) {
        const secondByte = chunk[position + 1]!;
        const headerSize = headerSizeFor(secondByte);
        if (end - position >= headerSize) {
          if (!this.#startFrame(chunk[position]!, secondByte)) return;
          let length = secondByte & 0x7f;
          if (length === 126) {
            length = chunk.readUInt16BE(position + 2);
          } else if (length === 127) {
            const high = chunk.readUInt32BE(position + 2);
            if (high > MAX_SAFE_HIGH_WORD) {
              this.#invalid = true;
              return;
            }
            length = high * TWO_POW_32 + chunk.readUInt32BE(position + 6);
          }
          position += headerSize;
          remaining = length;
          continue;
        }
      }

      // Slow path: the header is split across chunks; gather it a byte at a time.
      const byte = chunk[position++]!;
      const index = this.#headerBytesSeen++;
      if (index === 0) {
        this.#firstHeaderByte = byte;
        continue;
      }
      if (index === 1) {
        if (!this.#startFrame(this.#firstHeaderByte, byte)) return;
        const length7 = byte & 0x7f;
        this.#headerSize = headerSizeFor(byte);
        this.#lengthFieldEnd = length7 === 126 ? 4 : length7 === 127 ? 10 : 2;
        this.#payloadLength = length7 < 126 ? length7 : 0;
      } else if (index < this.#lengthFieldEnd) {
        this.#payloadLength = this.#payloadLength * 256 + byte;
        // index 5 completes the high 32 bits of a 64-bit length.
        if (index === 5 && this.#lengthFieldEnd === 10 && this.#payloadLength > MAX_SAFE_HIGH_WORD) {
          this.#invalid = true;
          return;
        }
      }
      // Masking-key bytes (RFC 6455 5.3) only count towards the header size.
      if (this.#headerBytesSeen === this.#headerSize) {
        this.#headerBytesSeen = 0;
        remaining = this.#payloadLength;
      }
    }
    this.#remainingPayload = remaining;
  }

  /**
   * True when the bytes forwarded so far end exactly at the end of a frame (or
   * nothing was forwarded): a whole frame may be injected here (RFC 6455 5.2;
   * 5.4 allows control frames between fragments).
   */
  get atFrameBoundary(): boolean {
    return !this.#invalid && this.#headerBytesSeen === 0 && this.#remainingPayload === 0;
  }

  /**
   * True at a frame boundary outside any fragmented message: a Close may be
   * injected here without cutting a message in half (RFC 6455 5.4, 5.5.1).
   */
  get atMessageBoundary(): boolean {
    return this.atFrameBoundary && !this.#messageOpen;
  }

  /**
   * A protocol violation was seen. Tracking has stopped and no boundary will be
   * reported again; the caller must fall back to closing the TCP connection.
   */
  get invalid(): boolean {
    return this.#invalid;
  }

  /**
   * A Close frame has started passing in this direction. Its sender may send no
   * more data (RFC 6455 5.5.1), so nothing should be injected after it.
   */
  get closeSeen(): boolean {
    return this.#closeSeen;
  }

  /** Validates a frame's first two header bytes and updates message state; false when invalid. */
  #startFrame(firstByte: number, secondByte: number): boolean {
    const fin = (firstByte & 0x80) !== 0;
    const opcode = firstByte & 0x0f;
    if (opcode >= OPCODE_CLOSE) {
      const length7 = secondByte & 0x7f;
      // RFC 6455 5.2: 0xB-0xF are reserved. 5.5: control frames are not
      // fragmented and carry <= 125 bytes. 5.5.1: a Close body holds at least
      // the 2-byte code, so a 1-byte body is malformed.
      if (
        opcode > OPCODE_PONG ||
        !fin ||
        length7 > MAX_CONTROL_PAYLOAD ||
        (opcode === OPCODE_CLOSE && length7 === 1)
      ) {
        this.#invalid = true;
        return false;
      }
      if (opcode === OPCODE_CLOSE) this.#closeSeen = true;
      return true;
    }
    // RFC 6455 5.4: a continuation needs an open message, a new Text/Binary
    // message needs none open. 5.2: 0x3-0x7 are reserved.
    const valid = opcode === OPCODE_CONTINUATION ? this.#messageOpen : opcode <= OPCODE_BINARY && !this.#messageOpen;
    if (!valid) {
      this.#invalid = true;
      return false;
    }
    this.#messageOpen = !fin;
    return true;
  }
}

/**
 * Builds one unfragmented control frame (RFC 6455 5.5). Client-to-server
 * frames must be masked with a fresh random key, server-to-client frames must
 * not be (5.3).
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
 * A Close frame (RFC 6455 5.5.1) with a status code and a UTF-8 reason. The
 * reason is cut to fit the 125-byte payload at a character boundary, because
 * the peer must fail the connection on invalid UTF-8 (8.1).
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
