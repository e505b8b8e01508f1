// Backpressure both ways: a side that stops reading stalls the sender behind
// the gateway instead of filling the gateway's memory, and every byte arrives
// in order once it reads again.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { eventually, startGateway } from '../helpers/gateway.js';

const MESSAGE = 64 * 1024;
const COUNT = 1600; // 100 MiB
const TOTAL = MESSAGE * COUNT;
/** What the gateway and four kernel socket buffers on loopback may hold between them. */
const IN_FLIGHT_BOUND = 32 * 1024 * 1024;

function message(index: number): Buffer {
  const payload = Buffer.alloc(MESSAGE, index & 0xff);
  payload.writeUInt32BE(index, 0);
  return payload;
}

describe('backpressure', () => {
  let wss: WebSocketServer;
  let backendPort: number;
  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise((resolve) => wss.once('listening', resolve));
    backendPort = (wss.address() as AddressInfo).port;
  });
  after(async () => new Promise((resolve) => wss.close(resolve)));

  test('a client that stops reading stalls a streaming backend; resumed, it gets 100 MiB whole and in order', async () => {
    const gw = await startGateway({ routes: [{ path: '/', backends: [`127.0.0.1:${backendPort}`] }] });
    const backendSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const client = new WebSocket(`ws://${gw.host}/`, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
    });
    client.pause();
    const server = await backendSide;
    for (let i = 0; i < COUNT; i++) server.send(message(i));
    // Let the backend push for a while against a client that reads nothing.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stalled = server.bufferedAmount;
    assert.ok(TOTAL - stalled <= IN_FLIGHT_BOUND, `${((TOTAL - stalled) / 2 ** 20).toFixed(1)} MiB left the backend while the client read nothing`);

    let received = 0;
    let outOfOrder = 0;
    const done = new Promise<void>((resolve) => {
      client.on('message', (data: Buffer) => {
        if (data.length !== MESSAGE || data.readUInt32BE(0) !== received || data[MESSAGE - 1] !== (received & 0xff)) outOfOrder++;
        if (++received === COUNT) resolve();
      });
    });
    client.resume();
    await done;
    assert.equal(outOfOrder, 0);
    client.close();
    assert.ok(await eventually(() => gw.gateway.activeTunnels === 0));
    await gw.close();
  });

  test('a backend that stops reading stalls a streaming client; resumed, it gets 100 MiB whole and in order', async () => {
    const gw = await startGateway({ routes: [{ path: '/', backends: [`127.0.0.1:${backendPort}`] }] });
    const backendSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const client = new WebSocket(`ws://${gw.host}/`, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
    });
    const server = await backendSide;
    server.pause();
    for (let i = 0; i < COUNT; i++) client.send(message(i));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stalled = client.bufferedAmount;
    assert.ok(TOTAL - stalled <= IN_FLIGHT_BOUND, `${((TOTAL - stalled) / 2 ** 20).toFixed(1)} MiB left the client while the backend read nothing`);

    let received = 0;
    let outOfOrder = 0;
    const done = new Promise<void>((resolve) => {
      server.on('message', (data: Buffer) => {
        if (data.length !== MESSAGE || data.readUInt32BE(0) !== received || data[MESSAGE - 1] !== (received & 0xff)) outOfOrder++;
        if (++received === COUNT) resolve();
      });
    });
    server.resume();
    await done;
    assert.equal(outOfOrder, 0);
    client.close();
    assert.ok(await eventually(() => gw.gateway.activeTunnels === 0));
    await gw.close();
  });
});
