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
import { randomAccessOf, andThen, type RandomAccess } from "../../core/random-access.js";
import { invalidArgument } from "../../errors.js";

const KIND = "Enumerate";
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { index: integer(), input: opState });

/** `dataset.enumerate(start)`: pairs `[index, element]`, counting from `start`. */
export class EnumerateNode<T> extends UnaryNode<T, [number, T]> {
  readonly label = KIND;

  constructor(
    input: DatasetNode<T>,
    private readonly start: number,
  ) {
    super(input);
    if (typeof start !== "number" || !Number.isSafeInteger(start)) {
      throw invalidArgument("enumerate(start)", "an integer", start, "Pass the first index, e.g. enumerate(0).");
    }
  }

  makeIterator(ctx: IteratorContext): OpIterator<[number, T]> {
    return new EnumerateIterator(this.input.makeIterator(ctx), this.start);
  }

  randomAccess(ctx: IteratorContext): RandomAccess<[number, T]> | null {
    const input = randomAccessOf(this.input, ctx);
    const start = this.start;
    return input === null ? null : { length: input.length, get: (i) => andThen(input.get(i), (v): [number, T] => [start + i, v]) };
  }
}

class EnumerateIterator<T> extends UnaryIterator<T, [number, T]> {
  private readonly pair = (value: T | End): [number, T] | End => (value === END ? END : [this.index++, value]);

  constructor(
    input: OpIterator<T>,
    private index: number,
  ) {
    super(input);
  }

  next(): Pull<[number, T]> {
    const value = this.input.next();
    if (value instanceof Promise) return value.then(this.pair);
    return this.pair(value);
  }

  nextMany(out: [number, T][], max: number): number | Promise<number> {
    const start = out.length;
    const pulled = pullMany(this.input, out as unknown[] as T[], max);
    if (pulled instanceof Promise) return pulled.then((n) => this.pairFrom(out, start, n));
    return this.pairFrom(out, start, pulled);
  }

  private pairFrom(out: [number, T][], start: number, n: number): number {
    const items = out as unknown[];
    for (let i = start; i < start + n; i++) items[i] = [this.index++, items[i] as T];
    return n;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, index: this.index, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { index, input } = STATE.read(state);
    this.index = index;
    await this.input.restore(input);
  }
}
