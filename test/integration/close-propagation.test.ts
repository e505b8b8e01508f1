import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type WebSocket from 'ws';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, handshakeRequest, openClient } from '../helpers/clients.js';
import { eventually, startGateway, type RunningGateway } from '../helpers/gateway.js';

describe('closing', () => {
  let backend: EchoBackend;
  let halfCloser: Server;
  let gw: RunningGateway;

  before(async () => {
    backend = await startEchoBackend({ id: 'echo' });
    // A raw backend that accepts the upgrade, and when its client half-closes,
    // still sends one last line before closing: half-close must carry both ways.
    halfCloser = createServer({ allowHalfOpen: true }, (socket: Socket) => {
      socket.on('error', () => {});
      let head = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        head += chunk;
        if (head.includes('\r\n\r\n')) socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      });
      socket.on('end', () => socket.end('after-fin'));
    });
    await new Promise<void>((resolve) => halfCloser.listen(0, '127.0.0.1', resolve));
    gw = await startGateway({
      routes: [
        { path: '/echo', backends: [backend.address] },
        { path: '/half', backends: [`127.0.0.1:${(halfCloser.address() as AddressInfo).port}`] },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await backend.close();
    halfCloser.close();
  });

  function serverSideOfNext(): Promise<WebSocket> {
    return new Promise((resolve) => backend.wss.once('connection', resolve));
  }

  test('the backend closing ends the client connection with its close code', async () => {
    const serverSide = serverSideOfNext();
    const { ws } = await openClient(`ws://${gw.host}/echo`);
    (await serverSide).close(4001, 'backend says bye');
    assert.deepEqual(await closed(ws), { code: 4001, reason: 'backend says bye' });
    assert.ok(await eventually(() => gw.gateway.activeTunnels === 0));
    const line = gw.logs.filter((l) => l.msg === 'tunnel closed').at(-1);
    assert.equal(line?.closedBy, 'backend');
  });

  test('the client closing ends the backend connection with its close code', async () => {
    const serverSide = serverSideOfNext();
    const { ws } = await openClient(`ws://${gw.host}/echo`);
    const server = await serverSide;
    const serverClosed = new Promise<[number, string]>((resolve) => server.once('close', (code, reason) => resolve([code, reason.toString()])));
    const clientClosed = closed(ws);
    ws.close(4002, 'client says bye');
    assert.deepEqual(await serverClosed, [4002, 'client says bye']);
    assert.equal((await clientClosed).code, 4002);
    assert.ok(await eventually(() => gw.gateway.activeTunnels === 0));
  });

  test('an abrupt backend drop ends the client connection (1006), and vice versa', async () => {
    let serverSide = serverSideOfNext();
    const first = await openClient(`ws://${gw.host}/echo`);
    (await serverSide).terminate();
    assert.equal((await closed(first.ws)).code, 1006);

    serverSide = serverSideOfNext();
    const second = await openClient(`ws://${gw.host}/echo`);
    const server = await serverSide;
    const serverClosed = new Promise<number>((resolve) => server.once('close', (code) => resolve(code)));
    second.ws.terminate();
    assert.equal(gw.gateway.activeTunnels <= 1, true);
    assert.equal(await serverClosed, 1006);
    assert.ok(await eventually(() => gw.gateway.activeTunnels === 0));
  });

  test('a half-close passes through and the other direction keeps flowing', async () => {
    const received = await new Promise<string>((resolve, reject) => {
      const socket = connect(gw.port, '127.0.0.1');
      let data = '';
      socket.setEncoding('latin1');
      socket.on('error', reject);
      socket.on('data', (chunk: string) => {
        data += chunk;
        if (data.includes('\r\n\r\n') && !socket.writableEnded) socket.end();
      });
      socket.on('close', () => resolve(data));
      socket.write(handshakeRequest('/half'));
    });
    assert.match(received, /^HTTP\/1\.1 101 /);
    assert.ok(received.endsWith('after-fin'), `got ${JSON.stringify(received)}`);
    assert.ok(await eventually(() => gw.gateway.activeTunnels === 0));
  });
});
