import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import type WebSocket from 'ws';
import { closed, openClient } from '../helpers/clients.js';
import { frameHeader, startRawWsBackend, type RawWsBackend } from '../helpers/raw-ws-backend.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { isWhole, sealedMessage, startRecordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';

// Issue 5: pings go in only at a frame boundary of the backend-to-client
// stream, so no message is corrupted while the backend streams large
// fragmented messages at the same time. The client is `ws`, which fails the
// connection (1002) on anything that is not a valid frame sequence. The first
// test has a real ws server pause between fragments (pings land inside
// messages); the second cuts frames anywhere with a raw server, so that pings
// fall due in the middle of a frame and must wait for its end (a ping written
// there fails the client: "MASK must be clear").

const PING_INTERVAL_MS = 100;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A deterministic generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 0x1_0000_0000;
  };
}

interface Received {
  messages: Buffer[];
  pings: number;
}

function collect(ws: WebSocket): Received {
  const received: Received = { messages: [], pings: 0 };
  ws.on('message', (data: Buffer) => received.messages.push(data));
  ws.on('ping', () => received.pings++);
  return received;
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

const MESSAGES = 10;
const rng = random(0x5eed);
const plan = Array.from({ length: MESSAGES }, () => ({
  message: sealedMessage(100_000 + Math.floor(rng() * 500_000)),
  fragments: 2 + Math.floor(rng() * 7),
  // Before each fragment but the first: a pause longer than the ping interval, or none.
  pauses: Array.from({ length: 8 }, () => (rng() < 0.4 ? 150 + Math.floor(rng() * 100) : 0)),
}));

let streaming: RecordingBackend;
let raw: RawWsBackend;
let gateway: RunningGateway;

before(async () => {
  streaming = await startRecordingBackend({
    onConnection: (ws) => {
      void (async () => {
        for (const { message, fragments, pauses } of plan) {
          const size = Math.ceil(message.length / fragments);
          for (let i = 0; i < fragments; i++) {
            if (i > 0 && (pauses[i] ?? 0) > 0) await sleep(pauses[i] ?? 0);
            const piece = message.subarray(i * size, (i + 1) * size);
            await new Promise<void>((resolve, reject) =>
              ws.send(piece, { binary: true, fin: i === fragments - 1 }, (error) => (error ? reject(error) : resolve())),
            );
          }
        }
      })().catch(() => {});
    },
  });
  raw = await startRawBackend();
  gateway = await startGateway({
    routes: [
      { path: '/stream', backends: [streaming.address] },
      { path: '/raw', backends: [raw.address] },
    ],
    tunnels: { pingInterval: PING_INTERVAL_MS },
  });
});

after(async () => {
  await gateway.close();
  await streaming.close();
  await raw.close();
});

test('pings injected between the fragments of large messages leave every message whole', { timeout: 30_000 }, async () => {
  const { ws } = await openClient(`ws://${gateway.host}/stream`);
  const received = collect(ws);
  let errored: Error | undefined;
  ws.on('error', (error) => (errored = error));
  await until(() => received.messages.length === MESSAGES || errored !== undefined, 20_000);
  assert.equal(errored, undefined);
  assert.equal(received.messages.length, MESSAGES);
  received.messages.forEach((data, index) => {
    assert.ok(isWhole(data), `message ${index} is whole`);
    assert.ok(data.equals(plan[index]?.message ?? Buffer.alloc(0)), `message ${index} is the one sent`);
  });
  assert.ok(received.pings >= 3, `pings went in during the pauses inside messages (got ${received.pings})`);
  // The pongs reach the ws backend as unsolicited pongs; it carries on.
  await until(() => streaming.pongs >= received.pings, 2000);
  assert.deepEqual(streaming.errors, []);
  ws.close();
  assert.equal((await closed(ws)).code, 1005);
});

test('a ping due while a frame is half sent waits for its end (header and payload split by long pauses)', { timeout: 30_000 }, async () => {
  const { ws } = await openClient(`ws://${gateway.host}/raw`);
  const received = collect(ws);
  let errored: Error | undefined;
  ws.on('error', (error) => (errored = error));
  await until(() => received.messages.length === RAW_MESSAGES.length || errored !== undefined, 20_000);
  assert.equal(errored, undefined);
  assert.deepEqual(
    received.messages.map((m) => createHash('sha256').update(m).digest('hex')),
    RAW_MESSAGES.map((m) => createHash('sha256').update(m).digest('hex')),
  );
  for (const data of received.messages) assert.ok(isWhole(data));
  // Pings fell due in every pause; those inside a frame were held until a chunk ended at a boundary.
  assert.ok(received.pings >= 4, `pings were held, then sent (got ${received.pings})`);
  ws.terminate();
});

// A raw RFC 6455 server, so that frames can be cut anywhere: the ws library always writes whole frames.

const RAW_MESSAGES = [sealedMessage(100_000), sealedMessage(300), sealedMessage(20)];
const PAUSE_MS = 3 * PING_INTERVAL_MS;

/** Writes that the raw backend makes, each followed by a pause of three ping intervals. */
function rawScript(): Buffer[] {
  const [big, middle, small] = RAW_MESSAGES as [Buffer, Buffer, Buffer];
  // Message 1: 100 032 bytes in three frames (64-bit, 16-bit and 16-bit lengths); message 2: 332 bytes in two; message 3: one.
  const f1 = Buffer.concat([frameHeader(0x2, false, 70_000), big.subarray(0, 70_000)]);
  const f2 = Buffer.concat([frameHeader(0x0, false, 20_000), big.subarray(70_000, 90_000)]);
  const f3 = Buffer.concat([frameHeader(0x0, true, big.length - 90_000), big.subarray(90_000)]);
  const g1 = Buffer.concat([frameHeader(0x2, false, 200), middle.subarray(0, 200)]);
  const g2 = Buffer.concat([frameHeader(0x0, true, middle.length - 200), middle.subarray(200)]);
  const h = Buffer.concat([frameHeader(0x2, true, small.length), small]);
  return [
    f1.subarray(0, 1), // first header byte only
    f1.subarray(1, 5), // inside the 64-bit length
    f1.subarray(5, 30_000), // inside the payload
    f1.subarray(30_000), // the frame ends: the held ping goes now, between two fragments
    f2.subarray(0, 3), // inside a 16-bit length
    Buffer.concat([f2.subarray(3), f3, g1.subarray(0, 100)]), // two frames end inside this chunk, a third starts
    g1.subarray(100),
    g2.subarray(0, 1),
    Buffer.concat([g2.subarray(1), h.subarray(0, 2)]), // a whole header, no payload yet
    h.subarray(2),
  ];
}

function startRawBackend(): Promise<RawWsBackend> {
  return startRawWsBackend((socket) => {
    void (async () => {
      for (const piece of rawScript()) {
        if (socket.destroyed) return;
        socket.write(piece);
        await sleep(PAUSE_MS);
      }
    })();
  });
}
