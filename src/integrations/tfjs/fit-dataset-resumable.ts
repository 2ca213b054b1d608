/**
 * `model.fitDataset` that checkpoints model, optimizer and input pipeline every N batches and,
 * when started again, resumes from the latest checkpoint in the middle of an epoch.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { getCheckpointState } from "../../checkpoint/checkpoint-state.js";
import { makeSaveableFromIterator, type Saveable } from "../../checkpoint/saveable.js";
import { Saver } from "../../checkpoint/saver.js";
import type { ExternalStatePolicy } from "../../core/iterator.js";
import { Dataset } from "../../dataset/dataset.js";
import { describeValue, InvalidArgumentError, invalidArgument, ValueError } from "../../errors.js";
import { quietCpuBanner } from "./backend.js";
import { CheckpointCallback } from "./checkpoint-callback.js";
import { makeModelSaveables } from "./model-saveables.js";
import { toTfjsDataset } from "./tfjs-dataset.js";

/** The `kind` of the saved training progress. */
const PROGRESS_KIND = "checkpipe.tfjs.fitProgress";
/** The version of the saved progress format; a change of format bumps it. */
const PROGRESS_VERSION = 1;
/** The key of the progress in a checkpoint. */
const PROGRESS_NAME = "training/progress";

/**
 * What `model.fitDataset` trains on: inputs and targets as tensors, arrays or maps of tensors.
 *
 * @example
 * const toTensors = (rows: { x: number[]; y: number }[]): FitElement => ({
 *   xs: tf.tensor2d(rows.map((r) => r.x)),
 *   ys: tf.oneHot(tf.tensor1d(rows.map((r) => r.y), "int32"), 3),
 * });
 */
export type FitElement = {
  readonly xs: tf.Tensor | tf.Tensor[] | { [input: string]: tf.Tensor };
  readonly ys: tf.Tensor | tf.Tensor[] | { [output: string]: tf.Tensor };
};

/**
 * Options of {@link fitDatasetResumable}.
 *
 * @example
 * const options: FitDatasetResumableOptions<Row[]> = { epochs: 10, batchesPerEpoch: 50, checkpointDir: "runs/a", everyNBatches: 25, toTensors };
 */
export interface FitDatasetResumableOptions<T> {
  /** Epochs to train in all, counting those done before a resume (an integer ≥ 1). */
  readonly epochs: number;
  /** Batches in each epoch (an integer ≥ 1); the pipeline must yield `epochs × batchesPerEpoch` (use `repeat()`). */
  readonly batchesPerEpoch: number;
  /** Where checkpoints go and are resumed from; created if missing. */
  readonly checkpointDir: string;
  /** Save a checkpoint after every this many batches (an integer ≥ 1). */
  readonly everyNBatches: number;
  /** Turns a pipeline element into `{ xs, ys }` tensors (default: elements already are). */
  readonly toTensors?: (element: T) => FitElement;
  /** The checkpoints' file name prefix in `checkpointDir` (default `"model.ckpt"`). */
  readonly checkpointBasename?: string;
  /** How many recent checkpoints to keep; 0 or null keeps all (default 5). */
  readonly maxToKeep?: number | null;
  /** Save a checkpoint when training ends or is stopped, unless one was saved at that step (default true). */
  readonly saveAtEnd?: boolean;
  /** More state to keep in the same checkpoints, e.g. a learning-rate schedule's. */
  readonly saveables?: readonly Saveable[];
  /**
   * More callbacks: plain objects (`{ onBatchEnd }`) or tfjs callbacks such as
   * `tf.callbacks.earlyStopping()`. `model.stopTraining = true` in one stops the run. Their own
   * state (e.g. early stopping's patience count) is not checkpointed.
   */
  readonly callbacks?: TrainingCallback | readonly TrainingCallback[];
  /** What to do when the pipeline holds state that cannot be saved (default `"fail"`). */
  readonly externalStatePolicy?: ExternalStatePolicy;
}

