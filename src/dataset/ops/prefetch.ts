import {
  END,
  UnaryIterator,
  UnaryNode,
  pullMany,
  pullOne,
  type DatasetNode,
  type End,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import { Queue } from "../../core/queue.js";
import { arrayOf, boolean, opState, stateSchema } from "../../core/schema.js";
import type { JsonValue, OpState } from "../../core/state.js";
import { encodeHeld, held } from "../../core/value-codec.js";
import { requireInteger } from "../validate.js";

const KIND = "Prefetch";
const VERSION = 1;
/** The buffered elements (held entries), and the input ahead of them. */
const STATE = stateSchema(KIND, VERSION, { inputEnded: boolean, buffer: arrayOf(held), input: opState });

/** An input error, held in the buffer at its place in the sequence. */
class Failure {
  constructor(readonly error: unknown) {}
}

/** Where `prefetch("auto")` starts, and the most it grows to. */
export const AUTO_PREFETCH = { start: 1, max: 64 } as const;

/**
 * `dataset.prefetch(bufferSize)`: pulls up to `bufferSize` elements ahead of the consumer;
 * `"auto"` starts at one and doubles (up to {@link AUTO_PREFETCH}.max) each time the consumer
 * finds the buffer empty while the input still yields.
 */
export class PrefetchNode<T> extends UnaryNode<T, T> {
  readonly label: string;

  constructor(
    input: DatasetNode<T>,
    private readonly bufferSize: number | "auto",
  ) {
    super(input);
    if (bufferSize !== "auto")
      requireInteger("prefetch(bufferSize)", bufferSize, 1, 'Pass how many elements to prepare ahead of the consumer, e.g. prefetch(2), or "auto".');
    this.label = `${KIND}(${bufferSize})`;
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new PrefetchIterator(this.input.makeIterator(ctx), this.bufferSize);
  }
}

/**
 * Elements are produced ahead in the background: after each hand-out a refill is scheduled
 * (`setImmediate`), so the pipeline's work runs while the consumer waits on its own I/O, and
 * slow input keeps a pull in flight. When the buffer is empty and nothing is in flight, the
 * consumer pulls from the input directly: a synchronous pipeline pays nothing for prefetching.
 * An input error takes its place in the buffer, and production waits until it is handed out.
 * Saving pauses production, lets the pull in flight land, and saves the buffered elements with
 * the input's state (which is ahead of the consumer by exactly those elements).
 */
class PrefetchIterator<T> extends UnaryIterator<T, T> {
  private readonly buffer = new Queue<T | Failure>();
  private inputEnded = false;
  /** The pull in flight (a background one, or the consumer's own); it settles after landing. */
  private inflight: Promise<void> | null = null;
  private paused = 0;
  private scheduled: NodeJS.Immediate | null = null;
  private waiter: (() => void) | null = null;
  private readonly refill = (): void => {
    this.scheduled = null;
    this.produce();
  };

  /** The buffer's size now: fixed, or grown by "auto". */
  private bufferSize: number;
  private readonly auto: boolean;

  constructor(input: OpIterator<T>, bufferSize: number | "auto") {
    super(input);
    this.auto = bufferSize === "auto";
    this.bufferSize = bufferSize === "auto" ? AUTO_PREFETCH.start : bufferSize;
  }

  next(): Pull<T> {
    if (this.buffer.length > 0) {
      const entry = this.buffer.shift();
      this.schedule();
      if (entry instanceof Failure) throw entry.error;
      return entry;
    }
    if (this.inputEnded) return END;
    this.starved();
    if (this.inflight !== null) return this.afterInflight();
    const value = this.input.next();
    if (value instanceof Promise) return this.direct(value, (v) => v === END);
    this.directDone(value === END);
    return value;
  }

  /** The consumer's own pull, waiting: it is the pull in flight until it lands. */
  private direct<R>(pulled: Promise<R>, ended: (result: R) => boolean): Promise<R> {
    const landed = pulled.then((result) => {
      this.directDone(ended(result));
      return result;
    });
    this.inflight = landed.then(
      () => undefined,
      () => {
        this.inflight = null;
        this.wake();
      },
    );
    return landed;
  }

  /** The consumer found nothing buffered: "auto" buffers more from now on (which elements come out never changes). */
  private starved(): void {
    if (this.auto && this.bufferSize < AUTO_PREFETCH.max) this.bufferSize = Math.min(AUTO_PREFETCH.max, this.bufferSize * 2);
  }

  nextMany(out: T[], max: number): number | Promise<number> {
    if (this.buffer.length === 0) {
      if (this.inflight !== null || this.inputEnded) return pullOne(this, out);
      this.starved();
      const pulled = pullMany(this.input, out, max);
      if (pulled instanceof Promise) return this.direct(pulled, (n) => n === 0);
      this.directDone(pulled === 0);
      return pulled;
    }
    if (this.buffer.peekFirst() instanceof Failure) return pullOne(this, out);
    let n = 0;
    while (n < max && this.buffer.length > 0 && !(this.buffer.peekFirst() instanceof Failure)) {
      out.push(this.buffer.shift() as T);
      n++;
    }
    this.schedule();
    return n;
  }

  /** After the consumer's own pull: note the end, free the way for production, schedule a refill. */
  private directDone(ended: boolean): void {
    this.inflight = null;
    if (ended) this.inputEnded = true;
    else this.schedule();
    this.wake();
  }

  /** Waits for the pull in flight to land, then takes the next element. */
  private afterInflight(): Promise<T | End> {
    return new Promise<void>((resolve) => (this.waiter = resolve)).then(() => this.next());
  }

  private schedule(): void {
    if (this.scheduled === null && this.canProduce()) this.scheduled = setImmediate(this.refill);
  }

  /** Fills the buffer while the input answers at once; leaves a pull in flight when it waits. */
  private produce(): void {
    while (this.canProduce()) {
      const pulled: T[] = [];
      let n: number | Promise<number>;
      try {
        n = pullMany(this.input, pulled, this.bufferSize - this.buffer.length);
      } catch (error) {
        this.push(new Failure(error));
        continue;
      }
      if (n instanceof Promise) {
        this.inflight = n.then(
          (count) => this.land(pulled, count, null),
          (error: unknown) => this.land(pulled, 0, new Failure(error)),
        );
        return;
      }
      this.accept(pulled, n);
    }
  }

  private canProduce(): boolean {
    return (
      this.inflight === null && this.paused === 0 && !this.inputEnded && !(this.buffer.peekLast() instanceof Failure) && this.buffer.length < this.bufferSize
    );
  }

  private land(pulled: T[], n: number, failure: Failure | null): void {
    this.inflight = null;
    if (failure !== null) this.push(failure);
    else this.accept(pulled, n);
    this.produce();
  }

  /** Buffers `n` pulled elements; 0 means the input ended. */
  private accept(pulled: T[], n: number): void {
    if (n === 0) this.inputEnded = true;
    for (let i = 0; i < n; i++) this.buffer.push(pulled[i] as T);
    this.wake();
  }

  private push(entry: Failure): void {
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
        .map((entry, i) =>
          encodeHeld(entry instanceof Failure ? { ok: false, error: entry.error } : { ok: true, value: entry }, `prefetch buffer[${i}]`, ctx.sink),
        );
      return { kind: KIND, version: VERSION, inputEnded: this.inputEnded, buffer, input: await this.input.save(ctx) };
    } finally {
      this.paused--;
      this.schedule();
    }
  }

  async restore(state: OpState): Promise<void> {
    const { inputEnded, buffer, input } = STATE.read(state);
    this.inputEnded = inputEnded;
    this.buffer.clear();
    for (const entry of buffer) this.buffer.push(entry.ok ? (entry.value as T) : new Failure(entry.error));
    await this.input.restore(input);
  }

  override async close(): Promise<void> {
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    this.scheduled = null;
    await this.quiesce();
    this.buffer.clear();
    await this.input.close();
  }
}
