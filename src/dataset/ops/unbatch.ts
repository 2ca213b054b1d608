import { END, UnaryIterator, pullOne, UnaryNode, type End, type IteratorContext, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { opState, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { elements, encodeValues } from "../../core/value-codec.js";
import { invalidArgument } from "../../errors.js";

const KIND = "Unbatch";
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { rest: elements, input: opState });

/** `dataset.unbatch()`: the elements of each array (or typed array) element, one by one. */
export class UnbatchNode<T> extends UnaryNode<ArrayLike<T>, T> {
  readonly label = KIND;

  override cardinality(): number | null {
    const n = this.input.cardinality();
    return n === 0 || n === Infinity ? n : null;
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new UnbatchIterator(this.input.makeIterator(ctx));
  }
}

class UnbatchIterator<T> extends UnaryIterator<ArrayLike<T>, T> {
  private current: ArrayLike<T> = [];
  private index = 0;
  private readonly resume = (batch: ArrayLike<T> | End): Pull<T> => {
    if (batch === END) return END;
    this.take(batch);
    return this.next();
  };

  next(): Pull<T> {
    for (;;) {
      if (this.index < this.current.length) return this.current[this.index++] as T;
      const batch = this.input.next();
      if (batch instanceof Promise) return batch.then(this.resume);
      if (batch === END) return END;
      this.take(batch);
    }
  }

  nextMany(out: T[], max: number): number | Promise<number> {
    if (this.index >= this.current.length) return pullOne(this, out);
    const current = this.current;
    const n = Math.min(max, current.length - this.index);
    for (let i = this.index, end = i + n; i < end; i++) out.push(current[i] as T);
    this.index += n;
    return n;
  }

  private take(batch: ArrayLike<T>): void {
    if (typeof batch !== "object" || batch === null || typeof batch.length !== "number") {
      throw invalidArgument("unbatch()", "elements that are arrays or typed arrays", batch, "Apply unbatch() to a dataset of arrays, e.g. after batch().");
    }
    this.current = batch;
    this.index = 0;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    const rest = Array.prototype.slice.call(this.current, this.index) as T[];
    return { kind: KIND, version: VERSION, rest: encodeValues(rest, "unbatch element", ctx.sink), input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { rest, input } = STATE.read(state);
    this.current = rest as T[];
    this.index = 0;
    await this.input.restore(input);
  }
}
