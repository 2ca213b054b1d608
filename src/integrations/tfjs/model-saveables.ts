/**
 * Saveables over a tfjs LayersModel: its weights by position and its optimizer's state.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Saveable } from "../../checkpoint/saveable.js";
import { describeValue, ValueError } from "../../errors.js";
import { checkOptimizer, optimizerSaveable } from "./optimizer-saveable.js";
import { assignSaved, checkSavedTensor, readTensor } from "./saved-tensor.js";

/**
 * Options of {@link makeModelSaveables}.
 *
 * @example
 * makeModelSaveables(generator, { prefix: "generator", optimizer: generatorOptimizer });
 */
export interface ModelSaveablesOptions {
  /** Starts every saveable's name: `"<prefix>/weights/<i>"`, `"<prefix>/optimizer"` (default `"model"`). */
  readonly prefix?: string;
  /**
   * Which optimizer state to save: `true` for the model's (it must be compiled), `false` for
   * none, or an optimizer of your own. Default: the model's when it is compiled, else none.
   */
  readonly optimizer?: boolean | tf.Optimizer;
}

/**
 * Saveables over a `tf.LayersModel`: one per weight, named by its position (`"model/weights/0"`,
 * `"model/weights/1"`, ...) in the order the model created its weights, and one for the
 * optimizer's state (`"model/optimizer"`: iteration count, slots, Adam's `accBeta1`/`accBeta2`).
 * Give them to a `Saver` with the input pipeline's iterator to checkpoint a training run.
 *
 * Positions, not tfjs's weight names, identify the weights: names depend on how many layers the
 * process built before (`"dense_Dense3/kernel"`), so a model rebuilt in a new process, or a
 * second copy in the same one, restores by position all the same. Non-trainable weights (batch
 * normalization statistics) are included. Values are saved as typed arrays (raw bytes), so
 * restoring is bit-exact.
 *
 * The optimizer is looked up at each save and restore (`model.optimizer`, unless you pass
 * one), so compiling the model again with a new optimizer is fine.
 *
 * @param model a built model (its weights exist), compiled if its optimizer is to be saved.
 * @param options `prefix` of the names (default `"model"`); `optimizer` to save (default: the
 *   model's when it is compiled).
 * @returns the weight saveables in order, then the optimizer's, if any.
 * @throws {ValueError} when `model` is not a LayersModel or has no weights yet, when
 *   `optimizer: true` but the model is not compiled, or for an optimizer whose state tfjs
 *   cannot read (Adamax).
 * @throws {InvalidArgumentError} from `restore()`, naming the entry, when a weight's dtype or
 *   shape, or the optimizer's kind or slot shapes, differ from the checkpoint's.
 * @example
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] });
 * model.compile({ optimizer: tf.train.adam(0.01), loss: "meanSquaredError" });
 * const saver = new Saver([...makeModelSaveables(model), makeSaveableFromIterator(it)]);
 * await saver.save("runs/a/model.ckpt", { globalStep: 100 });
 */
export function makeModelSaveables(model: tf.LayersModel, options: ModelSaveablesOptions = {}): Saveable[] {
  if (!(model instanceof tf.LayersModel)) {
    throw new ValueError(`makeModelSaveables needs a tf.LayersModel; got ${describeValue(model)}.`, {
      expected: "a tf.LayersModel",
      received: describeValue(model),
      fix: "Pass a model made by tf.sequential(), tf.model() or tf.loadLayersModel(); for single variables use makeVariableSaveable.",
    });
  }
  const prefix = options.prefix ?? "model";
  if (typeof prefix !== "string" || prefix === "") {
    throw new ValueError(`makeModelSaveables(model, { prefix }) needs a non-empty string; got ${describeValue(prefix)}.`, {
      expected: "a non-empty string",
      received: describeValue(prefix),
    });
  }
  // Creation order: independent of which layers are frozen, unlike model.weights.
  const weights = [...model.weights].sort((a, b) => a.id - b.id);
  if (weights.length === 0) {
    throw new ValueError(`Cannot checkpoint the model ${model.name}: it has no weights yet.`, {
      expected: "a built model",
      received: "no weights",
      fix: "Build it first: give the first layer an inputShape, or call model.build(shape) or predict once.",
    });
  }
  const saveables: Saveable[] = weights.map((weight, i) => {
    const name = `${prefix}/weights/${i}`;
    return {
      name,
      save: () => readTensor(weight.read(), name),
      restore: async (value) => {
        const saved = checkSavedTensor(name, value, weight, `the model's weight ${i} ("${weight.originalName}")`);
        // Straight into the variable: LayerVariable.write would apply the weight's constraint again.
        assignSaved(weight.read() as tf.Variable, saved);
      },
    };
  });
  const optimizer = whichOptimizer(model, options.optimizer);
  if (optimizer !== null) {
    saveables.push(optimizerSaveable(`${prefix}/optimizer`, optimizer, () => model.trainableWeights));
  }
  return saveables;
}

/** How to find the optimizer at save time, or null for none. */
function whichOptimizer(model: tf.LayersModel, choice: boolean | tf.Optimizer | undefined): (() => tf.Optimizer) | null {
  if (choice === false) return null;
  if (choice === undefined || choice === true) {
    const compiled = (model as { optimizer?: unknown }).optimizer;
    if (compiled === undefined || compiled === null) {
      if (choice === undefined) return null;
      throw new ValueError(`makeModelSaveables(model, { optimizer: true }): the model ${model.name} is not compiled, so it has no optimizer.`, {
        expected: "a compiled model",
        received: "no optimizer",
        fix: "Call model.compile({ optimizer, loss }) first, or pass optimizer: false.",
      });
    }
    checkOptimizer(compiled, "makeModelSaveables");
    return () => model.optimizer;
  }
  const given = checkOptimizer(choice, "makeModelSaveables(model, { optimizer })");
  return () => given;
}
