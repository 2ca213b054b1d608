/**
 * Scalar summaries: tensors a training loop writes to TensorBoard under a tag.
 *
 * @module
 */
import { invalidArgument } from "../../errors.js";
import { Graph, GraphKeys } from "../graph.js";
import type { Tensor } from "../tensor.js";

/** A tensor to write to TensorBoard under `tag`. */
export interface ScalarSummary {
  readonly tag: string;
  readonly tensor: Tensor<number>;
}

/**
 * Declares a scalar summary (TensorFlow's `tf.summary.scalar`): `MonitoredTrainingSession`
 * (and the Estimator) write every declared scalar to TensorBoard event files every
 * `saveSummariesSteps` steps.
 *
 * @param tag the name TensorBoard shows, e.g. `"loss"`.
 * @param tensor the value to write.
 * @param graph the graph (default: the default graph).
 * @returns the summary, also added to the graph's `summaries` collection.
 * @throws {InvalidArgumentError} when `tag` is empty.
 * @example
 * scalarSummary("loss", loss);
 */
export function scalarSummary(tag: string, tensor: Tensor<number>, graph: Graph = Graph.getDefault()): ScalarSummary {
  if (typeof tag !== "string" || tag === "") throw invalidArgument("scalarSummary(tag, tensor)", "a non-empty tag", tag, 'Name the curve, e.g. "loss".');
  const summary: ScalarSummary = { tag, tensor };
  graph.addToCollection(GraphKeys.SUMMARIES, summary);
  return summary;
}
