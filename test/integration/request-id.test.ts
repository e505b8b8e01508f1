/**
 * Issue 12: X-Request-Id end to end. A trusted proxy's id is kept, anyone
 * else's replaced by one of ours; the backend gets it, the log lines about
 * the request carry it, and wsgate's own error responses name it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, expectRefusal, openClient } from '../helpers/clients.js';
import { eventually, startGateway, type RunningGateway } from '../helpers/gateway.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function nextUpgradeRequestId(backend: EchoBackend): Promise<string | undefined> {
  return new Promise((resolve) => backend.wss.once('connection', (_socket, req) => resolve(req.headers['x-request-id'] as string | undefined)));
}

async function tunnelWith(gw: RunningGateway, backend: EchoBackend, path: string, headers: Record<string, string>): Promise<{ seen: string | undefined; logged: unknown }> {
  const seen = nextUpgradeRequestId(backend);
  const { ws } = await openClient(`ws://${gw.host}${path}`, undefined, { headers });
  const id = await seen;
  ws.close(1000);
  await closed(ws);
  assert.ok(await eventually(() => gw.logs.some((l) => l.msg === 'tunnel closed' && l.path === path)));
  return { seen: id, logged: gw.logs.find((l) => l.msg === 'tunnel closed' && l.path === path)?.requestId };
}

describe('X-Request-Id', () => {
  let backend: EchoBackend;
  let untrusted: RunningGateway;
  let behindProxy: RunningGateway;

  before(async () => {
    backend = await startEchoBackend({ id: 'echo' });
    const routes = [{ path: '/app', backends: [backend.address] }];
    untrusted = await startGateway({ routes });
    behindProxy = await startGateway({ routes, trustedProxies: ['127.0.0.1/32'] });
  });

  after(async () => {
    await Promise.all([untrusted.close(), behindProxy.close()]);
    await backend.close();
  });

  test('from an untrusted peer a client-sent id is replaced; the backend and the tunnel line get ours', async () => {
    const { seen, logged } = await tunnelWith(untrusted, backend, '/app/untrusted', { 'X-Request-Id': 'forged-by-client' });
    assert.match(seen ?? '', UUID);
    assert.equal(logged, seen);
    const again = await tunnelWith(untrusted, backend, '/app/untrusted-2', {});
    assert.match(again.seen ?? '', UUID);
    assert.notEqual(again.seen, seen, 'a new id per request');
  });

  test('from a trusted proxy its id is kept, unless it is not printable ASCII of sane length', async () => {
    const kept = await tunnelWith(behindProxy, backend, '/app/kept', { 'X-Request-Id': 'lb-7f3a-0001' });
    assert.deepEqual([kept.seen, kept.logged], ['lb-7f3a-0001', 'lb-7f3a-0001']);
    const tooLong = await tunnelWith(behindProxy, backend, '/app/long', { 'X-Request-Id': 'x'.repeat(201) });
    assert.match(tooLong.seen ?? '', UUID);
  });

  test('plain requests: the backend gets it, the access-log line carries it', async () => {
    const response = await fetch(`http://${behindProxy.host}/app/plain?x=1`, { headers: { 'x-request-id': 'lb-plain-42' } });
    const body = (await response.json()) as { headers: Record<string, string> };
    assert.equal(body.headers['x-request-id'], 'lb-plain-42');
    assert.ok(await eventually(() => behindProxy.logs.some((l) => l.msg === 'http request' && l.requestId === 'lb-plain-42')));
    const line = behindProxy.logs.find((l) => l.msg === 'http request' && l.requestId === 'lb-plain-42');
    assert.equal(line?.path, '/app/plain');
    assert.equal(line?.status, 200);
    assert.equal(line?.method, 'GET');
    assert.equal(line?.route, '/app');
    assert.equal(typeof line?.backend, 'string');
    assert.ok(typeof line?.durationMs === 'number' && typeof line.bytesOut === 'number' && line.bytesOut > 0);
  });

  test("wsgate's own refusals name the id, and the log line about them too", async () => {
    const upgrade = await expectRefusal(`ws://${untrusted.host}/nowhere`);
    assert.equal(upgrade.status, 404);
    const id = upgrade.headers['x-request-id'];
    assert.match(String(id), UUID);
    assert.ok(await eventually(() => untrusted.logs.some((l) => l.msg === 'handshake rejected' && l.requestId === id)));
    const plain = await fetch(`http://${untrusted.host}/nowhere`);
    assert.equal(plain.status, 404);
    await plain.text();
    const plainId = plain.headers.get('x-request-id');
    assert.match(plainId ?? '', UUID);
    assert.ok(await eventually(() => untrusted.logs.some((l) => l.msg === 'http request' && l.requestId === plainId && l.code === 'ERR_ROUTE_NOT_FOUND')));
  });
});
