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
import { elements, encodeValues } from "../../core/value-codec.js";
import { invalidArgument } from "../../errors.js";
import { requireInteger } from "../validate.js";

const KIND = "Rebatch";
const VERSION = 1;
/**
 * `rest`: the input elements taken from input batches but not yet handed out, in order;
 * `turn`: which of the batch sizes the next batch has.
 */
const STATE = stateSchema(KIND, VERSION, { rest: elements, turn: integer(0), input: opState });

/** `dataset.rebatch(size)`: the items of the input's batches, in batches of `size`. */
export class RebatchNode<T> extends UnaryNode<ArrayLike<T>, T[]> {
  readonly label: string;
  private readonly sizes: readonly number[];

  constructor(input: DatasetNode<ArrayLike<T>>, size: number | readonly number[]) {
    super(input);
    const fix = "Pass how many elements each new batch holds, e.g. rebatch(8), or sizes to cycle through, e.g. rebatch([2, 1, 1]).";
    if (Array.isArray(size)) {
      if (size.length === 0) throw invalidArgument("rebatch(sizes)", "at least one size", size, fix);
      this.sizes = size.map((s: unknown, i) => requireInteger(`rebatch(sizes[${i}])`, s, 1, fix));
    } else {
      this.sizes = [requireInteger("rebatch(size)", size, 1, fix)];
    }
    this.label = `${KIND}(${this.sizes.length === 1 ? String(this.sizes[0]) : `[${this.sizes.join(", ")}]`})`;
  }

  override cardinality(): number | null {
    const n = this.input.cardinality();
    return n === 0 || n === Infinity ? n : null;
  }

  makeIterator(ctx: IteratorContext): OpIterator<T[]> {
    return new RebatchIterator(this.input.makeIterator(ctx), this.sizes);
  }
}

class RebatchIterator<T> extends UnaryIterator<ArrayLike<T>, T[]> {
  /** The batch being made: kept here, so that an input error part-way loses nothing. */
  private partial: T[] = [];
  private current: ArrayLike<T> = [];
  private index = 0;
  private turn = 0;
  private readonly resume = (batch: ArrayLike<T> | End): Pull<T[]> => (batch === END ? this.finish() : (this.take(batch), this.next()));

  constructor(
    input: OpIterator<ArrayLike<T>>,
    private readonly sizes: readonly number[],
  ) {
    super(input);
  }

  next(): Pull<T[]> {
    const size = this.sizes[this.turn] as number;
    const partial = this.partial;
    for (;;) {
      const current = this.current;
      while (partial.length < size && this.index < current.length) partial.push(current[this.index++] as T);
      if (partial.length === size) return this.finish();
      const batch = this.input.next();
      if (batch instanceof Promise) return batch.then(this.resume);
      if (batch === END) return this.finish();
      this.take(batch);
    }
  }

  private finish(): T[] | typeof END {
    if (this.partial.length === 0) return END;
    const out = this.partial;
    this.partial = [];
    this.turn = (this.turn + 1) % this.sizes.length;
    return out;
  }

  private take(batch: ArrayLike<T>): void {
    if (typeof batch !== "object" || batch === null || typeof batch.length !== "number") {
      throw invalidArgument(
        "rebatch(size)",
        "elements that are arrays or typed arrays (batches)",
        batch,
        "Apply rebatch() to a dataset of batches, e.g. after batch().",
      );
    }
    this.current = batch;
    this.index = 0;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    const rest = this.partial.concat(Array.prototype.slice.call(this.current, this.index) as T[]);
    return { kind: KIND, version: VERSION, rest: encodeValues(rest, "rebatch element", ctx.sink), turn: this.turn, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { rest, turn, input } = STATE.read(state);
    if (turn >= this.sizes.length) {
      throw invalidArgument(
        "Rebatch state",
        `a turn below ${this.sizes.length} (the number of batch sizes)`,
        turn,
        "Restore a state saved by a rebatch with the same sizes.",
      );
    }
    this.partial = [];
    this.current = rest as T[];
    this.index = 0;
    this.turn = turn;
    await this.input.restore(input);
  }
}
