import { END, UnaryIterator, UnaryNode, asPull, type DatasetNode, type End, type IteratorContext, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { expectState, stateChild, type OpState } from "../../core/state.js";
import { requireFunction } from "../validate.js";
import { ParallelMapIterator } from "./parallel-map.js";

const KIND = "Map";
const VERSION = 1;

/** A function applied to each element; it may return a Promise. */
export type MapFn<T, U> = (value: T) => U | PromiseLike<U>;

/** `dataset.map(fn, { parallel })`. */
export class MapNode<T, U> extends UnaryNode<T, U> {
  readonly label: string;

  constructor(
    input: DatasetNode<T>,
    private readonly fn: MapFn<T, U>,
    private readonly parallel: number,
  ) {
    super(input);
    requireFunction("map(fn)", fn, "Pass the function to apply to each element, e.g. map((x) => x * 2).");
    this.label = parallel > 1 ? `Map(parallel=${parallel})` : KIND;
  }

  makeIterator(ctx: IteratorContext): OpIterator<U> {
    const input = this.input.makeIterator(ctx);
    return this.parallel > 1 ? new ParallelMapIterator(input, this.fn, this.parallel) : new MapIterator(input, this.fn);
  }
}

class MapIterator<T, U> extends UnaryIterator<T, U> {
  private readonly apply = (value: T | End): Pull<U> => (value === END ? END : asPull(this.fn(value)));

  constructor(
    input: OpIterator<T>,
    private readonly fn: MapFn<T, U>,
  ) {
    super(input);
  }

  next(): Pull<U> {
    const value = this.input.next();
    if (value instanceof Promise) return value.then(this.apply);
    if (value === END) return END;
    return asPull(this.fn(value));
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    await this.input.restore(stateChild(expectState(state, KIND, VERSION), "input"));
  }
}
