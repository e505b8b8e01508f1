/**
 * Issue 4: each balancing strategy keeps its promise with real sockets:
 * weighted round-robin spreads by weight, least-conn follows load, random
 * (power of two choices) spreads evenly, and hash keeps a key on one backend
 * and moves only about 1/N of the keys when one of N backends is added or
 * removed (rendezvous hashing), identically in every gateway process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type WebSocket from 'ws';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, openClient } from '../helpers/clients.js';
import { eventually, startGateway, type RunningGateway } from '../helpers/gateway.js';

type RouteInput = Parameters<typeof startGateway>[0]['routes'][number];

async function withGateway<T>(route: RouteInput, use: (gw: RunningGateway) => Promise<T>): Promise<T> {
  const gw = await startGateway({ logLevel: 'warn', routes: [route] });
  try {
    return await use(gw);
  } finally {
    await gw.close();
  }
}

async function openMany(gw: RunningGateway, count: number): Promise<Array<{ ws: WebSocket; backendId: string }>> {
  const clients = [];
  for (let i = 0; i < count; i++) {
    const client = await openClient(`ws://${gw.host}/`);
    clients.push({ ws: client.ws, backendId: client.backendId ?? 'none' });
  }
  return clients;
}

function countBy(ids: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of ids) counts[id] = (counts[id] ?? 0) + 1;
  return counts;
}

async function closeAll(clients: ReadonlyArray<{ ws: WebSocket }>): Promise<void> {
  await Promise.all(clients.map(({ ws }) => (ws.close(), closed(ws))));
}

describe('balancing strategies', () => {
  let backends: EchoBackend[];
  const address = (i: number): string => backends[i]?.address ?? '';
  const withId = (i: number): string => `${backends[i]?.id}@${address(i)}`;

  before(async () => {
    backends = await Promise.all(['b1', 'b2', 'b3', 'b4', 'b5'].map((id) => startEchoBackend({ id })));
  });
  after(async () => {
    await Promise.all(backends.map((backend) => backend.close()));
  });

  test('round-robin is smooth and weighted: weights 3:1 give b2 once in every 4 consecutive picks', async () => {
    await withGateway({ path: '/', backends: [`${withId(0)}*3`, withId(1)], balance: 'round-robin' }, async (gw) => {
      const clients = await openMany(gw, 40);
      const order = clients.map((client) => client.backendId);
      assert.deepEqual(countBy(order), { b1: 30, b2: 10 });
      // Smooth: no burst of b1 longer than its weight allows, unlike plain weighted rotation (b1,b1,b1,b2).
      for (let i = 0; i + 4 <= order.length; i++) assert.equal(order.slice(i, i + 4).filter((id) => id === 'b2').length, 1, order.join(','));
      await closeAll(clients);
    });
  });

  test('least-conn follows load: new tunnels go where fewest are open', async () => {
    await withGateway({ path: '/', backends: [withId(0), withId(1), withId(2)], balance: 'least-conn' }, async (gw) => {
      const first = await openMany(gw, 6);
      assert.deepEqual(countBy(first.map((c) => c.backendId)), { b1: 2, b2: 2, b3: 2 });
      // b2 loses both of its tunnels: the next two connections both go to b2.
      const onB2 = first.filter((c) => c.backendId === 'b2');
      await closeAll(onB2);
      assert.ok(await eventually(() => gw.gateway.activeTunnels === 4));
      const next = await openMany(gw, 2);
      assert.deepEqual(next.map((c) => c.backendId), ['b2', 'b2']);
      // Equal load again (2, 2, 2): the next three spread one each.
      const rest = await openMany(gw, 3);
      assert.deepEqual(countBy(rest.map((c) => c.backendId)), { b1: 1, b2: 1, b3: 1 });
      await closeAll([...first.filter((c) => c.backendId !== 'b2'), ...next, ...rest]);
    });
  });

  test('random (power of two choices) spreads held tunnels evenly', async () => {
    await withGateway({ path: '/', backends: [withId(0), withId(1), withId(2)], balance: 'random' }, async (gw) => {
      const clients = await openMany(gw, 60);
      const counts = countBy(clients.map((c) => c.backendId));
      for (const id of ['b1', 'b2', 'b3']) assert.ok((counts[id] ?? 0) >= 17 && (counts[id] ?? 0) <= 23, JSON.stringify(counts));
      await closeAll(clients);
    });
  });

  describe('hash (rendezvous) on a cookie', () => {
    const KEYS = Array.from({ length: 1000 }, (_, i) => `user-${i}`);

    async function mapping(backendIndexes: readonly number[]): Promise<Map<string, string>> {
      return withGateway({ path: '/', backends: backendIndexes.map(withId), hashOn: { cookie: 'user' } }, async (gw) => {
        const result = new Map<string, string>();
        for (const key of KEYS) {
          const response = await fetch(`http://${gw.host}/who`, { headers: { cookie: `user=${key}` } });
          await response.arrayBuffer();
          result.set(key, response.headers.get('x-backend-id') ?? 'none');
        }
        return result;
      });
    }

    function moved(before: Map<string, string>, afterwards: Map<string, string>): string[] {
      return KEYS.filter((key) => before.get(key) !== afterwards.get(key));
    }

    test('a key stays on one backend, the same in every gateway process; one of N added or removed moves about 1/N', async (t) => {
      const four = await mapping([0, 1, 2, 3]);
      // Another gateway with the same list (a replica, or this one restarted) maps every key the same way.
      const replica = await mapping([0, 1, 2, 3]);
      assert.deepEqual(moved(four, replica), []);
      const spread = countBy([...four.values()]);
      for (const id of ['b1', 'b2', 'b3', 'b4']) assert.ok((spread[id] ?? 0) > 180 && (spread[id] ?? 0) < 320, JSON.stringify(spread));

      // Adding a fifth backend: about 1/5 of the keys move, all of them to the new one.
      const five = await mapping([0, 1, 2, 3, 4]);
      const toFifth = moved(four, five);
      const addedFraction = toFifth.length / KEYS.length;
      assert.ok(toFifth.every((key) => five.get(key) === 'b5'), 'only keys that the new backend wins move');
      assert.ok(addedFraction > 0.15 && addedFraction < 0.25, `moved ${addedFraction} on adding 1 to 4`);

      // Removing one of four: only the keys it held move (about 1/4), spread over the others.
      const three = await mapping([0, 1, 2]);
      const fromFourth = moved(four, three);
      const removedFraction = fromFourth.length / KEYS.length;
      assert.deepEqual(fromFourth, KEYS.filter((key) => four.get(key) === 'b4'));
      assert.ok(removedFraction > 0.2 && removedFraction < 0.3, `moved ${removedFraction} on removing 1 of 4`);
      assert.equal(new Set(fromFourth.map((key) => three.get(key))).size, 3, 'the removed backend\'s keys spread over the rest');
      t.diagnostic(`keys moved: ${(addedFraction * 100).toFixed(1)}% on adding a 5th backend (ideal 20%), ${(removedFraction * 100).toFixed(1)}% on removing 1 of 4 (ideal 25%)`);
    });

    test('hash on a header and on a query parameter; without the key, on the client address', async () => {
      for (const hashOn of [{ header: 'x-user' }, { query: 'user' }] as const) {
        await withGateway({ path: '/', backends: [withId(0), withId(1), withId(2)], hashOn }, async (gw) => {
          const seen = new Map<string, Set<string>>();
          for (let round = 0; round < 3; round++) {
            for (let k = 0; k < 30; k++) {
              const url = 'query' in hashOn ? `http://${gw.host}/x?user=k${k}` : `http://${gw.host}/x`;
              const response = await fetch(url, { headers: 'header' in hashOn ? { 'x-user': `k${k}` } : {} });
              await response.arrayBuffer();
              const ids = seen.get(`k${k}`) ?? new Set<string>();
              ids.add(response.headers.get('x-backend-id') ?? 'none');
              seen.set(`k${k}`, ids);
            }
          }
          assert.ok([...seen.values()].every((ids) => ids.size === 1), JSON.stringify(hashOn));
          assert.equal(new Set([...seen.values()].flatMap((ids) => [...ids])).size, 3, 'keys spread over all backends');
        });
      }
      await withGateway({ path: '/', backends: [withId(0), withId(1), withId(2)], balance: 'hash' }, async (gw) => {
        const ids = new Set<string>();
        for (let i = 0; i < 10; i++) ids.add((await openClient(`ws://${gw.host}/`).then(async ({ ws, backendId }) => (ws.close(), await closed(ws), backendId))) ?? '');
        assert.equal(ids.size, 1, 'one client address, one backend');
      });
    });
  });
});
