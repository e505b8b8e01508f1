import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, openClient } from '../helpers/clients.js';
import { eventually, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startHaproxy, type RunningHaproxy } from '../helpers/haproxy.js';

let backend: EchoBackend;
let gw: RunningGateway;
let haproxy: RunningHaproxy;

before(async () => {
  backend = await startEchoBackend({ id: 'echo' });
  // HAProxy connects from 127.0.0.1; clients come from 127.0.0.2, so the two addresses differ.
  gw = await startGateway({ acceptProxyProtocol: true, trustedProxies: ['127.0.0.1/32'], routes: [{ path: '/', backends: [backend.address] }] });
  haproxy = await startHaproxy([
    { serverOptions: 'send-proxy', targetPort: gw.port },
    { serverOptions: 'send-proxy-v2', targetPort: gw.port },
  ]);
});

after(async () => {
  await haproxy?.stop();
  await gw?.close();
  await backend?.close();
});

for (const [index, name] of ['send-proxy (v1)', 'send-proxy-v2'].entries()) {
  test(`HAProxy in mode tcp with ${name}: the backend sees the real client address`, async () => {
    const seen = new Promise<Record<string, string | string[] | undefined>>((resolve) => backend.wss.once('connection', (_s, req) => resolve(req.headers)));
    const { ws } = await openClient(`ws://127.0.0.1:${haproxy.ports[index]}/through-haproxy`, undefined, {
      localAddress: '127.0.0.2',
      headers: { 'X-Forwarded-For': '6.6.6.6' },
    });
    const headers = await seen;
    assert.equal(headers['x-forwarded-for'], '127.0.0.2');
    const messages = Array.from({ length: 100 }, (_, i) => `message ${i}`);
    const received: string[] = [];
    const all = new Promise<void>((resolve) =>
      ws.on('message', (data) => {
        received.push(data.toString());
        if (received.length === messages.length) resolve();
      }),
    );
    for (const message of messages) ws.send(message);
    await all;
    assert.deepEqual(received, messages);
    ws.close(1000);
    assert.equal((await closed(ws)).code, 1000);
    assert.ok(await eventually(() => gw.logs.some((l) => l.msg === 'tunnel closed' && l.client === '127.0.0.2')));
  });
}

test('plain HTTP requests through HAProxy with send-proxy-v2 carry the client address', async () => {
  const response = await fetch(`http://127.0.0.1:${haproxy.ports[1]}/healthcheck`);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { headers: Record<string, string> };
  assert.equal(body.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(gw.gateway.activeTunnels, 0);
});
