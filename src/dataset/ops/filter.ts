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
import { Leftover, leftoverStateSchema } from "../../core/leftover.js";
import type { OpState } from "../../core/state.js";
import { requireFunction } from "../validate.js";

const KIND = "Filter";
/** Version 2 keeps a leftover of a failed bulk pull as held entries (see leftoverStateSchema). */
const STATE = leftoverStateSchema(KIND);
const VERSION = STATE.version;

/** A test applied to each element; it may return a Promise of the answer (other thenables are not awaited). */
export type Predicate<T> = (value: T) => unknown;

/** `dataset.filter(predicate)`: the elements for which the predicate is truthy. */
export class FilterNode<T> extends UnaryNode<T, T> {
  readonly label = KIND;

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

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new FilterIterator(this.input.makeIterator(ctx), this.predicate);
  }
}

class FilterIterator<T> extends UnaryIterator<T, T> {
  private readonly leftover = new Leftover<T>();
  private readonly resume = (value: T | End): Pull<T> => (value === END ? END : this.test(value));

  constructor(
    input: OpIterator<T>,
    private readonly predicate: Predicate<T>,
  ) {
    super(input);
  }

  next(): Pull<T> {
    for (;;) {
      const value = this.leftover.empty ? this.input.next() : this.leftover.take();
      if (value instanceof Promise) return value.then(this.resume);
      if (value === END) return END;
      const keep = this.predicate(value);
      if (keep instanceof Promise) return this.testAfter(keep, value);
      if (keep) return value;
    }
  }

  private test(value: T): Pull<T> {
    const keep = this.predicate(value);
    if (keep instanceof Promise) return this.testAfter(keep, value);
    return keep ? value : this.next();
  }

  private testAfter(keep: Promise<unknown>, value: T): Promise<T | End> {
    return keep.then((k) => (k ? value : this.next()));
  }

  /**
   * Pulls the input's elements straight into `out` and sieves them in place: no array between
   * the ops. The kept elements are moved down to `out[base..base + kept)` (never past an element
   * still to be tested), and `out` is cut back to them when a sieve ends or fails.
   */
  nextMany(out: T[], max: number): number | Promise<number> {
    if (!this.leftover.empty) return pullOne(this, out);
    return this.fill(out, out.length, 0, max);
  }

  /** Pulls and sieves until `kept` + the kept elements of further pulls reach `max`, or the input ends. */
  private fill(out: T[], base: number, kept: number, max: number): number | Promise<number> {
    for (;;) {
      const at = out.length;
      let pulled: number | Promise<number>;
      try {
        pulled = pullMany(this.input, out, max - kept);
      } catch (error) {
        return this.failInput(kept, error);
      }
      if (pulled instanceof Promise) return this.fillAfter(pulled, out, base, kept, at, max);
      if (pulled === 0) return kept;
      const sieved = this.sieve(out, base, kept, at, at + pulled);
      if (sieved instanceof Promise) return this.continueFill(out, base, sieved, max);
      kept = sieved;
      if (!this.leftover.empty || kept === max) return kept;
    }
  }

  private fillAfter(pulled: Promise<number>, out: T[], base: number, kept: number, at: number, max: number): Promise<number> {
    return pulled.then(
      (n) => (n === 0 ? kept : this.continueFill(out, base, this.sieve(out, base, kept, at, at + n), max)),
      (error: unknown) => this.failInput(kept, error),
    );
  }

  /**
   * The input failed after this call had kept `kept` elements: a bulk pull throws only when it
   * appended nothing, so deliver them and hold the error for the next call.
   */
  private failInput(kept: number, error: unknown): number {
    if (kept === 0) throw error;
    this.leftover.hold(error, []);
    return kept;
  }

  /** After a sieve: stop when `max` are kept or something is held, else pull again. */
  private continueFill(out: T[], base: number, kept: number | Promise<number>, max: number): number | Promise<number> {
    if (kept instanceof Promise) return kept.then((k) => this.continueFill(out, base, k, max));
    return !this.leftover.empty || kept === max ? kept : this.fill(out, base, kept, max);
  }

  /**
   * Tests `out[from..end)`, moving those that pass to `out[base + kept..]`, then cuts `out` after
   * them; returns the new count of kept elements.
   */
  private sieve(out: T[], base: number, kept: number, from: number, end: number): number | Promise<number> {
    const predicate = this.predicate;
    for (let i = from; i < end; i++) {
      const value = out[i] as T;
      let keep: unknown;
      try {
        keep = predicate(value);
      } catch (error) {
        return this.fail(out, base, kept, i, end, error);
      }
      if (keep instanceof Promise) return this.sieveAfter(keep, out, base, kept, i, end);
      if (keep) out[base + kept++] = value;
    }
    // pop() is inlined where setting `length` is a runtime call: a sieve drops only a few.
    for (let n = out.length - (base + kept); n > 0; n--) out.pop();
    return kept;
  }

  // A continuation in its own method: a closure inside the loop would cost an allocation per element.
  private sieveAfter(keep: Promise<unknown>, out: T[], base: number, kept: number, i: number, end: number): Promise<number> {
    return keep.then(
      (k) => {
        if (!k) return this.sieve(out, base, kept, i + 1, end);
        out[base + kept] = out[i] as T;
        return this.sieve(out, base, kept + 1, i + 1, end);
      },
      (error: unknown) => this.fail(out, base, kept, i, end, error),
    );
  }

  /** `out[i]` failed: keep what passed before it; hold the error and the input elements after it. */
  private fail(out: T[], base: number, kept: number, i: number, end: number, error: unknown): number {
    this.leftover.hold(error, out.slice(i + 1, end));
    out.length = base + kept;
    if (kept === 0) this.leftover.take(); // raises the error at once: nothing comes before it
    return kept;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, ...this.leftover.save("filter input element", ctx.sink), input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { held, input } = STATE.read(state);
    this.leftover.restore(held);
    await this.input.restore(input);
  }
}
