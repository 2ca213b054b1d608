/**
 * Where random ops find their seed: the one given, else one derived from the top-level
 * iterator's seed and the op's place in the pipeline (as an unseeded `shuffle` does), so that
 * every iterator has its own sequence and a restored one continues the saver's.
 *
 * @module
 */
import { nodeOrdinal, type DatasetNode, type IteratorContext } from "../core/iterator.js";
import { deriveSeed, randomSeed } from "../core/rng.js";
import { invalidArgument } from "../errors.js";

/**
 * The seed an op's iterator starts from: one restored for `node`, else `given`, else derived
 * from the iterator's seed and `node`'s place (a fresh random one for a node made by a function
 * while iterating); a derived seed is recorded in `ctx.seeds` so later passes reuse it.
 */
export function opSeed(node: DatasetNode<unknown>, ctx: IteratorContext, given: number | null): number {
  const restored = ctx.seeds.get(node);
  if (restored !== undefined) return restored;
  if (given !== null) return given;
  const ordinal = nodeOrdinal(ctx.root, node);
  const seed = ordinal < 0 ? randomSeed() : deriveSeed(ctx.seed, ordinal);
  ctx.seeds.set(node, seed);
  return seed;
}

/** Requires an integer seed or none; returns it, or null. */
export function requireSeed(call: string, seed: unknown): number | null {
  if (seed === undefined) return null;
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
    throw invalidArgument(call, "an integer", seed, "Pass an integer seed, e.g. { seed: 42 }, or none.");
  }
  return seed;
}
