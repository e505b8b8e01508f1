import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import WebSocket, { WebSocketServer } from 'ws';
import {
  FrameBoundaryTracker,
  buildCloseFrame,
  buildPingFrame,
  buildPongFrame,
} from '../../src/tunnel/frame-tracker.js';

// ---------------------------------------------------------------------------
// An independent, deliberately plain RFC 6455 5.2 encoder/decoder for the tests.
// ---------------------------------------------------------------------------

const CONTINUATION = 0x0;
const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

interface FrameSpec {
  opcode: number;
  fin?: boolean;
  payload?: Uint8Array;
  /** 4-byte masking key; absent means unmasked. */
  maskKey?: Uint8Array;
  rsv1?: boolean;
}

/** Header for a frame declaring `length` payload bytes (the payload itself is not included). */
function encodeHeader(opcode: number, fin: boolean, length: number, maskKey?: Uint8Array, rsv1 = false): Buffer {
  const bytes: number[] = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode];
  const maskBit = maskKey === undefined ? 0 : 0x80;
  if (length < 126) {
    bytes.push(maskBit | length);
  } else if (length < 65536) {
    bytes.push(maskBit | 126, length >> 8, length & 0xff);
  } else {
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    bytes.push(maskBit | 127, ...big);
  }
  if (maskKey !== undefined) bytes.push(...maskKey);
  return Buffer.from(bytes);
}

function encodeFrame(spec: FrameSpec): Buffer {
  const payload = Buffer.from(spec.payload ?? new Uint8Array(0));
  const header = encodeHeader(spec.opcode, spec.fin ?? true, payload.length, spec.maskKey, spec.rsv1 ?? false);
  if (spec.maskKey !== undefined) {
    for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ spec.maskKey[i % 4]!;
  }
  return Buffer.concat([header, payload]);
}

interface DecodedFrame {
  start: number;
  end: number;
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  /** Unmasked payload. */
  payload: Buffer;
}

/** Decodes a complete, valid stream of frames; throws on trailing partial data. */
function decodeFrames(stream: Buffer): DecodedFrame[] {
  const frames: DecodedFrame[] = [];
  let offset = 0;
  while (offset < stream.length) {
    const start = offset;
    const first = stream[offset]!;
    const second = stream[offset + 1]!;
    offset += 2;
    let length = second & 0x7f;
    if (length === 126) {
      length = stream.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      length = Number(stream.readBigUInt64BE(offset));
      offset += 8;
    }
    const masked = (second & 0x80) !== 0;
    let key: Buffer | undefined;
    if (masked) {
      key = stream.subarray(offset, offset + 4);
      offset += 4;
    }
    const payload = Buffer.from(stream.subarray(offset, offset + length));
    assert.equal(payload.length, length, 'test decoder: truncated frame');
    if (key !== undefined) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i % 4]!;
    offset += length;
    frames.push({ start, end: offset, fin: (first & 0x80) !== 0, rsv1: (first & 0x40) !== 0, opcode: first & 0x0f, masked, payload });
  }
  return frames;
}

interface Observation {
  atFrameBoundary: boolean;
  atMessageBoundary: boolean;
  closeSeen: boolean;
  invalid: boolean;
}

function observe(tracker: FrameBoundaryTracker): Observation {
  return {
    atFrameBoundary: tracker.atFrameBoundary,
    atMessageBoundary: tracker.atMessageBoundary,
    closeSeen: tracker.closeSeen,
    invalid: tracker.invalid,
  };
}

/**
 * What a correct tracker reports after the first `offset` bytes of a valid
 * stream made of `frames`. closeSeen turns on once a Close frame's first two
 * header bytes have passed (that is when its opcode and length are known).
 */
function modelAt(frames: readonly DecodedFrame[], offset: number): Observation {
  let messageOpen = false;
  let atFrameBoundary = offset === 0;
  let closeSeen = false;
  for (const frame of frames) {
    if (frame.opcode === CLOSE && frame.start + 2 <= offset) closeSeen = true;
    if (frame.end > offset) continue;
    if (frame.opcode < CLOSE) messageOpen = !frame.fin;
    if (frame.end === offset) atFrameBoundary = true;
  }
  return { atFrameBoundary, atMessageBoundary: atFrameBoundary && !messageOpen, closeSeen, invalid: false };
}

/**
 * A plain reference scan of a possibly invalid prefix: the state a tracker must
 * be in after exactly these bytes. Violations are judged once the first two
 * header bytes are present, and a too-large 64-bit length once its high word is.
 */
