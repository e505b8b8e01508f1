import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Backend, BalancingStrategy, SelectionContext } from '../../src/upstream/backend.js';
import { createBackend, deriveBackendId } from '../../src/upstream/backend-id.js';
import {
  BALANCE_NAMES,
  HashStrategy,
  LeastConnStrategy,
  RandomStrategy,
  RoundRobinStrategy,
  createStrategy,
  type BalanceName,
} from '../../src/upstream/strategies/index.js';

const context: SelectionContext = { clientAddress: '192.0.2.1' };

/** Backends named by label, e.g. pool('a', 'b') or pool(['a', 5], ['b', 1]). */
function pool(...specs: (string | [string, number])[]): Backend[] {
  return specs.map((spec, index) => {
    const [, weight] = typeof spec === 'string' ? [spec, 1] : spec;
    return createBackend({ host: `10.0.0.${index + 1}`, port: 8080, tls: false }, { weight });
  });
}

/** Label letters for a sequence of picks, e.g. "aabacaa". */
function picks(strategy: BalancingStrategy, candidates: readonly Backend[], count: number, all = candidates): string {
  let letters = '';
  for (let i = 0; i < count; i++) letters += letterOf(all, strategy.select(candidates, context));
  return letters;
}

function letterOf(all: readonly Backend[], backend: Backend | undefined): string {
  assert.ok(backend, 'select returned undefined for a non-empty pool');
  const index = all.indexOf(backend);
  assert.ok(index >= 0, 'select returned a backend that is not in the pool');
  return String.fromCharCode(97 + index);
}

function countLetters(letters: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const letter of letters) counts[letter] = (counts[letter] ?? 0) + 1;
  return counts;
}

