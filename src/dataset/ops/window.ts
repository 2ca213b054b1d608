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
import { boolean, integer, opState, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { elements, encodeValues } from "../../core/value-codec.js";
import { requireInteger, requireOptions } from "../validate.js";

const KIND = "Window";
const VERSION = 1;
/**
 * `buffer`: the input elements from the next window's first one on (at most the span of a
 * window); `skip`: input elements still to pass over before that first one (when `shift` is
 * longer than a window's span); `ended`: the input has ended.
 */
const STATE = stateSchema(KIND, VERSION, { buffer: elements, skip: integer(0), ended: boolean, input: opState });

/** Options of `dataset.window`. */
export interface WindowOptions {
  /** How many input elements each window starts after the previous one's start (default: `size`). */
  readonly shift?: number;
  /** The step between the input elements of one window (default 1). */
  readonly stride?: number;
  /** Drop the last windows when they have fewer than `size` elements (default false). */
  readonly dropRemainder?: boolean;
}

const KNOWN = ["shift", "stride", "dropRemainder"];

/** `dataset.window(size, options)`: sliding windows of the input, as arrays. */
export class WindowNode<T> extends UnaryNode<T, T[]> {
  readonly label: string;
  private readonly shift: number;
  private readonly stride: number;
  private readonly dropRemainder: boolean;

  constructor(
    input: DatasetNode<T>,
    private readonly size: number,
    options: WindowOptions | undefined,
  ) {
    super(input);
    requireInteger("window(size)", size, 1, "Pass how many elements each window holds, e.g. window(3).");
    const opts = requireOptions("window(size, options)", options, KNOWN);
    this.shift = requireInteger("window(size, { shift })", opts.shift ?? size, 1, "Pass how many elements each window moves on, e.g. { shift: 1 }.");
    this.stride = requireInteger("window(size, { stride })", opts.stride ?? 1, 1, "Pass the step between a window's elements, e.g. { stride: 2 }.");
    this.dropRemainder = opts.dropRemainder ?? false;
    const extras = [
      this.shift !== size ? `shift ${this.shift}` : "",
      this.stride !== 1 ? `stride ${this.stride}` : "",
      this.dropRemainder ? "dropRemainder" : "",
    ].filter((x) => x !== "");
    this.label = `${KIND}(${[String(size), ...extras].join(", ")})`;
  }

  override cardinality(): number | null {
    const n = this.input.cardinality();
    if (n === null || n === Infinity) return n;
    if (!this.dropRemainder) return Math.ceil(n / this.shift);
    const span = (this.size - 1) * this.stride + 1;
    return n < span ? 0 : Math.floor((n - span) / this.shift) + 1;
  }

  makeIterator(ctx: IteratorContext): OpIterator<T[]> {
    return new WindowIterator(this.input.makeIterator(ctx), this.size, this.shift, this.stride, this.dropRemainder);
  }
}

class WindowIterator<T> extends UnaryIterator<T, T[]> {
  private buffer: T[] = [];
  private skip = 0;
  private ended = false;
  private readonly span: number;
  private readonly resume = (): Pull<T[]> => this.next();

  constructor(
    input: OpIterator<T>,
    private readonly size: number,
    private readonly shift: number,
    private readonly stride: number,
    private readonly dropRemainder: boolean,
  ) {
    super(input);
    this.span = (size - 1) * stride + 1;
  }

  next(): Pull<T[]> {
    while (this.skip > 0 && !this.ended) {
      const passed: T[] = [];
      const pulled = pullMany(this.input, passed, this.skip);
      if (pulled instanceof Promise) return pulled.then(this.passed).then(this.resume);
      this.passed(pulled);
    }
    while (this.buffer.length < this.span && !this.ended) {
      const pulled = pullMany(this.input, this.buffer, this.span - this.buffer.length);
      if (pulled instanceof Promise) return pulled.then(this.filled).then(this.resume);
      this.filled(pulled);
    }
    return this.cut();
  }

  private readonly passed = (n: number): void => {
    if (n === 0) this.ended = true;
    else this.skip -= n;
  };

  private readonly filled = (n: number): void => {
    if (n === 0) this.ended = true;
  };

  /** The window at the buffer's start, then the buffer moved on by `shift`. */
  private cut(): T[] | typeof END {
    const buffer = this.buffer;
    if (buffer.length === 0) return END;
    if (this.dropRemainder && buffer.length < this.span) {
      this.buffer = [];
      return END;
    }
    const window: T[] = [];
    for (let i = 0; i < buffer.length && window.length < this.size; i += this.stride) window.push(buffer[i] as T);
    if (this.shift >= buffer.length) {
      this.skip = this.shift - buffer.length;
      this.buffer = [];
    } else {
      this.buffer = buffer.slice(this.shift);
    }
    return window;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return {
      kind: KIND,
      version: VERSION,
      buffer: encodeValues(this.buffer, "window element", ctx.sink),
      skip: this.skip,
      ended: this.ended,
      input: await this.input.save(ctx),
    };
  }

  async restore(state: OpState): Promise<void> {
    const { buffer, skip, ended, input } = STATE.read(state);
    this.buffer = buffer as T[];
    this.skip = skip;
    this.ended = ended;
    await this.input.restore(input);
  }
}
