import { END, UnaryIterator, pullMany, UnaryNode, type DatasetNode, type IteratorContext, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { opState, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { gather, randomAccessOf, type RandomAccess } from "../../core/random-access.js";
import { requireInteger } from "../validate.js";

const KIND = "Batch";
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { input: opState });

/** Options of `dataset.batch`. */
export interface BatchOptions {
  /** Drop a last batch smaller than `size` (default false). */
  readonly dropRemainder?: boolean;
  /**
   * Stack the batch column-wise (default false): instead of an array of elements, one typed
   * array `{ data, shape }` per component (see `StackedBatch`), ready for `tf.tensor(data, shape)`.
   */
  readonly stack?: boolean;
}

/** The options `batch` knows. */
export const BATCH_OPTIONS: readonly string[] = ["dropRemainder", "stack"];

/** `dataset.batch(size)`: arrays of `size` consecutive elements (the last may be shorter). */
export class BatchNode<T> extends UnaryNode<T, T[]> {
  readonly label: string;
  private readonly dropRemainder: boolean;

  constructor(
    input: DatasetNode<T>,
    private readonly size: number,
    options: BatchOptions,
  ) {
    super(input);
    requireInteger("batch(size)", size, 1, "Pass how many elements to put in each batch, e.g. batch(32).");
    this.dropRemainder = options.dropRemainder ?? false;
    this.label = this.dropRemainder ? `${KIND}(${size}, dropRemainder)` : `${KIND}(${size})`;
  }

  override cardinality(): number | null {
    const n = this.input.cardinality();
    if (n === null || n === Infinity) return n;
    return this.dropRemainder ? Math.floor(n / this.size) : Math.ceil(n / this.size);
  }

  makeIterator(ctx: IteratorContext): OpIterator<T[]> {
    return new BatchIterator(this.input.makeIterator(ctx), this.size, this.dropRemainder);
  }

  randomAccess(ctx: IteratorContext): RandomAccess<T[]> | null {
    const input = randomAccessOf(this.input, ctx);
    if (input === null) return null;
    const size = this.size;
    const length = this.dropRemainder ? Math.floor(input.length / size) : Math.ceil(input.length / size);
    return {
      length,
      get: (i) => gather(Array.from({ length: Math.min(size, input.length - i * size) }, (_, k) => input.get(i * size + k))),
    };
  }
}

class BatchIterator<T> extends UnaryIterator<T, T[]> {
  constructor(
    input: OpIterator<T>,
    private readonly size: number,
    private readonly dropRemainder: boolean,
  ) {
    super(input);
  }

  next(): Pull<T[]> {
    return this.fill([]);
  }

  private fill(batch: T[]): Pull<T[]> {
    while (batch.length < this.size) {
      const pulled = pullMany(this.input, batch, this.size - batch.length);
      if (pulled instanceof Promise) return pulled.then((n) => (n === 0 ? this.finish(batch) : this.fill(batch)));
      if (pulled === 0) return this.finish(batch);
    }
    return batch;
  }

  private finish(batch: T[]): T[] | typeof END {
    return batch.length === 0 || (this.dropRemainder && batch.length < this.size) ? END : batch;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    await this.input.restore(STATE.read(state).input);
  }
}
