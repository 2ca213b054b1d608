/**
 * What a model function returns: the tensors and operations of one mode (TensorFlow's
 * `tf.estimator.EstimatorSpec` and `ModeKeys`).
 *
 * @module
 */
import { ValueError } from "../errors.js";
import type { Operation } from "../session/operation.js";
import type { SessionRunHook } from "../session/session-run-hook.js";
import type { Tensor } from "../session/tensor.js";

/** The three modes a model function is called in. */
export const ModeKeys = Object.freeze({ TRAIN: "train", EVAL: "eval", PREDICT: "infer" } as const);

/** One of {@link ModeKeys}. */
export type ModeKey = (typeof ModeKeys)[keyof typeof ModeKeys];

/** A metric: its value, and the operation that adds one batch to it (`metrics.mean`, `metrics.accuracy`). */
export type MetricOp = readonly [value: Tensor<number>, update: Operation];

/** Options of {@link EstimatorSpec}. */
export interface EstimatorSpecOptions {
  readonly mode: ModeKey;
  /** The loss; required in TRAIN and EVAL. */
  readonly loss?: Tensor<number>;
  /** The operation that trains one step (and increments the global step); required in TRAIN. */
  readonly trainOp?: Operation;
  /** What `predict` yields; required in PREDICT. */
  readonly predictions?: Tensor<unknown>;
  /** Metrics `evaluate` reports, by name. */
  readonly evalMetricOps?: Readonly<Record<string, MetricOp>>;
  /** Hooks `train` runs besides the caller's. */
  readonly trainingHooks?: readonly SessionRunHook[];
  /** Hooks `evaluate` runs besides the caller's. */
  readonly evaluationHooks?: readonly SessionRunHook[];
}

/**
 * The model of one mode. In TRAIN it needs `loss` and `trainOp`, in EVAL `loss`, in PREDICT
 * `predictions`.
 *
 * @throws {ValueError} when what the mode needs is missing, naming it.
 * @example
 * return new EstimatorSpec({ mode, loss, trainOp, predictions, evalMetricOps: { accuracy: metrics.accuracy(labels, predicted) } });
 */
export class EstimatorSpec {
  readonly mode: ModeKey;
  readonly loss: Tensor<number> | null;
  readonly trainOp: Operation | null;
  readonly predictions: Tensor<unknown> | null;
  readonly evalMetricOps: Readonly<Record<string, MetricOp>>;
  readonly trainingHooks: readonly SessionRunHook[];
  readonly evaluationHooks: readonly SessionRunHook[];

  constructor(options: EstimatorSpecOptions) {
    const modes: readonly string[] = Object.values(ModeKeys);
    if (!modes.includes(options.mode)) {
      throw new ValueError(`EstimatorSpec mode must be one of ${modes.map((m) => JSON.stringify(m)).join(", ")}; got ${JSON.stringify(options.mode)}.`, {
        expected: "a ModeKeys value",
        received: String(options.mode),
        fix: "Pass the mode the model function was called with.",
      });
    }
    this.mode = options.mode;
    this.loss = options.loss ?? null;
    this.trainOp = options.trainOp ?? null;
    this.predictions = options.predictions ?? null;
    this.evalMetricOps = options.evalMetricOps ?? {};
    this.trainingHooks = options.trainingHooks ?? [];
    this.evaluationHooks = options.evaluationHooks ?? [];
    if (this.mode === ModeKeys.TRAIN && (this.loss === null || this.trainOp === null)) {
      throw missing(this.loss === null ? "loss" : "trainOp", "TRAIN");
    }
    if (this.mode === ModeKeys.EVAL && this.loss === null) throw missing("loss", "EVAL");
    if (this.mode === ModeKeys.PREDICT && this.predictions === null) throw missing("predictions", "PREDICT");
  }
}

function missing(what: string, mode: string): ValueError {
  return new ValueError(`Missing ${what}: an EstimatorSpec in ${mode} mode needs it.`, {
    expected: what,
    received: "none",
    fix: `Return new EstimatorSpec({ mode, ${what}, ... }) from the model function in ${mode} mode.`,
  });
}
