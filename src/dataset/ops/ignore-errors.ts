import {
  UnaryIterator,
  pullMany,
  UnaryNode,
  type DatasetNode,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import { opState, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";

const KIND = "IgnoreErrors";
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { input: opState });

/** Options of `dataset.ignoreErrors`. */
export interface IgnoreErrorsOptions {
  /** Called with each error that is skipped, e.g. to log it. */
  readonly onError?: (error: unknown) => void;
}

/** `dataset.ignoreErrors()`: skips elements whose production threw, and goes on. */
export class IgnoreErrorsNode<T> extends UnaryNode<T, T> {
  readonly label = KIND;

  constructor(
    input: DatasetNode<T>,
    private readonly settings: IgnoreErrorsOptions,
  ) {
    super(input);
  }

  override cardinality(): number | null {
    const n = this.input.cardinality();
    return n === 0 || n === Infinity ? n : null;
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new IgnoreErrorsIterator(this.input.makeIterator(ctx), this.settings.onError ?? null);
  }
}

class IgnoreErrorsIterator<T> extends UnaryIterator<T, T> {
  private readonly retry = (error: unknown): Pull<T> => {
    this.onError?.(error);
    return this.next();
  };

  constructor(
    input: OpIterator<T>,
    private readonly onError: ((error: unknown) => void) | null,
  ) {
    super(input);
  }

  next(): Pull<T> {
    for (;;) {
      try {
        const value = this.input.next();
        return value instanceof Promise ? value.catch(this.retry) : value;
      } catch (error) {
        this.onError?.(error);
      }
    }
  }

  nextMany(out: T[], max: number): number | Promise<number> {
    for (;;) {
      try {
        const pulled = pullMany(this.input, out, max);
        return pulled instanceof Promise ? pulled.catch((error: unknown) => this.retryMany(error, out, max)) : pulled;
      } catch (error) {
        this.onError?.(error);
      }
    }
  }

  private retryMany(error: unknown, out: T[], max: number): number | Promise<number> {
    this.onError?.(error);
    return this.nextMany(out, max);
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    await this.input.restore(STATE.read(state).input);
  }
}
