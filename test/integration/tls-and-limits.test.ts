import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect as tlsConnect } from 'node:tls';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, expectRefusal, handshakeRequest, openClient, rawExchange } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';
import { tempDir } from '../helpers/temp-dir.js';

const certs = (name: string): string => fileURLToPath(new URL(`../../../fixtures/certs/${name}`, import.meta.url));
const CA = readFileSync(certs('ca.pem'));
// Serial numbers of fixtures/certs/server.pem and server2.pem.
const SERIAL_1 = '3B62E8A9DEB14431A807CE291D9FDDC3832E49EC';
const SERIAL_2 = '3B62E8A9DEB14431A807CE291D9FDDC3832E49ED';

describe('TLS', () => {
  let backend: EchoBackend;
  before(async () => {
    backend = await startEchoBackend({ id: 'plain' });
  });
  after(async () => backend.close());

  test('terminates wss:// and https:// on the listener and tells the backend the scheme', async () => {
    const gw = await startGateway({ tls: { cert: certs('server.pem'), key: certs('server.key') }, routes: [{ path: '/', backends: [backend.address] }] });
    const seen = new Promise<Record<string, string | string[] | undefined>>((resolve) => backend.wss.once('connection', (_s, req) => resolve(req.headers)));
    const { ws } = await openClient(`wss://localhost:${gw.port}/secure`, undefined, { ca: CA });
    assert.equal((await seen)['x-forwarded-proto'], 'https');
    const reply = new Promise((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send('over tls');
    assert.equal(await reply, 'over tls');
    ws.close();
    await closed(ws);
    await gw.close();
  });

  test('connects to wss:// backends, trusting a given CA, and refuses an unknown one by default', async () => {
    const httpsServer = createHttpsServer({ cert: readFileSync(certs('server.pem')), key: readFileSync(certs('server.key')) });
    const wss = new WebSocketServer({ server: httpsServer });
    wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`tls backend: ${data.toString()}`)));
    await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
    const port = (httpsServer.address() as AddressInfo).port;
    const trusting = await startGateway({ backendTls: { ca: certs('ca.pem') }, routes: [{ path: '/', backends: [`wss://localhost:${port}`] }] });
    const { ws } = await openClient(`ws://${trusting.host}/`);
    const reply = new Promise((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send('hi');
    assert.equal(await reply, 'tls backend: hi');
    ws.close();
    await closed(ws);
    await trusting.close();
    const strict = await startGateway({ routes: [{ path: '/', backends: [`wss://localhost:${port}`] }] });
    assert.equal((await expectRefusal(`ws://${strict.host}/`)).status, 502);
    await strict.close();
    for (const client of wss.clients) client.terminate();
    httpsServer.close();
  });

  test('reloadCertificate() serves the new certificate to new connections', async () => {
    const dir = tempDir('wsgate-tls-');
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    copyFileSync(certs('server.pem'), certFile);
    copyFileSync(certs('server.key'), keyFile);
    const gw = await startGateway({ tls: { cert: certFile, key: keyFile }, routes: [{ path: '/', backends: [backend.address] }] });
    const serialOf = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: gw.port, servername: 'localhost', ca: CA }, () => {
          resolve(socket.getPeerCertificate().serialNumber);
          socket.destroy();
        });
        socket.on('error', reject);
      });
    assert.equal(await serialOf(), SERIAL_1);
    // Operators replace the files in place, then send SIGHUP (the CLI calls reloadCertificate()).
    copyFileSync(certs('server2.pem'), certFile);
    copyFileSync(certs('server2.key'), keyFile);
    assert.equal(await serialOf(), SERIAL_1, 'nothing changes before the reload');
    gw.gateway.reloadCertificate();
    assert.equal(await serialOf(), SERIAL_2);
    await gw.close();
  });
});

describe('limits and timeouts', () => {
  let backend: EchoBackend;
  before(async () => {
    backend = await startEchoBackend({ id: 'echo' });
  });
  after(async () => backend.close());

  test('per-client and per-route limits answer 503 with Retry-After, and free up when tunnels close', async () => {
    const gw = await startGateway({
      limits: { maxConnectionsPerClient: 2 },
      routes: [
        { path: '/small', backends: [backend.address], maxConnections: 1 },
        { path: '/', backends: [backend.address] },
      ],
    });
    const a = await openClient(`ws://${gw.host}/small`);
    const routeFull = await expectRefusal(`ws://${gw.host}/small`);
    assert.equal(routeFull.status, 503);
    assert.equal(routeFull.headers['retry-after'], '1');
    assert.equal(routeFull.headers['x-wsgate-error'], 'ERR_LIMIT_ROUTE');
    const b = await openClient(`ws://${gw.host}/other`);
    const clientFull = await expectRefusal(`ws://${gw.host}/other`);
    assert.equal(clientFull.status, 503);
    assert.equal(clientFull.headers['x-wsgate-error'], 'ERR_LIMIT_CLIENT');
    a.ws.close();
    await closed(a.ws);
    const c = await openClient(`ws://${gw.host}/small`);
    for (const ws of [b.ws, c.ws]) {
      ws.close();
      await closed(ws);
    }
    await gw.close();
  });

  test('the global limit closes connections at accept, and others keep being served', async () => {
    const gw = await startGateway({ limits: { maxConnections: 2 }, routes: [{ path: '/', backends: [backend.address] }] });
    const a = await openClient(`ws://${gw.host}/`);
    const b = await openClient(`ws://${gw.host}/`);
    const refused = await rawExchange(gw.port, handshakeRequest('/'));
    assert.equal(refused, '');
    const reply = new Promise((resolve) => a.ws.once('message', (d) => resolve(d.toString())));
    a.ws.send('still served');
    assert.equal(await reply, 'still served');
    for (const ws of [a.ws, b.ws]) {
      ws.close();
      await closed(ws);
    }
    await gw.close();
  });

  test('a slow request head gets 408; an oversized one gets 431', async () => {
    const gw = await startGateway({ timeouts: { handshake: '300ms' }, limits: { maxHeaderSize: 2048 }, routes: [{ path: '/', backends: [backend.address] }] });
    const slow = await new Promise<string>((resolve) => {
      const socket = connect(gw.port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n'));
      let data = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (data += chunk));
      socket.on('error', () => {});
      socket.on('close', () => resolve(data));
    });
    assert.match(slow, /^HTTP\/1\.1 408 /);
    const big = await rawExchange(gw.port, handshakeRequest('/', { 'X-Big': 'x'.repeat(4096) }));
    assert.match(big, /^HTTP\/1\.1 431 /);
    const { ws } = await openClient(`ws://${gw.host}/`);
    ws.close();
    await closed(ws);
    await gw.close();
  });
});
