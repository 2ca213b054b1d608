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
import { randomAccessOf, andThen, type RandomAccess } from "../../core/random-access.js";
import { addressesOf, pullManyAt, unknownPositions, type Addresses, type AddressableNode, type PositionedIterator } from "../../core/addressable.js";
import { ParallelMapIterator } from "./parallel-map.js";

const KIND = "Map";
/** Version 2 keeps a leftover of a failed bulk pull as held entries (see leftoverStateSchema). */
const STATE = leftoverStateSchema(KIND);
const VERSION = STATE.version;

/**
 * A function applied to each element. It may return a Promise (an `async` function does);
 * other thenables are not awaited: wrap them in an `async` function.
 */
export type MapFn<T, U> = (value: T) => U | Promise<U>;

/**
 * `dataset.map(fn, { parallel })`. Keeps random access, and addressability when sequential:
 * each element keeps its input's position (a parallel map's iterator does not report positions).
 */
export class MapNode<T, U> extends UnaryNode<T, U> implements AddressableNode<U> {
  readonly label: string;
  readonly carriesPositions: boolean;

  constructor(
    input: DatasetNode<T>,
    private readonly fn: MapFn<T, U>,
    private readonly parallel: number | "auto",
  ) {
    super(input);
    requireFunction("map(fn)", fn, "Pass the function to apply to each element, e.g. map((x) => x * 2).");
    this.label = parallel === "auto" || parallel > 1 ? `Map(parallel=${parallel})` : KIND;
    this.carriesPositions = this.label === KIND;
  }

  addresses(ctx: IteratorContext): Addresses<U> | null {
    const input = this.carriesPositions ? addressesOf(this.input, ctx) : null;
    const fn = this.fn;
    return input === null ? null : { bound: input.bound, get: (position) => andThen(input.get(position), fn) };
  }

  randomAccess(ctx: IteratorContext): RandomAccess<U> | null {
    const input = randomAccessOf(this.input, ctx);
    const fn = this.fn;
    return input === null ? null : { length: input.length, get: (i) => andThen(input.get(i), fn) };
  }

  makeIterator(ctx: IteratorContext): OpIterator<U> {
    const input = this.input.makeIterator(ctx);
    return this.parallel === "auto" || this.parallel > 1 ? new ParallelMapIterator(input, this.fn, this.parallel) : new MapIterator(input, this.fn);
  }
}

/** Applies the function one call at a time, in order; in bulk, over the input's bulk pulls. */
class MapIterator<T, U> extends UnaryIterator<T, U> implements PositionedIterator<U> {
  private readonly leftover = new Leftover<T>();
  private readonly apply = (value: T | End): Pull<U> => (value === END ? END : this.fn(value));

  constructor(
    input: OpIterator<T>,
    private readonly fn: MapFn<T, U>,
  ) {
    super(input);
  }

  next(): Pull<U> {
    if (!this.leftover.empty) return this.fn(this.leftover.take());
    const value = this.input.next();
    if (value instanceof Promise) return value.then(this.apply);
    if (value === END) return END;
    return this.fn(value);
  }

  /**
   * Pulls the input's elements straight into `out` and maps them in place: no array between
   * the ops. `out[start..]` holds input elements until they are mapped; when a call fails at one
   * of them, `out` is cut back to the mapped ones and the rest are held.
   */
  nextMany(out: U[], max: number): number | Promise<number> {
    if (!this.leftover.empty) return pullOne(this, out);
    const start = out.length;
    const raw = out as unknown as T[];
    const pulled = pullMany(this.input, raw, max);
    if (pulled instanceof Promise) return pulled.then((n) => this.applyFrom(out, start, 0, n));
    return this.applyFrom(out, start, 0, pulled);
  }

  /**
   * {@link nextMany}, passing the input's positions on: `positions` is cut along with `out`
   * when a call fails. After a failure the held elements' positions are unknown.
   */
  nextManyAt(out: U[], positions: number[], max: number): number | Promise<number> {
    if (!this.leftover.empty) {
      const one = pullOne(this, out);
      return one instanceof Promise ? one.then((n) => unknownPositions(positions, n)) : unknownPositions(positions, one);
    }
    const start = out.length;
    const from = positions.length;
    let mapped: number | Promise<number>;
    try {
      const pulled = pullManyAt(this.input, out as unknown as T[], positions, max);
      mapped = pulled instanceof Promise ? pulled.then((n) => this.applyFrom(out, start, 0, n)) : this.applyFrom(out, start, 0, pulled);
    } catch (error) {
      positions.length = from;
      throw error;
    }
    if (!(mapped instanceof Promise)) return cutPositions(positions, from, mapped);
    return mapped.then(
      (n) => cutPositions(positions, from, n),
      (error: unknown) => {
        positions.length = from;
        throw error;
      },
    );
  }

  /** Maps `out[start + i]` in place for `i` in `from..end`; returns how many elements `out` gained. */
  private applyFrom(out: U[], start: number, from: number, end: number): number | Promise<number> {
    const fn = this.fn;
    for (let i = from; i < end; i++) {
      let result: U | Promise<U>;
      try {
        result = fn(out[start + i] as unknown as T);
      } catch (error) {
        return this.fail(out, start, i, end, error);
      }
      if (result instanceof Promise) return this.applyAfter(result, out, start, i, end);
      out[start + i] = result;
    }
    return end;
  }

  // A continuation in its own method: a closure inside the loop would cost an allocation per element.
  private applyAfter(result: Promise<U>, out: U[], start: number, i: number, end: number): Promise<number> {
    return result.then(
      (value: U) => {
        out[start + i] = value;
        return this.applyFrom(out, start, i + 1, end);
      },
      (error: unknown) => this.fail(out, start, i, end, error),
    );
  }

  /** `out[start + i]` failed: deliver those before it; hold the error and the input elements after it. */
  private fail(out: U[], start: number, i: number, end: number, error: unknown): number {
    this.leftover.hold(error, (out as unknown as T[]).slice(start + i + 1, start + end));
    out.length = start + i;
    if (i === 0) this.leftover.take(); // raises the error at once: nothing comes before it
    return i;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, ...this.leftover.save("map input element", ctx.sink), input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { held, input } = STATE.read(state);
    this.leftover.restore(held);
    await this.input.restore(input);
  }
}

/** Cuts `positions` to the `n` of a pull that started at `from`; returns `n`. */
function cutPositions(positions: number[], from: number, n: number): number {
  positions.length = from + n;
  return n;
}
