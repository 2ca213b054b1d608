import {
  END,
  UnaryIterator,
  pullMany,
  UnaryNode,
  type DatasetNode,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import { integer, opState, stateSchema, type StateSchema } from "../../core/schema.js";
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
    return batchCount(this.input.cardinality(), this.size, this.dropRemainder);
  }

  makeIterator(ctx: IteratorContext): OpIterator<T[]> {
    return new BatchIterator(this.input.makeIterator(ctx), this.size, this.dropRemainder);
  }

  randomAccess(ctx: IteratorContext): RandomAccess<T[]> | null {
    const input = randomAccessOf(this.input, ctx);
    if (input === null) return null;
    const size = this.size;
    return {
      length: batchCount(input.length, size, this.dropRemainder) as number,
      get: (i) => gather(Array.from({ length: Math.min(size, input.length - i * size) }, (_, k) => input.get(i * size + k))),
    };
  }
}

/** How many batches of `size` a pass of `n` elements makes (null and Infinity pass through). */
export function batchCount(n: number | null, size: number, dropRemainder: boolean): number | null {
  if (n === null || n === Infinity) return n;
  return dropRemainder ? Math.floor(n / size) : Math.ceil(n / size);
}

/**
 * Gathers `size` input elements (fewer at the end, none with `dropRemainder`) through bulk
 * pulls, and makes them one output element: what every batching op shares.
 */
abstract class GatheringIterator<T, B> extends UnaryIterator<T, B> {
  constructor(
    input: OpIterator<T>,
    protected readonly size: number,
    private readonly dropRemainder: boolean,
  ) {
    super(input);
  }

  /** The output element of a gathered batch (not empty). */
  protected abstract emit(batch: T[]): B;

  next(): Pull<B> {
    return this.fill([]);
  }

  private fill(batch: T[]): Pull<B> {
    while (batch.length < this.size) {
      const pulled = pullMany(this.input, batch, this.size - batch.length);
      if (pulled instanceof Promise) return pulled.then((n) => (n === 0 ? this.finish(batch) : this.fill(batch)));
      if (pulled === 0) return this.finish(batch);
    }
    return this.emit(batch);
  }

  private finish(batch: T[]): B | typeof END {
    return batch.length === 0 || (this.dropRemainder && batch.length < this.size) ? END : this.emit(batch);
  }
}

class BatchIterator<T> extends GatheringIterator<T, T[]> {
  protected emit(batch: T[]): T[] {
    return batch;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    await this.input.restore(STATE.read(state).input);
  }
}

/** The state of a batching op that numbers its batches for messages: `{ batches, input }`. */
export function collatedBatchState(kind: string): StateSchema<{ readonly batches: number; readonly input: OpState }> {
  return stateSchema(kind, 1, { batches: integer(0), input: opState });
}

/**
 * A batch made into one value by `collate(batch, first)` (`first` numbers its first element in
 * the whole sequence, for messages): `paddedBatch` and the stacking batch.
 */
export class CollatedBatchIterator<T, B> extends GatheringIterator<T, B> {
  private batches = 0;

  constructor(
    input: OpIterator<T>,
    size: number,
    dropRemainder: boolean,
    private readonly schema: StateSchema<{ readonly batches: number; readonly input: OpState }>,
    private readonly collate: (batch: readonly T[], first: number) => B,
  ) {
    super(input, size, dropRemainder);
  }

  protected emit(batch: T[]): B {
    const first = this.batches * this.size;
    this.batches++;
    return this.collate(batch, first);
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: this.schema.kind, version: this.schema.version, batches: this.batches, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { batches, input } = this.schema.read(state);
    this.batches = batches;
    await this.input.restore(input);
  }
}
