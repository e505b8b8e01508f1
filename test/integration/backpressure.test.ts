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

/** Opens a tunnel; returns the client and the backend's side of it. */
async function openTunnel(gatewayHost: string, wss: WebSocketServer): Promise<{ client: WebSocket; server: WebSocket }> {
  const backendSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://${gatewayHost}/`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  return { client, server: await backendSide };
}

/**
 * `receiver` stops reading while `sender` queues 100 MiB: at most
 * IN_FLIGHT_BOUND may leave the sender; then `receiver` reads again and must
 * get every message whole and in order.
 */
async function stallThenDeliver(sender: WebSocket, receiver: WebSocket, what: string): Promise<void> {
  receiver.pause();
  for (let i = 0; i < COUNT; i++) sender.send(message(i));
  // Let the sender push for a while against a receiver that reads nothing.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const left = TOTAL - sender.bufferedAmount;
  assert.ok(left <= IN_FLIGHT_BOUND, `${(left / 2 ** 20).toFixed(1)} MiB left the ${what} while the other side read nothing`);
  let received = 0;
  let outOfOrder = 0;
  const done = new Promise<void>((resolve) => {
    receiver.on('message', (data: Buffer) => {
      if (data.length !== MESSAGE || data.readUInt32BE(0) !== received || data[MESSAGE - 1] !== (received & 0xff)) outOfOrder++;
      if (++received === COUNT) resolve();
    });
  });
  receiver.resume();
  await done;
  assert.equal(outOfOrder, 0);
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
    const { client, server } = await openTunnel(gw.host, wss);
    await stallThenDeliver(server, client, 'backend');
    client.close();
    assert.ok(await eventually(() => gw.gateway.activeTunnels === 0));
    await gw.close();
  });

  test('a backend that stops reading stalls a streaming client; resumed, it gets 100 MiB whole and in order', async () => {
    const gw = await startGateway({ routes: [{ path: '/', backends: [`127.0.0.1:${backendPort}`] }] });
    const { client, server } = await openTunnel(gw.host, wss);
    await stallThenDeliver(client, server, 'client');
    client.close();
    assert.ok(await eventually(() => gw.gateway.activeTunnels === 0));
    await gw.close();
  });
});
