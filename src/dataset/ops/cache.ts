import { BackgroundCloser, END, UnaryNode, type End, type IteratorContext, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { integer, misfit, oneOf, opState, optional, pathTo, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { elements, encodeValues } from "../../core/value-codec.js";

const KIND = "Cache";
const VERSION = 1;
/** Reading the cache back ("read": `index` into the complete `elements`) or still filling it ("write": `input`). */
const STATE = stateSchema(
  KIND,
  VERSION,
  { mode: oneOf("read", "write"), elements: elements, index: optional(integer(0)), input: optional(opState) },
  {
    check: ({ mode, elements, index, input }, path) => {
      if (mode === "read" && (index === undefined || index > elements.length))
        misfit(pathTo(path, "index"), `an index from 0 to ${elements.length} (mode "read")`, index);
      if (mode === "write" && input === undefined) misfit(pathTo(path, "input"), 'the input\'s state (mode "write")', input);
    },
  },
);

/**
 * `dataset.cache()`: the first iteration to reach the end stores every element in memory;
 * later iterations (a `repeat` over it, or a new loop) read from there. A saved state holds
 * the elements cached so far, so a restored iterator, in any process, continues exactly.
 */
export class CacheNode<T> extends UnaryNode<T, T> {
  readonly label = KIND;
  /** The complete contents, once an iteration has reached the end. */
  private completed: readonly T[] | null = null;

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new CacheIterator(this, ctx, this.completed);
  }

  /** Called by an iterator that read the input to its end. */
  complete(elements: readonly T[]): void {
    this.completed ??= elements;
  }

  /** A fresh iterator over the input, for an iterator that fills the cache. */
  openInput(ctx: IteratorContext): OpIterator<T> {
    return this.input.makeIterator(ctx);
  }
}

/** Writes (reads the input through, recording each element) until the cache is complete, then reads it. */
class CacheIterator<T> implements OpIterator<T> {
  /** The input while writing; null while reading a complete cache. */
  private input: OpIterator<T> | null;
  private elements: T[];
  /** The reading position. */
  private index = 0;
  /** Closes the input once it has been read to its end; close() reports a failure. */
  private readonly closer = new BackgroundCloser();
  private readonly record = (value: T | End): T | End => {
    if (value === END) {
      // The cache is complete: from here on this iterator is a reader at the end, so that a
      // state saved now restores as complete in any dataset object (later epochs read it).
      this.node.complete(this.elements);
      if (this.input !== null) this.closer.close(this.input);
      this.input = null;
      this.index = this.elements.length;
      return END;
    }
    this.elements.push(value);
    return value;
  };

  constructor(
    private readonly node: CacheNode<T>,
    private readonly ctx: IteratorContext,
    completed: readonly T[] | null,
  ) {
    this.input = completed === null ? node.openInput(ctx) : null;
    this.elements = completed === null ? [] : (completed as T[]);
  }

  next(): Pull<T> {
    const input = this.input;
    if (input === null) return this.index < this.elements.length ? (this.elements[this.index++] as T) : END;
    const value = input.next();
    if (value instanceof Promise) return value.then(this.record);
    return this.record(value);
  }

  async save(ctx: SaveContext): Promise<OpState> {
    const elements = encodeValues(this.elements, "cached element", ctx.sink);
    if (this.input === null) return { kind: KIND, version: VERSION, mode: "read", index: this.index, elements };
    return { kind: KIND, version: VERSION, mode: "write", elements, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { mode, elements, index, input } = STATE.read(state);
    this.elements = elements as T[];
    if (mode === "read") {
      await this.input?.close();
      this.input = null;
      this.index = index ?? 0;
      // The saved elements are the complete contents: later iterations (the next epochs of a
      // repeat) read them too, as they would have in the dataset object that saved.
      this.node.complete(this.elements);
      return;
    }
    this.input ??= this.node.openInput(this.ctx);
    await this.input.restore(input as OpState);
  }

  async close(): Promise<void> {
    const input = this.input;
    this.input = null;
    this.index = this.elements.length;
    if (input !== null) this.closer.close(input);
    await this.closer.drain();
  }
}