function referenceScan(bytes: Buffer): Observation {
  let offset = 0;
  let messageOpen = false;
  let closeSeen = false;
  const invalid: Observation = { atFrameBoundary: false, atMessageBoundary: false, closeSeen: false, invalid: true };
  const partial = (): Observation => ({ atFrameBoundary: false, atMessageBoundary: false, closeSeen, invalid: false });
  for (;;) {
    if (offset === bytes.length) {
      return { atFrameBoundary: true, atMessageBoundary: !messageOpen, closeSeen, invalid: false };
    }
    if (bytes.length - offset < 2) return partial();
    const first = bytes[offset]!;
    const second = bytes[offset + 1]!;
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    const length7 = second & 0x7f;
    if (opcode === CLOSE || opcode === PING || opcode === PONG) {
      if (!fin || length7 > 125) return { ...invalid, closeSeen };
      if (opcode === CLOSE && length7 === 1) return { ...invalid, closeSeen };
      if (opcode === CLOSE) closeSeen = true;
    } else if (opcode === CONTINUATION) {
      if (!messageOpen) return { ...invalid, closeSeen };
      messageOpen = !fin;
    } else if (opcode === TEXT || opcode === BINARY) {
      if (messageOpen) return { ...invalid, closeSeen };
      messageOpen = !fin;
    } else {
      return { ...invalid, closeSeen };
    }
    let headerSize = 2 + ((second & 0x80) !== 0 ? 4 : 0);
    let length = length7;
    if (length7 === 126) {
      headerSize += 2;
      if (bytes.length - offset < 4) return partial();
      length = bytes.readUInt16BE(offset + 2);
    } else if (length7 === 127) {
      headerSize += 8;
      if (bytes.length - offset < 6) return partial();
      if (bytes.readUInt32BE(offset + 2) >= 2 ** 21) return { ...invalid, closeSeen };
      if (bytes.length - offset < 10) return partial();
      length = Number(bytes.readBigUInt64BE(offset + 2));
    }
    if (bytes.length - offset < headerSize + length) return partial();
    offset += headerSize + length;
  }
}

/** Pushes `stream` split at `cuts` and returns what the tracker reported after each chunk, with the chunk end offsets. */
function pushInChunks(tracker: FrameBoundaryTracker, stream: Buffer, cuts: readonly number[]): { end: number; seen: Observation }[] {
  const ends = [...new Set([...cuts.filter((cut) => cut > 0 && cut < stream.length), stream.length])].sort((a, b) => a - b);
  const reports: { end: number; seen: Observation }[] = [];
  let start = 0;
  for (const end of ends) {
    tracker.push(stream.subarray(start, end));
    reports.push({ end, seen: observe(tracker) });
    start = end;
  }
  return reports;
}

function pushBytewise(tracker: FrameBoundaryTracker, stream: Buffer): Observation[] {
  const seen: Observation[] = [];
  for (let i = 0; i < stream.length; i++) {
    tracker.push(stream.subarray(i, i + 1));
    seen.push(observe(tracker));
  }
  return seen;
}

function patterned(length: number, seed: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let state = seed | 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) | 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

const KEY = Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]);
const AT_MESSAGE_BOUNDARY: Observation = { atFrameBoundary: true, atMessageBoundary: true, closeSeen: false, invalid: false };
const MID_FRAME: Observation = { atFrameBoundary: false, atMessageBoundary: false, closeSeen: false, invalid: false };
const INVALID: Observation = { atFrameBoundary: false, atMessageBoundary: false, closeSeen: false, invalid: true };

// ---------------------------------------------------------------------------
// Example-based cases
// ---------------------------------------------------------------------------

