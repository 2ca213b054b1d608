/**
 * A `fitDataset` callback that saves a checkpoint every N batches.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { Saver } from "../../checkpoint/saver.js";
import { describeValue, invalidArgument } from "../../errors.js";

/**
 * Options of `new CheckpointCallback(options)`.
 *
 * @example
 * const options: CheckpointCallbackOptions = { saver, savePath: "runs/a/model.ckpt", everyNBatches: 100, initialStep: 300 };
 */
export interface CheckpointCallbackOptions {
  /** Saves the checkpoints: the model's saveables, the pipeline's iterator, and more. */
  readonly saver: Saver;
  /** The checkpoints' path prefix, e.g. `"runs/a/model.ckpt"`; its directory must exist. */
  readonly savePath: string;
  /** Save after every this many batches (an integer ≥ 1), counted from step 0. */
  readonly everyNBatches: number;
  /** Batches already done before this callback (default 0), e.g. the step of a restored checkpoint. */
  readonly initialStep?: number;
}

/**
 * Saves a checkpoint with `saver` after every `everyNBatches` batches of `model.fitDataset`
 * (or `fit`), as `"<savePath>-<step>"` where the step is the number of batches done in all,
 * `initialStep` included. The save runs inside `onBatchEnd`, which tfjs awaits: training waits
 * for it, and a failed save stops training with its error.
 *
 * It is a plain callback object (tfjs's `CustomCallbackArgs`, with bound methods): pass it in
 * `callbacks` alone or in an array with other plain callback objects. To combine it with tfjs
 * callback classes such as `tf.callbacks.earlyStopping()`, wrap it: `new tf.CustomCallback(cb)`.
 *
 * @example
 * const it = ds.iterator();
 * const saver = new Saver([...makeModelSaveables(model), makeSaveableFromIterator(it)]);
 * const cb = new CheckpointCallback({ saver, savePath: "runs/a/model.ckpt", everyNBatches: 50 });
 * await model.fitDataset(toTfjsDataset(ds, { iterator: it }), { epochs: 2, batchesPerEpoch: 200, callbacks: [cb] });
 */
export class CheckpointCallback implements tf.CustomCallbackArgs {
  /** The saver given. */
  readonly saver: Saver;
  /** The path prefix given. */
  readonly savePath: string;
  /** The interval given, in batches. */
  readonly everyNBatches: number;
  private done: number;
  private saved: { readonly step: number; readonly path: string } | null = null;

  /**
   * @param options the saver, where to save, how often.
   * @throws {InvalidArgumentError} when `saver` is not a Saver, `savePath` is empty,
   *   `everyNBatches` is not an integer ≥ 1 or `initialStep` not an integer ≥ 0.
   */
  constructor(options: CheckpointCallbackOptions) {
    if (!(options.saver instanceof Saver)) {
      throw invalidArgument(
        "CheckpointCallback({ saver })",
        "a Saver",
        options.saver,
        "Pass new Saver([...makeModelSaveables(model), makeSaveableFromIterator(it)]).",
      );
    }
    if (typeof options.savePath !== "string" || options.savePath === "") {
      throw invalidArgument("CheckpointCallback({ savePath })", "a non-empty path prefix", options.savePath, 'Pass e.g. "runs/a/model.ckpt".');
    }
    if (!(Number.isInteger(options.everyNBatches) && options.everyNBatches >= 1)) {
      throw invalidArgument(
        "CheckpointCallback({ everyNBatches })",
        "an integer ≥ 1",
        options.everyNBatches,
        "Pass how many batches to train between checkpoints.",
      );
    }
    const initialStep = options.initialStep ?? 0;
    if (!(Number.isSafeInteger(initialStep) && initialStep >= 0)) {
      throw invalidArgument(
        "CheckpointCallback({ initialStep })",
        "an integer ≥ 0",
        initialStep,
        "Pass the number of batches done before, e.g. the restored step.",
      );
    }
    this.saver = options.saver;
    this.savePath = options.savePath;
    this.everyNBatches = options.everyNBatches;
    this.done = initialStep;
  }

  /** Batches done in all, `initialStep` included: the global step of the next checkpoint. */
  get step(): number {
    return this.done;
  }

  /** The step and prefix of the last checkpoint this callback saved, or null. */
  get lastSaved(): { readonly step: number; readonly path: string } | null {
    return this.saved;
  }

  /** Counts the batch and saves when the step is a multiple of `everyNBatches` (tfjs calls it). */
  readonly onBatchEnd = async (_batch: number, _logs?: tf.Logs): Promise<void> => {
    this.done++;
    if (this.done % this.everyNBatches === 0) await this.save();
  };

  /**
   * Saves a checkpoint now, at the current step (e.g. when training ends or is stopped).
   *
   * @returns the checkpoint's prefix, `"<savePath>-<step>"`.
   * @throws what `saver.save` throws.
   */
  async save(): Promise<string> {
    const step = this.done;
    const path = await this.saver.save(this.savePath, { globalStep: step });
    this.saved = { step, path };
    return path;
  }

  toString(): string {
    return `CheckpointCallback(${describeValue(this.savePath)}, every ${this.everyNBatches} batches, step ${this.done})`;
  }
}
