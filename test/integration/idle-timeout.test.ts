import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { closed, handshakeRequest, openClient } from '../helpers/clients.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { frameHeader, startRawWsBackend, type RawWsBackend } from '../helpers/raw-ws-backend.js';
import { isWhole, sealedMessage, sendFragmented, splitInto, startRecordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';

// Issue 5: --idle-timeout closes a quiet tunnel with a Close 1001 each way, at a
// message boundary of each stream. The backend is a ws server: it fails the
// connection on an unmasked client frame, so a 1001 recorded there proves the
// Close wsgate sent it was masked (RFC 6455 5.1, 5.3).

const IDLE_MS = 500;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const SLOW_MESSAGE = sealedMessage(50_000);
const SLOW_GAP_MS = 1200;

let backend: RecordingBackend;
let garbage: RawWsBackend;
let halfFrame: RawWsBackend;
let gateway: RunningGateway;
let pinging: RunningGateway;

before(async () => {
  backend = await startRecordingBackend({
    echoFragments: 1,
    onConnection: (ws) => {
      ws.once('message', (data: Buffer) => {
        if (data.toString() !== 'slow') return;
        // Half a message now, the rest after more than the idle timeout: the Close must wait for the end.
        const [first, second] = splitInto(SLOW_MESSAGE, 2) as [Buffer, Buffer];
        ws.send(first, { binary: true, fin: false });
        setTimeout(() => void sendFragmented(ws, [second]).catch(() => {}), SLOW_GAP_MS);
      });
    },
  });
  // A backend that breaks the protocol (opcode 0x3 is reserved): wsgate cannot follow its stream.
  garbage = await startRawWsBackend((socket) => socket.write(Buffer.concat([frameHeader(0x3, true, 1), Buffer.from('x')])));
  // A backend that stops in the middle of a frame's payload for longer than the idle timeout.
  halfFrame = await startRawWsBackend((socket) => {
    const frame = Buffer.concat([frameHeader(0x2, true, SLOW_MESSAGE.length), SLOW_MESSAGE]);
    socket.write(frame.subarray(0, 20_000));
    setTimeout(() => socket.write(frame.subarray(20_000)), SLOW_GAP_MS).unref();
  });
  gateway = await startGateway({
    routes: [
      { path: '/garbage', backends: [garbage.address] },
      { path: '/half-frame', backends: [halfFrame.address] },
      { path: '/', backends: [backend.address] },
    ],
    tunnels: { idleTimeout: IDLE_MS },
  });
  pinging = await startGateway({ routes: [{ path: '/', backends: [backend.address] }], tunnels: { idleTimeout: 700, pingInterval: 200 } });
});

after(async () => {
  await Promise.all([gateway.close(), pinging.close()]);
  await Promise.all([backend.close(), garbage.close(), halfFrame.close()]);
});

test('a quiet tunnel gets a Close 1001 on both sides after --idle-timeout, and the log says why', async () => {
  const closesBefore = backend.closeCodes.length;
  const { ws } = await openClient(`ws://${gateway.host}/quiet`);
  const start = Date.now();
  const { code } = await closed(ws);
  const after = Date.now() - start;
  assert.equal(code, 1001);
  assert.ok(after >= IDLE_MS - 50 && after < IDLE_MS + 600, `closed after ${after} ms`);
  await waitFor(() => backend.closeCodes.length > closesBefore);
  assert.equal(backend.closeCodes.at(-1), 1001, 'the backend got a masked 1001 (ws rejects unmasked frames)');
  assert.deepEqual(backend.errors, []);
  await waitFor(() => gateway.logs.some((l) => l.msg === 'tunnel closed' && l.reason === 'idle timeout'));
  const line = gateway.logs.find((l) => l.msg === 'tunnel closed' && l.reason === 'idle timeout');
  assert.equal(line?.closedBy, 'gateway');
  assert.equal(line?.error, undefined, 'both peers answered within the grace');
});

test('the Close waits for the end of a message the backend is half-way through', async () => {
  const { ws } = await openClient(`ws://${gateway.host}/slow`);
  const events: string[] = [];
  ws.on('message', (data: Buffer) => {
    // The backend also echoes "slow" itself.
    if (data.toString() !== 'slow') events.push(isWhole(data) && data.equals(SLOW_MESSAGE) ? 'whole message' : 'broken message');
  });
  const start = Date.now();
  ws.send('slow');
  const { code } = await closed(ws);
  events.push(`close ${code}`);
  assert.deepEqual(events, ['whole message', 'close 1001']);
  assert.ok(Date.now() - start >= SLOW_GAP_MS, 'not before the message ended');
});

test('the Close waits for the end of a frame the backend stopped sending half-way', async () => {
  const { ws } = await openClient(`ws://${gateway.host}/half-frame`);
  const events: string[] = [];
  ws.on('message', (data: Buffer) => events.push(data.equals(SLOW_MESSAGE) ? 'whole message' : 'broken message'));
  ws.on('error', (error) => events.push(`error ${error.message}`));
  const { code } = await closed(ws);
  events.push(`close ${code}`);
  assert.deepEqual(events, ['whole message', 'close 1001']);
});

test('traffic keeps a tunnel open past the idle timeout; then quiet closes it', async () => {
  const { ws } = await openClient(`ws://${gateway.host}/busy`);
  let echoes = 0;
  ws.on('message', () => echoes++);
  for (let i = 0; i < 8; i++) {
    ws.send(`tick ${i}`);
    await sleep(IDLE_MS / 3);
  }
  assert.equal(ws.readyState, ws.OPEN, `open after ${(8 * IDLE_MS) / 3} ms of traffic`);
  assert.equal(echoes, 8);
  assert.equal((await closed(ws)).code, 1001);
});

test('with pings on, a client that answers them stays; one that does not is closed as idle', async () => {
  const answering = await openClient(`ws://${pinging.host}/answers`);
  const mute = await openClient(`ws://${pinging.host}/mute`, undefined, { autoPong: false });
  const muteClosed = closed(mute.ws).then((result) => ({ ...result, at: Date.now() }));
  const start = Date.now();
  await sleep(2000);
  const muted = await muteClosed;
  assert.equal(muted.code, 1001);
  assert.ok(muted.at - start < 1200, `the mute client went after ${muted.at - start} ms`);
  assert.equal(answering.ws.readyState, answering.ws.OPEN, 'its pongs count as life');
  answering.ws.close();
  await closed(answering.ws);
});

test('a stream wsgate cannot follow (reserved opcode) is ended with a FIN instead of a Close frame', async () => {
  // A raw client: it reads what comes and never validates, so the gateway's fallback is what ends it.
  const socket = connect(gateway.port, '127.0.0.1');
  let received = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  const ended = new Promise<number>((resolve) => socket.once('end', () => resolve(Date.now())));
  const start = Date.now();
  socket.write(handshakeRequest('/garbage'));
  const endedAt = await ended;
  socket.destroy();
  const afterHead = received.subarray(received.indexOf('\r\n\r\n') + 4);
  assert.deepEqual([...afterHead], [0x83, 0x01, 0x78], 'only the backend bytes: no Close frame was injected');
  assert.ok(endedAt - start >= IDLE_MS - 50 && endedAt - start < IDLE_MS + 1000, `ended after ${endedAt - start} ms`);
});

async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}