describe('FrameBoundaryTracker', () => {
  test('a fresh tracker is at a message boundary', () => {
    assert.deepEqual(observe(new FrameBoundaryTracker()), AT_MESSAGE_BOUNDARY);
  });

  test('an empty chunk changes nothing', () => {
    const tracker = new FrameBoundaryTracker();
    tracker.push(Buffer.alloc(0));
    assert.deepEqual(observe(tracker), AT_MESSAGE_BOUNDARY);
    tracker.push(Buffer.from([0x82]));
    tracker.push(Buffer.alloc(0));
    assert.deepEqual(observe(tracker), MID_FRAME);
  });

  test('the test encoder uses the 7-bit, 16-bit and 64-bit length forms (RFC 6455 5.2)', () => {
    assert.deepEqual([...encodeHeader(BINARY, true, 125)], [0x82, 125]);
    assert.deepEqual([...encodeHeader(BINARY, true, 126)], [0x82, 126, 0x00, 0x7e]);
    assert.deepEqual([...encodeHeader(BINARY, true, 65535, KEY)], [0x82, 0xfe, 0xff, 0xff, ...KEY]);
    assert.deepEqual([...encodeHeader(BINARY, true, 65536)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
  });

  for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70001]) {
    for (const masked of [false, true]) {
      test(`a ${masked ? 'masked' : 'unmasked'} frame of ${length} bytes ends exactly at its last byte`, () => {
        const frame = encodeFrame({ opcode: BINARY, payload: patterned(length, length), ...(masked ? { maskKey: KEY } : {}) });
        const whole = new FrameBoundaryTracker();
        whole.push(frame);
        assert.deepEqual(observe(whole), AT_MESSAGE_BOUNDARY);

        const allButLast = new FrameBoundaryTracker();
        allButLast.push(frame.subarray(0, frame.length - 1));
        assert.deepEqual(observe(allButLast), MID_FRAME);
        allButLast.push(frame.subarray(frame.length - 1));
        assert.deepEqual(observe(allButLast), AT_MESSAGE_BOUNDARY);
      });
    }
  }

  test('a frame split byte by byte is at a boundary only after its last byte', () => {
    for (const length of [0, 5, 125, 126, 300, 65536]) {
      for (const maskKey of [undefined, KEY]) {
        const frame = encodeFrame({ opcode: TEXT, payload: patterned(length, 7), ...(maskKey ? { maskKey } : {}) });
        const seen = pushBytewise(new FrameBoundaryTracker(), frame);
        const boundaries = seen.flatMap((observation, index) => (observation.atFrameBoundary ? [index] : []));
        assert.deepEqual(boundaries, [frame.length - 1], `length ${length}, masked ${maskKey !== undefined}`);
        assert.equal(seen.some((observation) => observation.invalid), false);
      }
    }
  });

  test('many frames in one chunk', () => {
    const frames: Buffer[] = [];
    for (let i = 0; i < 1000; i++) frames.push(encodeFrame({ opcode: i % 2 === 0 ? TEXT : BINARY, payload: patterned(i % 200, i), maskKey: KEY }));
    const stream = Buffer.concat(frames);
    const tracker = new FrameBoundaryTracker();
    tracker.push(stream);
    assert.deepEqual(observe(tracker), AT_MESSAGE_BOUNDARY);

    const short = new FrameBoundaryTracker();
    short.push(stream.subarray(0, stream.length - 3));
    assert.deepEqual(observe(short), MID_FRAME);
  });

  test('a chunk may end inside the extended length and the masking key', () => {
    const frame = encodeFrame({ opcode: BINARY, payload: patterned(70000, 3), maskKey: KEY });
    // 2 base bytes + 8 length bytes + 4 key bytes; cut inside each part.
    for (const cut of [1, 2, 3, 5, 6, 9, 10, 12, 13, 14, 15]) {
      const tracker = new FrameBoundaryTracker();
      tracker.push(frame.subarray(0, cut));
      assert.deepEqual(observe(tracker), MID_FRAME, `cut at ${cut}`);
      tracker.push(frame.subarray(cut));
      assert.deepEqual(observe(tracker), AT_MESSAGE_BOUNDARY, `cut at ${cut}`);
    }
  });

  test('a 64-bit length above 2^32 is counted exactly', () => {
    const declared = 2 ** 32 + 3;
    const tracker = new FrameBoundaryTracker();
    tracker.push(encodeHeader(BINARY, true, declared));
    const block = Buffer.alloc(65536);
    for (let i = 0; i < 2 ** 32 / block.length; i++) tracker.push(block);
    tracker.push(block.subarray(0, 2));
    assert.deepEqual(observe(tracker), MID_FRAME);
    tracker.push(block.subarray(0, 1));
    assert.deepEqual(observe(tracker), AT_MESSAGE_BOUNDARY);
  });

  test('the largest safe 64-bit length (2^53 - 1) is accepted, header whole or byte by byte', () => {
    const header = encodeHeader(BINARY, true, Number.MAX_SAFE_INTEGER);
    const whole = new FrameBoundaryTracker();
    whole.push(header);
    assert.deepEqual(observe(whole), MID_FRAME);
    const bytewise = new FrameBoundaryTracker();
    assert.deepEqual(pushBytewise(bytewise, header).at(-1), MID_FRAME);
  });

  test('a fragmented message with an interleaved ping (RFC 6455 5.4)', () => {
    const frames = [
      encodeFrame({ opcode: TEXT, fin: false, payload: Buffer.from('fragment one '), maskKey: KEY }),
      encodeFrame({ opcode: PING, payload: Buffer.from('are you there'), maskKey: KEY }),
      encodeFrame({ opcode: CONTINUATION, fin: false, payload: patterned(300, 1), maskKey: KEY }),
      encodeFrame({ opcode: PONG, maskKey: KEY }),
      encodeFrame({ opcode: CONTINUATION, fin: true, payload: Buffer.from('last'), maskKey: KEY }),
      encodeFrame({ opcode: BINARY, fin: true, payload: Buffer.from('next'), maskKey: KEY }),
    ];
    const tracker = new FrameBoundaryTracker();
    const afterEach = frames.map((frame) => {
      tracker.push(frame);
      return [tracker.atFrameBoundary, tracker.atMessageBoundary];
    });
    assert.deepEqual(afterEach, [
      [true, false],
      [true, false],
      [true, false],
      [true, false],
      [true, true],
      [true, true],
    ]);
    assert.equal(tracker.invalid, false);
  });

  test('a Close frame sets closeSeen once its header has passed', () => {
    const tracker = new FrameBoundaryTracker();
    tracker.push(encodeFrame({ opcode: TEXT, payload: Buffer.from('bye soon') }));
    assert.equal(tracker.closeSeen, false);
    const close = encodeFrame({ opcode: CLOSE, payload: Buffer.from([0x03, 0xe9, 0x68, 0x69]) });
    tracker.push(close.subarray(0, 1));
    assert.equal(tracker.closeSeen, false);
    tracker.push(close.subarray(1, 3));
    assert.deepEqual(observe(tracker), { atFrameBoundary: false, atMessageBoundary: false, closeSeen: true, invalid: false });
    tracker.push(close.subarray(3));
    assert.deepEqual(observe(tracker), { atFrameBoundary: true, atMessageBoundary: true, closeSeen: true, invalid: false });
  });

  test('an empty Close frame sets closeSeen', () => {
    const tracker = new FrameBoundaryTracker();
    tracker.push(encodeFrame({ opcode: CLOSE, maskKey: KEY }));
    assert.deepEqual(observe(tracker), { atFrameBoundary: true, atMessageBoundary: true, closeSeen: true, invalid: false });
  });

  test('RSV bits do not disturb tracking (permessage-deflate sets RSV1)', () => {
    const tracker = new FrameBoundaryTracker();
    tracker.push(encodeFrame({ opcode: TEXT, rsv1: true, payload: patterned(40, 2), maskKey: KEY }));
    assert.deepEqual(observe(tracker), AT_MESSAGE_BOUNDARY);
  });

  const invalidCases: { name: string; prefix?: Buffer; bytes: Buffer }[] = [
    { name: 'reserved data opcode 0x3', bytes: encodeFrame({ opcode: 0x3 }) },
    { name: 'reserved data opcode 0x7', bytes: encodeFrame({ opcode: 0x7, payload: Buffer.from('x') }) },
    { name: 'reserved control opcode 0xB', bytes: encodeFrame({ opcode: 0xb }) },
    { name: 'reserved control opcode 0xF', bytes: encodeFrame({ opcode: 0xf, maskKey: KEY }) },
    { name: 'ping with a 126-byte payload', bytes: encodeFrame({ opcode: PING, payload: Buffer.alloc(126) }) },
    { name: 'close with a 64-bit length', bytes: encodeHeader(CLOSE, true, 65536) },
    { name: 'pong without FIN', bytes: encodeFrame({ opcode: PONG, fin: false }) },
    { name: 'close without FIN', bytes: encodeFrame({ opcode: CLOSE, fin: false, payload: Buffer.from([3, 0xe8]) }) },
    { name: 'close with a 1-byte body (RFC 6455 5.5.1)', bytes: encodeFrame({ opcode: CLOSE, payload: Buffer.from([3]) }) },
    { name: 'continuation with no message started', bytes: encodeFrame({ opcode: CONTINUATION, payload: Buffer.from('x') }) },
    {
      name: 'continuation after a finished message',
      prefix: encodeFrame({ opcode: TEXT, payload: Buffer.from('done') }),
      bytes: encodeFrame({ opcode: CONTINUATION }),
    },
    {
      name: 'new text frame while a fragmented message is open',
      prefix: encodeFrame({ opcode: BINARY, fin: false, payload: Buffer.from('part') }),
      bytes: encodeFrame({ opcode: TEXT, payload: Buffer.from('x') }),
    },
    {
      name: 'new binary frame while a fragmented message is open (after a ping)',
      prefix: Buffer.concat([encodeFrame({ opcode: TEXT, fin: false }), encodeFrame({ opcode: PING })]),
      bytes: encodeFrame({ opcode: BINARY, fin: false }),
    },
    { name: '64-bit length with the most significant bit set', bytes: Buffer.from([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1]) },
    { name: '64-bit length of 2^53', bytes: Buffer.from([0x82, 127, 0x00, 0x20, 0, 0, 0, 0, 0, 0]) },
    { name: '64-bit length of 2^64 - 1', bytes: Buffer.from([0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]) },
  ];

  for (const { name, prefix, bytes } of invalidCases) {
    test(`invalid: ${name}`, () => {
      const continuation = encodeFrame({ opcode: BINARY, payload: Buffer.from('after') });
      for (const mode of ['whole', 'bytewise'] as const) {
        const tracker = new FrameBoundaryTracker();
        if (prefix !== undefined) {
          tracker.push(prefix);
          assert.equal(tracker.invalid, false, `${mode}: prefix is valid`);
          assert.equal(tracker.atFrameBoundary, true, `${mode}: prefix ends at a frame boundary`);
        }
        if (mode === 'whole') tracker.push(bytes);
        else pushBytewise(tracker, bytes);
        assert.deepEqual(observe(tracker), INVALID, mode);
        // Once invalid, tracking stops for good: valid frames never bring a boundary back.
        tracker.push(continuation);
        tracker.push(encodeFrame({ opcode: CLOSE }));
        assert.deepEqual(observe(tracker), INVALID, `${mode}: stays invalid`);
      }
    });
  }
});

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

