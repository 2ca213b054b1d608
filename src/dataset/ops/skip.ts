import {
  END,
  UnaryIterator,
  UnaryNode,
  type DatasetNode,
  type End,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import { integer, opState, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { randomAccessOf, type RandomAccess } from "../../core/random-access.js";
import { requireInteger } from "../validate.js";

const KIND = "Skip";
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { skipped: integer(0), input: opState });

/** `dataset.skip(n)`: all but the first `n` elements. */
export class SkipNode<T> extends UnaryNode<T, T> {
  readonly label: string;

  constructor(
    input: DatasetNode<T>,
    private readonly count: number,
  ) {
    super(input);
    requireInteger("skip(count)", count, 0, "Pass how many elements to skip, e.g. skip(10).");
    this.label = `${KIND}(${count})`;
  }

  override cardinality(): number | null {
    const n = this.input.cardinality();
    return n === null ? null : Math.max(0, n - this.count);
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new SkipIterator(this.input.makeIterator(ctx), this.count);
  }

  randomAccess(ctx: IteratorContext): RandomAccess<T> | null {
    const input = randomAccessOf(this.input, ctx);
    const count = this.count;
    return input === null ? null : { length: Math.max(0, input.length - count), get: (i) => input.get(i + count) };
  }
}

class SkipIterator<T> extends UnaryIterator<T, T> {
  private skipped = 0;
  private readonly skipOne = (value: T | End): Pull<T> => {
    if (value === END) return END;
    this.skipped++;
    return this.next();
  };

  constructor(
    input: OpIterator<T>,
    private readonly count: number,
  ) {
    super(input);
  }

  next(): Pull<T> {
    while (this.skipped < this.count) {
      const value = this.input.next();
      if (value instanceof Promise) return value.then(this.skipOne);
      if (value === END) return END;
      this.skipped++;
    }
    return this.input.next();
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, skipped: this.skipped, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { skipped, input } = STATE.read(state);
    this.skipped = skipped;
    await this.input.restore(input);
  }
}
