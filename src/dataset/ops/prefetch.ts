import { END, UnaryIterator, UnaryNode, decodeError, encodeError, type DatasetNode, type End, type IteratorContext, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { Queue } from "../../core/queue.js";
import { decodeValue, encodeValue, expectState, stateArray, stateBoolean, stateChild, type JsonValue, type OpState } from "../../core/state.js";
import { requireInteger } from "../validate.js";

const KIND = "Prefetch";
const VERSION = 1;

type Entry<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

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
  private readonly buffer = new Queue<Entry<T>>();
  private inputEnded = false;
  /** The background pull in flight; it resolves after its element is buffered. */
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
    if (entry.ok) return entry.value;
    throw entry.error;
  }

  private produce(): void {
    while (this.canProduce()) {
      let pulled: Pull<T>;
      try {
        pulled = this.input.next();
      } catch (error) {
        this.push({ ok: false, error });
        continue;
      }
      if (pulled instanceof Promise) {
        this.inflight = pulled.then(
          (value) => this.land(value),
          (error: unknown) => this.land(null, error),
        );
        return;
      }
      this.accept(pulled);
    }
  }

  private canProduce(): boolean {
    const halted = this.buffer.peekLast()?.ok === false;
    return this.inflight === null && this.paused === 0 && !this.inputEnded && !halted && this.buffer.length < this.bufferSize;
  }

  private land(value: T | End | null, error?: unknown): void {
    this.inflight = null;
    if (value === null) this.push({ ok: false, error });
    else this.accept(value);
    this.produce();
  }

  private accept(value: T | End): void {
    if (value === END) {
      this.inputEnded = true;
      this.wake();
    } else {
      this.push({ ok: true, value });
    }
  }

  private push(entry: Entry<T>): void {
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
        .map((entry, i) => (entry.ok ? { value: encodeValue(entry.value, `prefetch buffer[${i}]`) } : { error: encodeError(entry.error) }));
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
      this.buffer.push(
        "value" in entry ? { ok: true, value: decodeValue(entry["value"] as JsonValue) as T } : { ok: false, error: decodeError(entry["error"] as JsonValue) },
      );
    }
    await this.input.restore(stateChild(s, "input"));
  }

  override async close(): Promise<void> {
    await this.quiesce();
    this.buffer.clear();
    await this.input.close();
  }
}
