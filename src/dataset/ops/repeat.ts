import {
  BackgroundCloser,
  END,
  UnaryNode,
  pullMany,
  type DatasetNode,
  type End,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import { boolean, integer, nullable, opState, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { invalidArgument } from "../../errors.js";

const KIND = "Repeat";
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { epoch: integer(0), yielded: boolean, input: nullable(opState) });

/**
 * `dataset.repeat(count)`: the input `count` times (forever without a count, or with -1).
 * An input that is empty on a fresh pass ends the repetition.
 */
export class RepeatNode<T> extends UnaryNode<T, T> {
  readonly label: string;
  private readonly count: number;

  constructor(input: DatasetNode<T>, count: number | undefined) {
    super(input);
    if (count !== undefined && (typeof count !== "number" || !Number.isInteger(count) || count < -1)) {
      throw invalidArgument("repeat(count)", "an integer ≥ 0, or -1 (or nothing) for forever", count, "Pass how many times to repeat the dataset.");
    }
    this.count = count === undefined || count === -1 ? Infinity : count;
    this.label = this.count === Infinity ? KIND : `${KIND}(${this.count})`;
  }

  override cardinality(): number | null {
    const n = this.input.cardinality();
    if (n === 0 || this.count === 0) return 0;
    if (n === null) return null;
    return n * this.count;
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new RepeatIterator(this.input, ctx, this.count);
  }
}

class RepeatIterator<T> implements OpIterator<T> {
  /** Completed passes over the input. */
  private epoch = 0;
  /** Whether the current pass has yielded anything. */
  private yielded = false;
  private input: OpIterator<T> | null;
  /** Closes finished passes in the background; close() reports their failures. */
  private readonly closer = new BackgroundCloser();
  private readonly resume = (value: T | End): Pull<T> => {
    if (value !== END) {
      this.yielded = true;
      return value;
    }
    return this.startNextPass() ? this.next() : END;
  };

  constructor(
    private readonly node: DatasetNode<T>,
    private readonly ctx: IteratorContext,
    private readonly count: number,
  ) {
    this.input = count === 0 ? null : this.open();
  }

  next(): Pull<T> {
    for (;;) {
      const input = this.input;
      if (input === null) return END;
      const value = input.next();
      if (value instanceof Promise) return value.then(this.resume);
      if (value !== END) {
        this.yielded = true;
        return value;
      }
      if (!this.startNextPass()) return END;
    }
  }

  nextMany(out: T[], max: number): number | Promise<number> {
    for (;;) {
      const input = this.input;
      if (input === null) return 0;
      const pulled = pullMany(input, out, max);
      if (pulled instanceof Promise) return pulled.then((n) => this.afterMany(n, out, max));
      if (pulled > 0) {
        this.yielded = true;
        return pulled;
      }
      if (!this.startNextPass()) return 0;
    }
  }

  private afterMany(n: number, out: T[], max: number): number | Promise<number> {
    if (n > 0) {
      this.yielded = true;
      return n;
    }
    return this.startNextPass() ? this.nextMany(out, max) : 0;
  }

  /** Ends the current pass; opens the next one unless the count is reached or the pass was empty. */
  private startNextPass(): boolean {
    const finished = this.input;
    if (finished !== null) this.closer.close(finished);
    this.epoch++;
    const more = this.yielded && this.epoch < this.count;
    this.input = more ? this.open() : null;
    this.yielded = false;
    return more;
  }

  private open(): OpIterator<T> {
    return this.node.makeIterator({ ...this.ctx, epoch: [...this.ctx.epoch, this.epoch] });
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return {
      kind: KIND,
      version: VERSION,
      epoch: this.epoch,
      yielded: this.yielded,
      input: this.input === null ? null : await this.input.save(ctx),
    };
  }

  async restore(state: OpState): Promise<void> {
    const { epoch, yielded, input } = STATE.read(state);
    await this.input?.close();
    this.epoch = epoch;
    this.yielded = yielded;
    this.input = input === null ? null : this.open();
    if (input !== null) await this.input?.restore(input);
  }

  async close(): Promise<void> {
    const input = this.input;
    this.input = null;
    if (input !== null) this.closer.close(input);
    await this.closer.drain();
  }
}