interface Step {
  control: boolean;
  controlOpcode: number;
  dataOpcode: number;
  fin: boolean;
  length: number;
  masked: boolean;
  seed: number;
}

const lengthArbitrary = fc.oneof(
  fc.constantFrom(0, 1, 2, 125, 126, 127, 65535, 65536),
  fc.nat({ max: 400 }),
);

const stepArbitrary: fc.Arbitrary<Step> = fc.record({
  control: fc.boolean(),
  controlOpcode: fc.constantFrom(CLOSE, PING, PONG),
  dataOpcode: fc.constantFrom(TEXT, BINARY),
  fin: fc.boolean(),
  length: lengthArbitrary,
  masked: fc.boolean(),
  seed: fc.integer(),
});

/** Turns random steps into a valid frame sequence: continuations only inside a message, control frames anywhere. */
function framesFromSteps(steps: readonly Step[], maxLength = Infinity): Buffer {
  const encoded: Buffer[] = [];
  let messageOpen = false;
  for (const step of steps) {
    let length = Math.min(step.length, maxLength);
    const maskKey = step.masked ? patterned(4, step.seed) : undefined;
    let spec: FrameSpec;
    if (step.control) {
      length = Math.min(length, 125);
      if (step.controlOpcode === CLOSE && length === 1) length = 2;
      spec = { opcode: step.controlOpcode, fin: true };
    } else {
      spec = { opcode: messageOpen ? CONTINUATION : step.dataOpcode, fin: step.fin };
      messageOpen = !step.fin;
    }
    encoded.push(encodeFrame({ ...spec, payload: patterned(length, step.seed), ...(maskKey ? { maskKey } : {}) }));
  }
  return Buffer.concat(encoded);
}

