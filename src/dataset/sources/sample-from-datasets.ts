import { END, type DatasetNode, type DatasetOptions, type End, type IteratorContext, type OpIterator, type SaveContext } from "../../core/iterator.js";
import { Rng, deriveSeed, rngState } from "../../core/rng.js";
import { arrayOf, boolean, integer, nullable, opState, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { invalidArgument } from "../../errors.js";
import { opSeed, requireSeed } from "../seeds.js";
import { DirectedInterleaveIterator, mergedOptions } from "./directed-interleave.js";

const KIND = "SampleFromDatasets";
/**
 * The seed (given or derived), the generator's position, whether it ended, and each input's
 * state (null for an input that ended or has weight 0).
 */
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { seed: integer(), rng: rngState, ended: boolean, inputs: arrayOf(nullable(opState)) });

/** Options of `Dataset.sampleFromDatasets`. */
export interface SampleFromDatasetsOptions {
  /**
   * The relative probability of drawing from each dataset, one non-negative number per
   * dataset, not all zero (default: equal). They need not sum to 1. A dataset of weight 0 is
   * never read.
   */
  readonly weights?: readonly number[];
  /**
   * Seed of the choices. Without one, each iterator makes its own choices, derived from the
   * iterator's seed (saved with its state, so a restored iterator continues them).
   */
  readonly seed?: number;
  /**
   * End at the first choice of a dataset that has ended (default false: drop it from the
   * choice and renormalize the weights of the others, ending when all have ended).
   */
  readonly stopOnEmptyDataset?: boolean;
  /**
   * Give each epoch of an enclosing `repeat` its own choices (default false: every epoch makes
   * the first one's choices, as in tf.data).
   */
  readonly rerandomizeEachIteration?: boolean;
}

/** The options `Dataset.sampleFromDatasets` knows. */
export const SAMPLE_FROM_DATASETS_OPTIONS = ["weights", "seed", "stopOnEmptyDataset", "rerandomizeEachIteration"] as const;

/** `Dataset.sampleFromDatasets(datasets, options)`: each element from a randomly chosen input. */
export class SampleFromDatasetsNode<T> implements DatasetNode<T> {
  readonly label: string;
  private readonly weights: readonly number[];
  private readonly seed: number | null;
  private readonly stopOnEmpty: boolean;
  private readonly rerandomize: boolean;

  constructor(
    readonly inputs: readonly DatasetNode<T>[],
    options: SampleFromDatasetsOptions,
  ) {
    const call = "Dataset.sampleFromDatasets(datasets, { weights })";
    if (inputs.length === 0) {
      throw invalidArgument("Dataset.sampleFromDatasets(datasets)", "at least one dataset", [], "Pass an array of datasets to sample from.");
    }
    const weights = options.weights ?? inputs.map(() => 1);
    if (!Array.isArray(weights) || weights.length !== inputs.length) {
      throw invalidArgument(
        call,
        `an array of ${inputs.length} weights, one per dataset`,
        weights,
        "Pass one non-negative number per dataset, e.g. [0.7, 0.3].",
      );
    }
    weights.forEach((w: unknown, i) => {
      if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
        throw invalidArgument(`${call}[${i}]`, "a finite number ≥ 0", w, "Pass one non-negative number per dataset, e.g. [0.7, 0.3].");
      }
    });
    if (weights.every((w) => w === 0)) {
      throw invalidArgument(call, "at least one weight above 0", weights, "Give the datasets to sample from a positive weight.");
    }
    this.weights = [...weights];
    this.seed = requireSeed("Dataset.sampleFromDatasets(datasets, { seed })", options.seed);
    this.stopOnEmpty = requireBoolean("stopOnEmptyDataset", options.stopOnEmptyDataset ?? false);
    this.rerandomize = requireBoolean("rerandomizeEachIteration", options.rerandomizeEachIteration ?? false);
    this.label = `${KIND}(${inputs.map((input, i) => `${this.weights[i]}: ${input.describe()}`).join(", ")})`;
  }

  describe(): string {
    return this.label;
  }

  cardinality(): number | null {
    const counts = this.inputs.filter((_, i) => (this.weights[i] as number) > 0).map((input) => input.cardinality());
    if (this.stopOnEmpty) return counts.every((n) => n === Infinity) ? Infinity : null;
    if (counts.some((n) => n === Infinity)) return Infinity;
    if (counts.some((n) => n === null)) return null;
    return (counts as number[]).reduce((a, b) => a + b, 0);
  }

  options(): DatasetOptions {
    return mergedOptions(this.inputs);
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    const seed = opSeed(this, ctx, this.seed);
    const epoch = this.rerandomize ? ctx.epoch : [];
    const inputs = this.inputs.map((input, i) => ((this.weights[i] as number) > 0 ? input.makeIterator(ctx) : null));
    return new SampleFromDatasetsIterator(inputs, this.weights, this.stopOnEmpty, seed, Rng.fromSeed(deriveSeed(seed, ...epoch)), (restored) =>
      ctx.seeds.set(this, restored),
    );
  }
}

function requireBoolean(option: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw invalidArgument(`Dataset.sampleFromDatasets(datasets, { ${option} })`, "a boolean", value, "Pass true or false.");
  return value;
}

class SampleFromDatasetsIterator<T> extends DirectedInterleaveIterator<T> {
  constructor(
    inputs: readonly (OpIterator<T> | null)[],
    private readonly weights: readonly number[],
    stopOnEmpty: boolean,
    private seed: number,
    private rng: Rng,
    private readonly adoptSeed: (seed: number) => void,
  ) {
    super(inputs, stopOnEmpty, KIND);
  }

  /** A random input among those still read, by their weights (renormalized over them). */
  protected select(): number | End {
    const inputs = this.inputs;
    let total = 0;
    for (let i = 0; i < inputs.length; i++) if (inputs[i] !== null) total += this.weights[i] as number;
    if (total === 0) return END;
    let u = this.rng.float() * total;
    let last = -1;
    for (let i = 0; i < inputs.length; i++) {
      if (inputs[i] === null) continue;
      const w = this.weights[i] as number;
      if (w === 0) continue;
      last = i;
      if (u < w) return i;
      u -= w;
    }
    return last < 0 ? END : last; // rounding left u at the top: the last candidate
  }

  protected async closeSelector(): Promise<void> {}

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, seed: this.seed, rng: this.rng.state(), ended: this.ended, inputs: await this.saveInputs(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { seed, rng, ended, inputs } = STATE.read(state);
    this.seed = seed;
    this.adoptSeed(seed);
    this.rng = Rng.fromState(rng);
    if (ended) {
      await this.end();
      return;
    }
    await this.restoreInputs(inputs);
  }
}
