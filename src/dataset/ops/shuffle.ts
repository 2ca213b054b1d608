import {
  END,
  UnaryIterator,
  UnaryNode,
  nodeOrdinal,
  pullMany,
  type DatasetNode,
  type End,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import { Leftover, leftoverField } from "../../core/leftover.js";
import { Rng, deriveSeed, randomSeed, rngState } from "../../core/rng.js";
import { addressBlocker, addressesOf, indexBlocker, pullManyAt, type Addresses } from "../../core/addressable.js";
import { arrayOf, boolean, integer, nullable, olderVersion, opState, optional, stateSchema } from "../../core/schema.js";
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
const VERSION = 3;
const FIELDS = { seed: integer(), rng: rngState, inputEnded: boolean, buffer: elements } as const;
/**
 * Version 3 adds `pulled` (how many elements this pass took from the input, or null when
 * unknown) and `positions` (with `saveBuffer: "positions"`: the input position of each buffered
 * element, in buffer order, while `buffer` is empty; else null). A position is the input index
 * over an input with random access, else the index behind a filter (not dense then).
 */
const POSITIONS = { pulled: nullable(integer(0)), positions: nullable(arrayOf(integer(0))) } as const;
interface ShuffleState {
  readonly seed: number;
  readonly rng: number[];
  readonly inputEnded: boolean;
  readonly buffer: unknown[];
  readonly pulled: number | null;
  readonly positions: number[] | null;
  readonly held: ReturnType<typeof leftoverField>;
  readonly input: OpState;
}
const STATE = stateSchema<ShuffleState>(
  KIND,
  VERSION,
  { ...FIELDS, ...POSITIONS, held: leftoverField, input: opState },
  {
    older: [
      olderVersion(1, { ...FIELDS, pending: optional(arrayOf(element)), failure: optional(savedError), input: opState }, ({ pending, failure, ...rest }) => ({
        ...rest,
        pulled: null,
        positions: null,
        held: Leftover.fromVersion1(pending, failure),
      })),
      olderVersion(2, { ...FIELDS, held: leftoverField, input: opState }, (fields) => ({ ...fields, pulled: null, positions: null })),
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
  /**
   * What a saved state holds of the buffer: `"elements"` (the elements themselves) or
   * `"positions"` (the input position each came from — a few bytes each — and restore gets them
   * again by position, recomputing the ops before the shuffle). Positions need an addressable
   * input: one with random access (see `globalShuffle`), or `filter` and sequential `map` over
   * one — whose predicates and functions must then be deterministic (a restored shuffle calls
   * them again on the buffered elements). Default: `"positions"` when the input is addressable,
   * `"elements"` otherwise. After an input error a pass saves elements (where the elements
   * after an error sit in the input cannot be told for sure).
   */
  readonly saveBuffer?: "elements" | "positions";
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
  /** Whether saved states hold positions instead of elements. */
  private readonly positions: boolean;
  /** Whether the input numbers its elements by pull count (computed once: the pipeline does not change). */
  private indexed: boolean | undefined;

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
    const blocker = addressBlocker(input);
    const mode = options.saveBuffer ?? (blocker === null ? "positions" : "elements");
    if (mode !== "elements" && mode !== "positions")
      throw invalidArgument(
        "shuffle(bufferSize, { saveBuffer })",
        '"elements" or "positions"',
        mode,
        'Pass "positions" (small states, for addressable inputs) or "elements".',
      );
    if (mode === "positions" && blocker !== null) {
      throw new InvalidArgumentError(
        `shuffle(${bufferSize}, { saveBuffer: "positions" }) needs an input whose elements can be had again by position, and ${JSON.stringify(blocker)} in ${input.describe()} takes that away. ` +
          'Use saveBuffer: "elements", or build the input from range, fromArray, filter and element-wise ops.',
        { expected: "an addressable input", received: blocker, fix: 'Use saveBuffer: "elements".' },
      );
    }
    this.positions = mode === "positions";
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
    const addresses = this.positions ? addressesOf(this.input, ctx) : null;
    this.indexed ??= indexBlocker(this.input) === null;
    return new ShuffleIterator(
      this.input.makeIterator(ctx),
      this.bufferSize,
      base,
      Rng.fromSeed(deriveSeed(base, ...epoch)),
      (seed) => ctx.seeds.set(this, seed),
      addresses,
      this.indexed,
    );
  }
}

class ShuffleIterator<T> extends UnaryIterator<T, T> {
  private buffer: T[] = [];
  /** With positions: the input position of each buffered element (null when unknown: restored from elements). */
  private indices: number[] | null;
  /** How many elements this pass took from the input, or null when unknown. */
  private pulled: number | null = 0;
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
    private readonly addresses: Addresses<T> | null,
    /** Whether positions are counted here (an input with random access) or reported by the input's iterator. */
    private readonly counting: boolean,
  ) {
    super(input);
    this.indices = addresses === null ? null : [];
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
      let pulled: number | Promise<number>;
      try {
        const indices = this.indices;
        pulled =
          indices === null || this.counting
            ? pullMany(this.input, buffer, this.bufferSize - buffer.length)
            : pullManyAt(this.input, buffer, indices, this.bufferSize - buffer.length);
      } catch (error) {
        this.unaddressed();
        throw error;
      }
      if (pulled instanceof Promise) return pulled.then(this.counted, this.failed);
      this.counted(pulled);
      if (pulled === 0) this.inputEnded = true;
    }
    return null;
  }

  /**
   * An input error: where the elements after it sit in the input cannot be told for sure (an
   * op may have dropped what it held), so this pass saves its buffer as elements from now on.
   */
  private unaddressed(): void {
    this.indices = null;
    this.pulled = null;
  }

  private readonly failed = (error: unknown): never => {
    this.unaddressed();
    throw error;
  };

  /**
   * Numbers the elements a pull added (with positions counted here), or checks the positions the
   * input reported: an unknown one (after an error below) means this pass saves elements.
   */
  private readonly counted = (pulled: number): number => {
    const indices = this.indices;
    if (this.pulled !== null) {
      if (indices !== null && this.counting) for (let k = 0; k < pulled; k++) indices.push(this.pulled + k);
      this.pulled += pulled;
    }
    if (indices !== null && !this.counting) {
      for (let k = indices.length - pulled; k < indices.length; k++) {
        if ((indices[k] as number) < 0) {
          this.unaddressed();
          break;
        }
      }
    }
    return pulled;
  };

  /** Hands out a uniformly chosen buffered element, the last one taking its slot. */
  private draw(): T | End {
    const buffer = this.buffer;
    const n = buffer.length;
    if (n === 0) return END;
    const i = this.rng.int(n);
    const out = buffer[i] as T;
    buffer[i] = buffer[n - 1] as T;
    buffer.pop();
    const indices = this.indices;
    if (indices !== null) {
      indices[i] = indices[n - 1] as number;
      indices.pop();
    }
    return out;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return {
      kind: KIND,
      version: VERSION,
      seed: this.seed,
      rng: this.rng.state(),
      inputEnded: this.inputEnded,
      pulled: this.pulled,
      ...(this.indices === null
        ? { buffer: encodeValues(this.buffer, "shuffle buffer", ctx.sink), positions: null }
        : { buffer: [], positions: [...this.indices] }),
      ...this.leftover.save("shuffle element", ctx.sink),
      input: await this.input.save(ctx),
    };
  }

  async restore(state: OpState): Promise<void> {
    const { seed, rng, inputEnded, buffer, pulled, positions, held, input } = STATE.read(state);
    const count = positions?.length ?? buffer.length;
    if (count > this.bufferSize) {
      throw new InvalidArgumentError(
        `Cannot restore ${KIND}(${this.bufferSize}): its saved buffer holds ${count} elements, more than its size. ` +
          `The state was saved with a larger bufferSize; restore it into a dataset built the same way.`,
        { expected: `at most ${this.bufferSize} buffered elements`, received: `${count}` },
      );
    }
    if (positions !== null) {
      const addresses = this.addresses;
      if (addresses === null) {
        throw new InvalidArgumentError(
          `Cannot restore ${KIND}(${this.bufferSize}): its state holds buffer positions, and this shuffle saves elements (its input is not addressable). Restore into a dataset built the same way.`,
        );
      }
      const bound = addresses.bound;
      const beyond = bound === null ? undefined : positions.find((i) => i >= bound);
      if (beyond !== undefined)
        throw new InvalidArgumentError(
          `Cannot restore ${KIND}(${this.bufferSize}): a buffer position (${beyond}) lies beyond its input's ${bound} positions. Restore into a dataset built from the same input.`,
        );
    }
    this.seed = seed;
    this.adoptSeed(seed);
    this.rng = Rng.fromState(rng);
    this.inputEnded = inputEnded;
    this.pulled = pulled;
    if (positions !== null) {
      // Positions: the elements are had again from the input, by position.
      const addresses = this.addresses as Addresses<T>;
      this.buffer = await Promise.all(positions.map((i) => addresses.get(i)));
      this.indices = [...positions];
    } else {
      this.buffer = buffer as T[];
      // Restored from elements: their positions are unknown; this iterator saves elements.
      this.indices = null;
    }
    this.leftover.restore(held);
    await this.input.restore(input);
  }
}
