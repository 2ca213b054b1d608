import { SourceNode, type IteratorContext, type OpIterator, type Pull } from "../../core/iterator.js";
import { Rng, deriveSeed, rngState } from "../../core/rng.js";
import { integer, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { invalidArgument } from "../../errors.js";
import { opSeed, requireSeed } from "../seeds.js";

const KIND = "Random";
/** The seed (given or derived) and the generator's position. */
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { seed: integer(), rng: rngState });

/** Options of `Dataset.random`. */
export interface RandomOptions {
  /**
   * Seed of the sequence. Without one, each iterator draws its own sequence, derived from the
   * iterator's seed (saved with its state, so a restored iterator continues it).
   */
  readonly seed?: number;
  /**
   * Give each epoch of an enclosing `repeat` its own sequence (default false: every epoch
   * repeats the first one, as in tf.data). The sequences derive from the seed and the epoch.
   */
  readonly rerandomizeEachIteration?: boolean;
}

/** The options `Dataset.random` knows. */
export const RANDOM_OPTIONS = ["seed", "rerandomizeEachIteration"] as const;

/** `Dataset.random()`: uniform 32-bit unsigned integers forever, from a seeded generator. */
export class RandomNode extends SourceNode<number> {
  readonly label: string;
  private readonly seed: number | null;
  private readonly rerandomize: boolean;

  constructor(options: RandomOptions) {
    super();
    this.seed = requireSeed("Dataset.random({ seed })", options.seed);
    const rerandomize = options.rerandomizeEachIteration ?? false;
    if (typeof rerandomize !== "boolean") {
      throw invalidArgument("Dataset.random({ rerandomizeEachIteration })", "a boolean", rerandomize, "Pass true or false (the default).");
    }
    this.rerandomize = rerandomize;
    this.label = this.seed === null ? KIND : `${KIND}(seed=${this.seed})`;
  }

  cardinality(): number {
    return Infinity;
  }

  makeIterator(ctx: IteratorContext): OpIterator<number> {
    const seed = opSeed(this, ctx, this.seed);
    const epoch = this.rerandomize ? ctx.epoch : [];
    return new RandomIterator(seed, Rng.fromSeed(deriveSeed(seed, ...epoch)), (restored) => ctx.seeds.set(this, restored));
  }
}

class RandomIterator implements OpIterator<number> {
  constructor(
    private seed: number,
    private rng: Rng,
    private readonly adoptSeed: (seed: number) => void,
  ) {}

  next(): Pull<number> {
    return this.rng.int(0x1_0000_0000);
  }

  nextMany(out: number[], max: number): number {
    const rng = this.rng;
    for (let i = 0; i < max; i++) out.push(rng.int(0x1_0000_0000));
    return max;
  }

  async save(): Promise<OpState> {
    return { kind: KIND, version: VERSION, seed: this.seed, rng: this.rng.state() };
  }

  async restore(state: OpState): Promise<void> {
    const { seed, rng } = STATE.read(state);
    this.seed = seed;
    this.adoptSeed(seed);
    this.rng = Rng.fromState(rng);
  }

  async close(): Promise<void> {}
}
