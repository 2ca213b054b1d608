import { END, UnaryIterator, UnaryNode, decodeError, encodeError, pullMany, pullOne, type DatasetNode, type IteratorContext, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { Queue } from "../../core/queue.js";
import { decodeValue, encodeValue, expectState, stateArray, stateBoolean, stateChild, type JsonValue, type OpState } from "../../core/state.js";
import { requireInteger } from "../validate.js";

const KIND = "Prefetch";
const VERSION = 1;

/** An input error, held in the buffer at its place in the sequence. */
class Failure {
  constructor(readonly error: unknown) {}
}

/** `dataset.prefetch(bufferSize)`: pulls up to `bufferSize` elements ahead of the consumer. */
export class PrefetchNode<T> extends UnaryNode<T, T> {
  readonly label: string;

  constructor(
    input: DatasetNode<T>,
    private readonly bufferSize: number,
  ) {
    super(input);
    requireInteger("prefetch(bufferSize)", bufferSize, 1, "Pass how many elements to prepare ahead of the consumer, e.g. prefetch(2).");
    this.label = `${KIND}(${bufferSize})`;
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new PrefetchIterator(this.input.makeIterator(ctx), this.bufferSize);
  }
}

/**
 * A producer keeps the buffer full: synchronously while the input answers at once, and in the
 * background while it waits, so that slow input is read while the consumer works. An input
 * error takes its place in the buffer, and the producer waits until it has been handed out.
 * Saving pauses the producer, lets the pull in flight land, and saves the buffered elements
 * with the input's state (which is ahead of the consumer by exactly those elements).
 */
class PrefetchIterator<T> extends UnaryIterator<T, T> {
  private readonly buffer = new Queue<T | Failure>();
  private readonly scratch: T[] = [];
  private inputEnded = false;
  /** The background pull in flight; it resolves after its elements are buffered. */
  private inflight: Promise<void> | null = null;
  private paused = 0;
  private waiter: (() => void) | null = null;

  constructor(
    input: OpIterator<T>,
    private readonly bufferSize: number,
  ) {
    super(input);
  }

  next(): Pull<T> {
    if (this.buffer.length === 0) {
      this.produce();
      if (this.buffer.length === 0) {
        if (this.inputEnded) return END;
        return new Promise<void>((resolve) => (this.waiter = resolve)).then(() => this.next());
      }
    }
    const entry = this.buffer.shift();
    this.produce();
    if (entry instanceof Failure) throw entry.error;
    return entry;
  }

  nextMany(out: T[], max: number): number | Promise<number> {
    const first = this.buffer.peekFirst();
    if (this.buffer.length === 0 || first instanceof Failure) return pullOne(this, out);
    let n = 0;
    while (n < max && this.buffer.length > 0 && !(this.buffer.peekFirst() instanceof Failure)) {
      out.push(this.buffer.shift() as T);
      n++;
    }
    this.produce();
    return n;
  }

  /** Fills the buffer while the input answers at once; starts a background pull when it waits. */
  private produce(): void {
    while (this.canProduce()) {
      const scratch = this.scratch;
      let pulled: number | Promise<number>;
      try {
        pulled = pullMany(this.input, scratch, this.bufferSize - this.buffer.length);
      } catch (error) {
        this.push(new Failure(error));
        continue;
      }
      if (pulled instanceof Promise) {
        this.inflight = pulled.then(
          (n) => this.land(n, null),
          (error: unknown) => this.land(0, new Failure(error)),
        );
        return;
      }
      this.accept(pulled);
    }
  }

  private canProduce(): boolean {
    return (
      this.inflight === null &&
      this.paused === 0 &&
      !this.inputEnded &&
      !(this.buffer.peekLast() instanceof Failure) &&
      this.buffer.length < this.bufferSize
    );
  }

  private land(n: number, failure: Failure | null): void {
    this.inflight = null;
    if (failure !== null) this.push(failure);
    else this.accept(n);
    this.produce();
  }

  /** Moves `n` pulled elements from the scratch array into the buffer; 0 means the input ended. */
  private accept(n: number): void {
    if (n === 0) {
      this.inputEnded = true;
      this.wake();
      return;
    }
    const scratch = this.scratch;
    for (let i = 0; i < scratch.length; i++) this.buffer.push(scratch[i] as T);
    scratch.length = 0;
    this.wake();
  }

  private push(entry: Failure): void {
    this.scratch.length = 0;
    this.buffer.push(entry);
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }

  /** Stops the producer and waits for the pull in flight to land. */
  private async quiesce(): Promise<void> {
    this.paused++;
    while (this.inflight !== null) await this.inflight;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    await this.quiesce();
    try {
      const buffer: JsonValue[] = this.buffer
        .toArray()
        .map((entry, i) => (entry instanceof Failure ? { error: encodeError(entry.error) } : { value: encodeValue(entry, `prefetch buffer[${i}]`) }));
      return { kind: KIND, version: VERSION, inputEnded: this.inputEnded, buffer, input: await this.input.save(ctx) };
    } finally {
      this.paused--;
      this.produce();
    }
  }

  async restore(state: OpState): Promise<void> {
    const s = expectState(state, KIND, VERSION);
    this.inputEnded = stateBoolean(s, "inputEnded");
    this.buffer.clear();
    for (const saved of stateArray(s, "buffer")) {
      const entry = saved as { [key: string]: JsonValue };
      this.buffer.push("value" in entry ? (decodeValue(entry["value"] as JsonValue) as T) : new Failure(decodeError(entry["error"] as JsonValue)));
    }
    await this.input.restore(stateChild(s, "input"));
  }

  override async close(): Promise<void> {
    await this.quiesce();
    this.buffer.clear();
    await this.input.close();
  }
}
