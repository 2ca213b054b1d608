import {
  BackgroundCloser,
  END,
  type DatasetNode,
  type DatasetOptions,
  type End,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import { arrayOf, boolean, integer, nullable, opState, record, stateSchema } from "../../core/schema.js";
import type { JsonValue, OpState } from "../../core/state.js";
import { element, encodeValue } from "../../core/value-codec.js";
import { invalidArgument, type InvalidArgumentError } from "../../errors.js";
import { requireFunction, requireInteger } from "../validate.js";

const INTERLEAVE = "Interleave";
const FLAT_MAP = "FlatMap";
const VERSION = 1;

/** The state of an interleave (or flatMap, its kind given): the cycle's position, and per slot the input element and its dataset's iterator. */
function stateOf(kind: string) {
  const slot = record({ element, state: opState }, "a cycle slot ({ element, state })");
  return stateSchema(kind, VERSION, { cycleIndex: integer(0), blockIndex: integer(0), inputEnded: boolean, slots: arrayOf(nullable(slot)), input: opState });
}
const STATES = { [FLAT_MAP]: stateOf(FLAT_MAP), [INTERLEAVE]: stateOf(INTERLEAVE) } as const;

/** Options of `dataset.interleave`. */
export interface InterleaveOptions {
  /** How many nested datasets are read at once. */
  readonly cycleLength: number;
  /** How many consecutive elements to take from each before moving to the next (default 1). */
  readonly blockLength?: number;
}

/**
 * `dataset.interleave(fn, { cycleLength, blockLength })`, and `flatMap(fn)` (the same with a
 * cycle of one): maps each element to a dataset and reads `cycleLength` of them in turn,
 * `blockLength` elements at a time, exactly as tf.data does. `fn` must be deterministic: a
 * restored iterator calls it again on the saved input elements of its open slots.
 */
export class InterleaveNode<T, U> implements DatasetNode<U> {
  readonly label: string;
  private readonly kind: string;
  private readonly cycleLength: number;
  private readonly blockLength: number;

  constructor(
    private readonly input: DatasetNode<T>,
    private readonly fn: (value: T) => DatasetNode<U>,
    options: InterleaveOptions | null,
  ) {
    this.kind = options === null ? FLAT_MAP : INTERLEAVE;
    const call = options === null ? "flatMap(fn)" : "interleave(fn, { cycleLength })";
    requireFunction(call, fn, "Pass a function that maps an element to a dataset.");
    if (options === null) {
      this.cycleLength = 1;
      this.blockLength = 1;
      this.label = FLAT_MAP;
      return;
    }
    if (typeof options !== "object" || options === null) {
      throw invalidArgument("interleave(fn, options)", "an options object with cycleLength", options, "Pass e.g. { cycleLength: 4 }.");
    }
    this.cycleLength = requireInteger(call, options.cycleLength, 1, "Pass how many nested datasets to read at once, e.g. { cycleLength: 4 }.");
    this.blockLength = requireInteger(
      "interleave(fn, { blockLength })",
      options.blockLength ?? 1,
      1,
      "Pass how many consecutive elements to take from each nested dataset (default 1).",
    );
    this.label =
      this.blockLength === 1
        ? `${INTERLEAVE}(cycleLength=${this.cycleLength})`
        : `${INTERLEAVE}(cycleLength=${this.cycleLength}, blockLength=${this.blockLength})`;
  }

  get inputs(): readonly DatasetNode<unknown>[] {
    return [this.input];
  }

  describe(): string {
    return `${this.input.describe()} -> ${this.label}`;
  }

  cardinality(): number | null {
    return this.input.cardinality() === 0 ? 0 : null;
  }

  options(): DatasetOptions {
    return this.input.options();
  }

  makeIterator(ctx: IteratorContext): OpIterator<U> {
    return new InterleaveIterator(this.kind, this.input.makeIterator(ctx), (value) => this.fn(value).makeIterator(ctx), this.cycleLength, this.blockLength);
  }
}

/** An open slot of the cycle: the input element and the iterator made from it. */
interface Slot<T, U> {
  readonly element: T;
  readonly iterator: OpIterator<U>;
}

class InterleaveIterator<T, U> implements OpIterator<U> {
  private readonly slots: (Slot<T, U> | null)[];
  private cycleIndex = 0;
  private blockIndex = 0;
  private inputEnded = false;
  private open = 0;
  private readonly closer = new BackgroundCloser();

  constructor(
    private readonly kind: string,
    private readonly input: OpIterator<T>,
    private readonly openNested: (value: T) => OpIterator<U>,
    private readonly cycleLength: number,
    private readonly blockLength: number,
  ) {
    this.slots = new Array<Slot<T, U> | null>(cycleLength).fill(null);
  }

  next(): Pull<U> {
    while (!this.inputEnded || this.open > 0) {
      const slot = this.slots[this.cycleIndex];
      if (slot != null) {
        const value = slot.iterator.next();
        if (value instanceof Promise) return this.slotAfter(value, slot);
        if (value !== END) return this.advanceBlock(value);
        this.closeSlot(slot);
      } else if (!this.inputEnded) {
        const value = this.input.next();
        if (value instanceof Promise) return value.then(this.inputAfter);
        this.fromInput(value);
      } else {
        this.advanceCycle();
      }
    }
    return END;
  }

  private slotAfter(pulled: Promise<U | End>, slot: Slot<T, U>): Promise<U | End> {
    return pulled.then((value) => this.fromSlot(slot, value));
  }

  private readonly inputAfter = (value: T | End): Pull<U> => {
    this.fromInput(value);
    return this.next();
  };

  private fromSlot(slot: Slot<T, U>, value: U | End): Pull<U> {
    if (value !== END) return this.advanceBlock(value);
    this.closeSlot(slot);
    return this.next();
  }

  private fromInput(value: T | End): void {
    if (value === END) {
      this.inputEnded = true;
      return;
    }
    this.slots[this.cycleIndex] = { element: value, iterator: this.openNested(value) };
    this.open++;
  }

  private advanceBlock(value: U): U {
    if (++this.blockIndex === this.blockLength) this.advanceCycle();
    return value;
  }

  private advanceCycle(): void {
    this.blockIndex = 0;
    this.cycleIndex = (this.cycleIndex + 1) % this.cycleLength;
  }

  private closeSlot(slot: Slot<T, U>): void {
    this.slots[this.cycleIndex] = null;
    this.open--;
    this.advanceCycle();
    this.closer.close(slot.iterator);
  }

  async save(ctx: SaveContext): Promise<OpState> {
    const slots: JsonValue[] = [];
    for (const [i, slot] of this.slots.entries()) {
      slots.push(
        slot === null
          ? null
          : { element: encodeValue(slot.element, `${this.kind} input element of slot ${i}`, ctx.sink), state: await slot.iterator.save(ctx) },
      );
    }
    return {
      kind: this.kind,
      version: VERSION,
      cycleIndex: this.cycleIndex,
      blockIndex: this.blockIndex,
      inputEnded: this.inputEnded,
      slots,
      input: await this.input.save(ctx),
    };
  }

  async restore(state: OpState): Promise<void> {
    const { cycleIndex, blockIndex, inputEnded, slots, input } = (this.kind === FLAT_MAP ? STATES[FLAT_MAP] : STATES[INTERLEAVE]).read(state);
    if (slots.length !== this.cycleLength) {
      throw slotCountMismatch(this.kind, this.cycleLength, slots.length);
    }
    if (cycleIndex >= this.cycleLength) throw slotCountMismatch(this.kind, this.cycleLength, `a cycle index of ${cycleIndex}`);
    this.cycleIndex = cycleIndex;
    this.blockIndex = blockIndex;
    this.inputEnded = inputEnded;
    this.open = 0;
    for (const [i, saved] of slots.entries()) {
      if (saved === null) continue;
      const element = saved.element as T;
      const iterator = this.openNested(element);
      this.slots[i] = { element, iterator };
      this.open++;
      await iterator.restore(saved.state);
    }
    await this.input.restore(input);
  }

  async close(): Promise<void> {
    const open = this.slots.filter((slot): slot is Slot<T, U> => slot !== null);
    this.slots.fill(null);
    this.open = 0;
    this.inputEnded = true;
    for (const slot of open) this.closer.close(slot.iterator);
    this.closer.close(this.input);
    await this.closer.drain();
  }
}

function slotCountMismatch(kind: string, expected: number, got: number | string): InvalidArgumentError {
  return invalidArgument(
    `Restoring ${kind}`,
    `a saved state with ${expected} cycle slots`,
    got,
    "The state was saved with a different cycleLength; restore it into a dataset built the same way.",
  );
}
