/**
 * `dataset.globalShuffle({ seed, reshuffleEachIteration })`: a shuffle of the whole dataset by
 * index permutation (see core/index-shuffle.ts) over an input with random access. No buffer:
 * the state is the seed, how many elements were handed out, and — after an elastic resume —
 * which positions the workers of earlier jobs consumed, a few numbers per old worker.
 *
 * @module
 */
import { END, UnaryNode, nodeOrdinal, type DatasetNode, type IteratorContext, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { IndexPermutation, MAX_PERMUTATION_LENGTH } from "../../core/index-shuffle.js";
import { randomAccessBlocker, randomAccessOf, type RandomAccess } from "../../core/random-access.js";
import { deriveSeed, randomSeed } from "../../core/rng.js";
import { arrayOf, integer, record, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { InvalidArgumentError, invalidArgument } from "../../errors.js";

export const GLOBAL_SHUFFLE_KIND = "GlobalShuffle";
const VERSION = 1;

/**
 * The positions (indices into the shuffled order) that an earlier job's workers consumed: old
 * worker `i` of `numShards`, reading `globalShuffle().shard(numShards, i)`, took positions `r`
 * with `r % numShards === i` and `r < positions[i]` — of the order left by the layers before.
 */
export interface ConsumedLayer {
  readonly numShards: number;
  readonly positions: readonly number[];
}

const LAYER = record<ConsumedLayer>({ numShards: integer(1), positions: arrayOf(integer(0)) }, "a layer of consumed positions ({ numShards, positions })");
const STATE = stateSchema(
  GLOBAL_SHUFFLE_KIND,
  VERSION,
  { seed: integer(), taken: integer(0), layers: arrayOf(LAYER) },
  {
    check: ({ layers }, path) => {
      layers.forEach((layer, k) => {
        if (layer.positions.length !== layer.numShards) {
          throw new InvalidArgumentError(
            `Cannot restore ${GLOBAL_SHUFFLE_KIND}: ${path}.layers[${k}] has ${layer.positions.length} positions for ${layer.numShards} shards.`,
          );
        }
      });
    },
  },
);

/** Options of `globalShuffle`. */
export interface GlobalShuffleOptions {
  /** The seed of the permutation (default: derived from the iterator's seed, saved with its state). Elastic resume needs one. */
  readonly seed?: number;
  /** A new permutation for each epoch of an enclosing `repeat` (default true), derived from the seed and the epoch. */
  readonly reshuffleEachIteration?: boolean;
}

/** `dataset.globalShuffle(options)`. */
export class GlobalShuffleNode<T> extends UnaryNode<T, T> {
  readonly label = GLOBAL_SHUFFLE_KIND;
  private readonly seed: number | null;
  private readonly reshuffle: boolean;

  constructor(input: DatasetNode<T>, options: GlobalShuffleOptions) {
    super(input);
    const blocker = randomAccessBlocker(input);
    if (blocker !== null) {
      throw new InvalidArgumentError(
        `globalShuffle() needs random access to its input (elements by index), and ${JSON.stringify(blocker)} in ${input.describe()} takes it away. ` +
          `Random access comes from range, fromArray and element-wise ops over them (map, batch, take, skip, shard, enumerate, zip, concatenate). ` +
          `Move globalShuffle before ${blocker}, or use shuffle(bufferSize).`,
        { expected: "an input with random access", received: blocker, fix: `Move globalShuffle before ${blocker}, or use shuffle(bufferSize).` },
      );
    }
    if (options.seed !== undefined && (typeof options.seed !== "number" || !Number.isInteger(options.seed))) {
      throw invalidArgument("globalShuffle({ seed })", "an integer", options.seed, "Pass an integer seed, e.g. { seed: 42 }, or none.");
    }
    const reshuffle = options.reshuffleEachIteration ?? true;
    if (typeof reshuffle !== "boolean")
      throw invalidArgument("globalShuffle({ reshuffleEachIteration })", "a boolean", reshuffle, "Pass true (the default) or false.");
    this.seed = options.seed ?? null;
    this.reshuffle = reshuffle;
  }

  /** The seed of this op in `ctx`: given, restored, or derived from the iterator's seed and the op's place. */
  private baseSeed(ctx: IteratorContext): number {
    const known = ctx.seeds.get(this) ?? this.seed;
    if (known !== null && known !== undefined) return known;
    const ordinal = nodeOrdinal(ctx.root, this);
    const seed = ordinal < 0 ? randomSeed() : deriveSeed(ctx.seed, ordinal);
    ctx.seeds.set(this, seed);
    return seed;
  }

  private view(ctx: IteratorContext, base: number): { input: RandomAccess<T>; permutation: IndexPermutation } {
    const input = randomAccessOf(this.input, ctx) as RandomAccess<T>;
    if (!(input.length <= MAX_PERMUTATION_LENGTH)) {
      throw new InvalidArgumentError(
        `globalShuffle() shuffles at most ${MAX_PERMUTATION_LENGTH} elements; ${this.input.describe()} has ${input.length}. Take a finite part first (take(n)).`,
      );
    }
    const epoch = this.reshuffle ? ctx.epoch : [];
    return { input, permutation: new IndexPermutation(input.length, deriveSeed(base, ...epoch)) };
  }

  randomAccess(ctx: IteratorContext): RandomAccess<T> {
    const { input, permutation } = this.view(ctx, this.baseSeed(ctx));
    return { length: input.length, get: (i) => input.get(permutation.at(i)) };
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    const base = this.baseSeed(ctx);
    return new GlobalShuffleIterator(base, (seed) => {
      ctx.seeds.set(this, seed);
      return this.view(ctx, seed);
    });
  }
}

/** Hands out the input's elements in permuted order, skipping positions earlier jobs consumed. */
class GlobalShuffleIterator<T> implements OpIterator<T> {
  private taken = 0;
  private layers: ConsumedLayer[] = [];
  private order: Order;
  private input: RandomAccess<T>;
  private permutation: IndexPermutation;

  constructor(
    private seed: number,
    private readonly open: (seed: number) => { input: RandomAccess<T>; permutation: IndexPermutation },
  ) {
    ({ input: this.input, permutation: this.permutation } = open(seed));
    this.order = new Order(this.input.length, []);
  }

  next(): Pull<T> {
    if (this.taken >= this.order.length) return END;
    const position = this.order.at(this.taken++);
    return this.input.get(this.permutation.at(position));
  }

  /** Takes elements while the input gives them at once; an element that must be waited for comes alone. */
  nextMany(out: T[], max: number): number | Promise<number> {
    let n = 0;
    const { order, permutation, input } = this;
    while (n < max && this.taken < order.length) {
      const value = input.get(permutation.at(order.at(this.taken)));
      if (value instanceof Promise) {
        if (n > 0) break; // asked again at the next call (get is pure)
        this.taken++;
        return value.then((v) => (out.push(v), 1));
      }
      this.taken++;
      out.push(value);
      n++;
    }
    return n;
  }

  async save(_ctx: SaveContext): Promise<OpState> {
    return {
      kind: GLOBAL_SHUFFLE_KIND,
      version: VERSION,
      seed: this.seed,
      taken: this.taken,
      layers: this.layers.map((l) => ({ numShards: l.numShards, positions: [...l.positions] })),
    };
  }

  async restore(state: OpState): Promise<void> {
    const { seed, taken, layers } = STATE.read(state);
    if (seed !== this.seed) {
      this.seed = seed;
      ({ input: this.input, permutation: this.permutation } = this.open(seed));
    }
    const order = new Order(this.input.length, layers);
    if (taken > order.length) {
      throw new InvalidArgumentError(
        `Cannot restore ${GLOBAL_SHUFFLE_KIND}: its state has handed out ${taken} elements of ${order.length}. Restore into a dataset built from the same input.`,
      );
    }
    this.layers = layers;
    this.order = order;
    this.taken = taken;
  }

  async close(): Promise<void> {
    this.taken = this.order.length;
  }
}

/**
 * The positions left after the layers of consumed positions, in order: `at(t)` is the t-th
 * position not consumed. Each layer removes, from the order the layers before it left, the
 * positions its old workers took; finding the t-th left is a binary search per layer.
 */
class Order {
  readonly length: number;
  /** The length of the order each layer starts from: lengths[0] is the whole input's. */
  private readonly lengths: number[];

  constructor(
    total: number,
    private readonly layers: readonly ConsumedLayer[],
  ) {
    this.lengths = [total];
    for (const layer of layers) {
      const before = this.lengths[this.lengths.length - 1] as number;
      this.lengths.push(before - consumedBelow(layer, before));
    }
    this.length = this.lengths[this.lengths.length - 1] as number;
  }

  /** The t-th position left (0 ≤ t < length), as a position of the whole order. */
  at(t: number): number {
    if (this.layers.length === 0) return t;
    let index = t;
    for (let k = this.layers.length - 1; k >= 0; k--) index = kept(this.layers[k] as ConsumedLayer, index, this.lengths[k] as number);
    return index;
  }
}

/** How many of the first `x` positions of its order a layer's old workers consumed. */
function consumedBelow(layer: ConsumedLayer, x: number): number {
  let count = 0;
  for (let i = 0; i < layer.numShards; i++) {
    const upTo = Math.min(x, layer.positions[i] as number);
    if (upTo > i) count += Math.ceil((upTo - i) / layer.numShards);
  }
  return count;
}

/** The index, in the order before `layer`, of the t-th position the layer left. */
function kept(layer: ConsumedLayer, t: number, length: number): number {
  // The smallest x with x - consumedBelow(x) = t + 1; the position is x - 1.
  let low = t + 1;
  let high = length;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (mid - consumedBelow(layer, mid) >= t + 1) high = mid;
    else low = mid + 1;
  }
  return low - 1;
}