/**
 * A callback `fitDatasetResumable` takes: a plain callback object or a tfjs callback class.
 *
 * @example
 * const log: TrainingCallback = { onEpochEnd: (epoch, logs) => console.log(epoch, logs?.["loss"]) };
 */
export type TrainingCallback = tf.CustomCallbackArgs | tf.Callback | tf.CustomCallback;

/**
 * What {@link fitDatasetResumable} did.
 *
 * @example
 * const { status, step, resumedFrom } = await fitDatasetResumable(model, ds, options);
 * if (status === "stopped") console.log(`stopped at batch ${step}; run again to resume`);
 */
export interface FitDatasetResumableResult {
  /** `"completed"`: all epochs done; `"stopped"`: `model.stopTraining` was set; `"endOfInput"`: the pipeline ran out. */
  readonly status: "completed" | "stopped" | "endOfInput";
  /** Batches done in all (the global step), resumed ones included. */
  readonly step: number;
  /** The checkpoint the run resumed from, or null when it started afresh. */
  readonly resumedFrom: string | null;
  /** The newest checkpoint saved by this call, or null. */
  readonly lastCheckpoint: string | null;
  /** The History of each `fitDataset` call made (the rest of a partial epoch, then the others). */
  readonly histories: tf.History[];
}

interface Progress {
  readonly step: number;
  readonly batchesPerEpoch: number;
}

/**
 * Trains `model` on `ds` with `model.fitDataset`, saving a checkpoint of the model's weights,
 * its optimizer's state, the pipeline's position and the step every `everyNBatches` batches.
 * Called again with an identically built model and pipeline (e.g. after a crash), it restores
 * the latest checkpoint and continues from that batch, even in the middle of an epoch: it
 * finishes that epoch with `{ initialEpoch: e, epochs: e + 1, batchesPerEpoch: remaining }`,
 * then runs the remaining epochs. The final weights are bit-identical to those of an
 * uninterrupted run, provided the model has no unseeded randomness (dropout) and runs on the
 * same backend.
 *
 * The step is the number of batches done; checkpoints are `"<checkpointDir>/model.ckpt-<step>"`.
 * The pipeline should `repeat()` and bound nothing itself: epochs are cut by `batchesPerEpoch`.
 *
 * @param model a compiled model, built exactly as in the run that saved (weights by position).
 * @param ds the pipeline, built exactly as in the run that saved (same ops, seeds and files).
 * @param options epochs, batches per epoch, the checkpoint directory and interval, and more.
 * @returns how the run ended, the step reached, and the checkpoints.
 * @throws {ValueError} when the model is not a compiled LayersModel.
 * @throws {InvalidArgumentError} for a bad option, or when the latest checkpoint was saved with
 *   another `batchesPerEpoch` or from another model.
 * @throws {DataLossError} when checkpoints are listed but none is whole.
 * @example
 * await setBackendQuietly("cpu");
 * const ds = Dataset.tfrecord("iris.tfrecord").map(parse).shuffle(150, { seed: 1 }).repeat().batch(16);
 * const result = await fitDatasetResumable(model, ds, {
 *   epochs: 10, batchesPerEpoch: 10, checkpointDir: "runs/iris", everyNBatches: 20,
 *   toTensors: (b) => ({ xs: tf.tensor2d(b.map((e) => e.x)), ys: tf.oneHot(b.map((e) => e.y), 3) }),
 * });
 */
