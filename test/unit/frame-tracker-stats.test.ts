/**
 * Issue 12: what the frame tracker counts for metrics: whole messages, Pongs,
 * and the first Close's status code (masked or not), whatever the chunking:
 * every stream is fed whole, one byte at a time, and split at random points.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameBoundaryTracker } from '../../src/tunnel/frame-tracker.js';
import { buildCloseFrame, buildPingFrame, buildPongFrame } from '../../src/tunnel/frames.js';

/** One frame, masked with a fixed key when `mask` (RFC 6455 5.3). */
function frame(opcode: number, payload: Buffer, fin = true, mask = false): Buffer {
  const length = payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 65536) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    head.push(maskBit | 127, ...big);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] = masked[i]! ^ key[i % 4]!;
  return Buffer.concat([Buffer.from(head), key, masked]);
}

/** A Close with any code, as a peer may send it (wsgate's own builder sends only valid ones). */
function closeFrame(code: number, reason: string, mask: boolean): Buffer {
  const body = Buffer.alloc(2 + Buffer.byteLength(reason));
  body.writeUInt16BE(code, 0);
  body.write(reason, 2);
  return frame(0x8, body, true, mask);
}

function feedings(stream: Buffer): Array<[string, Buffer[]]> {
  const bytes = [...stream].map((byte) => Buffer.from([byte]));
  const halves = [stream.subarray(0, Math.floor(stream.length / 2)), stream.subarray(Math.floor(stream.length / 2))];
  return [
    ['whole', [stream]],
    ['byte by byte', bytes],
    ['in two halves', halves],
  ];
}

function track(chunks: readonly Buffer[]): FrameBoundaryTracker {
  const tracker = new FrameBoundaryTracker();
  for (const chunk of chunks) tracker.push(chunk);
  return tracker;
}

describe('FrameBoundaryTracker statistics', () => {
  for (const mask of [false, true]) {
    const side = mask ? 'masked (client to backend)' : 'unmasked (backend to client)';
    test(`${side}: messages count final frames of Text/Binary messages only`, () => {
      const stream = Buffer.concat([
        frame(0x1, Buffer.from('one'), true, mask),
        frame(0x2, Buffer.alloc(70_000, 1), true, mask), // 64-bit length
        frame(0x1, Buffer.from('frag-'), false, mask),
        frame(0x9, Buffer.alloc(0), true, mask), // a Ping between fragments is no message
        frame(0x0, Buffer.from('ment'), false, mask),
        frame(0x0, Buffer.from('ed'), true, mask),
        frame(0xa, Buffer.from('pong'), true, mask),
        frame(0x2, Buffer.alloc(300, 2), true, mask), // 16-bit length
      ]);
      for (const [name, chunks] of feedings(stream)) {
        const tracker = track(chunks);
        assert.equal(tracker.messages, 4, name);
        assert.equal(tracker.pongs, 1, name);
        assert.equal(tracker.closeCode, undefined, name);
        assert.equal(tracker.atMessageBoundary, true, name);
      }
    });

    test(`${side}: the first Close's code is read, a later one ignored`, () => {
      for (const code of [1000, 1001, 1011, 3000, 4999, 65535]) {
        const close = closeFrame(code, 'bye now', mask);
        const second = closeFrame(1002, '', mask);
        for (const [name, chunks] of feedings(Buffer.concat([frame(0x1, Buffer.from('x'), true, mask), close, second]))) {
          const tracker = track(chunks);
          assert.equal(tracker.closeCode, code, `${code}, ${name}`);
          assert.equal(tracker.closeSeen, true);
          assert.equal(tracker.messages, 1);
          assert.equal(tracker.invalid, false);
        }
      }
    });

    test(`${side}: a Close without a body has code "none"`, () => {
      for (const [name, chunks] of feedings(frame(0x8, Buffer.alloc(0), true, mask))) {
        const tracker = track(chunks);
        assert.equal(tracker.closeCode, 'none', name);
        assert.equal(tracker.atFrameBoundary, true);
      }
    });
  }

  test("wsgate's own frames: Pings are not Pongs, and its Close 1001 reads as 1001", () => {
    const tracker = track([buildPingFrame(), buildPongFrame(), buildPongFrame(Buffer.from('x'), true), buildCloseFrame(1001, '', true)]);
    assert.deepEqual([tracker.pongs, tracker.messages, tracker.closeCode], [2, 0, 1001]);
  });

  test('random splits of random streams: the figures never depend on where chunks end', () => {
    const frameArb = fc.record({
      kind: fc.constantFrom('text', 'binary', 'ping', 'pong'),
      size: fc.oneof(fc.nat(125), fc.integer({ min: 126, max: 70_000 })),
      mask: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), fc.integer({ min: 1000, max: 4999 }), fc.array(fc.nat(), { maxLength: 8 }), (frames, code, cuts) => {
        const mask = frames[0]?.mask ?? false;
        const parts = frames.map((f) => {
          const control = f.kind === 'ping' || f.kind === 'pong';
          const payload = Buffer.alloc(control ? Math.min(f.size, 125) : f.size, 7);
          return frame(f.kind === 'text' ? 0x1 : f.kind === 'binary' ? 0x2 : f.kind === 'ping' ? 0x9 : 0xa, payload, true, mask);
        });
        parts.push(closeFrame(code, 'r', mask));
        const stream = Buffer.concat(parts);
        const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let last = 0;
        for (const point of points) {
          chunks.push(stream.subarray(last, point));
          last = point;
        }
        chunks.push(stream.subarray(last));
        const tracker = track(chunks.filter((chunk) => chunk.length > 0));
        assert.equal(tracker.messages, frames.filter((f) => f.kind === 'text' || f.kind === 'binary').length);
        assert.equal(tracker.pongs, frames.filter((f) => f.kind === 'pong').length);
        assert.equal(tracker.closeCode, code);
      }),
      { numRuns: 300 },
    );
  });
});
