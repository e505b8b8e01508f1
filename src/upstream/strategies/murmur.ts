/**
 * murmur3 (x86_32) rounds on Math.imul: fast, allocation-free 32-bit hashing
 * with good avalanche, and the same result on every platform and process.
 * The hash strategy builds its 64-bit values from two differently seeded lanes.
 */

/** murmur3 over a string's UTF-16 code units, two per 32-bit block; unsigned result. */
export function hashString(text: string, seed: number): number {
  let hash = seed | 0;
  const length = text.length;
  const pairsEnd = length & ~1;
  for (let i = 0; i < pairsEnd; i += 2) {
    hash = mixBlock(hash, text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16));
  }
  // The last, odd code unit: scrambled and xored without the rotate-multiply, as in murmur3.
  if (pairsEnd < length) hash ^= scramble(text.charCodeAt(pairsEnd));
  return finalMix(hash ^ (length * 2));
}

/** murmur3 over two 32-bit words; unsigned result. Bijective in each word for a fixed other word. */
export function hashPair(seed: number, first: number, second: number): number {
  return finalMix(mixBlock(mixBlock(seed | 0, first), second) ^ 8);
}

function mixBlock(hash: number, block: number): number {
  hash ^= scramble(block);
  hash = (hash << 13) | (hash >>> 19);
  return (Math.imul(hash, 5) + 0xe6546b64) | 0;
}

function scramble(block: number): number {
  let k = Math.imul(block, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

/** murmur3's avalanche finalizer. */
function finalMix(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
