import {
  END,
  UnaryIterator,
  pullMany,
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

const KIND = "Take";
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { taken: integer(0), input: opState });

/** `dataset.take(n)`: the first `n` elements. */
export class TakeNode<T> extends UnaryNode<T, T> {
  readonly label: string;

  constructor(
    input: DatasetNode<T>,
    private readonly count: number,
  ) {
    super(input);
    requireInteger("take(count)", count, 0, "Pass how many elements to take, e.g. take(100).");
    this.label = `${KIND}(${count})`;
  }

  override cardinality(): number | null {
    const n = this.input.cardinality();
    if (n === null) return this.count === 0 ? 0 : null;
    return Math.min(n, this.count);
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new TakeIterator(this.input.makeIterator(ctx), this.count);
  }

  randomAccess(ctx: IteratorContext): RandomAccess<T> | null {
    const input = randomAccessOf(this.input, ctx);
    return input === null ? null : { length: Math.min(input.length, this.count), get: (i) => input.get(i) };
  }
}

class TakeIterator<T> extends UnaryIterator<T, T> {
  private taken = 0;
  private readonly count: number;
  private readonly onValue = (value: T | End): T | End => {
    if (value === END) {
      this.taken = this.count;
      return END;
    }
    this.taken++;
    return value;
  };

  constructor(input: OpIterator<T>, count: number) {
    super(input);
    this.count = count;
  }

  next(): Pull<T> {
    if (this.taken >= this.count) return END;
    const value = this.input.next();
    if (value instanceof Promise) return value.then(this.onValue);
    return this.onValue(value);
  }

  nextMany(out: T[], max: number): number | Promise<number> {
    const want = Math.min(max, this.count - this.taken);
    if (want <= 0) return 0;
    const pulled = pullMany(this.input, out, want);
    if (pulled instanceof Promise) return pulled.then(this.tally);
    return this.tally(pulled);
  }

  private readonly tally = (n: number): number => {
    this.taken = n === 0 ? this.count : this.taken + n;
    return n;
  };

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, taken: this.taken, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { taken, input } = STATE.read(state);
    this.taken = taken;
    await this.input.restore(input);
  }
}
