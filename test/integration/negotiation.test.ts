import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type WebSocket from 'ws';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, openClient } from '../helpers/clients.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

let backend: EchoBackend;
let gw: RunningGateway;

before(async () => {
  backend = await startEchoBackend({
    id: 'negotiating',
    perMessageDeflate: true,
    // The backend prefers v2 when offered: the choice must come from the backend, not the proxy.
    handleProtocols: (offered) => (offered.has('chat.v2') ? 'chat.v2' : false),
  });
  gw = await startGateway({ routes: [{ path: '/', backends: [backend.address] }] });
});

after(async () => {
  await gw.close();
  await backend.close();
});

function echo(ws: WebSocket, data: string | Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    ws.once('message', (reply: Buffer) => resolve(reply));
    ws.send(data);
  });
}

test('the subprotocol chosen by the backend reaches the client', async () => {
  const { ws } = await openClient(`ws://${gw.host}/p`, ['chat.v1', 'chat.v2']);
  assert.equal(ws.protocol, 'chat.v2');
  assert.equal((await echo(ws, 'hi')).toString(), 'hi');
  ws.close();
  await closed(ws);
});

test('permessage-deflate negotiated by client and backend works through the tunnel', async () => {
  const serverSide = new Promise<WebSocket>((resolve) => backend.wss.once('connection', resolve));
  const { ws } = await openClient(`ws://${gw.host}/deflate`, undefined, { perMessageDeflate: true });
  assert.match(ws.extensions, /permessage-deflate/);
  assert.match((await serverSide).extensions, /permessage-deflate/);
  const text = 'compressible '.repeat(5000);
  assert.equal((await echo(ws, text)).toString(), text);
  const binary = Buffer.alloc(200_000, 7);
  assert.ok((await echo(ws, binary)).equals(binary));
  // Compression really happened on the wire: far fewer bytes crossed the gateway than were sent.
  const line = await new Promise<Record<string, unknown>>((resolve) => {
    ws.once('close', async () => {
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline) {
        const found = gw.logs.find((l) => l.msg === 'tunnel closed');
        if (found) return resolve(found);
        await new Promise((r) => setTimeout(r, 10));
      }
      resolve({});
    });
    ws.close();
  });
  assert.ok((line.bytesFromClient as number) < 20_000, `client sent ${String(line.bytesFromClient)} bytes on the wire`);
});
