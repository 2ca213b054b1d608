/**
 * An Estimator model function from a compiled tfjs model: train a tfjs LayersModel with
 * `Estimator.train`, checkpointed with its optimizer state, evaluated with `Estimator.evaluate`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { EstimatorSpec, ModeKeys } from "../../estimator/estimator-spec.js";
import type { ModelFn } from "../../estimator/estimator.js";
import { metrics } from "../../estimator/metrics.js";
import { describeValue, ValueError } from "../../errors.js";
import { getOrCreateGlobalStep } from "../../session/global-step.js";
import { Graph, GraphKeys } from "../../session/graph.js";
import { Operation } from "../../session/operation.js";
import { computed } from "../../session/tensor.js";
import { assignAdd } from "../../session/variable.js";
import { makeModelSaveables } from "./model-saveables.js";

/** Options of {@link tfjsModelFn}. */
export interface TfjsModelFnOptions<F, L> {
  /**
   * Builds the model and compiles it with its optimizer and loss. Called once per graph (each
   * `train`, `evaluate` and `predict`); the checkpoint then sets its weights and optimizer.
   */
  readonly model: () => tf.LayersModel;
  /** Turns the features of one element (a batch) into the model's input (default `tf.tensor(features)`). */
  readonly toInput?: (features: F) => tf.Tensor;
  /** Turns the labels of one element into the model's target (default `tf.tensor(labels)`). */
  readonly toTarget?: (labels: L) => tf.Tensor;
}

/**
 * A model function for `Estimator` from a compiled tfjs model. In TRAIN mode each run trains
 * on one element (a batch) with `model.trainOnBatch` and increments the global step; `loss` is
 * that batch's loss. In EVAL mode `loss` is the model's loss on the batch and `accuracy`
 * compares the arg-max of the predictions and of the (one-hot) targets. In PREDICT mode the
 * predictions are the model's outputs, one array of numbers per example of the batch. The
 * model's weights and optimizer state are saveable objects of the graph, so the Estimator's
 * checkpoints hold them (bit-exactly). The training loss is also put in the graph's `losses`
 * collection, where hooks find it.
 *
 * @param options the model builder and the conversions of features and labels.
 * @throws {ValueError} (from the model function) when the model is not compiled.
 * @example
 * const est = new Estimator({ modelFn: tfjsModelFn({ model: buildIrisModel }), modelDir: "runs/iris" });
 */
export function tfjsModelFn<F, L, P = Record<string, unknown>>(options: TfjsModelFnOptions<F, L>): ModelFn<F, L, P> {
  const toInput = options.toInput ?? ((features: F) => tf.tensor(features as unknown as number[]));
  const toTarget = options.toTarget ?? ((labels: L) => tf.tensor(labels as unknown as number[]));
  return ({ features, labels, mode }) => {
    const model = options.model();
    if (!(model instanceof tf.LayersModel) || model.optimizer === undefined) {
      throw new ValueError(
        `tfjsModelFn needs a compiled tf.LayersModel from options.model(); got ${describeValue(model)}${model instanceof tf.LayersModel ? " (not compiled)" : ""}.`,
        {
          expected: "a compiled tf.LayersModel",
          received: describeValue(model),
          fix: "Call model.compile({ optimizer, loss }) in the builder before returning the model.",
        },
      );
    }
    const graph = Graph.getDefault();
    for (const saveable of makeModelSaveables(model)) graph.addToCollection(GraphKeys.SAVEABLE_OBJECTS, saveable);

    const outputs = computed("predictions", async (run) => {
      const input = toInput(await run.eval(features));
      const output = model.predict(input) as tf.Tensor;
      const values = (await output.array()) as number[][];
      tf.dispose([input, output]);
      return values;
    });
    if (mode === ModeKeys.PREDICT) return new EstimatorSpec({ mode, predictions: outputs });

    if (mode === ModeKeys.TRAIN) {
      let lastLoss = Number.NaN;
      const increment = assignAdd(getOrCreateGlobalStep());
      const trainOp = new Operation("train", async (run) => {
        const x = toInput(await run.eval(features));
        const y = toTarget(await run.eval(labels));
        const result = await model.trainOnBatch(x, y);
        tf.dispose([x, y]);
        lastLoss = Array.isArray(result) ? (result[0] as number) : result;
        await run.eval(increment);
      });
      const loss = computed("loss", async (run) => {
        await run.eval(trainOp);
        return lastLoss;
      });
      graph.addToCollection(GraphKeys.LOSSES, loss);
      return new EstimatorSpec({ mode, loss, trainOp });
    }

    const loss = computed("loss", async (run) => {
      const x = toInput(await run.eval(features));
      const y = toTarget(await run.eval(labels));
      const result = model.evaluate(x, y);
      const first = Array.isArray(result) ? (result[0] as tf.Scalar) : result;
      const value = (await first.data())[0] as number;
      tf.dispose([x, y, result]);
      return value;
    });
    const argmax = (rows: readonly (readonly number[])[]): number[] => rows.map((row) => row.indexOf(Math.max(...row)));
    const predictedClass = computed("predicted_class", async (run) => argmax(await run.eval(outputs)));
    const trueClass = computed("true_class", async (run) => {
      const y = toTarget(await run.eval(labels));
      const rows = (await y.array()) as number[][];
      y.dispose();
      return argmax(rows);
    });
    return new EstimatorSpec({ mode, loss, evalMetricOps: { accuracy: metrics.accuracy(trueClass, predictedClass) } });
  };
}
