/**
 * Issue 12: known traffic in, exact figures out of GET /metrics (parsed as
 * Prometheus text), and a bounded number of series whatever the paths and
 * client addresses.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { validateConfig } from '../../src/index.js';
import { closed, expectRefusal, openClient } from '../helpers/clients.js';
import { eventually, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { figure, parsePrometheusText, type PrometheusText } from '../helpers/prometheus-text.js';
import { rawRequest } from '../helpers/raw-http.js';

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { connection: 'close', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function scrape(gw: RunningGateway): Promise<PrometheusText> {
  const admin = gw.gateway.adminAddress();
  assert.ok(admin !== undefined);
  const { status, body } = await get(admin.port, '/metrics');
  assert.equal(status, 200);
  return parsePrometheusText(body);
}

/** A plain HTTP backend that answers by path: /ok 200, /moved 302, anything else 404, /boom 500. */
function startWebBackend(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    if (path.endsWith('/ok')) res.writeHead(200).end('ok');
    else if (path.endsWith('/moved')) res.writeHead(302, { location: '/ok' }).end();
    else if (path.endsWith('/boom')) res.writeHead(500).end('boom');
    else res.writeHead(404).end('missing');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function send(ws: WebSocket, data: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    ws.once('message', () => resolve());
    ws.send(data);
  });
}

