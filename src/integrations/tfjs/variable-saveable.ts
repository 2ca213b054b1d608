/**
 * A saveable over one tfjs variable.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Saveable } from "../../checkpoint/saveable.js";
import { describeValue, ValueError } from "../../errors.js";
import { assignSaved, checkSavedTensor, readTensor } from "./saved-tensor.js";

/**
 * A saveable over a `tf.Variable`: saving reads its values (a copy, as a typed array written
 * as raw bytes, with dtype and shape); restoring puts exactly those bits back, after checking
 * that the checkpoint's dtype and shape are the variable's.
 *
 * The default name is the variable's tfjs name. tfjs makes names unique per process
 * (`"Variable_3"`, `"dense_Dense2/kernel"`), so they can differ between the process that
 * saves and the one that restores: pass a name of your own.
 *
 * @param variable the variable to save.
 * @param name the key in the checkpoint (default `variable.name`).
 * @throws {ValueError} when `variable` is not a `tf.Variable` or `name` is empty.
 * @throws {InvalidArgumentError} from `save()` for string and complex64 variables, and from
 *   `restore()` when the checkpoint's dtype or shape differ from the variable's.
 * @example
 * const w = tf.variable(tf.zeros([784, 10]), true, "w");
 * const saver = new Saver([makeVariableSaveable(w, "weights")]);
 * await saver.save("runs/a/model.ckpt", { globalStep: 0 });
 */
export function makeVariableSaveable(variable: tf.Variable, name?: string): Saveable {
  if (!(variable instanceof tf.Variable)) {
    throw new ValueError(`makeVariableSaveable needs a tf.Variable; got ${describeValue(variable)}.`, {
      expected: "a tf.Variable",
      received: describeValue(variable),
      fix: "Pass a variable made by tf.variable(...), or use makeModelSaveables for a LayersModel.",
    });
  }
  const key = name ?? variable.name;
  if (typeof key !== "string" || key === "") {
    throw new ValueError(`A saveable needs a non-empty name; got ${describeValue(key)}.`, {
      expected: "a non-empty string",
      received: describeValue(key),
    });
  }
  return {
    name: key,
    save: () => readTensor(variable, key),
    restore: async (value) => assignSaved(variable, checkSavedTensor(key, value, variable)),
  };
}
