import type { Backend, BalancingStrategy, SelectionContext } from '../backend.js';
import { weightOf } from './load.js';
import { hashPair, hashString } from './murmur.js';

/**
 * Weighted rendezvous (highest random weight) hashing. Each candidate scores
 * -weight / ln(u), where u in (0, 1) is a hash of (key, backend id); the
 * highest score wins. A backend's score for a key does not depend on the other
 * candidates, so removing a backend moves only the keys it held and adding one
 * moves only the keys it now wins (about weight/total). The score is an
 * exponential race, so expected shares are exactly proportional to weight.
 *
 * Hash: murmur3 rounds on Math.imul (./murmur.ts), not BigInt FNV-1a 64
 * (allocates per step) nor crypto.createHash (about a microsecond per call),
 * as it runs once per candidate. The key is hashed once per pick (32 bits:
 * two keys colliding merely share a backend) and each backend id once (64
 * bits, cached). Per candidate, two lanes mix (key, id half) into the 52 bits
 * of u: four murmur rounds, no allocation. Each lane is bijective in its id
 * half, so two backends tie on every key only if their 64-bit id hashes collide.
 */
export class HashStrategy implements BalancingStrategy {
  readonly name = 'hash';
  readonly #idHashes = new WeakMap<Backend, IdHash>();

  select(candidates: readonly Backend[], context: SelectionContext): Backend | undefined {
    if (candidates.length <= 1) return candidates[0];
    // An empty key (e.g. an empty cookie) would send all such clients to one
    // backend, so it counts as absent.
    const keyHash = hashString(context.hashKey || context.clientAddress, KEY_SEED);
    let best: Backend | undefined;
    let bestScore = -Infinity;
    for (const backend of candidates) {
      const id = this.#idHash(backend);
      const high = hashPair(HIGH_SEED, keyHash, id.high) >>> 12; // 20 bits
      const low = hashPair(LOW_SEED, keyHash, id.low); // 32 bits
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

  /** Cached per backend object: ids are readonly. */
  #idHash(backend: Backend): IdHash {
    let idHash = this.#idHashes.get(backend);
    if (idHash === undefined) {
      idHash = { high: hashString(backend.id, ID_HIGH_SEED), low: hashString(backend.id, ID_LOW_SEED) };
      this.#idHashes.set(backend, idHash);
    }
    return idHash;
  }
}

interface IdHash {
  readonly high: number;
  readonly low: number;
}

// Arbitrary fixed seeds. Changing one remaps every key, which breaks affinity
// across a rolling upgrade (old and new processes disagree), so they are fixed.
const KEY_SEED = 0x9747b28c;
const ID_HIGH_SEED = 0x2545f491;
const ID_LOW_SEED = 0x68e31da4;
const HIGH_SEED = 0x27d4eb2f;
const LOW_SEED = 0x165667b1;
const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_52 = 2 ** 52;
