import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { closed, openClient } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';
import { validateConfig } from '../../src/index.js';
import { startRecordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';

// Issue 5: TCP keep-alive on both sockets of a tunnel, with an initial delay
// well under an NLB's 350 s (Node's setKeepAlive(true, 0) would leave Linux's
// 7200 s). The gateway runs in this process, so the kernel's own view of its
// sockets is in /proc/self/net/tcp: the "tr" column is 2 while a keep-alive
// timer is armed, and "tm->when" is the time left, in 1/100 s (USER_HZ).

let backend: RecordingBackend;
before(async () => {
  backend = await startRecordingBackend();
});
after(async () => backend.close());

interface TcpTimer {
  /** 0: none, 1: retransmit, 2: keep-alive, 4: zero-window probe. */
  readonly kind: number;
  readonly seconds: number;
}

/** The timer of the established IPv4 socket with this local port (and remote port, if given), from the kernel's table. */
function timerOf(localPort: number, remotePort?: number): TcpTimer | undefined {
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/self/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const established = fields[3] === '01';
    if (established && fields[1]?.endsWith(`:${hex(localPort)}`) && (remotePort === undefined || fields[2]?.endsWith(`:${hex(remotePort)}`))) {
      const [kind, when] = (fields[5] ?? '0:0').split(':');
      return { kind: Number.parseInt(kind ?? '0', 16), seconds: Number.parseInt(when ?? '0', 16) / 100 };
    }
  }
  return undefined;
}

/** Opens one tunnel through a new gateway and reads the keep-alive timers of the gateway's two sockets. */
async function tunnelTimers(tcpKeepAlive?: string | number): Promise<{ client: TcpTimer | undefined; upstream: TcpTimer | undefined }> {
  const gw = await startGateway({ routes: [{ path: '/', backends: [backend.address] }], ...(tcpKeepAlive === undefined ? {} : { tunnels: { tcpKeepAlive } }) });
  const upstreamPort = new Promise<number>((resolve) => backend.wss.once('connection', (_ws, req) => resolve(req.socket.remotePort ?? 0)));
  const { ws } = await openClient(`ws://${gw.host}/`);
  // The gateway's side of each connection: accepted from the (only) client, and dialled to the backend.
  const timers = { client: timerOf(gw.port), upstream: timerOf(await upstreamPort, backend.port) };
  ws.close();
  await closed(ws);
  await gw.close();
  return timers;
}

test('both sockets of a tunnel get TCP keep-alive after 30 s by default', async () => {
  const { client, upstream } = await tunnelTimers();
  for (const timer of [client, upstream]) {
    assert.equal(timer?.kind, 2, 'a keep-alive timer is armed');
    assert.ok((timer?.seconds ?? 0) > 28 && (timer?.seconds ?? 0) <= 30, `first probe in ${timer?.seconds} s`);
  }
});

test('--tcp-keepalive sets the delay, and 0 turns keep-alive off', async () => {
  const custom = await tunnelTimers('2m');
  assert.ok((custom.client?.seconds ?? 0) > 118 && (custom.upstream?.seconds ?? 0) > 118);
  const off = await tunnelTimers(0);
  assert.equal(off.client?.kind, 0, 'no timer on the client side');
  assert.equal(off.upstream?.kind, 0, 'no timer on the backend side');
});

test('a reload that changes --tcp-keepalive applies to the next tunnel on both sides', async () => {
  const gw = await startGateway({ routes: [{ path: '/', backends: [backend.address] }] });
  gw.gateway.reload(validateConfig({ listen: gw.host, routes: [{ path: '/', backends: [backend.address] }], tunnels: { tcpKeepAlive: '2m' } }));
  const upstreamPort = new Promise<number>((resolve) => backend.wss.once('connection', (_ws, req) => resolve(req.socket.remotePort ?? 0)));
  const { ws } = await openClient(`ws://${gw.host}/`);
  const client = timerOf(gw.port);
  const upstream = timerOf(await upstreamPort, backend.port);
  assert.ok((client?.seconds ?? 0) > 118, `client side first probe in ${client?.seconds} s`);
  assert.ok((upstream?.seconds ?? 0) > 118, `backend side first probe in ${upstream?.seconds} s`);
  ws.close();
  await closed(ws);
  await gw.close();
});
