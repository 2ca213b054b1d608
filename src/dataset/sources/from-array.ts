import { END, SourceNode, type OpIterator, type Pull } from "../../core/iterator.js";
import { integer, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import type { RandomAccess } from "../../core/random-access.js";
import { invalidArgument } from "../../errors.js";

const KIND = "FromArray";
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { index: integer(0) });

/** `Dataset.fromArray`: the items of an array (copied when the dataset is made). */
export class FromArrayNode<T> extends SourceNode<T> {
  readonly label = KIND;
  private readonly items: readonly T[];

  constructor(items: readonly T[]) {
    super();
    if (!Array.isArray(items)) {
      throw invalidArgument("fromArray(items)", "an array", items, "Pass an array; for other iterables use Array.from(...) first.");
    }
    this.items = items.slice();
  }

  cardinality(): number {
    return this.items.length;
  }

  makeIterator(): OpIterator<T> {
    return new FromArrayIterator(this.items);
  }

  randomAccess(): RandomAccess<T> {
    const items = this.items;
    return { length: items.length, get: (i) => items[i] as T };
  }
}

class FromArrayIterator<T> implements OpIterator<T> {
  private index = 0;

  constructor(private readonly items: readonly T[]) {}

  next(): Pull<T> {
    if (this.index >= this.items.length) return END;
    return this.items[this.index++] as T;
  }

  nextMany(out: T[], max: number): number {
    const n = Math.min(max, this.items.length - this.index);
    const items = this.items;
    for (let i = this.index, end = i + n; i < end; i++) out.push(items[i] as T);
    this.index += n;
    return n;
  }

  async save(): Promise<OpState> {
    return { kind: KIND, version: VERSION, index: this.index };
  }

  async restore(state: OpState): Promise<void> {
    this.index = STATE.read(state).index;
  }

  async close(): Promise<void> {}
}
