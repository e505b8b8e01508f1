import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  buildUpgradeRequestHead,
  forwardedHeaders,
} from '../../src/handshake/upstream-request.js';
import { plainAddress } from '../../src/listener/plain-address.js';
import type { Forwarding } from '../../src/handshake/forwarded.js';

/**
 * A real HTTP server on 127.0.0.1 whose 'upgrade' events are handed out in
 * order; raw requests reach it through a real TCP socket.
 */
class UpgradeCatcher {
  readonly server: Server;
  private readonly waiting: Array<(value: { req: IncomingMessage; socket: Duplex }) => void> = [];
  private readonly caught: Array<{ req: IncomingMessage; socket: Duplex }> = [];

  constructor() {
    this.server = createServer((_req, res) => {
      res.statusCode = 500;
      res.end('expected an upgrade');
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => undefined);
      const entry = { req, socket };
      const resolve = this.waiting.shift();
      if (resolve) resolve(entry);
      else this.caught.push(entry);
    });
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  next(): Promise<{ req: IncomingMessage; socket: Duplex }> {
    const ready = this.caught.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}

const catcher = new UpgradeCatcher();
let port = 0;

before(async () => {
  port = await catcher.listen();
});

after(async () => {
  await catcher.close();
});

/** Sends a raw request head and returns the IncomingMessage the server built from it. */
async function capture(lines: readonly string[]): Promise<{ req: IncomingMessage; remoteAddress: string | undefined }> {
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => undefined);
  await once(client, 'connect');
  const arrived = catcher.next();
  client.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  const { req, socket } = await arrived;
  const remoteAddress = (socket as net.Socket).remoteAddress;
  socket.destroy();
  client.destroy();
  return { req, remoteAddress };
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
/** What decideForwarding gives for an untrusted peer (see forwarded.test.ts for the decision itself). */
function untrusted(clientAddress: string, proto: string, host: string | undefined): Forwarding {
  const node = clientAddress.includes(':') ? `"[${clientAddress}]"` : clientAddress;
  return {
    clientAddress,
    xForwardedFor: clientAddress,
    xForwardedProto: proto,
    xForwardedHost: host,
    forwarded: `for=${node};proto=${proto}${host !== undefined ? `;host="${host}"` : ''}`,
    trusted: false,
    requestId: 'req-1',
  };
}
const FORWARDED = untrusted('203.0.113.7', 'http', 'gateway.example:8080');

describe('buildUpgradeRequestHead (real IncomingMessage)', () => {
  test('keeps order and spelling, drops hop-by-hop, replaces X-Forwarded-*', async () => {
    const { req } = await capture([
      'GET /chat?room=1&x=%2F HTTP/1.1',
      'Host: gateway.example:8080',
      'upgrade: WebSocket',
      'Connection: keep-alive, Upgrade, X-Hop',
      'Sec-WebSocket-Key: ' + KEY,
      'sec-websocket-version: 13',
      'Sec-WebSocket-Protocol: chat, superchat',
      'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits',
      'Cookie: a=1; b=2',
      'cookie: c=3',
      'Origin: http://example.com',
      'X-Forwarded-For: 6.6.6.6',
      'x-forwarded-proto: https',
      'X-FORWARDED-HOST: evil.example',
      'X-Request-Id: forged-by-client',
      'Keep-Alive: timeout=5',
      'Proxy-Connection: keep-alive',
      'TE: trailers',
      'Trailer: X-T',
      'X-Hop: secret',
      'HTTP2-Settings: AAMAAABkAAQAAP__',
      'X-Custom-CASE: Value With  Spaces',
      'User-Agent: test/1.0',
    ]);
    assert.equal(
      buildUpgradeRequestHead(req, FORWARDED),
      'GET /chat?room=1&x=%2F HTTP/1.1\r\n' +
        'Host: gateway.example:8080\r\n' +
        `Sec-WebSocket-Key: ${KEY}\r\n` +
        'sec-websocket-version: 13\r\n' +
        'Sec-WebSocket-Protocol: chat, superchat\r\n' +
        'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' +
        'Cookie: a=1; b=2\r\n' +
        'cookie: c=3\r\n' +
        'Origin: http://example.com\r\n' +
        'X-Custom-CASE: Value With  Spaces\r\n' +
        'User-Agent: test/1.0\r\n' +
        'Connection: Upgrade\r\n' +
        'Upgrade: websocket\r\n' +
        'X-Forwarded-For: 203.0.113.7\r\n' +
        'X-Forwarded-Proto: http\r\n' +
        'X-Forwarded-Host: gateway.example:8080\r\n' +
        'Forwarded: for=203.0.113.7;proto=http;host="gateway.example:8080"\r\n' +
        'X-Request-Id: req-1\r\n' +
        '\r\n',
    );
  });

  test('repeated subprotocol and extension headers stay separate and in order', async () => {
    const { req } = await capture([
      'GET / HTTP/1.1',
      'Host: h',
      'Sec-WebSocket-Protocol: one',
      'Upgrade: websocket',
      'Sec-WebSocket-Extensions: permessage-deflate',
      'Connection: Upgrade',
      'Sec-WebSocket-Protocol: two',
      'Sec-WebSocket-Extensions: x-custom; a=1',
    ]);
    assert.equal(
      buildUpgradeRequestHead(req, untrusted('::1', 'https', undefined)),
      'GET / HTTP/1.1\r\n' +
        'Host: h\r\n' +
        'Sec-WebSocket-Protocol: one\r\n' +
        'Sec-WebSocket-Extensions: permessage-deflate\r\n' +
        'Sec-WebSocket-Protocol: two\r\n' +
        'Sec-WebSocket-Extensions: x-custom; a=1\r\n' +
        'Connection: Upgrade\r\n' +
        'Upgrade: websocket\r\n' +
        'X-Forwarded-For: ::1\r\n' +
        'X-Forwarded-Proto: https\r\n' +
        'Forwarded: for="[::1]";proto=https\r\n' +
        'X-Request-Id: req-1\r\n' +
        '\r\n',
    );
  });

  test('headers named in several Connection lines are all dropped, whatever their case', async () => {
    const { req } = await capture([
      'GET /x HTTP/1.1',
      'Host: h',
      'Connection: Upgrade, x-one',
      'Connection: X-TWO , ,close',
      'Upgrade: websocket',
      'X-One: 1',
      'x-two: 2',
      'X-Three: 3',
    ]);
    assert.equal(req.headers.connection, 'Upgrade, x-one, X-TWO , ,close');
    assert.equal(
      buildUpgradeRequestHead(req, FORWARDED),
      'GET /x HTTP/1.1\r\n' +
        'Host: h\r\n' +
        'X-Three: 3\r\n' +
        'Connection: Upgrade\r\n' +
        'Upgrade: websocket\r\n' +
        'X-Forwarded-For: 203.0.113.7\r\n' +
        'X-Forwarded-Proto: http\r\n' +
        'X-Forwarded-Host: gateway.example:8080\r\n' +
        'Forwarded: for=203.0.113.7;proto=http;host="gateway.example:8080"\r\n' +
        'X-Request-Id: req-1\r\n' +
        '\r\n',
    );
  });

  test('several client X-Forwarded-For lines are all replaced by one', async () => {
    const { req } = await capture([
      'GET / HTTP/1.1',
      'X-Forwarded-For: 1.1.1.1',
      'Host: h',
      'Connection: Upgrade',
      'x-forwarded-for: 2.2.2.2, 3.3.3.3',
      'Upgrade: websocket',
    ]);
    const head = buildUpgradeRequestHead(req, untrusted('10.0.0.9', 'http', 'h'));
    const forwardedLines = head.split('\r\n').filter((line) => line.toLowerCase().startsWith('x-forwarded-'));
    assert.deepEqual(forwardedLines, ['X-Forwarded-For: 10.0.0.9', 'X-Forwarded-Proto: http', 'X-Forwarded-Host: h']);
  });

  test('an absolute-form target is passed through as written', async () => {
    const { req } = await capture([
      'GET http://gateway.example/chat?a=b HTTP/1.1',
      'Host: gateway.example',
      'Connection: Upgrade',
      'Upgrade: websocket',
    ]);
    assert.ok(buildUpgradeRequestHead(req, FORWARDED).startsWith('GET http://gateway.example/chat?a=b HTTP/1.1\r\nHost: gateway.example\r\nConnection: Upgrade\r\n'));
  });

  test('the built head is read back by a real HTTP server as the same request', async () => {
    const { req } = await capture([
      'GET /echo?q=1 HTTP/1.1',
      'Host: front.example',
      'Connection: keep-alive, Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Key: ' + KEY,
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Protocol: chat',
      'Cookie: s=1',
      'Origin: http://example.com',
      'X-Forwarded-For: 6.6.6.6',
    ]);
    const head = buildUpgradeRequestHead(req, untrusted('198.51.100.2', 'https', 'front.example'));
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    await once(client, 'connect');
    const arrived = catcher.next();
    client.write(head, 'latin1');
    const backend = await arrived;
    backend.socket.destroy();
    client.destroy();
    assert.equal(backend.req.method, 'GET');
    assert.equal(backend.req.url, '/echo?q=1');
    assert.deepEqual(backend.req.rawHeaders, [
      'Host', 'front.example',
      'Sec-WebSocket-Key', KEY,
      'Sec-WebSocket-Version', '13',
      'Sec-WebSocket-Protocol', 'chat',
      'Cookie', 's=1',
      'Origin', 'http://example.com',
      'Connection', 'Upgrade',
      'Upgrade', 'websocket',
      'X-Forwarded-For', '198.51.100.2',
      'X-Forwarded-Proto', 'https',
      'X-Forwarded-Host', 'front.example',
      'Forwarded', 'for=198.51.100.2;proto=https;host="front.example"',
      'X-Request-Id', 'req-1',
    ]);
  });

  test('plainAddress on a real peer address', async () => {
    const { remoteAddress } = await capture(['GET / HTTP/1.1', 'Host: h', 'Connection: Upgrade', 'Upgrade: websocket']);
    assert.equal(remoteAddress, '127.0.0.1');
    assert.equal(plainAddress(remoteAddress), '127.0.0.1');
  });
});

describe('forwardedHeaders', () => {
  test('the trio and Forwarded, lower-case, for http-proxy', () => {
    assert.deepEqual(forwardedHeaders(FORWARDED), {
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'gateway.example:8080',
      forwarded: 'for=203.0.113.7;proto=http;host="gateway.example:8080"',
      'x-request-id': 'req-1',
    });
  });
  test('no host, no X-Forwarded-Host', () => {
    assert.deepEqual(forwardedHeaders(untrusted('::1', 'https', undefined)), {
      'x-forwarded-for': '::1',
      'x-forwarded-proto': 'https',
      forwarded: 'for="[::1]";proto=https',
      'x-request-id': 'req-1',
    });
  });
});
