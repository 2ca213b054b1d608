/**
 * A seeded pseudo-random generator whose state serializes: xoroshiro128+ from `pure-rand`.
 *
 * @module
 */
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus, xoroshiro128plusFromState } from "pure-rand/generator/xoroshiro128plus";
import type { JumpableRandomGenerator } from "pure-rand/types/JumpableRandomGenerator";
import { InvalidArgumentError, describeValue } from "../errors.js";
import { misfit, type Field } from "./schema.js";

/** A seeded generator of uniform integers that can save and restore its exact position. */
export class Rng {
  private constructor(private readonly generator: JumpableRandomGenerator) {}

  /** A generator seeded with a 32-bit integer (other numbers are mixed down to 32 bits). */
  static fromSeed(seed: number): Rng {
    return new Rng(xoroshiro128plus(mix32(seed)));
  }

  /** The generator at exactly the position `state` was saved at. */
  static fromState(state: unknown): Rng {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((x) => Number.isInteger(x))) {
      throw new InvalidArgumentError(
        `Cannot restore a random generator: expected its saved state, four integers; got ${describeValue(state)}. ` +
          `The state is damaged; restore an intact one.`,
        { expected: "four integers", received: describeValue(state) },
      );
    }
    return new Rng(xoroshiro128plusFromState(state as number[]));
  }

  /** A uniform integer in `[0, n)`; `n` must be an integer in `[1, 2^32]`. */
  int(n: number): number {
    return uniformInt(this.generator, 0, n - 1);
  }

  /** A uniform number in `[0, 1)` with 53 random bits (two draws). */
  float(): number {
    return (uniformInt(this.generator, 0, 0x3ff_ffff) * 0x800_0000 + uniformInt(this.generator, 0, 0x7ff_ffff)) / 2 ** 53;
  }

  /** The generator's exact position: four 32-bit integers. */
  state(): number[] {
    return [...this.generator.getState()];
  }
}

/** A generator's saved position in a state: four 32-bit integers (a field of an op's state schema). */
export const rngState: Field<number[]> = (value, path) => {
  const ok = Array.isArray(value) && value.length === 4 && value.every((x) => Number.isInteger(x) && x >= -0x8000_0000 && x <= 0xffff_ffff);
  return ok ? [...(value as number[])] : misfit(path, "a random generator's position, four 32-bit integers", value);
};

/** Mixes any number of integers into one 32-bit seed (murmur3's finalizer per word). */
export function deriveSeed(...parts: readonly number[]): number {
  let h = 0x9e3779b9 | 0;
  for (const part of parts) {
    h = mix32(h ^ mix32(part));
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return mix32(h);
}

/** Folds a number (integer or not, any size) to a well-mixed 32-bit integer. */
function mix32(value: number): number {
  let h = Number.isSafeInteger(value) ? (value | 0) ^ Math.floor(value / 0x1_0000_0000) : hashFloat(value);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

function hashFloat(value: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  return view.getInt32(0) ^ view.getInt32(4);
}

/** A fresh random 32-bit seed, for shuffles given none. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Int32Array(1))[0] ?? 0;
}
