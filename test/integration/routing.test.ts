import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, expectRefusal, httpGet, openClient } from '../helpers/clients.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

describe('path routing', () => {
  let chat1: EchoBackend, chat2: EchoBackend, feed: EchoBackend, admin: EchoBackend;
  let gw: RunningGateway;

  before(async () => {
    [chat1, chat2, feed, admin] = await Promise.all([
      startEchoBackend({ id: 'chat1' }),
      startEchoBackend({ id: 'chat2' }),
      startEchoBackend({ id: 'feed' }),
      startEchoBackend({ id: 'chat-admin' }),
    ]);
    gw = await startGateway({
      routes: [
        { path: '/chat', backends: [chat1.address, chat2.address] },
        { path: '/feed', backends: [`ws://${feed.address}`] },
        // Longer prefix written after the shorter one: it still wins.
        { path: '/chat/admin', backends: [`http://${admin.address}`] },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await Promise.all([chat1, chat2, feed, admin].map((b) => b.close()));
  });

  test('echoes through two routes, each reaching its own backends', async () => {
    for (const [path, expected] of [
      ['/chat/room1', ['chat1', 'chat2']],
      ['/feed', ['feed']],
      ['/feed/live?x=1', ['feed']],
    ] as const) {
      const { ws, backendId } = await openClient(`ws://${gw.host}${path}`);
      assert.ok(backendId !== undefined && (expected as readonly string[]).includes(backendId), `${path} reached ${backendId}`);
      const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(data.toString())));
      ws.send('whoami');
      assert.equal(JSON.parse(await reply).backend, backendId);
      const echoed = new Promise<string>((resolve) => ws.once('message', (data) => resolve(data.toString())));
      ws.send(`hello ${path}`);
      assert.equal(await echoed, `hello ${path}`);
      ws.close(1000);
      assert.equal((await closed(ws)).code, 1000);
    }
  });

  test('the longest prefix wins, and a prefix matches only at a "/" boundary', async () => {
    const deep = await openClient(`ws://${gw.host}/chat/admin/x`);
    assert.equal(deep.backendId, 'chat-admin');
    deep.ws.close();
    const refusal = await expectRefusal(`ws://${gw.host}/chatroom`);
    assert.equal(refusal.status, 404);
    assert.equal((await expectRefusal(`ws://${gw.host}/feeder`)).status, 404);
  });

  test('unknown paths get 404 for upgrades and for plain requests', async () => {
    const refusal = await expectRefusal(`ws://${gw.host}/nowhere`);
    assert.equal(refusal.status, 404);
    assert.match(refusal.body, /No route/);
    const plain = await httpGet(`http://${gw.host}/nowhere`);
    assert.equal(plain.status, 404);
    assert.equal(plain.headers.get('x-wsgate-error'), 'ERR_ROUTE_NOT_FOUND');
  });

  test('plain GETs are proxied under the same routes with X-Forwarded-* replaced, not appended', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`http://${gw.host}/chat/history?page=${i}`, {
        headers: { 'x-forwarded-for': '6.6.6.6', cookie: 'a=1' },
      });
      assert.equal(response.status, 200);
      const body = (await response.json()) as { backend: string; url: string; headers: Record<string, string> };
      seen.add(body.backend);
      assert.equal(body.url, `/chat/history?page=${i}`);
      assert.equal(body.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(body.headers['x-forwarded-proto'], 'http');
      assert.equal(body.headers['x-forwarded-host'], gw.host);
      assert.equal(body.headers.cookie, 'a=1');
    }
    assert.deepEqual([...seen].sort(), ['chat1', 'chat2']);
    const feedBody = (await (await fetch(`http://${gw.host}/feed/x`)).json()) as { backend: string };
    assert.equal(feedBody.backend, 'feed');
  });

  test('the upgrade reaches the backend with the client headers intact plus X-Forwarded-*', async () => {
    const captured = new Promise<Record<string, string | string[] | undefined>>((resolve) =>
      feed.wss.once('connection', (_socket, req) => resolve(req.headers)),
    );
    const { ws } = await openClient(`ws://${gw.host}/feed`, undefined, {
      headers: { Cookie: 'session=abc', 'X-Forwarded-For': '6.6.6.6', 'X-Custom': 'kept' },
      origin: 'https://app.example',
    });
    const headers = await captured;
    assert.equal(headers.cookie, 'session=abc');
    assert.equal(headers.origin, 'https://app.example');
    assert.equal(headers['x-custom'], 'kept');
    assert.equal(headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(headers['x-forwarded-host'], gw.host);
    assert.equal(headers.host, gw.host);
    ws.close();
    await closed(ws);
  });

  test('one log line per closed tunnel with route, backend, client, duration, bytes and closer', async () => {
    const { ws } = await openClient(`ws://${gw.host}/feed/log-check`);
    ws.send('x'.repeat(100));
    await new Promise((resolve) => ws.once('message', resolve));
    const before = gw.logs.filter((l) => l.msg === 'tunnel closed').length;
    ws.close(1000);
    await closed(ws);
    const deadline = Date.now() + 2000;
    while (gw.logs.filter((l) => l.msg === 'tunnel closed').length === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const line = gw.logs.filter((l) => l.msg === 'tunnel closed').at(-1);
    assert.ok(line, 'a tunnel closed line');
    assert.equal(line.route, '/feed');
    assert.equal(line.backend, feed.address);
    assert.equal(line.client, '127.0.0.1');
    assert.equal(line.closedBy, 'client');
    assert.equal(typeof line.durationMs, 'number');
    assert.ok((line.bytesFromClient as number) > 100, `bytesFromClient ${String(line.bytesFromClient)}`);
    assert.ok((line.bytesFromBackend as number) > 100, `bytesFromBackend ${String(line.bytesFromBackend)}`);
    assert.equal(gw.logs.filter((l) => l.msg === 'message').length, 0);
  });
});
