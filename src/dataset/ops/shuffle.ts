import { END, UnaryIterator, UnaryNode, nodeOrdinal, pullMany, type DatasetNode, type End, type IteratorContext, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { Leftover, leftoverField } from "../../core/leftover.js";
import { Rng, deriveSeed, randomSeed, rngState } from "../../core/rng.js";
import { arrayOf, boolean, integer, olderVersion, opState, optional, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { element, elements, encodeValues, savedError } from "../../core/value-codec.js";
import { InvalidArgumentError, invalidArgument } from "../../errors.js";
import { requireInteger } from "../validate.js";

const KIND = "Shuffle";
/**
 * The buffer, the generator's position, the seed and the input ahead of the buffer. Version 1
 * kept a leftover of a failed bulk pull in `pending` and `failure`; version 2 as held entries
 * (see Leftover).
 */
const VERSION = 2;
const FIELDS = { seed: integer(), rng: rngState, inputEnded: boolean, buffer: elements } as const;
const STATE = stateSchema(
  KIND,
  VERSION,
  { ...FIELDS, held: leftoverField, input: opState },
  {
    older: [
      olderVersion(1, { ...FIELDS, pending: optional(arrayOf(element)), failure: optional(savedError), input: opState }, ({ pending, failure, ...rest }) => ({
        ...rest,
        held: Leftover.fromVersion1(pending, failure),
      })),
    ],
  },
);

/** Options of `dataset.shuffle`. */
export interface ShuffleOptions {
  /**
   * Seed of the order. Without one, each iterator shuffles in its own random order, derived
   * from the iterator's seed (saved with its state, so a restored iterator continues it).
   */
  readonly seed?: number;
  /**
   * Give each epoch of an enclosing `repeat` its own order (default true). The orders are
   * reproducible: they derive from the seed and the epoch number.
   */
  readonly reshuffleEachIteration?: boolean;
}

/**
 * `dataset.shuffle(bufferSize)`: fills a buffer of `bufferSize` elements and hands out a
 * uniformly chosen one, replacing it with the next input element. Saves the buffer, the
 * random generator's position and the seed.
 */
export class ShuffleNode<T> extends UnaryNode<T, T> {
  readonly label: string;
  /** The seed given, or null: then it derives from the top-level iterator's seed and this op's place. */
  readonly seed: number | null;
  private readonly reshuffle: boolean;

  constructor(
    input: DatasetNode<T>,
    private readonly bufferSize: number,
    options: ShuffleOptions,
  ) {
    super(input);
    const n = input.cardinality();
    requireInteger(
      "shuffle(bufferSize)",
      bufferSize,
      1,
      `Pass how many elements to sample from${n === null || n === Infinity ? "" : ` (the dataset has ${n})`}.`,
    );
    if (options.seed !== undefined && (typeof options.seed !== "number" || !Number.isInteger(options.seed))) {
      throw invalidArgument("shuffle(bufferSize, { seed })", "an integer", options.seed, "Pass an integer seed, e.g. { seed: 42 }, or none.");
    }
    this.seed = options.seed ?? null;
    this.reshuffle = options.reshuffleEachIteration ?? true;
    this.label = `${KIND}(${bufferSize})`;
  }

  private derivedSeed(ctx: IteratorContext): number {
    const ordinal = nodeOrdinal(ctx.root, this);
    const seed = ordinal < 0 ? randomSeed() : deriveSeed(ctx.seed, ordinal);
    ctx.seeds.set(this, seed);
    return seed;
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    const base = ctx.seeds.get(this) ?? this.seed ?? this.derivedSeed(ctx);
    const epoch = this.reshuffle ? ctx.epoch : [];
    return new ShuffleIterator(this.input.makeIterator(ctx), this.bufferSize, base, Rng.fromSeed(deriveSeed(base, ...epoch)), (seed) =>
      ctx.seeds.set(this, seed),
    );
  }
}

class ShuffleIterator<T> extends UnaryIterator<T, T> {
  private buffer: T[] = [];
  private inputEnded = false;
  /** An input error met by a bulk hand-out after it had handed out elements: raised next. */
  private readonly leftover = new Leftover<T>();
  private readonly refilled = (pulled: number): Pull<T> => {
    if (pulled === 0) this.inputEnded = true;
    return this.next();
  };

  constructor(
    input: OpIterator<T>,
    private readonly bufferSize: number,
    private seed: number,
    private rng: Rng,
    private readonly adoptSeed: (seed: number) => void,
  ) {
    super(input);
  }

  next(): Pull<T> {
    if (!this.leftover.empty) this.leftover.take();
    const refill = this.refill();
    if (refill !== null) return refill.then(this.refilled);
    return this.draw();
  }

  nextMany(out: T[], max: number): number | Promise<number> {
    if (!this.leftover.empty) this.leftover.take();
    return this.drawMany(out, max, 0);
  }

  private drawMany(out: T[], max: number, n: number): number | Promise<number> {
    while (n < max) {
      let refill: Promise<number> | null;
      try {
        refill = this.refill();
      } catch (error) {
        if (n === 0) throw error;
        this.leftover.hold(error, []);
        return n;
      }
      if (refill !== null) return this.drawManyAfter(refill, out, max, n);
      const value = this.draw();
      if (value === END) return n;
      out.push(value);
      n++;
    }
    return n;
  }

  private drawManyAfter(refill: Promise<number>, out: T[], max: number, n: number): Promise<number> {
    return refill.then(
      (pulled) => {
        if (pulled === 0) this.inputEnded = true;
        return this.drawMany(out, max, n);
      },
      (error: unknown) => {
        if (n === 0) throw error;
        this.leftover.hold(error, []);
        return n;
      },
    );
  }

  /** Fills the buffer from the input; returns null when full (or the input ended), else a Promise of a pull. */
  private refill(): Promise<number> | null {
    const buffer = this.buffer;
    while (!this.inputEnded && buffer.length < this.bufferSize) {
      const pulled = pullMany(this.input, buffer, this.bufferSize - buffer.length);
      if (pulled instanceof Promise) return pulled;
      if (pulled === 0) this.inputEnded = true;
    }
    return null;
  }

  /** Hands out a uniformly chosen buffered element, the last one taking its slot. */
  private draw(): T | End {
    const buffer = this.buffer;
    const n = buffer.length;
    if (n === 0) return END;
    const i = this.rng.int(n);
    const out = buffer[i] as T;
    buffer[i] = buffer[n - 1] as T;
    buffer.pop();
    return out;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return {
      kind: KIND,
      version: VERSION,
      seed: this.seed,
      rng: this.rng.state(),
      inputEnded: this.inputEnded,
      buffer: encodeValues(this.buffer, "shuffle buffer", ctx.sink),
      ...this.leftover.save("shuffle element", ctx.sink),
      input: await this.input.save(ctx),
    };
  }

  async restore(state: OpState): Promise<void> {
    const { seed, rng, inputEnded, buffer, held, input } = STATE.read(state);
    if (buffer.length > this.bufferSize) {
      throw new InvalidArgumentError(
        `Cannot restore ${KIND}(${this.bufferSize}): its saved buffer holds ${buffer.length} elements, more than its size. ` +
          `The state was saved with a larger bufferSize; restore it into a dataset built the same way.`,
        { expected: `at most ${this.bufferSize} buffered elements`, received: `${buffer.length}` },
      );
    }
    this.seed = seed;
    this.adoptSeed(seed);
    this.rng = Rng.fromState(rng);
    this.inputEnded = inputEnded;
    this.buffer = buffer as T[];
    this.leftover.restore(held);
    await this.input.restore(input);
  }
}
