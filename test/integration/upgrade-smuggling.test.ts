/**
 * Issue 13, hostile input: bytes a client sends behind its upgrade head reach
 * the backend only once the backend has switched protocols. A second HTTP
 * request smuggled behind an upgrade the backend refuses (403, 426, 200) must
 * never reach it, whether it came in the same write or after the refusal.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { handshakeRequest } from '../helpers/clients.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRecordingRawServer, type RecordingRawServer } from '../helpers/recording-raw-server.js';

const SECRET = 'GET /internal/secret HTTP/1.1\r\nHost: backend.internal\r\n\r\n';

const refusals: Record<string, string> = {
  '403': 'HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope',
  '426': 'HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n',
  '200': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
};

function accept(head: string): string {
  const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? '';
  const acceptValue = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptValue}\r\n\r\n`;
}

/** Writes `first`, then (after the answer head) `later`; resolves with what came back once the gateway closes. */
function exchange(port: number, first: string | Buffer, later?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`not closed in time; got ${received.slice(0, 200)}`));
    }, 5000);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      const before = received;
      received += chunk.toString('latin1');
      if (later !== undefined && !before.includes('\r\n\r\n') && received.includes('\r\n\r\n')) socket.write(later);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(first);
  });
}

describe('bytes behind an upgrade head', () => {
  const backends = new Map<string, RecordingRawServer>();
  let upgrading: RecordingRawServer;
  let gw: RunningGateway;

  before(async () => {
    for (const [status, answer] of Object.entries(refusals)) backends.set(status, await startRecordingRawServer(() => answer));
    upgrading = await startRecordingRawServer(accept);
    gw = await startGateway({
      routes: [
        ...[...backends].map(([status, backend]) => ({ path: `/refuse-${status}`, backends: [`127.0.0.1:${backend.port}`] })),
        { path: '/open', backends: [`127.0.0.1:${upgrading.port}`] },
      ],
    });
  });

  after(async () => {
    await gw.close();
    for (const backend of [...backends.values(), upgrading]) await backend.close();
  });

  for (const status of Object.keys(refusals)) {
    test(`a request smuggled in the same write as an upgrade the backend answers ${status} never reaches it`, async () => {
      backends.get(status)?.clear();
      const response = await exchange(gw.port, handshakeRequest(`/refuse-${status}/x`) + SECRET);
      assert.match(response, new RegExp(`^HTTP/1\\.1 ${status} `));
      const seen = backends.get(status)?.received() ?? '';
      assert.match(seen, /^GET \/refuse-\d+\/x HTTP\/1\.1\r\n/, 'the upgrade itself reached the backend');
      assert.doesNotMatch(seen, /internal\/secret/);
    });

    test(`a request written after the ${status} refusal never reaches the backend`, async () => {
      backends.get(status)?.clear();
      const response = await exchange(gw.port, handshakeRequest(`/refuse-${status}/y`), SECRET);
      assert.match(response, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.doesNotMatch(backends.get(status)?.received() ?? '', /internal\/secret/);
    });
  }

  test('after a 101 the bytes sent with the head do reach the backend, after the head', async () => {
    // A masked Text frame "hi" (RFC 6455 5.3), in the same write as the upgrade.
    const frame = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x68 ^ 1, 0x69 ^ 2]);
    const socket = connect(gw.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(Buffer.concat([Buffer.from(handshakeRequest('/open/z'), 'latin1'), frame]));
    const deadline = Date.now() + 3000;
    while (!upgrading.received().includes('\u0081\u0082') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    socket.destroy();
    const seen = upgrading.received();
    const headEnd = seen.indexOf('\r\n\r\n');
    assert.ok(headEnd > 0);
    assert.equal(seen.slice(headEnd + 4), frame.toString('latin1'), 'exactly the frame, right after the head');
  });
});
