import { END, UnaryIterator, UnaryNode, isPromiseLike, type DatasetNode, type End, type IteratorContext, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { expectState, stateChild, type OpState } from "../../core/state.js";
import { requireFunction } from "../validate.js";

const KIND = "Filter";
const VERSION = 1;

/** A test applied to each element; it may return a Promise. */
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
  private readonly resume = (value: T | End): Pull<T> => {
    if (value === END) return END;
    const keep = this.predicate(value);
    if (isPromiseLike(keep)) return Promise.resolve(keep).then((k) => (k ? value : this.next()));
    return keep ? value : this.next();
  };

  constructor(
    input: OpIterator<T>,
    private readonly predicate: Predicate<T>,
  ) {
    super(input);
  }

  next(): Pull<T> {
    for (;;) {
      const value = this.input.next();
      if (value instanceof Promise) return value.then(this.resume);
      if (value === END) return END;
      const keep = this.predicate(value);
      if (isPromiseLike(keep)) return Promise.resolve(keep).then((k) => (k ? value : this.next()));
      if (keep) return value;
    }
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    await this.input.restore(stateChild(expectState(state, KIND, VERSION), "input"));
  }
}
