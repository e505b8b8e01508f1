// The two ways a request head is read: clean upgrade heads by the listener's
// own parser (clean-upgrade-head.ts), everything else by Node's HTTP server.
// Clients must not be able to tell them apart, and neither may leak a socket.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { handshakeRequest, rawExchange } from '../helpers/clients.js';
import { eventually, openDescriptors, startGateway } from '../helpers/gateway.js';

/** A masked client text frame (RFC 6455 5.2, 5.3). */
function maskedText(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] as number)));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** Writes `pieces` with a pause between them; resolves with the 101 head and the first echoed text. */
function handshakeAndEcho(port: number, pieces: Array<string | Buffer>, expectText: string): Promise<{ head: string; text: string }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no echo; got ${JSON.stringify(received.toString('latin1').slice(0, 300))}`));
    }, 5000);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = received.toString('latin1', 0, end);
      const frames = received.subarray(end + 4);
      // The echo backend answers with its own frames; the echoed text is the last one.
      const at = frames.lastIndexOf(Buffer.from(expectText));
      if (at < 0) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ head, text: frames.toString('utf8', at, at + expectText.length) });
    });
    void (async () => {
      for (const piece of pieces) {
        socket.write(piece);
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
  });
}

describe('request heads: the fast path and Node\'s HTTP server', () => {
  let backend: EchoBackend;
  before(async () => {
    backend = await startEchoBackend({ id: 'b1' });
  });
  after(async () => backend.close());

  test('a clean head with frames in the same packet, a head in two pieces and a head with Content-Length: 0 all open the same tunnel', async () => {
    const gw = await startGateway({ routes: [{ path: '/echo', backends: [backend.address] }] });
    const clean = handshakeRequest('/echo');
    const sameWrite = await handshakeAndEcho(gw.port, [Buffer.concat([Buffer.from(clean, 'latin1'), maskedText('first-packet')])], 'first-packet');
    assert.match(sameWrite.head, /^HTTP\/1\.1 101 /);
    const split = await handshakeAndEcho(gw.port, [clean.slice(0, 40), clean.slice(40), maskedText('split-head')], 'split-head');
    assert.match(split.head, /^HTTP\/1\.1 101 /);
    const withLength = handshakeRequest('/echo', { 'Content-Length': '0' });
    const viaNode = await handshakeAndEcho(gw.port, [withLength, maskedText('content-length')], 'content-length');
    assert.match(viaNode.head, /^HTTP\/1\.1 101 /);
    await gw.close();
  });

  test('heads the fast path leaves alone get Node\'s answers: obs-fold and a bare LF are 400 (RFC 9112 5.2, 2.2)', async () => {
    const gw = await startGateway({ routes: [{ path: '/echo', backends: [backend.address] }] });
    const folded = handshakeRequest('/echo').replace('\r\n\r\n', '\r\nX-Folded: a\r\n b\r\n\r\n');
    assert.match(await rawExchange(gw.port, folded), /^HTTP\/1\.1 400 /);
    const bareLf = handshakeRequest('/echo').replace('Upgrade: websocket\r\n', 'Upgrade: websocket\n');
    assert.match(await rawExchange(gw.port, bareLf), /^HTTP\/1\.1 400 /);
    const doubleLength = handshakeRequest('/echo', { 'Content-Length': '0' }).replace('\r\n\r\n', '\r\nContent-Length: 1\r\n\r\n');
    assert.match(await rawExchange(gw.port, doubleLength), /^HTTP\/1\.1 400 /);
    await gw.close();
  });

  test('a connection that sends nothing gets 408 after the handshake timeout; one that closes at once is a quiet health check; nothing leaks', async () => {
    const gw = await startGateway({ timeouts: { handshake: '300ms' }, routes: [{ path: '/echo', backends: [backend.address] }] });
    const descriptors = openDescriptors();
    const started = Date.now();
    const silent = await rawExchange(gw.port, '', 5000);
    const waited = Date.now() - started;
    assert.match(silent, /^HTTP\/1\.1 408 /);
    assert.ok(waited >= 300 && waited < 2000, `408 after ${waited} ms`);
    assert.ok(gw.logs.some((line) => line.msg === 'malformed request' && line.status === 408));
    // Connect and close without a byte, 20 times, as a TCP balancer's health check does.
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(gw.port, '127.0.0.1', () => socket.end());
        socket.on('error', () => {});
        socket.on('close', () => resolve());
      });
    }
    assert.ok(await eventually(() => openDescriptors() <= descriptors), `descriptors ${openDescriptors()} vs ${descriptors} before`);
    // Start-up lines aside (the listener, its connection limit and, on a small descriptor limit, the warning about it).
    const startUp = (msg: string): boolean => msg === 'listening' || msg === 'connection limit' || msg.startsWith('the descriptor limit allows');
    const infoAndAbove = gw.logs.filter((line) => line.level >= 30 && !startUp(line.msg) && line.msg !== 'malformed request');
    assert.deepEqual(infoAndAbove.map((line) => line.msg), []);
    await gw.close();
  });

  test('a connection still waiting for its first bytes is closed when the gateway closes', async () => {
    const gw = await startGateway({ timeouts: { handshake: '30s' }, routes: [{ path: '/echo', backends: [backend.address] }] });
    const closedAt = new Promise<number>((resolve) => {
      const socket = connect(gw.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.on('close', () => resolve(Date.now()));
    });
    await new Promise((r) => setTimeout(r, 100));
    const closing = Date.now();
    await gw.close();
    assert.ok((await closedAt) - closing < 1000);
  });

  test('after a PROXY v1 header, a clean head in the same packet takes the fast path with the real client address', async () => {
    const gw = await startGateway({ acceptProxyProtocol: true, trustedProxies: ['127.0.0.1'], routes: [{ path: '/echo', backends: [backend.address] }] });
    const seen = new Promise<string | string[] | undefined>((resolve) => backend.wss.once('connection', (_s, req) => resolve(req.headers['x-forwarded-for'])));
    const packet = Buffer.concat([Buffer.from(`PROXY TCP4 203.0.113.7 127.0.0.1 5555 ${gw.port}\r\n${handshakeRequest('/echo')}`, 'latin1'), maskedText('after-proxy')]);
    const { head } = await handshakeAndEcho(gw.port, [packet], 'after-proxy');
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.equal(await seen, '203.0.113.7');
    await gw.close();
  });
});