/** mulberry32: a tiny seeded PRNG with values in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

describe('round-robin (smooth weighted)', () => {
  it('rotates strictly over equal weights', () => {
    const backends = pool('a', 'b', 'c');
    assert.equal(picks(new RoundRobinStrategy(), backends, 9), 'abcabcabc');
  });

  it('splits 100 picks over two equal backends exactly 50/50, alternating', () => {
    const sequence = picks(new RoundRobinStrategy(), pool('a', 'b'), 100);
    assert.equal(sequence, 'ab'.repeat(50));
    assert.deepEqual(countLetters(sequence), { a: 50, b: 50 });
  });

  it("gives nginx's smooth sequence for weights 5:1:1, cycle after cycle", () => {
    const backends = pool(['a', 5], ['b', 1], ['c', 1]);
    assert.equal(picks(new RoundRobinStrategy(), backends, 21), 'aabacaa'.repeat(3));
  });

  it('keeps going when a candidate is removed mid-way and put back', () => {
    const backends = pool('a', 'b', 'c');
    const [a, , c] = backends as [Backend, Backend, Backend];
    const strategy = new RoundRobinStrategy();
    assert.equal(picks(strategy, backends, 2), 'ab');
    // b leaves: c, owed its turn, goes twice, then a and c alternate.
    assert.equal(picks(strategy, [a, c], 100, backends), 'cc' + 'ac'.repeat(49));
    // b is back: the full rotation resumes with exact thirds.
    assert.deepEqual(countLetters(picks(strategy, backends, 300)), { a: 100, b: 100, c: 100 });
  });

  it('returns to exact weighted shares after any sequence of changing candidate lists', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 5 }),
        fc.array(fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), { maxLength: 60 }),
        (weights, masks) => {
          const backends = pool(...weights.map((weight, i): [string, number] => [String(i), weight]));
          const strategy = new RoundRobinStrategy();
          for (const mask of masks) {
            const subset = backends.filter((_, i) => mask[i]);
            const picked = strategy.select(subset, context);
            if (subset.length === 0) assert.equal(picked, undefined);
            else assert.ok(picked !== undefined && subset.includes(picked));
          }
          // Leftover current weights shift the phase, not the share: over any
          // few full cycles each backend is within one pick of its share.
          const total = weights.reduce((sum, weight) => sum + weight, 0);
          const cycles = 3;
          const counts = countLetters(picks(strategy, backends, total * cycles));
          weights.forEach((weight, i) => {
            const count = counts[String.fromCharCode(97 + i)] ?? 0;
            assert.ok(Math.abs(count - weight * cycles) <= 1, `backend ${i}: ${count} vs ${weight * cycles}`);
          });
        },
      ),
    );
  });

  it('returns undefined for no candidates and the only one for one', () => {
    const strategy = new RoundRobinStrategy();
    const [only] = pool('a');
    assert.equal(strategy.select([], context), undefined);
    assert.equal(strategy.select([only as Backend], context), only);
  });
});

describe('least-conn', () => {
  it('follows load as tunnels open and close', () => {
    const backends = pool('a', 'b', 'c');
    const [a, b, c] = backends as [Backend, Backend, Backend];
    const strategy = new LeastConnStrategy();
    const open = (): string => {
      const picked = strategy.select(backends, context);
      assert.ok(picked);
      picked.activeTunnels += 1;
      return letterOf(backends, picked);
    };
    assert.equal(open() + open() + open(), 'abc'); // idle pool: ties rotate
    b.activeTunnels -= 1; // a tunnel to b closes
    assert.equal(open(), 'b');
    assert.equal(open() + open() + open(), 'acb'); // all at 1: least recently picked first
    a.activeTunnels -= 2;
    c.activeTunnels -= 1;
    // a=0, b=2, c=1
    assert.equal(open(), 'a');
    assert.equal(open(), 'c'); // a=1, c=1 tie: c was picked longer ago
    assert.equal(open(), 'a');
    assert.deepEqual([a.activeTunnels, b.activeTunnels, c.activeTunnels], [2, 2, 2]);
  });

  it('rotates among the tied instead of always taking the first', () => {
    const backends = pool('a', 'b', 'c', 'd');
    (backends[2] as Backend).activeTunnels = 5;
    assert.equal(picks(new LeastConnStrategy(), backends, 9), 'abdabdabd');
  });

  it('weighs load: activeTunnels / weight', () => {
    const backends = pool(['a', 3], ['b', 1]);
    const [a, b] = backends as [Backend, Backend];
    a.activeTunnels = 5; // 5/3 < 2/1
    b.activeTunnels = 2;
    assert.equal(new LeastConnStrategy().select(backends, context), a);
    a.activeTunnels = 7; // 7/3 > 2/1
    assert.equal(new LeastConnStrategy().select(backends, context), b);
    // Opening tunnels on every pick settles at the 3:1 ratio.
    a.activeTunnels = 0;
    b.activeTunnels = 0;
    const strategy = new LeastConnStrategy();
    for (let i = 0; i < 400; i++) (strategy.select(backends, context) as Backend).activeTunnels += 1;
    assert.deepEqual([a.activeTunnels, b.activeTunnels], [300, 100]);
  });

  it('prefers a backend that just joined the candidates', () => {
    const backends = pool('a', 'b', 'c');
    const strategy = new LeastConnStrategy();
    assert.equal(picks(strategy, backends.slice(0, 2), 4, backends), 'abab');
    assert.equal(picks(strategy, backends, 3), 'cab');
  });
});

describe('random (power of two choices)', () => {
  it('always takes the less loaded of the two it sampled', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ load: fc.nat(20), weight: fc.integer({ min: 1, max: 4 }) }), { minLength: 2, maxLength: 8 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 40, maxLength: 40 }),
        (specs, draws) => {
          const backends = pool(...specs.map(({ weight }, i): [string, number] => [String(i), weight]));
          specs.forEach(({ load }, i) => ((backends[i] as Backend).activeTunnels = load));
          let next = 0;
          const random = (): number => draws[next++ % draws.length] as number;
          const strategy = new RandomStrategy(random);
          for (let pick = 0; pick < 20; pick++) {
            // Replay the documented sampling from the same draws.
            const n = backends.length;
            const first = Math.floor((draws[(2 * pick) % draws.length] as number) * n);
            let second = Math.floor((draws[(2 * pick + 1) % draws.length] as number) * (n - 1));
            if (second >= first) second += 1;
            assert.notEqual(first, second);
            const [x, y] = [backends[first] as Backend, backends[second] as Backend];
            const lighter = y.activeTunnels / y.weight < x.activeTunnels / x.weight ? y : x;
            assert.equal(strategy.select(backends, context), lighter);
          }
        },
      ),
    );
  });

  it('never picks the single most loaded backend', () => {
    const backends = pool('a', 'b', 'c', 'd', 'e');
    backends.forEach((backend, i) => (backend.activeTunnels = i));
    const counts = countLetters(picks(new RandomStrategy(seededRandom(7)), backends, 10_000));
    assert.equal(counts.e, undefined);
    // With loads 0..4 the least loaded wins every pair it is in: 2/5 of picks.
    assert.ok(Math.abs((counts.a ?? 0) / 10_000 - 0.4) < 0.02, `a got ${counts.a}`);
  });

  it('spreads evenly over equally loaded backends', () => {
    const counts = countLetters(picks(new RandomStrategy(seededRandom(42)), pool('a', 'b', 'c', 'd', 'e'), 50_000));
    for (const letter of 'abcde') {
      const share = (counts[letter] ?? 0) / 50_000;
      assert.ok(Math.abs(share - 0.2) < 0.01, `${letter}: ${share}`);
    }
  });

  it('stays in range when the random source returns its extremes', () => {
    const backends = pool('a', 'b', 'c');
    assert.equal(new RandomStrategy(() => 0).select(backends, context), backends[0]);
    const picked = new RandomStrategy(() => 1).select(backends, context);
    assert.ok(picked !== undefined && backends.includes(picked));
  });
});

describe('hash (weighted rendezvous)', () => {
  const keys = Array.from({ length: 10_000 }, (_, i) => `session-${i}`);
  const assign = (strategy: BalancingStrategy, backends: readonly Backend[]): Backend[] =>
    keys.map((hashKey) => strategy.select(backends, { clientAddress: '192.0.2.1', hashKey }) as Backend);

  it('maps a key to the same backend every time, in every process (golden values)', () => {
    const backends = pool('a', 'b', 'c', 'd', 'e');
    const strategy = new HashStrategy();
    const golden = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']
      .map((hashKey) => letterOf(backends, strategy.select(backends, { clientAddress: '192.0.2.7', hashKey })))
      .join('');
    // Pinned: a change here remaps live sessions during a rolling upgrade.
    assert.equal(golden, 'edacbd');
    fc.assert(
      fc.property(fc.string(), (hashKey) => {
        const once = new HashStrategy().select(backends, { clientAddress: '', hashKey });
        assert.equal(strategy.select(backends, { clientAddress: '', hashKey }), once);
        assert.equal(strategy.select([...backends].reverse(), { clientAddress: '', hashKey }), once);
      }),
    );
  });

  it('falls back to the client address when there is no hash key', () => {
    const backends = pool('a', 'b', 'c', 'd', 'e');
    const strategy = new HashStrategy();
    for (const address of ['192.0.2.1', '198.51.100.23', '2001:db8::1', '203.0.113.9']) {
      const byKey = strategy.select(backends, { clientAddress: 'ignored', hashKey: address });
      assert.equal(strategy.select(backends, { clientAddress: address }), byKey);
      assert.equal(strategy.select(backends, { clientAddress: address, hashKey: '' }), byKey);
    }
  });

  it('spreads 10,000 keys over 5 backends within ±20% of even', () => {
    const counts = new Map<Backend, number>();
    for (const backend of assign(new HashStrategy(), pool('a', 'b', 'c', 'd', 'e'))) {
      counts.set(backend, (counts.get(backend) ?? 0) + 1);
    }
    assert.equal(counts.size, 5);
    for (const count of counts.values()) assert.ok(count >= 1600 && count <= 2400, `count ${count}`);
  });

  it('moves exactly the keys of a removed backend, and nothing else', () => {
    const backends = pool('a', 'b', 'c', 'd', 'e');
    const strategy = new HashStrategy();
    const before = assign(strategy, backends);
    const removed = backends[2] as Backend;
    const after = assign(strategy, backends.filter((backend) => backend !== removed));
    let moved = 0;
    keys.forEach((_, i) => {
      if (before[i] === removed) moved += 1;
      else assert.equal(after[i], before[i], `key ${i} moved although its backend stayed`);
    });
    assert.ok(Math.abs(moved / keys.length - 0.2) < 0.02, `moved ${moved / keys.length}`);
  });

  it('moves about 1/6 of keys when a 6th backend joins, all of them to it', () => {
    const backends = pool('a', 'b', 'c', 'd', 'e', 'f');
    const strategy = new HashStrategy();
    const before = assign(strategy, backends.slice(0, 5));
    const after = assign(strategy, backends);
    let moved = 0;
    keys.forEach((_, i) => {
      if (after[i] === before[i]) return;
      moved += 1;
      assert.equal(after[i], backends[5], `key ${i} moved to an old backend`);
    });
    const fraction = moved / keys.length;
    assert.ok(fraction > 0.12 && fraction < 0.22, `moved ${fraction}`);
  });

  it('gives shares proportional to weight', () => {
    const backends = pool(['a', 1], ['b', 2], ['c', 3], ['d', 4]);
    const counts = countLetters(assign(new HashStrategy(), backends).map((backend) => letterOf(backends, backend)).join(''));
    backends.forEach((backend, i) => {
      const share = (counts[String.fromCharCode(97 + i)] ?? 0) / keys.length;
      const expected = backend.weight / 10;
      assert.ok(Math.abs(share - expected) < expected * 0.1, `weight ${backend.weight}: ${share}`);
    });
  });
});

describe('backend ids', () => {
  it('are sha256-derived, stable and pinned', () => {
    const expected = `b${createHash('sha256').update('10.0.0.1:8080').digest('hex').slice(0, 10)}`;
    assert.equal(deriveBackendId('10.0.0.1', 8080), expected);
    assert.equal(deriveBackendId('10.0.0.1', 8080), 'b120e9814c4');
    assert.equal(deriveBackendId('::1', 443), 'bd4ef09f781');
  });

  it('differ between addresses and contain no address text', () => {
    fc.assert(
      fc.property(fc.domain(), fc.domain(), fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }), (h1, h2, p1, p2) => {
        const id = deriveBackendId(h1, p1);
        assert.match(id, /^b[0-9a-f]{10}$/);
        assert.ok(!id.includes(h1));
        if (h1.toLowerCase() !== h2.toLowerCase() || p1 !== p2) assert.notEqual(deriveBackendId(h2, p2), id);
      }),
    );
    assert.notEqual(deriveBackendId('10.0.0.1', 8080), deriveBackendId('10.0.0.1', 8081));
    assert.notEqual(deriveBackendId('10.0.0.1', 8080), deriveBackendId('10.0.0.2', 8080));
  });

  it('name one address one way however it is spelled', () => {
    assert.equal(deriveBackendId('API.Internal', 80), deriveBackendId('api.internal', 80));
    assert.equal(deriveBackendId('[::1]', 80), deriveBackendId('::1', 80));
    assert.equal(deriveBackendId('0:0:0:0:0:0:0:1', 80), deriveBackendId('::1', 80));
    assert.equal(deriveBackendId('FE80::1%eth0', 80), deriveBackendId('fe80::1%eth0', 80));
  });
});

describe('createBackend', () => {
  it('fills runtime fields at rest', () => {
    assert.deepEqual(createBackend({ host: 'app.internal', port: 3000, tls: true }), {
      host: 'app.internal',
      port: 3000,
      tls: true,
      id: deriveBackendId('app.internal', 3000),
      label: 'app.internal:3000',
      weight: 1,
      activeTunnels: 0,
      healthy: true,
      draining: false,
    });
  });

  it('brackets IPv6 in the label only, and honours a configured id and weight', () => {
    const backend = createBackend({ host: '[2001:db8::7]', port: 443, tls: false }, { id: 'blue', weight: 3 });
    assert.equal(backend.host, '2001:db8::7');
    assert.equal(backend.label, '[2001:db8::7]:443');
    assert.equal(backend.id, 'blue');
    assert.equal(backend.weight, 3);
    assert.equal(createBackend({ host: '2001:db8::7', port: 443, tls: false }).id, deriveBackendId('2001:db8::7', 443));
  });

  it('rejects weights below 1 or not finite', () => {
    for (const weight of [0, 0.5, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => createBackend({ host: 'x', port: 1, tls: false }, { weight }), RangeError);
    }
  });
});

describe('createStrategy', () => {
  it('builds each named strategy with its own state', () => {
    for (const name of BALANCE_NAMES) {
      const strategy = createStrategy(name);
      assert.equal(strategy.name, name);
      assert.notEqual(createStrategy(name), strategy);
    }
  });

  it('passes the random source to random', () => {
    const backends = pool('a', 'b', 'c');
    assert.equal(createStrategy('random', { random: () => 0.99 }).select(backends, context), backends[2]);
  });

  it('rejects an unknown name that slipped past validation', () => {
    assert.throws(() => createStrategy('fastest' as BalanceName), RangeError);
  });
});
