/**
 * A random permutation of [0, n) computed index by index, with no table: a balanced Feistel
 * network on the smallest even number of bits that covers n, and cycle walking (apply it again
 * until the result falls below n), as TensorFlow's `index_shuffle` and Grain do. Each round
 * key derives from the seed; the same (seed, n) always gives the same permutation.
 *
 * @module
 */
import { deriveSeed } from "./rng.js";

/** The largest n a permutation covers: 2^32 (the halves of the network stay 16-bit). */
export const MAX_PERMUTATION_LENGTH = 2 ** 32;

const ROUNDS = 6;

/** A permutation of [0, length): `at(i)` is the index that comes i-th. */
export class IndexPermutation {
  private readonly half: number;
  private readonly mask: number;
  private readonly keys: Int32Array;

  constructor(
    readonly length: number,
    seed: number,
  ) {
    const bits = Math.max(2, Math.ceil(Math.log2(Math.max(2, length))));
    this.half = Math.ceil(bits / 2);
    this.mask = 2 ** this.half - 1;
    this.keys = Int32Array.from({ length: ROUNDS }, (_, r) => deriveSeed(seed, r, length));
  }

  /** The index that comes at position `i` (0 ≤ i < length). */
  at(i: number): number {
    let x = i;
    do x = this.encrypt(x);
    while (x >= this.length);
    return x;
  }

  /** One pass of the network: `half`-bit halves (at most 16 bits), so all of it stays in 32-bit integers. */
  private encrypt(x: number): number {
    const { half, mask, keys } = this;
    let left = x >>> half;
    let right = x & mask;
    for (let r = 0; r < ROUNDS; r++) {
      let h = Math.imul(right ^ (keys[r] as number), 0x9e3779b1);
      h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
      h ^= h >>> 13;
      const next = left ^ (h & mask);
      left = right;
      right = next;
    }
    return ((left << half) | right) >>> 0;
  }
}
