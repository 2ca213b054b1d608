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

const KIND = "Shard";
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { position: integer(0), input: opState });

/** `dataset.shard(numShards, index)`: every `numShards`-th element, starting at `index`. */
export class ShardNode<T> extends UnaryNode<T, T> {
  readonly label: string;

  constructor(
    input: DatasetNode<T>,
    private readonly numShards: number,
    private readonly index: number,
  ) {
    super(input);
    requireInteger("shard(numShards, index)", numShards, 1, "Pass the number of workers as numShards, e.g. shard(4, workerIndex).");
    requireInteger(`shard(${numShards}, index)`, index, 0, `Pass this worker's index, from 0 to ${numShards - 1}.`, numShards - 1);
    this.label = `${KIND}(${numShards}, ${index})`;
  }

  override cardinality(): number | null {
    const n = this.input.cardinality();
    if (n === null || n === Infinity) return n;
    return Math.floor(n / this.numShards) + (this.index < n % this.numShards ? 1 : 0);
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new ShardIterator(this.input.makeIterator(ctx), this.numShards, this.index);
  }

  randomAccess(ctx: IteratorContext): RandomAccess<T> | null {
    const input = randomAccessOf(this.input, ctx);
    const { numShards, index } = this;
    return input === null ? null : { length: Math.max(0, Math.ceil((input.length - index) / numShards)), get: (i) => input.get(i * numShards + index) };
  }
}

class ShardIterator<T> extends UnaryIterator<T, T> {
  /** Position of the next input element within its group of `numShards`. */
  private position = 0;
  private readonly resume = (value: T | End): Pull<T> => {
    if (value === END) return END;
    return this.advance() ? value : this.next();
  };

  constructor(
    input: OpIterator<T>,
    private readonly numShards: number,
    private readonly index: number,
  ) {
    super(input);
  }

  next(): Pull<T> {
    for (;;) {
      const value = this.input.next();
      if (value instanceof Promise) return value.then(this.resume);
      if (value === END) return END;
      if (this.advance()) return value;
    }
  }

  /** Counts one input element; true when it belongs to this shard. */
  private advance(): boolean {
    const mine = this.position === this.index;
    this.position = (this.position + 1) % this.numShards;
    return mine;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, position: this.position, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { position, input } = STATE.read(state);
    this.position = position;
    await this.input.restore(input);
  }
}