/** Cut points: random offsets plus offsets near frame ends, where off-by-one bugs live. */
const cutsArbitrary = fc.array(fc.tuple(fc.nat(), fc.integer({ min: -2, max: 2 }), fc.boolean()), { maxLength: 40 });

function cutsFor(raw: readonly [number, number, boolean][], frames: readonly DecodedFrame[], total: number): number[] {
  return raw.map(([pick, delta, nearEnd]) => {
    if (nearEnd && frames.length > 0) return frames[pick % frames.length]!.end + delta;
    return pick % (total + 1);
  });
}

describe('FrameBoundaryTracker properties', () => {
  test('valid frame sequences split at random points match the frame model', () => {
    fc.assert(
      fc.property(fc.array(stepArbitrary, { maxLength: 25 }), cutsArbitrary, (steps, rawCuts) => {
        const stream = framesFromSteps(steps);
        const frames = decodeFrames(stream);
        assert.equal(frames.length, steps.length);
        const reports = pushInChunks(new FrameBoundaryTracker(), stream, cutsFor(rawCuts, frames, stream.length));
        for (const { end, seen } of reports) assert.deepEqual(seen, modelAt(frames, end), `after ${end} of ${stream.length} bytes`);
      }),
      { numRuns: 200 },
    );
  });

  test('valid frame sequences pushed byte by byte match the frame model at every byte', () => {
    fc.assert(
      fc.property(fc.array(stepArbitrary, { maxLength: 12 }), (steps) => {
        const stream = framesFromSteps(steps, 300);
        const frames = decodeFrames(stream);
        const seen = pushBytewise(new FrameBoundaryTracker(), stream);
        seen.forEach((observation, index) => assert.deepEqual(observation, modelAt(frames, index + 1), `after byte ${index + 1}`));
      }),
      { numRuns: 150 },
    );
  });

  test('corrupted streams: every chunk end agrees with a reference scan, however the stream is split', () => {
    fc.assert(
      fc.property(
        fc.array(stepArbitrary, { maxLength: 10 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 3 }),
        cutsArbitrary,
        (steps, corruptions, rawCuts) => {
          const stream = framesFromSteps(steps, 200);
          for (const [position, value] of corruptions) if (stream.length > 0) stream[position % stream.length] = value;
          const cuts = rawCuts.map(([pick]) => pick % (stream.length + 1));
          for (const { end, seen } of pushInChunks(new FrameBoundaryTracker(), stream, cuts)) {
            assert.deepEqual(seen, referenceScan(stream.subarray(0, end)), `after ${end} of ${stream.length} bytes`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('arbitrary bytes never throw and agree with the reference scan', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), cutsArbitrary, (raw, rawCuts) => {
        const stream = Buffer.from(raw);
        const cuts = rawCuts.map(([pick]) => pick % (stream.length + 1));
        for (const { end, seen } of pushInChunks(new FrameBoundaryTracker(), stream, cuts)) {
          assert.deepEqual(seen, referenceScan(stream.subarray(0, end)));
        }
      }),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------
// Frame builders
// ---------------------------------------------------------------------------

function closeBody(frame: DecodedFrame): { code: number; reason: string } {
  return {
    code: frame.payload.readUInt16BE(0),
    reason: new TextDecoder('utf-8', { fatal: true }).decode(frame.payload.subarray(2)),
  };
}

function decodeOne(bytes: Buffer): DecodedFrame {
  const frames = decodeFrames(bytes);
  assert.equal(frames.length, 1);
  return frames[0]!;
}

describe('frame builders', () => {
  test('unmasked ping and pong are exact bytes', () => {
    assert.deepEqual([...buildPingFrame()], [0x89, 0x00]);
    assert.deepEqual([...buildPingFrame(Buffer.from('abc'))], [0x89, 0x03, 0x61, 0x62, 0x63]);
    assert.deepEqual([...buildPongFrame()], [0x8a, 0x00]);
    assert.deepEqual([...buildPongFrame(Buffer.from('xy'), false)], [0x8a, 0x02, 0x78, 0x79]);
    assert.equal(buildPingFrame(Buffer.alloc(125, 1)).length, 127);
  });

  test('masked ping and pong carry the mask bit and a key that unmasks the payload (RFC 6455 5.3)', () => {
    const payload = Buffer.from('keep-alive 12345');
    for (const [build, opcode] of [[buildPingFrame, PING], [buildPongFrame, PONG]] as const) {
      const bytes = build(payload, true);
      assert.equal(bytes.length, 2 + 4 + payload.length);
      assert.equal(bytes[1], 0x80 | payload.length);
      const frame = decodeOne(bytes);
      assert.deepEqual({ fin: frame.fin, opcode: frame.opcode, masked: frame.masked }, { fin: true, opcode, masked: true });
      assert.deepEqual(frame.payload, payload);
    }
    const empty = buildPingFrame(Buffer.alloc(0), true);
    assert.deepEqual([...empty.subarray(0, 2)], [0x89, 0x80]);
    assert.equal(empty.length, 6);
  });

  test('masking keys are fresh per frame', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 8; i++) keys.add(buildPingFrame(Buffer.from('p'), true).subarray(2, 6).toString('hex'));
    assert.ok(keys.size >= 7, `expected distinct keys, got ${[...keys].join(',')}`);
  });

  test('control payloads over 125 bytes are refused (RFC 6455 5.5)', () => {
    assert.throws(() => buildPingFrame(Buffer.alloc(126)), RangeError);
    assert.throws(() => buildPongFrame(Buffer.alloc(200), true), RangeError);
  });

  test('unmasked Close 1001 is exact bytes', () => {
    assert.deepEqual(
      [...buildCloseFrame(1001, 'Going Away', false)],
      [0x88, 12, 0x03, 0xe9, ...Buffer.from('Going Away')],
    );
    assert.deepEqual([...buildCloseFrame(1000, '', false)], [0x88, 2, 0x03, 0xe8]);
  });

  test('masked Close decodes to its code and reason', () => {
    const frame = decodeOne(buildCloseFrame(4000, 'idle timeout ✓', true));
    assert.deepEqual({ fin: frame.fin, opcode: frame.opcode, masked: frame.masked }, { fin: true, opcode: CLOSE, masked: true });
    assert.deepEqual(closeBody(frame), { code: 4000, reason: 'idle timeout ✓' });
  });

  test('long reasons are cut to 123 bytes on a UTF-8 character boundary', () => {
    const cases: { reason: string; expected: string }[] = [
      { reason: 'a'.repeat(200), expected: 'a'.repeat(123) },
      { reason: 'a'.repeat(123), expected: 'a'.repeat(123) },
      { reason: 'é'.repeat(100), expected: 'é'.repeat(61) }, // 2-byte chars: 122 bytes
      { reason: '€'.repeat(50), expected: '€'.repeat(41) }, // 3-byte chars: 123 bytes
      { reason: '😀'.repeat(40), expected: '😀'.repeat(30) }, // 4-byte chars: 120 bytes
      { reason: 'a'.repeat(122) + '😀', expected: 'a'.repeat(122) },
    ];
    for (const { reason, expected } of cases) {
      for (const mask of [false, true]) {
        const frame = decodeOne(buildCloseFrame(1001, reason, mask));
        assert.deepEqual(closeBody(frame), { code: 1001, reason: expected });
        assert.equal(frame.payload.length, 2 + Buffer.byteLength(expected));
      }
    }
  });

  test('a lone surrogate in the reason becomes U+FFFD, still valid UTF-8', () => {
    assert.deepEqual(closeBody(decodeOne(buildCloseFrame(1001, 'a\uD800b', false))), { code: 1001, reason: 'a\uFFFDb' });
  });

  test('any reason: payload <= 125, valid UTF-8, a prefix of the well-formed reason', () => {
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 150 }), fc.string({ unit: codeUnit, maxLength: 150 })),
        fc.boolean(),
        (reason, mask) => {
          const frame = decodeOne(buildCloseFrame(1001, reason, mask));
          assert.ok(frame.payload.length <= 125);
          const body = closeBody(frame);
          assert.equal(body.code, 1001);
          const wellFormed = Buffer.from(reason, 'utf8').toString('utf8');
          assert.ok(wellFormed.startsWith(body.reason));
          // Cut only when the next character would not have fitted.
          const next = wellFormed.slice(body.reason.length).codePointAt(0);
          if (next !== undefined) assert.ok(Buffer.byteLength(body.reason) + Buffer.byteLength(String.fromCodePoint(next)) > 123);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('close codes that must not be sent are refused (RFC 6455 7.4)', () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000, 1000.5, Number.NaN]) {
      assert.throws(() => buildCloseFrame(code, '', false), RangeError, String(code));
    }
    for (const code of [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999]) {
      assert.equal(decodeOne(buildCloseFrame(code, 'ok', true)).payload.readUInt16BE(0), code);
    }
  });

  test('built frames keep the tracker at a boundary', () => {
    const tracker = new FrameBoundaryTracker();
    tracker.push(buildPingFrame(Buffer.from('x'), true));
    tracker.push(buildPongFrame(undefined, false));
    assert.deepEqual(observe(tracker), AT_MESSAGE_BOUNDARY);
    tracker.push(buildCloseFrame(1001, 'bye', true));
    assert.deepEqual(observe(tracker), { ...AT_MESSAGE_BOUNDARY, closeSeen: true });
  });
});

// ---------------------------------------------------------------------------
// Cross-check against the real ws library over real sockets
// ---------------------------------------------------------------------------

/** Feed sizes that break real traffic into awkward pieces, so headers straddle chunks. */
const PIECE_SIZES = [1, 2, 3, 7, 64, 1000, 9];

/** One direction of a TCP tap: forwards bytes untouched and tracks frames after the HTTP head. */
class DirectionTap {
  readonly tracker = new FrameBoundaryTracker();
  readonly reports: { end: number; seen: Observation }[] = [];
  #head: Buffer | null = Buffer.alloc(0);
  #chunks: Buffer[] = [];
  #length = 0;
  #piece = 0;

  constructor(readonly destination: net.Socket) {}

  relay(chunk: Buffer): void {
    if (!this.destination.destroyed) this.destination.write(chunk);
    let frames = chunk;
    if (this.#head !== null) {
      const head = Buffer.concat([this.#head, chunk]);
      const headEnd = head.indexOf('\r\n\r\n');
      if (headEnd === -1) {
        this.#head = head;
        return;
      }
      this.#head = null;
      frames = head.subarray(headEnd + 4);
    }
    let offset = 0;
    while (offset < frames.length) {
      const size = PIECE_SIZES[this.#piece++ % PIECE_SIZES.length]!;
      const piece = frames.subarray(offset, offset + size);
      offset += piece.length;
      this.tracker.push(piece);
      this.#chunks.push(piece);
      this.#length += piece.length;
      this.reports.push({ end: this.#length, seen: observe(this.tracker) });
    }
  }

  /** Writes a whole frame at a boundary of this direction, as wsgate will. */
  inject(frame: Buffer, needMessageBoundary: boolean): void {
    assert.equal(needMessageBoundary ? this.tracker.atMessageBoundary : this.tracker.atFrameBoundary, true);
    assert.equal(this.tracker.closeSeen, false);
    this.destination.write(frame);
  }

  get stream(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}

interface Session {
  client: WebSocket;
  serverSide: WebSocket;
  toServer: DirectionTap;
  toClient: DirectionTap;
  shutdown(): Promise<void>;
}

async function openSession(perMessageDeflate: boolean): Promise<Session> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: perMessageDeflate ? { threshold: 0 } : false });
  await once(wss, 'listening');
  wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data as Buffer, { binary: isBinary })));

  const taps: { toServer: DirectionTap; toClient: DirectionTap }[] = [];
  const sockets: net.Socket[] = [];
  const tap = net.createServer((downstream) => {
    const upstream = net.connect((wss.address() as AddressInfo).port, '127.0.0.1');
    sockets.push(downstream, upstream);
    const toServer = new DirectionTap(upstream);
    const toClient = new DirectionTap(downstream);
    taps.push({ toServer, toClient });
    downstream.on('data', (chunk: Buffer) => toServer.relay(chunk));
    upstream.on('data', (chunk: Buffer) => toClient.relay(chunk));
    downstream.on('end', () => upstream.end());
    upstream.on('end', () => downstream.end());
    downstream.on('error', () => upstream.destroy());
    upstream.on('error', () => downstream.destroy());
  });
  tap.listen(0, '127.0.0.1');
  await once(tap, 'listening');

  const serverSidePromise = once(wss, 'connection');
  const client = new WebSocket(`ws://127.0.0.1:${(tap.address() as AddressInfo).port}`, { perMessageDeflate });
  await once(client, 'open');
  const [serverSide] = (await serverSidePromise) as [WebSocket];
  const pair = taps[0]!;
  return {
    client,
    serverSide,
    ...pair,
    async shutdown() {
      client.terminate();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => tap.close(() => resolve()));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function checkDirection(direction: DirectionTap, masked: boolean): DecodedFrame[] {
  const frames = decodeFrames(direction.stream);
  for (const frame of frames) assert.equal(frame.masked, masked);
  for (const { end, seen } of direction.reports) assert.deepEqual(seen, modelAt(frames, end), `after ${end} bytes`);
  return frames;
}

function shape(frames: readonly DecodedFrame[]): string[] {
  return frames.map((frame) => `${frame.opcode}${frame.fin ? '' : '+'}`);
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for traffic');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('cross-check with the ws library over real sockets', () => {
  for (const perMessageDeflate of [false, true]) {
    test(`tracks real ws traffic${perMessageDeflate ? ' with permessage-deflate' : ''}; injected Ping and Close are accepted by ws`, async () => {
      const session = await openSession(perMessageDeflate);
      try {
        const { client, serverSide, toServer, toClient } = session;
        const echoes: string[] = [];
        client.on('message', (data: Buffer) => echoes.push(`${data.length}:${data.subarray(0, 5).toString('latin1')}`));
        let pongs = 0;
        client.on('pong', () => pongs++);

        client.send('hello');
        client.send(Buffer.alloc(200, 0x41));
        client.send(patterned(70000, 9));
        client.send('a', { fin: false });
        client.ping('p');
        client.send('b', { fin: false });
        client.send('c', { fin: true });
        await waitFor(() => echoes.length === 4 && pongs === 1);
        assert.deepEqual(echoes.slice(0, 2), ['5:hello', '200:AAAAA']);
        assert.equal(echoes[3], '3:abc');

        // Client frames are masked (RFC 6455 5.3); server frames are not.
        assert.deepEqual(shape(checkDirection(toServer, true)), ['1', '2', '2', '1+', '9', '0+', '0']);
        assert.deepEqual(shape(checkDirection(toClient, false)), ['1', '2', '2', '10', '1']);
        if (perMessageDeflate) assert.equal(decodeFrames(toClient.stream)[0]!.rsv1, true);
        assert.deepEqual(observe(toServer.tracker), AT_MESSAGE_BOUNDARY);
        assert.deepEqual(observe(toClient.tracker), AT_MESSAGE_BOUNDARY);

        // An injected keep-alive Ping reaches the ws client intact; it answers with a Pong.
        const pinged = once(client, 'ping');
        const serverGotPong = once(serverSide, 'pong');
        toClient.inject(buildPingFrame(Buffer.from('keepalive'), false), false);
        assert.equal(((await pinged) as [Buffer])[0].toString(), 'keepalive');
        assert.equal(((await serverGotPong) as [Buffer])[0].toString(), 'keepalive');

        // An injected masked 1001 Close reaches the ws server, which closes back.
        const serverClosed = once(serverSide, 'close');
        const clientClosed = once(client, 'close');
        toServer.inject(buildCloseFrame(1001, 'Going Away', true), true);
        const [serverCode, serverReason] = (await serverClosed) as [number, Buffer];
        assert.deepEqual([serverCode, serverReason.toString()], [1001, 'Going Away']);
        const [clientCode, clientReason] = (await clientClosed) as [number, Buffer];
        assert.deepEqual([clientCode, clientReason.toString()], [1001, 'Going Away']);
        // The server's Close went to the client through the tap, and the client's answer back.
        assert.equal(toClient.tracker.closeSeen, true);
        assert.equal(checkDirection(toClient, false).at(-1)!.opcode, CLOSE);
        assert.equal(toClient.tracker.invalid, false);
      } finally {
        await session.shutdown();
      }
    });
  }

  test('an injected unmasked 1001 Close reaches the ws client with its code and reason', async () => {
    const session = await openSession(false);
    try {
      const { client, toClient } = session;
      const clientClosed = once(client, 'close');
      toClient.inject(buildCloseFrame(1001, 'server draining', false), true);
      const [code, reason] = (await clientClosed) as [number, Buffer];
      assert.deepEqual([code, reason.toString()], [1001, 'server draining']);
      // The ws client answered with its own (masked) Close through the tap.
      const answered = checkDirection(session.toServer, true);
      assert.deepEqual(shape(answered), ['8']);
      assert.equal(answered[0]!.payload.readUInt16BE(0), 1001);
      assert.equal(session.toServer.tracker.closeSeen, true);
    } finally {
      await session.shutdown();
    }
  });
});