export async function fitDatasetResumable<T>(
  model: tf.LayersModel,
  ds: Dataset<T>,
  options: FitDatasetResumableOptions<T>,
): Promise<FitDatasetResumableResult> {
  checkArguments(model, ds, options);
  const { epochs, batchesPerEpoch, checkpointDir, everyNBatches } = options;
  quietCpuBanner();
  await mkdir(checkpointDir, { recursive: true });

  const iterator = ds.iterator();
  let callback: CheckpointCallback | null = null;
  let restored: Progress | null = null;
  const progress: Saveable = {
    name: PROGRESS_NAME,
    save: async () => ({ kind: PROGRESS_KIND, version: PROGRESS_VERSION, step: callback?.step ?? 0, batchesPerEpoch }),
    restore: async (value) => {
      restored = checkProgress(value);
    },
  };
  const saver = new Saver(
    [
      ...makeModelSaveables(model, { optimizer: true }),
      makeSaveableFromIterator(iterator, options.externalStatePolicy ?? null),
      progress,
      ...(options.saveables ?? []),
    ],
    { maxToKeep: options.maxToKeep === undefined ? 5 : options.maxToKeep },
  );
  const state = await getCheckpointState(checkpointDir);
  if (state !== null) await saver.recoverLastCheckpoints(state.allModelCheckpointPaths);
  const resumed = await saver.restoreLatest(checkpointDir);
  const start = resumed === null ? 0 : checkResumed(restored, resumed.path, batchesPerEpoch);

  const cb = new CheckpointCallback({
    saver,
    savePath: join(checkpointDir, options.checkpointBasename ?? "model.ckpt"),
    everyNBatches,
    initialStep: start,
  });
  callback = cb;
  // tfjs takes either plain objects or callback instances, not a mix: make them all instances.
  const callbacks = [cb, ...toList(options.callbacks)].map((c) => (isCallbackInstance(c) ? c : new tf.CustomCallback(c)));
  const data = toTfjsDataset(ds, { iterator, toTensors: options.toTensors ?? ((element: T) => element as unknown as FitElement) });

  const total = epochs * batchesPerEpoch;
  const histories: tf.History[] = [];
  let status: FitDatasetResumableResult["status"] = "completed";
  try {
    while (cb.step < total) {
      const epoch = Math.floor(cb.step / batchesPerEpoch);
      const done = cb.step % batchesPerEpoch;
      // A partial epoch first: tfjs cannot start inside one, so it runs alone as a shorter epoch.
      const args = done > 0 ? { epochs: epoch + 1, batchesPerEpoch: batchesPerEpoch - done } : { epochs, batchesPerEpoch };
      const target = done > 0 ? cb.step + args.batchesPerEpoch : total;
      histories.push(await model.fitDataset(data, { ...args, initialEpoch: epoch, callbacks, verbose: 0 }));
      if (model.stopTraining && cb.step < total) {
        status = "stopped";
        break;
      }
      if (cb.step < target) {
        status = "endOfInput";
        break;
      }
    }
    if ((options.saveAtEnd ?? true) && cb.step !== start && cb.lastSaved?.step !== cb.step) await cb.save();
  } finally {
    await iterator.close();
  }
  return { status, step: cb.step, resumedFrom: resumed?.path ?? null, lastCheckpoint: cb.lastSaved?.path ?? null, histories };
}

function checkArguments<T>(model: tf.LayersModel, ds: Dataset<T>, options: FitDatasetResumableOptions<T>): void {
  if (!(model instanceof tf.LayersModel)) {
    throw new ValueError(`fitDatasetResumable needs a tf.LayersModel; got ${describeValue(model)}.`, {
      expected: "a tf.LayersModel",
      received: describeValue(model),
      fix: "Pass a model made by tf.sequential() or tf.model().",
    });
  }
  if ((model as { optimizer?: unknown }).optimizer == null) {
    throw new ValueError(`fitDatasetResumable: the model ${model.name} is not compiled.`, {
      expected: "a compiled model",
      received: "no optimizer",
      fix: "Call model.compile({ optimizer, loss }) first.",
    });
  }
  if (!(ds instanceof Dataset)) {
    throw invalidArgument("fitDatasetResumable(model, ds)", "a checkpipe Dataset", ds, "Pass the pipeline, e.g. Dataset.fromArray(rows).repeat().batch(16).");
  }
  if (typeof options !== "object" || options === null) {
    throw invalidArgument(
      "fitDatasetResumable(model, ds, options)",
      "an options object",
      options,
      "Pass { epochs, batchesPerEpoch, checkpointDir, everyNBatches }.",
    );
  }
  for (const key of ["epochs", "batchesPerEpoch", "everyNBatches"] as const) {
    const value = options[key];
    if (!(Number.isSafeInteger(value) && value >= 1)) {
      throw invalidArgument(
        `fitDatasetResumable(model, ds, { ${key} })`,
        "an integer ≥ 1",
        value,
        `Pass ${key} as a whole number of ${key === "epochs" ? "epochs" : "batches"}.`,
      );
    }
  }
  if (typeof options.checkpointDir !== "string" || options.checkpointDir === "") {
    throw invalidArgument("fitDatasetResumable(model, ds, { checkpointDir })", "a directory path", options.checkpointDir, 'Pass e.g. "runs/a".');
  }
  if (options.toTensors !== undefined && typeof options.toTensors !== "function") {
    throw invalidArgument(
      "fitDatasetResumable(model, ds, { toTensors })",
      "a function",
      options.toTensors,
      "Pass (element) => ({ xs, ys }) returning tensors.",
    );
  }
}

