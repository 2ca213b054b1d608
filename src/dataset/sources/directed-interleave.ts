/**
 * What `sampleFromDatasets` and `chooseFromDatasets` share (tf.data's DirectedInterleave): per
 * element, a selector names the input to draw from; an input that ends either ends the whole
 * sequence (`stopOnEmptyDataset`) or is dropped from the choice. Each op owns its state: this
 * iterator only saves and restores the inputs' part of it.
 *
 * @module
 */
import { END, type DatasetNode, type DatasetOptions, type End, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import type { OpState } from "../../core/state.js";
import { InvalidArgumentError } from "../../errors.js";

/** The options a selected-inputs node merges: those of all its inputs. */
export function mergedOptions(inputs: readonly DatasetNode<unknown>[]): DatasetOptions {
  return Object.assign({}, ...inputs.map((input) => input.options())) as DatasetOptions;
}

/** Returned by `select()` when the choice it made names an input that already ended: choose again. */
export const AGAIN: unique symbol = Symbol("checkpipe.again");

/** How many choices of ended inputs in a row `next()` skips before it lets the event loop run. */
const SKIPS_BEFORE_YIELDING = 10_000;

/** An iterator that draws each element from the input its selector names. */
export abstract class DirectedInterleaveIterator<T> implements OpIterator<T> {
  /** The inputs' iterators; null for one that ended (or is never read). */
  protected readonly inputs: (OpIterator<T> | null)[];
  protected ended = false;
  private readonly afterSelect = (chosen: number | End | typeof AGAIN): Pull<T> => this.drawFrom(chosen);

  constructor(
    inputs: readonly (OpIterator<T> | null)[],
    private readonly stopOnEmpty: boolean,
    private readonly kind: string,
  ) {
    this.inputs = [...inputs];
  }

  /** The index of the input to draw the next element from, the end, or {@link AGAIN}. */
  protected abstract select(): number | End | typeof AGAIN | Promise<number | End | typeof AGAIN>;

  /** Releases what the selector holds (when the sequence ends or the iterator closes). */
  protected abstract closeSelector(): Promise<void>;

  /** How many inputs are still being read. */
  protected get active(): number {
    let n = 0;
    for (const input of this.inputs) if (input !== null) n++;
    return n;
  }

  next(): Pull<T> {
    for (let skipped = 0; ; skipped++) {
      if (this.ended) return END;
      // Choices that keep naming ended inputs (an endless choice dataset, as in tf.data, may do
      // so forever): let the event loop run now and then, so timers and signals still fire.
      if (skipped === SKIPS_BEFORE_YIELDING) return new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.next());
      const chosen = this.select();
      if (chosen instanceof Promise) return chosen.then(this.afterSelect);
      if (chosen === AGAIN) continue;
      return this.drawFrom(chosen);
    }
  }

  private drawFrom(chosen: number | End | typeof AGAIN): Pull<T> {
    if (chosen === AGAIN) return this.next();
    if (chosen === END) return this.end();
    const input = this.inputs[chosen];
    if (input === null || input === undefined) return this.next();
    const value = input.next();
    if (value instanceof Promise) return value.then((v) => (v === END ? this.exhausted(chosen) : v));
    return value === END ? this.exhausted(chosen) : value;
  }

  /** Input `i` ended: the whole sequence ends (`stopOnEmptyDataset`), or `i` leaves the choice. */
  private exhausted(i: number): Pull<T> {
    if (this.stopOnEmpty) return this.end();
    const input = this.inputs[i] as OpIterator<T>;
    this.inputs[i] = null;
    if (this.active === 0)
      return this.end()
        .then(() => input.close())
        .then(() => END);
    return input.close().then(() => this.next());
  }

  /** Ends the sequence and releases the inputs and the selector. */
  protected end(): Promise<End> {
    this.ended = true;
    return this.close().then(() => END);
  }

  /** The inputs' states, null for those that ended. */
  protected saveInputs(ctx: SaveContext): Promise<(OpState | null)[]> {
    // eslint-disable-next-line @typescript-eslint/await-thenable -- a mix of values and Promises: Promise.all waits for those that are Promises
    return Promise.all(this.inputs.map((input) => (input === null ? null : input.save(ctx))));
  }

  /** Restores the inputs' states; an input saved as ended is closed and left out of the choice. */
  protected async restoreInputs(states: readonly (OpState | null)[]): Promise<void> {
    if (states.length !== this.inputs.length) {
      throw new InvalidArgumentError(
        `Cannot restore ${this.kind}: it draws from ${this.inputs.length} datasets, the saved state from ${states.length}. ` +
          `Restore into a dataset built the same way.`,
        { expected: `${this.inputs.length} inputs`, received: `${states.length} inputs` },
      );
    }
    await Promise.all(
      this.inputs.map(async (input, i) => {
        const state = states[i] ?? null;
        if (state === null) {
          this.inputs[i] = null;
          await input?.close();
          return;
        }
        if (input === null) {
          throw new InvalidArgumentError(
            `Cannot restore ${this.kind}: the saved state reads input ${i}, which this dataset never reads (a weight of 0). ` +
              `Restore into a dataset built the same way.`,
            { expected: `no state for input ${i}`, received: `the state of a ${state.kind}` },
          );
        }
        await input.restore(state);
      }),
    );
  }

  abstract save(ctx: SaveContext): Promise<OpState>;
  abstract restore(state: OpState): Promise<void>;

  async close(): Promise<void> {
    const inputs = this.inputs.splice(0, this.inputs.length, ...this.inputs.map(() => null));
    await Promise.all([...inputs.map((input) => input?.close()), this.closeSelector()]);
  }
}
