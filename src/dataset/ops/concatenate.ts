import {
  END,
  type DatasetNode,
  type DatasetOptions,
  type End,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import { integer, nullable, opState, stateSchema } from "../../core/schema.js";
import { randomAccessOf, type RandomAccess } from "../../core/random-access.js";
import type { OpState } from "../../core/state.js";

const KIND = "Concatenate";
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { part: integer(0), input: nullable(opState) });

/** `dataset.concatenate(other)`: the elements of the dataset, then those of `other`. */
export class ConcatenateNode<T> implements DatasetNode<T> {
  readonly label: string;

  constructor(
    private readonly first: DatasetNode<T>,
    private readonly second: DatasetNode<T>,
  ) {
    this.label = `${KIND}(${second.describe()})`;
  }

  get inputs(): readonly DatasetNode<unknown>[] {
    return [this.first, this.second];
  }

  describe(): string {
    return `${this.first.describe()} -> ${this.label}`;
  }

  cardinality(): number | null {
    const a = this.first.cardinality();
    const b = this.second.cardinality();
    return a === null || b === null ? (a === Infinity ? Infinity : null) : a + b;
  }

  options(): DatasetOptions {
    return { ...this.second.options(), ...this.first.options() };
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new ConcatenateIterator([this.first, this.second], ctx);
  }

  randomAccess(ctx: IteratorContext): RandomAccess<T> | null {
    const first = randomAccessOf(this.first, ctx);
    const second = randomAccessOf(this.second, ctx);
    if (first === null || second === null) return null;
    return { length: first.length + second.length, get: (i) => (i < first.length ? first.get(i) : second.get(i - first.length)) };
  }
}

class ConcatenateIterator<T> implements OpIterator<T> {
  /** Which input is being read: 0, 1, or 2 once both have ended. */
  private part = 0;
  private current: OpIterator<T> | null;
  private readonly resume = (value: T | End): Pull<T> => (value === END ? this.advance() : value);

  constructor(
    private readonly parts: readonly [DatasetNode<T>, DatasetNode<T>],
    private readonly ctx: IteratorContext,
  ) {
    this.current = parts[0].makeIterator(ctx);
  }

  next(): Pull<T> {
    const current = this.current;
    if (current === null) return END;
    const value = current.next();
    if (value instanceof Promise) return value.then(this.resume);
    return value === END ? this.advance() : value;
  }

  private advance(): Pull<T> {
    const finished = this.current;
    this.part++;
    this.current = this.open();
    return (finished === null ? Promise.resolve() : finished.close()).then(() => this.next());
  }

  private open(): OpIterator<T> | null {
    const node = this.parts[this.part];
    return node === undefined ? null : node.makeIterator(this.ctx);
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, part: this.part, input: this.current === null ? null : await this.current.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { part, input } = STATE.read(state);
    await this.current?.close();
    this.part = part;
    this.current = this.open();
    if (this.current !== null && input !== null) await this.current.restore(input);
  }

  async close(): Promise<void> {
    const current = this.current;
    this.current = null;
    await current?.close();
  }
}
