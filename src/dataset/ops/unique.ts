import { END, UnaryIterator, UnaryNode, type End, type IteratorContext, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { opState, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { elements, encodeValues } from "../../core/value-codec.js";
import { invalidArgument } from "../../errors.js";

const KIND = "Unique";
const VERSION = 1;
/** `seen`: every distinct element handed out so far, in the order first seen. */
const STATE = stateSchema(KIND, VERSION, { seen: elements, input: opState });

/** `dataset.unique()`: each distinct (primitive) element once, where it first occurs. */
export class UniqueNode<T> extends UnaryNode<T, T> {
  readonly label = KIND;

  override cardinality(): number | null {
    const n = this.input.cardinality();
    return n === 0 ? 0 : null;
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new UniqueIterator(this.input.makeIterator(ctx));
  }
}

class UniqueIterator<T> extends UnaryIterator<T, T> {
  private seen = new Set<unknown>();
  private readonly resume = (value: T | End): Pull<T> => (value === END ? END : this.first(value) ? value : this.next());

  next(): Pull<T> {
    for (;;) {
      const value = this.input.next();
      if (value instanceof Promise) return value.then(this.resume);
      if (value === END) return END;
      if (this.first(value)) return value;
    }
  }

  /** True when `value` was not seen before (and marks it seen). */
  private first(value: T): boolean {
    const type = typeof value;
    if ((type === "object" && value !== null) || type === "function" || type === "symbol") {
      throw invalidArgument(
        "unique()",
        "elements that are numbers, strings, bigints, booleans, null or undefined",
        value,
        "Map elements to a primitive key first, e.g. map((r) => r.id).unique().",
      );
    }
    if (this.seen.has(value)) return false;
    this.seen.add(value);
    return true;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, seen: encodeValues([...this.seen], "unique seen element", ctx.sink), input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { seen, input } = STATE.read(state);
    this.seen = new Set(seen);
    await this.input.restore(input);
  }
}
