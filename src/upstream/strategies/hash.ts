import type { Backend, BalancingStrategy, SelectionContext } from '../backend.js';
import { weightOf } from './load.js';
import { hashString, hashWords } from './murmur.js';

/**
 * Weighted rendezvous (highest random weight) hashing. Each candidate scores
 * -weight / ln(u), where u in (0, 1) is a hash of (key, backend id); the
 * highest score wins. A backend's score for a key does not depend on the other
 * candidates, so removing a backend moves only the keys it held and adding one
 * moves only the keys it now wins (about weight/total). The score is an
 * exponential race, so expected shares are exactly proportional to weight.
 *
 * Hash: murmur3 rounds (./murmur.ts) rather than BigInt FNV-1a 64 (allocates
 * per step) or crypto.createHash (about a microsecond per call), as both would
 * run once per candidate. The key is hashed once per pick into 64 bits, each
 * backend id once per backend (cached), and per candidate only those four
 * words are mixed: O(key length + n) per pick and no allocation.
 */
export class HashStrategy implements BalancingStrategy {
  readonly name = 'hash';
  /** 64-bit hash of each backend's id, as two 32-bit lanes; ids are readonly. */
  readonly #idHashes = new WeakMap<Backend, IdHash>();

  select(candidates: readonly Backend[], context: SelectionContext): Backend | undefined {
    if (candidates.length <= 1) return candidates[0];
    // An empty key (e.g. an empty cookie) would send all such clients to one
    // backend, so it counts as absent.
    const key = context.hashKey || context.clientAddress;
    const key1 = hashString(key, KEY_SEED_1);
    const key2 = hashString(key, KEY_SEED_2);
    let best: Backend | undefined;
    let bestScore = -Infinity;
    for (const backend of candidates) {
      const id = this.#idHash(backend);
      const high = hashWords(PAIR_SEED_HIGH, key1, key2, id.lane1, id.lane2) >>> 12; // 20 bits
      const low = hashWords(PAIR_SEED_LOW, key1, key2, id.lane1, id.lane2); // 32 bits
      // +0.5 keeps u strictly inside (0, 1), where ln(u) is finite and negative.
      const unit = (high * TWO_POW_32 + low + 0.5) / TWO_POW_52;
      const score = -weightOf(backend) / Math.log(unit);
      // Equal scores (practically never) go to the smaller id, so the result
      // does not depend on candidate order.
      if (score > bestScore || (score === bestScore && best !== undefined && backend.id < best.id)) {
        bestScore = score;
        best = backend;
      }
    }
    return best;
  }

  #idHash(backend: Backend): IdHash {
    let idHash = this.#idHashes.get(backend);
    if (idHash === undefined) {
      idHash = { lane1: hashString(backend.id, ID_SEED_1), lane2: hashString(backend.id, ID_SEED_2) };
      this.#idHashes.set(backend, idHash);
    }
    return idHash;
  }
}

interface IdHash {
  readonly lane1: number;
  readonly lane2: number;
}

// Arbitrary fixed seeds. Changing any of them remaps every key, which breaks
// affinity across a rolling upgrade, so they are part of the wire contract.
const KEY_SEED_1 = 0x9747b28c;
const KEY_SEED_2 = 0x5bd1e995;
const ID_SEED_1 = 0x2545f491;
const ID_SEED_2 = 0x68e31da4;
const PAIR_SEED_HIGH = 0x27d4eb2f;
const PAIR_SEED_LOW = 0x165667b1;
const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_52 = 2 ** 52;
