/**
 * Issue 4: the sticky cookie. wsgate sets it on plain responses and on the
 * 101, naming the chosen backend by an opaque id, follows it while that
 * backend is usable, and every gateway process with the same backend list
 * (a replica, or this one restarted) follows it the same way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { runCli } from '../helpers/cli.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { rawGet, rawUpgrade, type RawResponse } from '../helpers/raw-http.js';

function cookieValue(response: RawResponse, name = 'WSGATE'): string | undefined {
  const line = (response.headers['set-cookie'] ?? '').split('\n').find((cookie) => cookie.startsWith(`${name}=`));
  return line?.slice(name.length + 1).split(';')[0];
}

describe('sticky cookie', () => {
  let backends: EchoBackend[];
  let addresses: string[];
  const gateways: RunningGateway[] = [];

  async function gateway(extra: Record<string, unknown> = {}, list = addresses): Promise<RunningGateway> {
    const gw = await startGateway({ logLevel: 'warn', routes: [{ path: '/', backends: list, stickyCookie: 'WSGATE' }], ...extra });
    gateways.push(gw);
    return gw;
  }

  before(async () => {
    backends = await Promise.all(['s1', 's2', 's3'].map((id) => startEchoBackend({ id })));
    addresses = backends.map((backend) => backend.address);
  });
  after(async () => {
    await Promise.all(gateways.map((gw) => gw.close()));
    await Promise.all(backends.map((backend) => backend.close()));
  });

  test('set on the first response with an opaque id, then followed and not set again', async () => {
    const gw = await gateway();
    const first = await rawGet(gw.port, '/a');
    const id = cookieValue(first);
    assert.match(id ?? '', /^b[0-9a-f]{10}$/);
    assert.match(first.headers['set-cookie'] ?? '', /^WSGATE=b[0-9a-f]{10}; Path=\/; HttpOnly; SameSite=Lax$/);
    for (const backend of backends) assert.ok(!(first.headers['set-cookie'] ?? '').includes(String(backend.port)), 'no address or port in the cookie');
    const pinned = first.headers['x-backend-id'];
    for (let i = 0; i < 10; i++) {
      const again = await rawGet(gw.port, `/a/${i}`, { Cookie: `other=1; WSGATE=${id}` });
      assert.equal(again.headers['x-backend-id'], pinned);
      assert.equal(again.headers['set-cookie'], undefined, 'not set again when unchanged');
    }
    // Without the cookie, round-robin moves on.
    const others = new Set<string | undefined>();
    for (let i = 0; i < 3; i++) others.add((await rawGet(gw.port, '/a')).headers['x-backend-id']);
    assert.equal(others.size, 3);
  });

  test('set on the 101 of an upgrade, and followed by upgrades and plain requests alike', async () => {
    const gw = await gateway();
    const upgrade = await rawUpgrade(gw.port, '/ws');
    assert.equal(upgrade.status, 101);
    const id = cookieValue(upgrade);
    assert.ok(id, `Set-Cookie on the 101: ${JSON.stringify(upgrade.headers)}`);
    const pinned = upgrade.headers['x-backend-id'];
    for (let i = 0; i < 4; i++) {
      const ws = await rawUpgrade(gw.port, '/ws', { Cookie: `WSGATE=${id}` });
      assert.equal(ws.headers['x-backend-id'], pinned);
      assert.equal(ws.headers['set-cookie'], undefined);
      assert.equal((await rawGet(gw.port, '/poll', { Cookie: `WSGATE=${id}` })).headers['x-backend-id'], pinned);
    }
  });

  test('any gateway with the same backend list follows it: another instance, a restart, another process', async () => {
    const first = await gateway();
    const response = await rawGet(first.port, '/');
    const id = cookieValue(response);
    const pinned = response.headers['x-backend-id'];
    await first.close();
    // A new instance listing the backends in another order still names them the same way.
    const restarted = await gateway({}, [...addresses].reverse());
    for (let i = 0; i < 3; i++) assert.equal((await rawGet(restarted.port, '/', { Cookie: `WSGATE=${id}` })).headers['x-backend-id'], pinned);
    const cli = runCli(['--listen', '127.0.0.1:0', '--sticky-cookie', 'WSGATE', '--route', `/=${addresses.join(',')}`]);
    try {
      const [, port] = await cli.waitFor(/"port":(\d+)/);
      for (let i = 0; i < 3; i++) assert.equal((await rawGet(Number(port), '/', { Cookie: `WSGATE=${id}` })).headers['x-backend-id'], pinned);
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });

  test('when its backend cannot be reached, another is chosen and the cookie names it', async () => {
    const doomed = await startEchoBackend({ id: 'doomed' });
    const survivor = await startEchoBackend({ id: 'survivor' });
    try {
      const gw = await gateway({}, [doomed.address, survivor.address]);
      let id: string | undefined;
      for (let i = 0; i < 2 && id === undefined; i++) {
        const response = await rawGet(gw.port, '/');
        if (response.headers['x-backend-id'] === 'doomed') id = cookieValue(response);
      }
      assert.ok(id);
      await doomed.close();
      const moved = await rawGet(gw.port, '/', { Cookie: `WSGATE=${id}` });
      assert.equal(moved.headers['x-backend-id'], 'survivor');
      const next = cookieValue(moved);
      assert.ok(next !== undefined && next !== id);
      const upgrade = await rawUpgrade(gw.port, '/', { Cookie: `WSGATE=${id}` });
      assert.equal(upgrade.headers['x-backend-id'], 'survivor');
      assert.equal(cookieValue(upgrade), next);
    } finally {
      await Promise.all([doomed.close(), survivor.close()]);
    }
  });

  test('with backendIdSecret the ids are keyed: same for the same secret, unrelated otherwise; configured ids as written', async () => {
    const secret = 'a-secret-shared-by-every-replica';
    const plain = cookieValue(await rawGet((await gateway()).port, '/'));
    const keyedA = await gateway({ backendIdSecret: secret });
    const keyedB = await gateway({ backendIdSecret: secret });
    const a = await rawGet(keyedA.port, '/');
    const idA = cookieValue(a);
    assert.match(idA ?? '', /^b[0-9a-f]{10}$/);
    assert.equal((await rawGet(keyedB.port, '/', { Cookie: `WSGATE=${idA}` })).headers['x-backend-id'], a.headers['x-backend-id']);
    const ids = new Set<string | undefined>();
    for (let i = 0; i < 3; i++) ids.add(cookieValue(await rawGet(keyedA.port, '/')));
    assert.ok(![...ids].includes(plain), 'keyed ids differ from the unkeyed ones');
    const named = await gateway({}, [`one@${addresses[0]}`]);
    assert.equal(cookieValue(await rawGet(named.port, '/')), 'one');
  });
});
