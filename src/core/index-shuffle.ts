/**
 * A random permutation of [0, n) computed index by index, with no table: a balanced Feistel
 * network on the smallest even number of bits that covers n, and cycle walking (apply it again
 * until the result falls below n), as TensorFlow's `index_shuffle` and Grain do. Each round
 * key derives from the seed; the same (seed, n) always gives the same permutation.
 *
 * @module
 */
import { deriveSeed, mix32 } from "./rng.js";

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

  private encrypt(x: number): number {
    const { half, mask, keys } = this;
    const size = 2 ** half;
    let left = Math.floor(x / size);
    let right = x % size;
    for (let r = 0; r < ROUNDS; r++) {
      const next = (left ^ (mix32(right ^ (keys[r] as number)) & mask)) >>> 0;
      left = right;
      right = next;
    }
    return left * size + right;
  }
}
