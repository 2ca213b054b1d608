import {
  END,
  UnaryIterator,
  UnaryNode,
  pullMany,
  pullOne,
  type DatasetNode,
  type End,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import {
  addressesOf,
  indexBlocker,
  pullManyAt,
  unknownPositions,
  type Addresses,
  type AddressableNode,
  type PositionedIterator,
} from "../../core/addressable.js";
import { Leftover, leftoverField } from "../../core/leftover.js";
import { andThen } from "../../core/random-access.js";
import { arrayOf, integer, nullable, olderVersion, opState, optional, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { element, savedError, type Held } from "../../core/value-codec.js";
import { FailedPreconditionError } from "../../errors.js";
import { requireFunction } from "../validate.js";

const KIND = "Filter";
/**
 * Version 3 adds `pulled`: over an input numbered by pull count (one with random access), how
 * many elements this iterator took from it — the position of the next one — or null when not
 * counted (another input, or unknown after an error). Version 2 kept a leftover of a failed
 * bulk pull as held entries (see Leftover); version 1 in `pending` and `failure`.
 */
const VERSION = 3;
interface FilterState {
  readonly pulled: number | null;
  readonly held: Held<unknown>[];
  readonly input: OpState;
}
const STATE = stateSchema<FilterState>(
  KIND,
  VERSION,
  { pulled: nullable(integer(0)), held: leftoverField, input: opState },
  {
    older: [
      olderVersion(1, { pending: optional(arrayOf(element)), failure: optional(savedError), input: opState }, ({ pending, failure, input }) => ({
        pulled: null,
        held: Leftover.fromVersion1(pending, failure),
        input,
      })),
      olderVersion(2, { held: leftoverField, input: opState }, ({ held, input }) => ({ pulled: null, held, input })),
    ],
  },
);

/**
 * A test applied to each element; it may return a Promise of the answer (other thenables are
 * not awaited). It must be deterministic and free of side effects when a shuffle above saves
 * positions (the default over an addressable input): a restored shuffle gets its buffered
 * elements again by position and tests them again, and fails when one no longer passes.
 */
export type Predicate<T> = (value: T) => unknown;

/**
 * `dataset.filter(predicate)`: the elements for which the predicate is truthy. Addressable
 * when its input is: each element keeps its input's position.
 */
export class FilterNode<T> extends UnaryNode<T, T> implements AddressableNode<T> {
  readonly label = KIND;
  readonly carriesPositions = true;
  /** Whether the input numbers its elements by pull count (computed once: the pipeline does not change). */
  private indexed: boolean | undefined;

  constructor(
    input: DatasetNode<T>,
    private readonly predicate: Predicate<T>,
  ) {
    super(input);
    requireFunction("filter(predicate)", predicate, "Pass a function returning true for elements to keep.");
  }

  override cardinality(): number | null {
    return this.input.cardinality() === 0 ? 0 : null;
  }

  addresses(ctx: IteratorContext): Addresses<T> | null {
    const input = addressesOf(this.input, ctx);
    if (input === null) return null;
    const predicate = this.predicate;
    const kept = (position: number, value: T) => (keep: unknown) => {
      if (keep) return value;
      throw new FailedPreconditionError(
        `filter(predicate) dropped the element at position ${position}, which it had kept when the state was saved. ` +
          "A shuffle saving positions gets its buffered elements again by position and tests them again: the predicate must be deterministic and free of side effects. " +
          'Make it so, or pass saveBuffer: "elements" to the shuffle.',
        { expected: "a deterministic predicate", received: `element at position ${position} dropped`, fix: 'Use shuffle(n, { saveBuffer: "elements" }).' },
      );
    };
    return {
      bound: input.bound,
      get: (position) => andThen(input.get(position), (value) => andThen(predicate(value), kept(position, value))),
    };
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    this.indexed ??= indexBlocker(this.input) === null;
    return new FilterIterator(this.input.makeIterator(ctx), this.predicate, this.indexed);
  }
}

/**
 * Sieves its input. Over an input numbered by pull count it counts its pulls, so it can tell
 * each element's position; over another addressable input it passes the input's positions on.
 */
class FilterIterator<T> extends UnaryIterator<T, T> implements PositionedIterator<T> {
  private readonly leftover = new Leftover<T>();
  /** With `counting`: how many elements this iterator took from its input; null when unknown (after an error). */
  private pulled: number | null;
  private readonly resume = (value: T | End): Pull<T> => {
    if (value === END) return END;
    if (this.pulled !== null) this.pulled++;
    return this.test(value);
  };
  private readonly lost = (error: unknown): never => {
    this.pulled = null;
    throw error;
  };

  constructor(
    input: OpIterator<T>,
    private readonly predicate: Predicate<T>,
    /** Whether the input numbers its elements by pull count: positions are counted here. */
    private readonly counting: boolean,
  ) {
    super(input);
    this.pulled = counting ? 0 : null;
  }

  next(): Pull<T> {
    if (this.pulled === null) return this.pass();
    try {
      const value = this.pass();
      return value instanceof Promise ? value.catch(this.lost) : value;
    } catch (error) {
      return this.lost(error);
    }
  }

  /** The next element that passes (counting the input's, when counted). */
  private pass(): Pull<T> {
    for (;;) {
      const value = this.leftover.empty ? this.input.next() : this.leftover.take();
      if (value instanceof Promise) return value.then(this.resume);
      if (value === END) return END;
      if (this.pulled !== null) this.pulled++;
      const keep = this.predicate(value);
      if (keep instanceof Promise) return this.testAfter(keep, value);
      if (keep) return value;
    }
  }

  private test(value: T): Pull<T> {
    const keep = this.predicate(value);
    if (keep instanceof Promise) return this.testAfter(keep, value);
    return keep ? value : this.pass();
  }

  private testAfter(keep: Promise<unknown>, value: T): Promise<T | End> {
    return keep.then((k) => (k ? value : this.pass()));
  }

  /**
   * Pulls the input's elements straight into `out` and sieves them in place: no array between
   * the ops. The kept elements are moved down to `out[base..base + kept)` (never past an element
   * still to be tested), and `out` is cut back to them when a sieve ends or fails.
   */
  nextMany(out: T[], max: number): number | Promise<number> {
    if (!this.leftover.empty) return pullOne(this, out);
    return this.fill(out, null, 0, out.length, 0, max);
  }

  /** {@link nextMany}, with the position of each element appended to `positions` (moved along with it). */
  nextManyAt(out: T[], positions: number[], max: number): number | Promise<number> {
    if (!this.leftover.empty) {
      const pulled = pullOne(this, out);
      return pulled instanceof Promise ? pulled.then((n) => unknownPositions(positions, n)) : unknownPositions(positions, pulled);
    }
    return this.fill(out, positions, positions.length - out.length, out.length, 0, max);
  }

  /**
   * Pulls and sieves until `kept` + the kept elements of further pulls reach `max`, or the input
   * ends. With `positions`, `positions[i + shift]` is the position of `out[i]`.
   */
  private fill(out: T[], positions: number[] | null, shift: number, base: number, kept: number, max: number): number | Promise<number> {
    for (;;) {
      const at = out.length;
      let pulled: number | Promise<number>;
      try {
        pulled = positions === null || this.counting ? pullMany(this.input, out, max - kept) : pullManyAt(this.input, out, positions, max - kept);
      } catch (error) {
        return this.failInput(kept, error);
      }
      if (pulled instanceof Promise) return this.fillAfter(pulled, out, positions, shift, base, kept, at, max);
      if (pulled === 0) return kept;
      this.took(positions, pulled);
      const sieved = this.sieve(out, positions, shift, base, kept, at, at + pulled);
      if (sieved instanceof Promise) return this.continueFill(out, positions, shift, base, sieved, max);
      kept = sieved;
      if (!this.leftover.empty || kept === max) return kept;
    }
  }

  private fillAfter(
    pulled: Promise<number>,
    out: T[],
    positions: number[] | null,
    shift: number,
    base: number,
    kept: number,
    at: number,
    max: number,
  ): Promise<number> {
    return pulled.then(
      (n) => {
        if (n === 0) return kept;
        this.took(positions, n);
        return this.continueFill(out, positions, shift, base, this.sieve(out, positions, shift, base, kept, at, at + n), max);
      },
      (error: unknown) => this.failInput(kept, error),
    );
  }

  /** Counts `n` elements pulled from an input numbered by pull count, appending their positions when asked. */
  private took(positions: number[] | null, n: number): void {
    if (!this.counting) return;
    const pulled = this.pulled;
    if (positions !== null) {
      if (pulled === null) unknownPositions(positions, n);
      else for (let k = 0; k < n; k++) positions.push(pulled + k);
    }
    if (pulled !== null) this.pulled = pulled + n;
  }

  /**
   * The input failed after this call had kept `kept` elements: a bulk pull throws only when it
   * appended nothing, so deliver them and hold the error for the next call. The input's
   * position after a failure cannot be told: positions are unknown from now on.
   */
  private failInput(kept: number, error: unknown): number {
    this.pulled = null;
    if (kept === 0) throw error;
    this.leftover.hold(error, []);
    return kept;
  }

  /** After a sieve: stop when `max` are kept or something is held, else pull again. */
  private continueFill(
    out: T[],
    positions: number[] | null,
    shift: number,
    base: number,
    kept: number | Promise<number>,
    max: number,
  ): number | Promise<number> {
    if (kept instanceof Promise) return kept.then((k) => this.continueFill(out, positions, shift, base, k, max));
    return !this.leftover.empty || kept === max ? kept : this.fill(out, positions, shift, base, kept, max);
  }

  /**
   * Tests `out[from..end)`, moving those that pass (and their positions) to `out[base + kept..]`,
   * then cuts `out` after them; returns the new count of kept elements.
   */
  private sieve(out: T[], positions: number[] | null, shift: number, base: number, kept: number, from: number, end: number): number | Promise<number> {
    const predicate = this.predicate;
    for (let i = from; i < end; i++) {
      const value = out[i] as T;
      let keep: unknown;
      try {
        keep = predicate(value);
      } catch (error) {
        return this.fail(out, positions, shift, base, kept, i, end, error);
      }
      if (keep instanceof Promise) return this.sieveAfter(keep, out, positions, shift, base, kept, i, end);
      if (keep) {
        if (positions !== null) positions[base + kept + shift] = positions[i + shift] as number;
        out[base + kept++] = value;
      }
    }
    // pop() is inlined where setting `length` is a runtime call: a sieve drops only a few.
    for (let n = out.length - (base + kept); n > 0; n--) out.pop();
    if (positions !== null) for (let n = positions.length - (base + kept + shift); n > 0; n--) positions.pop();
    return kept;
  }

  // A continuation in its own method: a closure inside the loop would cost an allocation per element.
  private sieveAfter(
    keep: Promise<unknown>,
    out: T[],
    positions: number[] | null,
    shift: number,
    base: number,
    kept: number,
    i: number,
    end: number,
  ): Promise<number> {
    return keep.then(
      (k) => {
        if (!k) return this.sieve(out, positions, shift, base, kept, i + 1, end);
        if (positions !== null) positions[base + kept + shift] = positions[i + shift] as number;
        out[base + kept] = out[i] as T;
        return this.sieve(out, positions, shift, base, kept + 1, i + 1, end);
      },
      (error: unknown) => this.fail(out, positions, shift, base, kept, i, end, error),
    );
  }

  /** `out[i]` failed: keep what passed before it; hold the error and the input elements after it (their positions are lost). */
  private fail(out: T[], positions: number[] | null, shift: number, base: number, kept: number, i: number, end: number, error: unknown): number {
    this.leftover.hold(error, out.slice(i + 1, end));
    this.pulled = null;
    out.length = base + kept;
    if (positions !== null) positions.length = base + kept + shift;
    if (kept === 0) this.leftover.take(); // raises the error at once: nothing comes before it
    return kept;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return {
      kind: KIND,
      version: VERSION,
      pulled: this.pulled,
      ...this.leftover.save("filter input element", ctx.sink),
      input: await this.input.save(ctx),
    };
  }

  async restore(state: OpState): Promise<void> {
    const { pulled, held, input } = STATE.read(state);
    this.leftover.restore(held);
    this.pulled = this.counting ? pulled : null;
    await this.input.restore(input);
  }
}
