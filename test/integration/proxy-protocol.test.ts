import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { startTcpBalancer, type TcpBalancer } from '../../fixtures/tcp-balancer.js';
import { decodeProxyHeader } from '../../src/listener/proxy-protocol/decode.js';
import { encodeProxyHeaderV2 } from '../../src/listener/proxy-protocol/encode.js';
import type { ProxyProtocolHeader } from '../../src/listener/proxy-protocol/types.js';
import { closed, handshakeRequest, openClient, rawExchange } from '../helpers/clients.js';
import { eventually, startGateway, type RunningGateway } from '../helpers/gateway.js';

/** Waits for the next WebSocket connection on the backend and returns the headers it saw. */
function nextUpgradeHeaders(backend: EchoBackend): Promise<Record<string, string | string[] | undefined>> {
  return new Promise((resolve) => backend.wss.once('connection', (_socket, req) => resolve(req.headers)));
}

describe('PROXY protocol in, behind a TCP balancer', () => {
  let backend: EchoBackend;
  let gw: RunningGateway;
  const balancers: TcpBalancer[] = [];

  before(async () => {
    backend = await startEchoBackend({ id: 'echo' });
    gw = await startGateway({
      acceptProxyProtocol: true,
      trustedProxies: ['127.0.0.1/32'],
      routes: [
        { path: '/', backends: [backend.address] },
        { path: '/private', backends: [backend.address], allowedVpceIds: ['vpce-0abc123'] },
      ],
    });
  });

  after(async () => {
    await Promise.all(balancers.map((b) => b.close()));
    await gw.close();
    await backend.close();
  });

  for (const version of ['v1', 'v2'] as const) {
    test(`${version}: the backend sees the original client address in X-Forwarded-For and Forwarded`, async () => {
      const balancer = await startTcpBalancer({
        targetPort: gw.port,
        proxyProtocol: version,
        clientAddress: { address: '198.51.100.22', port: 35646 },
      });
      balancers.push(balancer);
      const seen = nextUpgradeHeaders(backend);
      const { ws } = await openClient(`ws://127.0.0.1:${balancer.port}/room`, undefined, { headers: { 'X-Forwarded-For': '6.6.6.6' } });
      const headers = await seen;
      // The client itself is not trusted, so its X-Forwarded-For is replaced.
      assert.equal(headers['x-forwarded-for'], '198.51.100.22');
      assert.equal(headers.forwarded, `for=198.51.100.22;proto=http;host="127.0.0.1:${balancer.port}"`);
      const reply = new Promise((resolve) => ws.once('message', (data) => resolve(data.toString())));
      ws.send('through the balancer');
      assert.equal(await reply, 'through the balancer');
      ws.close();
      await closed(ws);
      assert.ok(await eventually(() => gw.logs.some((l) => l.msg === 'tunnel closed' && l.client === '198.51.100.22')));
    });
  }

  test('IPv6 client addresses pass through v2', async () => {
    const balancer = await startTcpBalancer({ targetPort: gw.port, proxyProtocol: 'v2', clientAddress: { address: '2001:db8::7', port: 4000 } });
    balancers.push(balancer);
    const seen = nextUpgradeHeaders(backend);
    const { ws } = await openClient(`ws://127.0.0.1:${balancer.port}/v6`);
    const headers = await seen;
    assert.equal(headers['x-forwarded-for'], '2001:db8::7');
    assert.match(String(headers.forwarded), /^for="\[2001:db8::7\]";proto=http/);
    ws.close();
    await closed(ws);
  });

  test('an NLB health check (v2 LOCAL, no addresses) is served with the connection\'s own address', async () => {
    const local = encodeProxyHeaderV2({ command: 'local' });
    const response = await rawExchange(gw.port, Buffer.concat([local, Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]));
    assert.match(response, /^HTTP\/1\.1 200 /);
    assert.match(response, /"x-forwarded-for":"127\.0\.0\.1"/);
  });

  test('only the first PROXY header is believed', async () => {
    const first = encodeProxyHeaderV2({ command: 'proxy', family: 'tcp4', source: { address: '203.0.113.1', port: 1 }, destination: { address: '127.0.0.1', port: 2 } });
    const second = Buffer.from('PROXY TCP4 6.6.6.6 127.0.0.1 1 2\r\n');
    const response = await rawExchange(gw.port, Buffer.concat([first, second, Buffer.from(handshakeRequest('/'))]));
    // The second header is not HTTP: the HTTP server refuses it, and 6.6.6.6 is never believed.
    assert.match(response, /^HTTP\/1\.1 400 /);
  });

  test('a connection without a PROXY header is closed with a log line saying why', async () => {
    const response = await rawExchange(gw.port, handshakeRequest('/'));
    assert.equal(response, '');
    assert.ok(await eventually(() => gw.logs.some((l) => l.msg.startsWith('connection without a PROXY header'))));
  });

  test('a malformed header is closed and logged; a TCP health check (no bytes) logs no warning', async () => {
    assert.equal(await rawExchange(gw.port, 'PROXY TCP4 1.2.3.4 nonsense\r\n'), '');
    assert.ok(await eventually(() => gw.logs.some((l) => l.msg === 'invalid PROXY header')));
    const warningsBefore = gw.logs.filter((l) => l.level >= 40).length;
    await new Promise<void>((resolve) => {
      const socket = connect(gw.port, '127.0.0.1', () => socket.end());
      socket.on('close', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(gw.logs.filter((l) => l.level >= 40).length, warningsBefore);
    assert.ok(gw.logs.some((l) => l.msg === 'connection closed before any byte (TCP health check)'));
  });

  test('a header that arrives too slowly times out', async () => {
    const started = Date.now();
    const response = await new Promise<string>((resolve) => {
      const socket = connect(gw.port, '127.0.0.1', () => socket.write('PROXY TCP4 1.2.3.4'));
      socket.on('error', () => {});
      socket.on('close', () => resolve(''));
    });
    assert.equal(response, '');
    // Default PROXY timeout is 5 s; the test gateway keeps the default.
    assert.ok(Date.now() - started >= 4500, `closed after ${Date.now() - started} ms`);
    assert.ok(gw.logs.some((l) => l.msg === 'invalid PROXY header' && l.code === 'timeout'));
  });

  test('a route restricted to a VPC endpoint accepts only connections naming it (TLV 0xEA)', async () => {
    const allowed = await startTcpBalancer({ targetPort: gw.port, proxyProtocol: 'v2', vpceId: 'vpce-0abc123' });
    const other = await startTcpBalancer({ targetPort: gw.port, proxyProtocol: 'v2', vpceId: 'vpce-0ffff' });
    balancers.push(allowed, other);
    const { ws } = await openClient(`ws://127.0.0.1:${allowed.port}/private`);
    ws.close();
    await closed(ws);
    assert.match(await rawExchange(other.port, handshakeRequest('/private')), /^HTTP\/1\.1 403 /);
    const v1 = await startTcpBalancer({ targetPort: gw.port, proxyProtocol: 'v1' });
    balancers.push(v1);
    assert.match(await rawExchange(v1.port, handshakeRequest('/private')), /^HTTP\/1\.1 403 /);
  });

  test('the VPC endpoint gate holds for plain HTTP requests too, not only for upgrades', async () => {
    const allowed = await startTcpBalancer({ targetPort: gw.port, proxyProtocol: 'v2', vpceId: 'vpce-0abc123' });
    const other = await startTcpBalancer({ targetPort: gw.port, proxyProtocol: 'v2', vpceId: 'vpce-0ffff' });
    balancers.push(allowed, other);
    const plain = 'GET /private/status HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n';
    const refused = await rawExchange(other.port, plain);
    assert.match(refused, /^HTTP\/1\.1 403 /);
    assert.match(refused, /\r\nx-wsgate-error: ERR_ROUTE_FORBIDDEN\r\n/i);
    // Through the allowed endpoint the request reaches the backend, whatever it answers.
    const passed = await rawExchange(allowed.port, plain);
    assert.match(passed, /^HTTP\/1\.1 \d{3} /);
    assert.doesNotMatch(passed, /x-wsgate-error/i);
    assert.ok(await eventually(() => gw.logs.some((l) => l.msg === 'http request' && l.code === 'ERR_ROUTE_FORBIDDEN' && l.status === 403)));
  });
});

describe('trust', () => {
  let backend: EchoBackend;

  before(async () => {
    backend = await startEchoBackend({ id: 'echo' });
  });
  after(async () => backend.close());

  test('PROXY headers from untrusted peers are refused', async () => {
    const gw = await startGateway({ acceptProxyProtocol: true, trustedProxies: ['10.0.0.0/8'], routes: [{ path: '/', backends: [backend.address] }] });
    const balancer = await startTcpBalancer({ targetPort: gw.port, proxyProtocol: 'v1', clientAddress: { address: '1.2.3.4', port: 1 } });
    assert.equal(await rawExchange(balancer.port, handshakeRequest('/')), '');
    assert.ok(await eventually(() => gw.logs.some((l) => l.msg.includes('not in --trusted-proxies'))));
    await balancer.close();
    await gw.close();
  });

  test('spoofed X-Forwarded-For from an untrusted peer is replaced; from a trusted one it is extended', async () => {
    const untrusting = await startGateway({ routes: [{ path: '/', backends: [backend.address] }] });
    let seen = nextUpgradeHeaders(backend);
    let client = await openClient(`ws://${untrusting.host}/`, undefined, { headers: { 'X-Forwarded-For': '6.6.6.6', Forwarded: 'for=6.6.6.6', 'X-Real-IP': '6.6.6.6' } });
    let headers = await seen;
    assert.equal(headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(headers.forwarded, `for=127.0.0.1;proto=http;host="${untrusting.host}"`);
    assert.equal(headers['x-real-ip'], undefined);
    client.ws.close();
    await closed(client.ws);
    const plain = (await (await fetch(`http://${untrusting.host}/x`, { headers: { 'x-forwarded-for': '6.6.6.6', 'x-real-ip': '6.6.6.6' } })).json()) as { headers: Record<string, string> };
    assert.equal(plain.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(plain.headers['x-real-ip'], undefined);
    await untrusting.close();

    const trusting = await startGateway({ trustedProxies: ['127.0.0.1'], routes: [{ path: '/', backends: [backend.address] }] });
    seen = nextUpgradeHeaders(backend);
    client = await openClient(`ws://${trusting.host}/`, undefined, { headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https' } });
    headers = await seen;
    assert.equal(headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(headers['x-forwarded-proto'], 'https');
    client.ws.close();
    await closed(client.ws);
    // The real client (rightmost untrusted hop) is what the log shows.
    assert.ok(await eventually(() => trusting.logs.some((l) => l.msg === 'tunnel closed' && l.client === '203.0.113.9')));
    await trusting.close();
  });
});

describe('PROXY protocol out (send-proxy)', () => {
  let rawBackend: Server;
  const decoded: ProxyProtocolHeader[] = [];

  before(async () => {
    // A backend that requires a PROXY header, like a server behind HAProxy's send-proxy.
    rawBackend = createServer((socket: Socket) => {
      socket.on('error', () => {});
      let buffer = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        const result = decodeProxyHeader(buffer);
        if (result.kind === 'need-more') return;
        if (result.kind === 'error') return socket.destroy();
        if (!buffer.includes('\r\n\r\n', result.length)) return;
        decoded.push(result.header);
        socket.removeAllListeners('data');
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        socket.end();
      });
    });
    await new Promise<void>((resolve) => rawBackend.listen(0, '127.0.0.1', resolve));
  });
  after(() => rawBackend.close());

  for (const version of ['v1', 'v2'] as const) {
    test(`${version}: the backend receives a PROXY header with the real client address`, async () => {
      const port = (rawBackend.address() as AddressInfo).port;
      const gw = await startGateway({ routes: [{ path: '/', backends: [`127.0.0.1:${port}`], sendProxyProtocol: version }] });
      const balancer = await startTcpBalancer({ targetPort: gw.port });
      const response = await rawExchange(gw.port, handshakeRequest('/'));
      assert.match(response, /^HTTP\/1\.1 101 /);
      const header = decoded.at(-1);
      assert.equal(header?.version, version === 'v1' ? 1 : 2);
      assert.ok(header?.family === 'tcp4');
      assert.equal(header.source.address, '127.0.0.1');
      assert.equal(header.destination.port, gw.port);
      await balancer.close();
      await gw.close();
    });
  }
});

describe('PROXY protocol out for plain HTTP', () => {
  test('each plain request goes on its own connection that starts with a PROXY header', async () => {
    const received: Array<{ header: ProxyProtocolHeader; request: string }> = [];
    const backend = createServer((socket: Socket) => {
      socket.on('error', () => {});
      let buffer = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        const result = decodeProxyHeader(buffer);
        if (result.kind !== 'done' || !buffer.includes('\r\n\r\n', result.length)) return;
        received.push({ header: result.header, request: buffer.subarray(result.length).toString('latin1') });
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
      });
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const gw = await startGateway({ routes: [{ path: '/', backends: [`127.0.0.1:${(backend.address() as AddressInfo).port}`], sendProxyProtocol: 'v1' }] });
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`http://${gw.host}/plain/${i}`);
      assert.equal(await response.text(), 'ok');
    }
    assert.equal(received.length, 3);
    for (const [i, { header, request }] of received.entries()) {
      assert.ok(header.family === 'tcp4');
      assert.equal(header.source.address, '127.0.0.1');
      assert.match(request, new RegExp(`^GET /plain/${i} HTTP/1\\.1\\r\\n`));
    }
    await gw.close();
    backend.close();
  });
});
