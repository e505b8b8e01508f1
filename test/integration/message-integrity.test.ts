import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, openClient } from '../helpers/clients.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

let backend: EchoBackend;
let gw: RunningGateway;

before(async () => {
  backend = await startEchoBackend({ id: 'echo' });
  gw = await startGateway({ routes: [{ path: '/', backends: [backend.address] }] });
});

after(async () => {
  await gw.close();
  await backend.close();
});

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

test('a 16 MiB binary message arrives intact both ways', async () => {
  const { ws } = await openClient(`ws://${gw.host}/big`, undefined, { maxPayload: 32 * 1024 * 1024 });
  const payload = randomBytes(16 * 1024 * 1024);
  const reply = await new Promise<Buffer>((resolve) => {
    ws.once('message', (data: Buffer, isBinary) => {
      assert.equal(isBinary, true);
      resolve(data);
    });
    ws.send(payload);
  });
  assert.equal(reply.length, payload.length);
  assert.equal(sha(reply), sha(payload));
  ws.close();
  await closed(ws);
});

test('10,000 small numbered messages arrive intact and in order both ways', async () => {
  const { ws } = await openClient(`ws://${gw.host}/many`);
  const count = 10_000;
  const received: string[] = [];
  const done = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer) => {
      received.push(data.toString());
      if (received.length === count) resolve();
    });
  });
  for (let i = 0; i < count; i++) ws.send(`message ${i} ${'x'.repeat(i % 50)}`);
  await done;
  for (let i = 0; i < count; i++) assert.equal(received[i], `message ${i} ${'x'.repeat(i % 50)}`);
  ws.close();
  await closed(ws);
});
