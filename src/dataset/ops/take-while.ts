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
import { boolean, opState, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { requireFunction } from "../validate.js";
import type { Predicate } from "./filter.js";

const KIND = "TakeWhile";
const VERSION = 1;
/** `stopped`: the predicate has been falsy once, so the iterator has ended. */
const STATE = stateSchema(KIND, VERSION, { stopped: boolean, input: opState });

/** `dataset.takeWhile(predicate)`: the elements up to the first for which the predicate is falsy. */
export class TakeWhileNode<T> extends UnaryNode<T, T> {
  readonly label = KIND;

  constructor(
    input: DatasetNode<T>,
    private readonly predicate: Predicate<T>,
  ) {
    super(input);
    requireFunction("takeWhile(predicate)", predicate, "Pass a function returning true while elements should be taken.");
  }

  override cardinality(): number | null {
    return this.input.cardinality() === 0 ? 0 : null;
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new TakeWhileIterator(this.input.makeIterator(ctx), this.predicate);
  }
}

class TakeWhileIterator<T> extends UnaryIterator<T, T> {
  private stopped = false;
  private readonly resume = (value: T | End): Pull<T> => (value === END ? END : this.test(value));

  constructor(
    input: OpIterator<T>,
    private readonly predicate: Predicate<T>,
  ) {
    super(input);
  }

  next(): Pull<T> {
    if (this.stopped) return END;
    const value = this.input.next();
    if (value instanceof Promise) return value.then(this.resume);
    if (value === END) return END;
    return this.test(value);
  }

  private test(value: T): Pull<T> {
    const keep = this.predicate(value);
    if (keep instanceof Promise) return keep.then((k) => this.decide(k, value));
    return this.decide(keep, value);
  }

  private decide(keep: unknown, value: T): T | End {
    if (keep) return value;
    this.stopped = true;
    return END;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, stopped: this.stopped, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { stopped, input } = STATE.read(state);
    this.stopped = stopped;
    await this.input.restore(input);
  }
}
