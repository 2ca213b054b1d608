// Compiled by test/package.test.ts against the built package: the `checkpipe/tfjs` subpath.
import type * as tf from "@tensorflow/tfjs";
import { Dataset, Saver, makeSaveableFromIterator } from "checkpipe";
import { CheckpointCallback, fitDatasetResumable, makeModelSaveables, toTfjsDataset, type FitDatasetResumableResult } from "checkpipe/tfjs";

declare const model: tf.LayersModel;
declare const toTensors: (batch: number[][]) => { xs: tf.Tensor; ys: tf.Tensor };
const ds = Dataset.fromArray([
  [1, 2],
  [3, 4],
])
  .repeat()
  .batch(2);
const it = ds.iterator();
const saver = new Saver([...makeModelSaveables(model), makeSaveableFromIterator(it)]);
const cb: tf.CustomCallbackArgs = new CheckpointCallback({ saver, savePath: "runs/model.ckpt", everyNBatches: 10 });
const data: tf.data.Dataset<{ xs: tf.Tensor; ys: tf.Tensor }> = toTfjsDataset(ds, { iterator: it, toTensors });
const result: Promise<FitDatasetResumableResult> = fitDatasetResumable(model, ds, {
  epochs: 2,
  batchesPerEpoch: 5,
  checkpointDir: "runs",
  everyNBatches: 5,
  toTensors,
});
export { cb, data, result };
