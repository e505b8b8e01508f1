/**
 * Issue 12: at debug level every tunnel's routing decision is logged: which
 * route, which backend and why (strategy, hash key, sticky cookie, session id,
 * retry), never the value of a cookie or header.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, openClient } from '../helpers/clients.js';
import { eventually, startGateway, type RunningGateway } from '../helpers/gateway.js';

let backends: EchoBackend[];
let gw: RunningGateway;

before(async () => {
  backends = await Promise.all([startEchoBackend({ id: 'a' }), startEchoBackend({ id: 'b' })]);
  const addresses = backends.map((b) => b.address);
  gw = await startGateway({
    routes: [
      { path: '/rr', backends: addresses },
      { path: '/hash', backends: addresses, balance: 'hash', hashOn: { cookie: 'user' } },
      { path: '/sticky', backends: addresses, stickyCookie: 'WSGATE' },
      { path: '/session', backends: addresses, sessionAffinity: { param: 'sid', separator: '.' } },
      // The first backend refuses connections: the second is a retry.
      { path: '/retry', backends: ['127.0.0.1:1', backends[1]?.address as string] },
    ],
  });
});

after(async () => {
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

async function decision(path: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const { ws } = await openClient(`ws://${gw.host}${path}`, undefined, { headers });
  ws.close();
  await closed(ws);
  assert.ok(await eventually(() => gw.logs.some((l) => l.msg === 'tunnel opened' && l.path === path.split('?')[0])));
  return gw.logs.find((l) => l.msg === 'tunnel opened' && l.path === path.split('?')[0]) as Record<string, unknown>;
}

test('the debug line names the route, the backend and why that backend', async () => {
  const rr = await decision('/rr/1');
  assert.deepEqual([rr.route, rr.choice, rr.level], ['/rr', 'round-robin', 20]);
  const hash = await decision('/hash/1', { Cookie: 'user=secret-user-value' });
  assert.equal(hash.choice, 'hash on cookie user');
  assert.doesNotMatch(JSON.stringify(hash), /secret-user-value/);
  const id = backends[1]?.id === 'b' ? (gw.gateway.backends().find((r) => r.route === '/sticky')?.backends[1]?.id as string) : '';
  const sticky = await decision('/sticky/1', { Cookie: `WSGATE=${id}` });
  assert.deepEqual([sticky.choice, sticky.backendId], ['sticky cookie', id]);
  const sessionBackend = gw.gateway.backends().find((r) => r.route === '/session')?.backends[0]?.id as string;
  const session = await decision(`/session/1?sid=${sessionBackend}.abc`);
  assert.deepEqual([session.choice, session.backendId], ['session id', sessionBackend]);
  const retry = await decision('/retry/1');
  assert.equal(retry.choice, 'retry');
});
