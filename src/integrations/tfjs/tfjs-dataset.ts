/**
 * A tfjs `tf.data.Dataset` fed by a checkpipe iterator, so the position of the data that tfjs
 * trains on can be checkpointed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { DatasetIterator } from "../../core/dataset-iterator.js";
import { Dataset } from "../../dataset/dataset.js";
import { invalidArgument } from "../../errors.js";

/**
 * Options of {@link toTfjsDataset}.
 *
 * @example
 * const options: ToTfjsDatasetOptions<number[]> = { iterator: ds.iterator(), toTensors: (b) => tf.tensor1d(b) };
 */
export interface ToTfjsDatasetOptions<T> {
  /**
   * The checkpipe iterator to read, made by `ds.iterator()` (e.g. restored from a checkpoint).
   * Pass it to save its position; default: one made from `ds` at the first tfjs iteration.
   */
  readonly iterator?: DatasetIterator<T>;
  /**
   * Turns each element into what tfjs takes, e.g. `{ xs, ys }` tensors for `fitDataset`
   * (default: elements are handed over as they are). It runs as tfjs pulls each element, after
   * checkpipe, so the pipeline's saved buffers only ever hold plain data.
   */
  readonly toTensors?: (element: T) => tf.TensorContainer;
}

/**
 * A tfjs dataset (`tf.data.generator`) whose elements are those of a checkpipe iterator over
 * `ds`. Hand it to `model.fitDataset`, and the iterator to a `Saver` (through
 * `makeSaveableFromIterator`) beside the model's saveables: a checkpoint then holds the exact
 * position in the data along with the weights.
 *
 * Every tfjs iteration of the result (each `fitDataset` call, or each epoch without
 * `batchesPerEpoch`) continues the same checkpipe iterator where the previous one stopped: it
 * never restarts from the beginning. That is what makes a mid-epoch resume possible (restore
 * the iterator, then run the rest of the epoch with `batchesPerEpoch`), and it is why an epoch
 * should be bounded by `batchesPerEpoch` over a `repeat()`ed pipeline: once the iterator is
 * exhausted, later iterations are empty.
 *
 * tfjs pulls exactly one element per training step. Shuffle, batch and prefetch with checkpipe,
 * whose buffers are saved; a tfjs-side `shuffle`/`prefetch` would read ahead of what was
 * trained on, and the checkpoint would skip those elements. Make tensors in `toTensors` (or a
 * tfjs `map`), after checkpipe: the pipeline's own buffers must hold plain data to be saved.
 *
 * @param ds the pipeline.
 * @param options `iterator` to read (default: a new one over `ds`); `toTensors` to convert
 *   each element for tfjs (default: none).
 * @returns a tfjs dataset of the pipeline's elements.
 * @throws {InvalidArgumentError} when `ds` is not a Dataset, `iterator` not a DatasetIterator or
 *   `toTensors` not a function.
 * @example
 * const ds = Dataset.fromArray(rows).shuffle(100, { seed: 1 }).repeat().batch(32);
 * const it = ds.iterator();
 * const train = toTfjsDataset(ds, {
 *   iterator: it,
 *   toTensors: (batch) => ({ xs: tf.tensor2d(batch.map((r) => r.x)), ys: tf.tensor2d(batch.map((r) => r.y)) }),
 * });
 * const saver = new Saver([...makeModelSaveables(model), makeSaveableFromIterator(it)]);
 * await model.fitDataset(train, { epochs: 1, batchesPerEpoch: 100 });
 * @example
 * // Stacked batches need no collate: one typed array per component becomes one tensor.
 * const stacked = Dataset.fromArray(rows).map((r) => ({ xs: r.pixels, ys: r.label })).repeat().batch(32, { stack: true });
 * const train = toTfjsDataset(stacked, { toTensors: stackedToTensors });
 */
export function toTfjsDataset<T extends tf.TensorContainer>(
  ds: Dataset<T>,
  options?: ToTfjsDatasetOptions<T> & { readonly toTensors?: undefined },
): tf.data.Dataset<T>;
export function toTfjsDataset<T, O extends tf.TensorContainer>(
  ds: Dataset<T>,
  options: ToTfjsDatasetOptions<T> & { readonly toTensors: (element: T) => O },
): tf.data.Dataset<O>;
export function toTfjsDataset<T>(ds: Dataset<T>, options: ToTfjsDatasetOptions<T> = {}): tf.data.Dataset<tf.TensorContainer> {
  if (!(ds instanceof Dataset)) {
    throw invalidArgument("toTfjsDataset(ds)", "a checkpipe Dataset", ds, "Pass a pipeline, e.g. Dataset.range(10).batch(2).");
  }
  const given = options.iterator;
  if (given !== undefined && !(given instanceof DatasetIterator)) {
    throw invalidArgument("toTfjsDataset(ds, { iterator })", "a DatasetIterator", given, "Pass the iterator made by ds.iterator().");
  }
  const toTensors = options.toTensors;
  if (toTensors !== undefined && typeof toTensors !== "function") {
    throw invalidArgument(
      "toTfjsDataset(ds, { toTensors })",
      "a function",
      toTensors,
      "Pass (element) => tensors, e.g. (b) => ({ xs: tf.tensor2d(b.xs), ys: tf.tensor2d(b.ys) }).",
    );
  }
  let iterator: DatasetIterator<T> | undefined = given;
  // A plain { next } per tfjs iteration: no generator function, whose return() would close the
  // shared checkpipe iterator.
  return tf.data.generator<tf.TensorContainer>(() => {
    const it = (iterator ??= ds.iterator());
    const next = async (): Promise<IteratorResult<tf.TensorContainer>> => {
      const result = await it.next();
      if (result.done === true) return { done: true, value: undefined };
      return { done: false, value: toTensors === undefined ? (result.value as tf.TensorContainer) : toTensors(result.value) };
    };
    return { next };
  });
}
