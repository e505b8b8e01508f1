import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, TLSSocket, type Server as TlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { dialBackend, readyEvent } from '../../src/upstream/dial-backend.js';

const certs = (name: string): string => fileURLToPath(new URL(`../../../fixtures/certs/${name}`, import.meta.url));
// server.pem is for localhost, 127.0.0.1 and ::1, signed by ca.pem.
const CA = readFileSync(certs('ca.pem'));
const TRUSTING = { rejectUnauthorized: true, ca: CA };

/** Dials, waits for readyEvent(), and closes; returns the client socket. */
async function dialAndWait(socket: Socket): Promise<Socket> {
  const ready = readyEvent(socket);
  await Promise.race([
    once(socket, ready),
    once(socket, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  return socket;
}

describe('dialBackend', () => {
  let tlsServer: TlsServer;
  let tlsPort: number;
  /** TLS connections the server has completed. */
  let tlsAccepted = 0;
  let plainServer: NetServer;
  let plainPort: number;

  before(async () => {
    tlsServer = createTlsServer({ cert: readFileSync(certs('server.pem')), key: readFileSync(certs('server.key')) }, (socket) => {
      // Each connection is answered with the SNI it carried ("false": none).
      tlsAccepted++;
      socket.end(String(socket.servername));
    });
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    tlsPort = (tlsServer.address() as AddressInfo).port;
    plainServer = createNetServer((socket) => socket.end());
    plainServer.listen(0, '127.0.0.1');
    await once(plainServer, 'listening');
    plainPort = (plainServer.address() as AddressInfo).port;
  });
  after(() => {
    tlsServer.close();
    plainServer.close();
  });

  test('an IP backend gets no SNI (RFC 6066 3), and its certificate is still checked against the address', async () => {
    const socket = await dialAndWait(dialBackend({ host: '127.0.0.1', port: tlsPort, tls: true }, TRUSTING));
    assert.ok(socket instanceof TLSSocket);
    assert.equal(readyEvent(socket), 'secureConnect');
    assert.equal((socket as TLSSocket).authorized, true);
    assert.equal(await answer(socket), 'false');
  });

  test('a named backend sends its name as SNI', async () => {
    const socket = await dialAndWait(dialBackend({ host: 'localhost', port: tlsPort, tls: true }, TRUSTING));
    assert.equal((socket as TLSSocket).authorized, true);
    assert.equal(await answer(socket), 'localhost');
  });

  test('the TLS settings apply: an unknown CA is refused when rejectUnauthorized is set', async () => {
    const socket = dialBackend({ host: '127.0.0.1', port: tlsPort, tls: true }, { rejectUnauthorized: true });
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    assert.match(String(error.code), /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/);
    socket.destroy();
  });

  test('without rejectUnauthorized an unknown CA is let through', async () => {
    const socket = await dialAndWait(dialBackend({ host: '127.0.0.1', port: tlsPort, tls: true }, { rejectUnauthorized: false }));
    assert.equal((socket as TLSSocket).authorized, false);
    socket.destroy();
  });

  test('a plain backend gets plain TCP, ready on connect', async () => {
    const socket = await dialAndWait(dialBackend({ host: '127.0.0.1', port: plainPort, tls: false }, TRUSTING));
    assert.equal(socket instanceof TLSSocket, false);
    assert.equal(readyEvent(socket), 'connect');
    socket.destroy();
  });

  test('useTls: false dials a TLS backend with plain TCP (a layer-4 check)', async () => {
    const accepted = tlsAccepted;
    const socket = await dialAndWait(dialBackend({ host: '127.0.0.1', port: tlsPort, tls: true }, TRUSTING, { useTls: false }));
    assert.equal(socket instanceof TLSSocket, false);
    assert.equal(readyEvent(socket), 'connect');
    socket.destroy();
    assert.equal(tlsAccepted, accepted);
  });

  test('allowHalfOpen is off unless asked for, on both kinds of socket', async () => {
    for (const [backend, allowHalfOpen] of [
      [{ host: '127.0.0.1', port: plainPort, tls: false }, false],
      [{ host: '127.0.0.1', port: plainPort, tls: false }, true],
      [{ host: '127.0.0.1', port: tlsPort, tls: true }, false],
      [{ host: '127.0.0.1', port: tlsPort, tls: true }, true],
    ] as const) {
      const socket = await dialAndWait(dialBackend(backend, TRUSTING, allowHalfOpen ? { allowHalfOpen, noDelay: true, keepAliveMs: 30_000 } : {}));
      assert.equal(socket.allowHalfOpen, allowHalfOpen, `${backend.tls ? 'tls' : 'tcp'} ${allowHalfOpen}`);
      socket.destroy();
    }
  });
});

/** Everything the server sends before closing. */
async function answer(socket: Socket): Promise<string> {
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (data: string) => (text += data));
  await once(socket, 'end');
  socket.destroy();
  return text;
}