function checkProgress(value: unknown): Progress {
  const v = value as Partial<Record<string, unknown>> | null;
  if (typeof v !== "object" || v === null || v["kind"] !== PROGRESS_KIND || v["version"] !== PROGRESS_VERSION) {
    throw new InvalidArgumentError(
      `Cannot restore "${PROGRESS_NAME}": expected training progress of kind "${PROGRESS_KIND}" version ${PROGRESS_VERSION}; ` +
        `got ${describeValue(v?.["kind"] ?? value)} version ${describeValue(v?.["version"])}. Restore a checkpoint written by fitDatasetResumable.`,
      { expected: `kind "${PROGRESS_KIND}" version ${PROGRESS_VERSION}`, received: describeValue(v?.["kind"] ?? value) },
    );
  }
  const step = v["step"];
  const batchesPerEpoch = v["batchesPerEpoch"];
  if (!(Number.isSafeInteger(step) && (step as number) >= 0 && Number.isSafeInteger(batchesPerEpoch) && (batchesPerEpoch as number) >= 1)) {
    throw new InvalidArgumentError(
      `Cannot restore "${PROGRESS_NAME}": the saved progress is damaged (step ${describeValue(step)}, batchesPerEpoch ${describeValue(batchesPerEpoch)}).`,
    );
  }
  return { step: step as number, batchesPerEpoch: batchesPerEpoch as number };
}

function checkResumed(progress: Progress | null, path: string, batchesPerEpoch: number): number {
  if (progress === null) throw new InvalidArgumentError(`The checkpoint ${path} has no training progress: it was not written by fitDatasetResumable.`);
  if (progress.batchesPerEpoch !== batchesPerEpoch) {
    throw new InvalidArgumentError(
      `Cannot resume from ${path}: it was saved with batchesPerEpoch ${progress.batchesPerEpoch}, and this run has ${batchesPerEpoch}. ` +
        `Pass batchesPerEpoch: ${progress.batchesPerEpoch} to resume it, or use another checkpointDir to start afresh.`,
      { expected: String(batchesPerEpoch), received: String(progress.batchesPerEpoch), fix: `Pass batchesPerEpoch: ${progress.batchesPerEpoch}.` },
    );
  }
  return progress.step;
}

/** A tfjs callback class instance (a BaseCallback, which tfjs does not export), as opposed to a plain object. */
function isCallbackInstance(callback: TrainingCallback): callback is tf.Callback | tf.CustomCallback {
  const c = callback as { setParams?: unknown; setModel?: unknown };
  return typeof c.setParams === "function" && typeof c.setModel === "function";
}

function toList(callbacks: TrainingCallback | readonly TrainingCallback[] | undefined): TrainingCallback[] {
  if (callbacks === undefined) return [];
  return Array.isArray(callbacks) ? [...(callbacks as readonly TrainingCallback[])] : [callbacks as TrainingCallback];
}