describe('GET /metrics after known traffic', () => {
  let chat: EchoBackend;
  let feed: EchoBackend;
  let web: Server;
  let gw: RunningGateway;

  before(async () => {
    [chat, feed, web] = await Promise.all([startEchoBackend({ id: 'chat' }), startEchoBackend({ id: 'feed' }), startWebBackend()]);
    gw = await startGateway({
      admin: '127.0.0.1:0',
      tunnels: { pingInterval: '200ms', idleTimeout: '1s' },
      routes: [
        { name: 'chat', path: '/chat', backends: [chat.address] },
        { name: 'feed', path: '/feed', backends: [feed.address] },
        { name: 'web', path: '/web', backends: [`127.0.0.1:${(web.address() as AddressInfo).port}`] },
        // Nothing listens on port 1.
        { name: 'dead', path: '/dead', backends: ['127.0.0.1:1'] },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await Promise.all([chat.close(), feed.close(), new Promise((resolve) => web.close(resolve))]);
  });

  test('every counter and histogram count is exact', { timeout: 30_000 }, async () => {
    const url = `ws://${gw.host}`;
    const pings = new Map<string, number>();
    const counted = (name: string, ws: WebSocket): WebSocket => {
      pings.set(name, 0);
      ws.on('ping', () => pings.set(name, (pings.get(name) ?? 0) + 1));
      return ws;
    };
    // chat: three tunnels, closed by the client with 1000, with 4001, and lost without a Close.
    const a = counted('a', (await openClient(`${url}/chat/a?token=1`)).ws);
    for (let i = 0; i < 3; i++) await send(a, 'x'.repeat(100));
    a.close(1000);
    await closed(a);
    const b = counted('b', (await openClient(`${url}/chat/b`)).ws);
    for (let i = 0; i < 2; i++) await send(b, Buffer.alloc(1000, 7));
    b.close(4001);
    await closed(b);
    // e stays quiet long enough to be pinged (and answers: ws answers pings), then is cut off.
    const e = counted('e', (await openClient(`${url}/chat/e`)).ws);
    await eventually(() => (pings.get('e') ?? 0) >= 1, 3000);
    e.terminate();
    // feed: one closed by the backend with 1011, one left idle without answering pings: the gateway closes it (1001).
    const c = counted('c', (await openClient(`${url}/feed/c`)).ws);
    await send(c, 'hello');
    const closedByBackend = closed(c);
    for (const socket of feed.wss.clients) socket.close(1011);
    assert.equal((await closedByBackend).code, 1011);
    const d = (await openClient(`${url}/feed/d`, undefined, { autoPong: false })).ws;
    assert.equal((await closed(d)).code, 1001);

    // Rejections before routing, and one after (no backend reachable).
    assert.equal((await expectRefusal(`${url}/nowhere`)).status, 404);
    assert.equal((await expectRefusal(`${url}/dead/x`)).status, 502);
    const badVersion = await rawRequest(gw.port, `GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n\r\n`);
    assert.equal(badVersion.status, 426);
    // Plain HTTP of every status class.
    for (const [path, status] of [['/web/ok', 200], ['/web/moved', 302], ['/web/missing', 404], ['/web/boom', 500], ['/nowhere', 404], ['/dead/x', 502]] as const) {
      assert.equal((await get(gw.port, path)).status, status, path);
    }
    // A head too large for the parser: refused before HTTP.
    const huge = await rawRequest(gw.port, `GET /web/ok HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.equal(huge.status, 431);
    gw.gateway.reload(validateConfig({ ...gw.gateway.config, listen: '127.0.0.1:0', admin: undefined }));

    assert.ok(await eventually(() => gw.gateway.activeTunnels === 0));
    const closes = gw.logs.filter((line) => line.msg === 'tunnel closed');
    assert.equal(closes.length, 5);
    const m = await scrape(gw);
    const chatId = gw.gateway.backends().find((r) => r.route === 'chat')?.backends[0]?.id as string;
    const feedId = gw.gateway.backends().find((r) => r.route === 'feed')?.backends[0]?.id as string;

    assert.equal(figure(m, 'wsgate_tunnels_opened_total', { route: 'chat', backend: chatId }), 3);
    assert.equal(figure(m, 'wsgate_tunnels_opened_total', { route: 'feed', backend: feedId }), 2);
    assert.equal(figure(m, 'wsgate_tunnels_active'), 0);
    assert.equal(figure(m, 'wsgate_handshake_duration_seconds', { route: 'chat' }), 3);
    assert.equal(figure(m, 'wsgate_handshake_duration_seconds', { route: 'feed' }), 2);
    assert.equal(figure(m, 'wsgate_backend_connect_duration_seconds', { backend: chatId }), 3);
    assert.equal(figure(m, 'wsgate_backend_connect_duration_seconds', { backend: feedId }), 2);
    assert.equal(figure(m, 'wsgate_tunnel_duration_seconds', { route: 'chat' }), 3);
    assert.equal(figure(m, 'wsgate_tunnel_duration_seconds', { route: 'feed' }), 2);
    assert.equal(figure(m, 'wsgate_close_total', { route: 'chat', initiator: 'client', code: '1000' }), 1);
    assert.equal(figure(m, 'wsgate_close_total', { route: 'chat', initiator: 'client', code: '4000-4999' }), 1);
    assert.equal(figure(m, 'wsgate_close_total', { route: 'chat', initiator: 'client', code: 'abnormal' }), 1);
    assert.equal(figure(m, 'wsgate_close_total', { route: 'feed', initiator: 'backend', code: '1011' }), 1);
    assert.equal(figure(m, 'wsgate_close_total', { route: 'feed', initiator: 'gateway', code: '1001' }), 1);
    assert.equal(figure(m, 'wsgate_close_total'), 5);
    // Whole messages: 3 + 2 on chat and 1 on feed each way (echoes); Close and Ping/Pong frames are not messages.
    assert.equal(figure(m, 'wsgate_messages_total', { route: 'chat', direction: 'client_to_backend' }), 5);
    assert.equal(figure(m, 'wsgate_messages_total', { route: 'chat', direction: 'backend_to_client' }), 5);
    assert.equal(figure(m, 'wsgate_messages_total', { route: 'feed', direction: 'client_to_backend' }), 1);
    assert.equal(figure(m, 'wsgate_messages_total', { route: 'feed', direction: 'backend_to_client' }), 1);
    // Bytes: what the tunnels' own log lines counted, to the byte.
    for (const route of ['chat', 'feed']) {
      const lines = closes.filter((line) => line.route === route);
      const sum = (key: string): number => lines.reduce((total, line) => total + (line[key] as number), 0);
      assert.equal(figure(m, 'wsgate_bytes_total', { route, direction: 'client_to_backend' }), sum('bytesFromClient'));
      assert.equal(figure(m, 'wsgate_bytes_total', { route, direction: 'backend_to_client' }), sum('bytesFromBackend'));
      assert.ok(sum('bytesFromClient') > 0);
    }
    // Round trips: one per Ping a ws client answered (d answers none).
    assert.equal(figure(m, 'wsgate_client_rtt_seconds', { route: 'chat' }), (pings.get('a') ?? 0) + (pings.get('b') ?? 0) + (pings.get('e') ?? 0));
    assert.equal(figure(m, 'wsgate_client_rtt_seconds', { route: 'feed' }), pings.get('c') ?? 0);
    assert.ok(figure(m, 'wsgate_client_rtt_seconds') >= 1);
    assert.equal(figure(m, 'wsgate_upgrades_rejected_total', { route: 'none', code: 'ERR_ROUTE_NOT_FOUND' }), 1);
    assert.equal(figure(m, 'wsgate_upgrades_rejected_total', { route: 'none', code: 'ERR_HANDSHAKE_WS_VERSION' }), 1);
    assert.equal(figure(m, 'wsgate_upgrades_rejected_total', { route: 'dead', code: 'ERR_UPSTREAM_UNAVAILABLE' }), 1);
    assert.equal(figure(m, 'wsgate_upgrades_rejected_total'), 3);
    for (const [status_class, count] of [['2xx', 1], ['3xx', 1], ['4xx', 1], ['5xx', 1]] as const) {
      assert.equal(figure(m, 'wsgate_http_requests_total', { route: 'web', status_class }), count, status_class);
    }
    assert.equal(figure(m, 'wsgate_http_requests_total', { route: 'none', status_class: '4xx' }), 1);
    assert.equal(figure(m, 'wsgate_http_requests_total', { route: 'dead', status_class: '5xx' }), 1);
    assert.equal(figure(m, 'wsgate_http_request_duration_seconds', { route: 'web' }), 4);
    assert.equal(figure(m, 'wsgate_connections_refused_total', { reason: 'header-too-large' }), 1);
    assert.equal(figure(m, 'wsgate_config_reloads_total', { result: 'ok' }), 1);
    assert.equal(figure(m, 'wsgate_backend_up', { route: 'chat', backend: chatId }), 1);
    assert.equal(figure(m, 'wsgate_backend_weight', { route: 'chat', backend: chatId }), 1);
    assert.equal(figure(m, 'wsgate_backend_draining', { route: 'chat', backend: chatId }), 0);
    assert.equal(figure(m, 'wsgate_draining'), 0);
    assert.equal(figure(m, 'wsgate_build_info', { node: process.version }), 1);
    assert.ok(m.types.has('nodejs_eventloop_lag_seconds'), "prom-client's default metrics are there");
  });

  test('series stay bounded: 1,000 distinct paths and client addresses add none', { timeout: 30_000 }, async () => {
    const seriesCount = async (): Promise<number> => (await scrape(gw)).samples.filter((sample) => sample.name.startsWith('wsgate_')).length;
    const traffic = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) {
        // Distinct paths on a route and off any route; distinct (forged, so untrusted and ignored) forwarding addresses.
        const path = i % 2 === 0 ? `/web/ok/${i}` : `/unrouted/${i}`;
        await get(gw.port, path, { 'x-forwarded-for': `10.${i >> 8}.${i & 255}.1` });
      }
      const tunnels = await Promise.all(Array.from({ length: 10 }, (_, i) => openClient(`ws://${gw.host}/chat/${from}-${i}?q=${i}`)));
      for (const { ws } of tunnels) ws.close(1000);
      await Promise.all(tunnels.map(({ ws }) => closed(ws)));
    };
    await traffic(0, 20);
    await eventually(() => gw.gateway.activeTunnels === 0);
    const before = await seriesCount();
    await traffic(20, 1020);
    await eventually(() => gw.gateway.activeTunnels === 0);
    assert.equal(await seriesCount(), before);
    const text = (await get(gw.gateway.adminAddress()?.port ?? 0, '/metrics')).body;
    assert.doesNotMatch(text, /unrouted|10\.\d+\.\d+\.1|\/web\/ok\//, 'no path or client address in any label');
  });
});
