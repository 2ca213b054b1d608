/**
 * `dataset.reduce(initial, fn)`: folds one full iteration into a single value. It ends the
 * pipeline (it returns a Promise, not a dataset), so it has no saved state of its own.
 *
 * @module
 */
import type { DatasetIterator } from "../../core/dataset-iterator.js";

/** A reduce step: from the running state and an element, the new state (or a Promise of it). */
export type ReduceFn<S, T> = (state: S, value: T) => S | PromiseLike<S>;

/**
 * Runs `it` to its end, folding each element into the state with `fn`. The iterator is closed
 * (its files released) when `fn` or an element fails, before the error is thrown.
 */
export async function reduceIterator<S, T>(it: DatasetIterator<T>, initial: S, fn: ReduceFn<S, T>): Promise<S> {
  let state = initial;
  try {
    for (let r = await it.next(); r.done !== true; r = await it.next()) state = await fn(state, r.value);
  } catch (error) {
    await it.close().catch(() => undefined);
    throw error;
  }
  return state;
}
