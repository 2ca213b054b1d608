import {
  END,
  UnaryIterator,
  UnaryNode,
  isPromiseLike,
  type DatasetNode,
  type End,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import { Rng, rngState } from "../../core/rng.js";
import { arrayOf, boolean, integer, misfit, nullable, opState, pathTo, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { elements, encodeValues } from "../../core/value-codec.js";
import { InvalidArgumentError, describeValue, invalidArgument } from "../../errors.js";
import { opSeed, requireSeed } from "../seeds.js";
import { requireFunction } from "../validate.js";

const KIND = "RejectionResample";
/**
 * The seed, the generator's position, the class counts of the online estimate (null with an
 * `initialDist`), the elements read ahead for it with their classes (`ready` once counted),
 * whether the input ended, and the input's state.
 */
const VERSION = 1;
const STATE = stateSchema(
  KIND,
  VERSION,
  {
    seed: integer(),
    rng: rngState,
    counts: nullable(arrayOf(integer(0))),
    window: elements,
    classes: arrayOf(integer(0)),
    ready: boolean,
    inputEnded: boolean,
    input: opState,
  },
  {
    check: ({ window, classes }, path) => {
      if (classes.length !== window.length) misfit(pathTo(path, "classes"), `one class per element of the window (${window.length})`, classes);
    },
  },
);

/** tf.data's online estimate: class counts start at this, ... */
const SMOOTHING = 10;
/** ... and are updated once per this many elements, read ahead. */
const ESTIMATION_BATCH = 32;
/** float32's smallest normal number, added to the initial probabilities as tf.data does (no division by 0). */
const TINY = 1.1754943508222875e-38;

/** Classifies an element: an integer from 0 to `targetDist.length - 1` (or a Promise of one). */
export type ClassFn<T> = (value: T) => number | PromiseLike<number>;

/** Options of `dataset.rejectionResample`. */
export interface RejectionResampleOptions {
  /** The wanted proportion of each class, one non-negative number per class, not all zero (need not sum to 1). */
  readonly targetDist: readonly number[];
  /**
   * The proportion of each class in the input, when known. Without it, it is estimated online
   * as tf.data does: counts start at 10 per class and take in the classes of each 32 elements
   * (read ahead) before those elements are resampled.
   */
  readonly initialDist?: readonly number[];
  /**
   * Seed of the accept / reject draws. Without one, each iterator draws its own, derived from
   * the iterator's seed (saved with its state).
   */
  readonly seed?: number;
}

/** The options `rejectionResample` knows. */
export const REJECTION_RESAMPLE_OPTIONS = ["targetDist", "initialDist", "seed"] as const;

/** `dataset.rejectionResample(classFn, options)`: keeps each element with a probability that depends on its class. */
export class RejectionResampleNode<T> extends UnaryNode<T, T> {
  readonly label: string;
  private readonly target: readonly number[];
  private readonly initial: readonly number[] | null;
  private readonly seed: number | null;

  constructor(
    input: DatasetNode<T>,
    private readonly classFn: ClassFn<T>,
    options: RejectionResampleOptions,
  ) {
    super(input);
    requireFunction("rejectionResample(classFn)", classFn, "Pass a function from an element to its class index, e.g. (x) => x.label.");
    this.target = distribution("targetDist", options.targetDist, null);
    this.initial = options.initialDist === undefined ? null : distribution("initialDist", options.initialDist, this.target.length);
    this.seed = requireSeed("rejectionResample(classFn, { seed })", options.seed);
    this.label = `${KIND}(classes=${this.target.length})`;
  }

  override cardinality(): number | null {
    return this.input.cardinality() === 0 ? 0 : null;
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    const seed = opSeed(this, ctx, this.seed);
    return new RejectionResampleIterator(this.input.makeIterator(ctx), this.classFn, this.target, this.initial, seed, Rng.fromSeed(seed), (restored) =>
      ctx.seeds.set(this, restored),
    );
  }
}

function distribution(option: string, value: unknown, length: number | null): number[] {
  const subject = `rejectionResample(classFn, { ${option} })`;
  const fix = "Pass one non-negative number per class, e.g. [0.5, 0.5].";
  if (!Array.isArray(value) || value.length === 0) throw invalidArgument(subject, "a non-empty array of numbers, one per class", value, fix);
  if (length !== null && value.length !== length) {
    throw invalidArgument(subject, `${length} numbers, one per class of targetDist`, value, "Give initialDist and targetDist one entry per class each.");
  }
  value.forEach((p: unknown, i) => {
    if (typeof p !== "number" || !Number.isFinite(p) || p < 0) throw invalidArgument(`${subject}[${i}]`, "a finite number ≥ 0", p, fix);
  });
  if (value.every((p) => p === 0)) throw invalidArgument(subject, "at least one number above 0", value, fix);
  return [...(value as number[])];
}

/**
 * The probability of accepting an element of each class: `(t_i / p_i) / max_j (t_j / p_j)`,
 * so that the accepted elements follow `t` when the input follows `p`.
 */
function acceptance(initial: readonly number[], target: readonly number[]): number[] {
  const sum = initial.reduce((a, b) => a + b, 0);
  const ratios = target.map((t, i) => t / ((initial[i] as number) / sum + TINY));
  const max = Math.max(...ratios);
  return ratios.map((r) => r / max);
}

class RejectionResampleIterator<T> extends UnaryIterator<T, T> {
  /** The elements read ahead (one at a time with an initialDist, up to 32 for the estimate). */
  private window: T[] = [];
  private classes: number[] = [];
  /** True once the window's classes are counted: its elements can be resampled. */
  private ready = false;
  private inputEnded = false;
  private counts: number[] | null;
  private accept: number[];
  private readonly batch: number;

  constructor(
    input: OpIterator<T>,
    private readonly classFn: ClassFn<T>,
    private readonly target: readonly number[],
    initial: readonly number[] | null,
    private seed: number,
    private rng: Rng,
    private readonly adoptSeed: (seed: number) => void,
  ) {
    super(input);
    this.counts = initial === null ? target.map(() => SMOOTHING) : null;
    this.accept = acceptance(initial ?? (this.counts as number[]), target);
    this.batch = initial === null ? ESTIMATION_BATCH : 1;
  }

  next(): Pull<T> {
    for (;;) {
      if (this.ready) {
        while (this.window.length > 0) {
          const value = this.window.shift() as T;
          const cls = this.classes.shift() as number;
          if (this.rng.float() < (this.accept[cls] as number)) return value;
        }
        this.ready = false;
      }
      if (this.inputEnded) return END;
      const filled = this.fill();
      if (filled !== undefined) return filled.then(() => this.next());
    }
  }

  /** Reads ahead until the window is full or the input ends, then counts its classes. */
  private fill(): Promise<void> | undefined {
    while (!this.inputEnded && this.window.length < this.batch) {
      const pulled = this.input.next();
      const admitted = pulled instanceof Promise ? pulled.then((v) => this.admit(v)) : this.admit(pulled);
      if (admitted !== undefined) return admitted.then(() => this.fill());
    }
    this.seal();
    return undefined;
  }

  private admit(value: T | End): Promise<void> | undefined {
    if (value === END) {
      this.inputEnded = true;
      return undefined;
    }
    const cls = this.classFn(value);
    if (isPromiseLike(cls)) return Promise.resolve(cls).then((c) => this.place(value, c));
    this.place(value, cls);
    return undefined;
  }

  private place(value: T, cls: unknown): void {
    const n = this.target.length;
    if (typeof cls !== "number" || !Number.isInteger(cls) || cls < 0 || cls >= n) {
      throw new InvalidArgumentError(
        `rejectionResample(classFn) needs classFn to return a class index, an integer from 0 to ${n - 1}; got ${describeValue(cls)} ` +
          `for the element ${describeValue(value)}. Return the index of the element's class in targetDist.`,
        { expected: `an integer from 0 to ${n - 1}`, received: describeValue(cls) },
      );
    }
    this.window.push(value);
    this.classes.push(cls);
  }

  /** The window is complete: its classes join the estimate, and its elements can be resampled. */
  private seal(): void {
    if (this.window.length === 0) return;
    const counts = this.counts;
    if (counts !== null) {
      for (const cls of this.classes) counts[cls] = (counts[cls] as number) + 1;
      this.accept = acceptance(counts, this.target);
    }
    this.ready = true;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return {
      kind: KIND,
      version: VERSION,
      seed: this.seed,
      rng: this.rng.state(),
      counts: this.counts === null ? null : [...this.counts],
      window: encodeValues(this.window, "rejectionResample window", ctx.sink),
      classes: [...this.classes],
      ready: this.ready,
      inputEnded: this.inputEnded,
      input: await this.input.save(ctx),
    };
  }

  async restore(state: OpState): Promise<void> {
    const { seed, rng, counts, window, classes, ready, inputEnded, input } = STATE.read(state);
    const n = this.target.length;
    const fit =
      (this.counts === null) === (counts === null) && (counts === null || counts.length === n) && classes.every((c) => c < n) && window.length <= this.batch;
    if (!fit) {
      const described = counts === null ? "a given initialDist" : `an estimate over ${counts.length} classes`;
      const mine = this.counts === null ? "a given initialDist" : `an estimate over ${n} classes`;
      throw new InvalidArgumentError(
        `Cannot restore ${KIND}: it resamples ${n} classes with ${mine}; the saved state holds ${described}, ${window.length} elements ` +
          `read ahead and classes [${classes.join(", ")}]. Restore into a dataset built with the same targetDist and initialDist.`,
        { expected: `${n} classes, ${mine}`, received: described },
      );
    }
    this.seed = seed;
    this.adoptSeed(seed);
    this.rng = Rng.fromState(rng);
    if (counts !== null) {
      this.counts = counts;
      this.accept = acceptance(counts, this.target);
    }
    this.window = window as T[];
    this.classes = classes;
    this.ready = ready;
    this.inputEnded = inputEnded;
    await this.input.restore(input);
  }
}
