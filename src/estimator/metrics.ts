/**
 * Streaming metrics for `evalMetricOps`: each is a value tensor and an update operation that
 * adds one batch (TensorFlow's `tf.compat.v1.metrics`). Their state lives in local variables,
 * which checkpoints do not hold, so every evaluation starts from zero.
 *
 * @module
 */
import { GraphKeys } from "../session/graph.js";
import { Operation } from "../session/operation.js";
import { computed, type Tensor } from "../session/tensor.js";
import { Variable } from "../session/variable.js";
import type { MetricOp } from "./estimator-spec.js";

function local(name: string): Variable<number> {
  return new Variable(name, 0, { trainable: false, collections: [GraphKeys.LOCAL_VARIABLES] });
}

function valuesOf(x: number | readonly number[]): readonly number[] {
  return typeof x === "number" ? [x] : x;
}

/**
 * The mean of every value seen: a number or an array of numbers per run.
 *
 * @param values what to average, e.g. the loss of each batch.
 * @param name the prefix of its variables (default `"mean"`).
 * @example
 * evalMetricOps: { meanLoss: metrics.mean(loss) }
 */
export function mean(values: Tensor<number | readonly number[]>, name = "mean"): MetricOp {
  const total = local(`${name}/total`);
  const count = local(`${name}/count`);
  const update = new Operation(`${name}/update`, async (run) => {
    const batch = valuesOf(await run.eval(values));
    total.assign(total.value + batch.reduce((s, v) => s + v, 0));
    count.assign(count.value + batch.length);
  });
  return [computed(`${name}/value`, () => (count.value === 0 ? 0 : total.value / count.value)), update];
}

/**
 * The fraction of predictions equal to their labels.
 *
 * @param labels the true labels of each run (a number or an array).
 * @param predictions the predicted labels, the same shape.
 * @param name the prefix of its variables (default `"accuracy"`).
 * @example
 * evalMetricOps: { accuracy: metrics.accuracy(labels, predictedClass) }
 */
export function accuracy(labels: Tensor<number | readonly number[]>, predictions: Tensor<number | readonly number[]>, name = "accuracy"): MetricOp {
  const correct = local(`${name}/correct`);
  const count = local(`${name}/count`);
  const update = new Operation(`${name}/update`, async (run) => {
    const l = valuesOf(await run.eval(labels));
    const p = valuesOf(await run.eval(predictions));
    correct.assign(correct.value + l.filter((x, i) => x === p[i]).length);
    count.assign(count.value + l.length);
  });
  return [computed(`${name}/value`, () => (count.value === 0 ? 0 : correct.value / count.value)), update];
}

/** The metric helpers, as `metrics.mean(...)`, `metrics.accuracy(...)`. */
export const metrics = Object.freeze({ mean, accuracy });
