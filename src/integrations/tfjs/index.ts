/**
 * `checkpipe/tfjs`: checkpoint TensorFlow.js training bit-exactly, and resume it in the middle
 * of an epoch. Model weights, optimizer state (Adam's included) and the checkpipe input
 * pipeline's position go into one checkpoint.
 *
 * Needs `@tensorflow/tfjs` (an optional peer dependency of checkpipe); the main `checkpipe`
 * entry never loads it.
 *
 * @packageDocumentation
 */
export { setBackendQuietly } from "./backend.js";
export { CheckpointCallback, type CheckpointCallbackOptions } from "./checkpoint-callback.js";
export {
  fitDatasetResumable,
  type FitDatasetResumableOptions,
  type FitDatasetResumableResult,
  type FitElement,
  type TrainingCallback,
} from "./fit-dataset-resumable.js";
export { tfjsModelFn, type TfjsModelFnOptions } from "./estimator-model-fn.js";
export { makeModelSaveables, type ModelSaveablesOptions } from "./model-saveables.js";
export { makeOptimizerSaveable } from "./optimizer-saveable.js";
export { SAVED_TENSOR_KIND, SAVED_TENSOR_VERSION, type SavedDtype, type SavedTensor } from "./saved-tensor.js";
export { stackedToTensors, type StackedTensors } from "./stacked-tensors.js";
export { toTfjsDataset, type ToTfjsDatasetOptions } from "./tfjs-dataset.js";
export { makeVariableSaveable } from "./variable-saveable.js";
