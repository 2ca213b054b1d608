/**
 * The Estimator: train, evaluate and predict a model function over input functions, with
 * checkpoints in a model directory (TensorFlow's `tf.estimator.Estimator`, TF_REFERENCE.md §1).
 *
 * @module
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getCheckpointState, latestCheckpoint } from "../checkpoint/checkpoint-state.js";
import type { Saveable } from "../checkpoint/saveable.js";
import { Saver } from "../checkpoint/saver.js";
import { DatasetIterator } from "../core/dataset-iterator.js";
import { Dataset } from "../dataset/dataset.js";
import { describeValue, OutOfRangeError, ValueError } from "../errors.js";
import { getNext } from "../session/get-next.js";
import { getOrCreateGlobalStep } from "../session/global-step.js";
import { Graph, GraphKeys } from "../session/graph.js";
import { CheckpointSaverHook, type CheckpointSaverListener } from "../session/hooks/checkpoint-saver-hook.js";
import { LoggingTensorHook } from "../session/hooks/logging-tensor-hook.js";
import { NanTensorHook } from "../session/hooks/nan-tensor-hook.js";
import { StopAtStepHook } from "../session/hooks/stop-at-step-hook.js";
import { consoleLogger, type Logger } from "../session/logger.js";
import { type MonitoredSession, SingularMonitoredSession, withMonitoredSession } from "../session/monitored-session.js";
import { MonitoredTrainingSession } from "../session/monitored-training-session.js";
import { ChiefSessionCreator, Scaffold } from "../session/scaffold.js";
import type { SessionRunHook } from "../session/session-run-hook.js";
import { scalarSummary } from "../session/summary/scalar-summary.js";
import { computed, type Tensor } from "../session/tensor.js";
import { EstimatorSpec, ModeKeys, type ModeKey } from "./estimator-spec.js";
import { mean } from "./metrics.js";
import { RunConfig } from "./run-config.js";

/** What a model function gets. */
export interface ModelFnArgs<F, L, P> {
  /** The features of the current element (one element per run). */
  readonly features: Tensor<F>;
  /** Its labels; in PREDICT mode, or when the input has none, a tensor of `undefined`. */
  readonly labels: Tensor<L>;
  readonly mode: ModeKey;
  readonly params: P;
  readonly config: RunConfig;
}

/** Builds the model of one mode, under the Estimator's graph. */
export type ModelFn<F, L, P> = (args: ModelFnArgs<F, L, P>) => EstimatorSpec | Promise<EstimatorSpec>;

/** An input element with labels: `{ features, labels }` (TensorFlow's `(features, labels)` tuple). */
export interface Labeled<F, L> {
  readonly features: F;
  readonly labels: L;
}

/**
 * Returns the input: a Dataset whose elements are the features, or `{ features, labels }`
 * records; or an iterator it made itself (under the default graph, so it is in the `iterators`
 * collection). An element is split only when it is a plain object whose keys are `features`
 * and `labels` (or `features` alone): arrays are never split, so a batch of two is a batch.
 */
export type InputFn<F, L> = () =>
  Dataset<F | Labeled<F, L>> | DatasetIterator<F | Labeled<F, L>> | Promise<Dataset<F | Labeled<F, L>> | DatasetIterator<F | Labeled<F, L>>>;

/** Options of {@link Estimator}. */
export interface EstimatorOptions<F, L, P> {
  readonly modelFn: ModelFn<F, L, P>;
  /** Where checkpoints and summaries go (default: `config.modelDir`, else a new temporary directory). */
  readonly modelDir?: string;
  readonly config?: RunConfig;
  /** Passed to the model function. */
  readonly params?: P;
  /** Where progress is logged (default: the console logger). */
  readonly logger?: Logger;
}

/** Options of {@link Estimator.train}. */
export interface TrainOptions {
  readonly hooks?: readonly SessionRunHook[];
  /** Train this many more steps (or until the input ends). */
  readonly steps?: number;
  /** Train until the global step reaches this (nothing when it already has). */
  readonly maxSteps?: number;
  /** Listeners of the Estimator's own checkpoint saver. */
  readonly savingListeners?: readonly CheckpointSaverListener[];
}

/** Options of {@link Estimator.evaluate}. */
export interface EvaluateOptions {
  /** Evaluate this many runs (default: until the input ends). */
  readonly steps?: number;
  readonly hooks?: readonly SessionRunHook[];
  /** The checkpoint to evaluate (default: the latest). */
  readonly checkpointPath?: string;
  /** A name for this evaluation, for the log. */
  readonly name?: string;
}

/** Options of {@link Estimator.predict}. */
export interface PredictOptions {
  readonly checkpointPath?: string;
  readonly hooks?: readonly SessionRunHook[];
}

/** The built model of one call: its graph, spec and input. */
interface Built {
  readonly graph: Graph;
  readonly spec: EstimatorSpec;
}

/**
 * Trains, evaluates and predicts a model function (TensorFlow's `tf.estimator.Estimator`).
 * `train` restores the latest checkpoint of `modelDir`, saves checkpoints per the config (its
 * own `CheckpointSaverHook`, unless a hook given is one), counts steps, writes summaries, stops
 * after `steps` / at `maxSteps` or when the input ends, and saves at the end.
 *
 * @example
 * const est = new Estimator({ modelFn, modelDir: "runs/a", config: new RunConfig({ saveCheckpointsSteps: 100 }) });
 * await est.train(trainInput, { hooks: [new CheckpointInputPipelineHook(est)], steps: 200 });
 * const metrics = await est.evaluate(evalInput);
 */
export class Estimator<F = unknown, L = unknown, P = Record<string, unknown>> {
  readonly config: RunConfig;
  private readonly modelFn: ModelFn<F, L, P>;
  private readonly params: P;
  private readonly logger: Logger;
  private dir: string | undefined;

  constructor(options: EstimatorOptions<F, L, P>) {
    if (typeof options?.modelFn !== "function") {
      throw new ValueError(`Estimator needs a modelFn; got ${describeValue(options?.modelFn)}.`, {
        expected: "a model function",
        received: describeValue(options?.modelFn),
        fix: "Pass new Estimator({ modelFn: ({ features, labels, mode }) => new EstimatorSpec({ ... }) }).",
      });
    }
    this.config = options.config ?? new RunConfig();
    if (options.modelDir !== undefined && this.config.modelDir !== null && options.modelDir !== this.config.modelDir) {
      throw new ValueError(`modelDir are set both in constructor and RunConfig, but with different values: ${options.modelDir} and ${this.config.modelDir}.`, {
        expected: "one model directory",
        received: `${options.modelDir} and ${this.config.modelDir}`,
      });
    }
    this.dir = options.modelDir ?? this.config.modelDir ?? undefined;
    this.modelFn = options.modelFn;
    this.params = options.params ?? ({} as P);
    this.logger = options.logger ?? consoleLogger;
  }

  /** The model directory. When none was given, a temporary one is made at the first train. */
  get modelDir(): string {
    if (this.dir === undefined) throw new ValueError("This Estimator has no model directory yet: train it first, or pass modelDir.");
    return this.dir;
  }

  /** The latest checkpoint of the model directory, or null. */
  async latestCheckpoint(): Promise<string | null> {
    return this.dir === undefined ? null : latestCheckpoint(this.dir);
  }

  /**
   * Trains the model.
   *
   * @returns this Estimator.
   * @throws {ValueError} when both `steps` and `maxSteps` are given, or either is not ≥ 1.
   */
  async train(inputFn: InputFn<F, L>, options: TrainOptions = {}): Promise<this> {
    const { steps, maxSteps } = options;
    if (steps !== undefined && maxSteps !== undefined)
      throw new ValueError("Can not provide both steps and maxSteps.", { expected: "steps or maxSteps", received: "both" });
    for (const [name, value] of [
      ["steps", steps],
      ["maxSteps", maxSteps],
    ] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
        throw new ValueError(`Must specify ${name} > 0, given: ${String(value)}`, { expected: "an integer ≥ 1", received: String(value) });
      }
    }
    this.dir ??= await mkdtemp(join(tmpdir(), "estimator-"));
    if (maxSteps !== undefined && (await this.savedGlobalStep()) >= maxSteps) {
      this.logger.info("Skipping training since maxSteps has already saved.");
      return this;
    }
    const { graph, spec } = await this.build(inputFn, ModeKeys.TRAIN);
    const loss = spec.loss as Tensor<number>;
    const trainOp = spec.trainOp as NonNullable<EstimatorSpec["trainOp"]>;
    const step = graph.asDefault(() => getOrCreateGlobalStep());
    const hooks: SessionRunHook[] = [...(options.hooks ?? []), ...spec.trainingHooks];
    if (steps !== undefined || maxSteps !== undefined) hooks.push(new StopAtStepHook(steps !== undefined ? { numSteps: steps } : { lastStep: maxSteps }));
    hooks.push(new NanTensorHook(loss, true, { logger: this.logger }));
    if (this.config.logStepCountSteps !== null) {
      hooks.push(new LoggingTensorHook({ loss, step }, { everyNIter: this.config.logStepCountSteps, logger: this.logger }));
    }
    if (graph.getCollection(GraphKeys.SAVERS).length === 0) {
      const saverOptions = { maxToKeep: this.config.keepCheckpointMax, keepCheckpointEveryNHours: this.config.keepCheckpointEveryNHours };
      graph.addToCollection(GraphKeys.SAVERS, new Saver(defaultSaveables(graph), saverOptions));
    }
    const scaffold = new Scaffold();
    const chiefOnlyHooks: SessionRunHook[] = [];
    if (!hooks.some((hook) => hook instanceof CheckpointSaverHook)) {
      const interval =
        this.config.saveCheckpointsSteps !== null ? { saveSteps: this.config.saveCheckpointsSteps } : { saveSecs: this.config.saveCheckpointsSecs as number };
      chiefOnlyHooks.push(new CheckpointSaverHook(this.modelDir, { ...interval, scaffold, listeners: options.savingListeners ?? [], logger: this.logger }));
    }
    const session = MonitoredTrainingSession.create({
      graph,
      isChief: this.config.isChief,
      checkpointDir: this.modelDir,
      scaffold,
      hooks,
      chiefOnlyHooks,
      saveCheckpointSecs: null,
      saveCheckpointSteps: null,
      saveSummariesSteps: this.config.saveSummarySteps,
      logStepCountSteps: this.config.logStepCountSteps,
      logger: this.logger,
    });
    await withMonitoredSession(session, async (sess) => {
      while (!sess.shouldStop()) await sess.run(trainOp);
    });
    return this;
  }

  /**
   * Evaluates the model of a checkpoint over the input: runs every metric's update op and the
   * loss until the input ends (or `steps` runs).
   *
   * @returns each metric's value, `loss` (the mean loss) and `global_step` of the checkpoint.
   * @throws {ValueError} when there is no checkpoint to evaluate.
   */
  async evaluate(inputFn: InputFn<F, L>, options: EvaluateOptions = {}): Promise<Record<string, number>> {
    const checkpoint = options.checkpointPath ?? (await this.latestCheckpoint());
    if (checkpoint === null) {
      throw new ValueError(`Could not find trained model in modelDir: ${this.dir ?? "(none)"}.`, {
        expected: "a checkpoint",
        received: "none",
        fix: "Train the Estimator first, or pass checkpointPath.",
      });
    }
    const { graph, spec } = await this.build(inputFn, ModeKeys.EVAL);
    const { meanLoss, step, updates, values } = graph.asDefault(() => {
      const [meanLoss, lossUpdate] = mean(spec.loss as Tensor<number>, "mean_loss");
      const names = Object.keys(spec.evalMetricOps);
      return {
        meanLoss,
        step: getOrCreateGlobalStep(),
        updates: [lossUpdate, ...names.map((n) => (spec.evalMetricOps[n] as NonNullable<EstimatorSpec["evalMetricOps"][string]>)[1])],
        values: Object.fromEntries(names.map((n) => [n, (spec.evalMetricOps[n] as NonNullable<EstimatorSpec["evalMetricOps"][string]>)[0]])),
      };
    });
    const creator = this.sessionCreator(options.checkpointPath);
    const hooks = [...(options.hooks ?? []), ...spec.evaluationHooks];
    if (options.steps !== undefined) hooks.push(evalSteps(options.steps));
    this.logger.info(`Starting evaluation${options.name === undefined ? "" : ` ${options.name}`} of ${checkpoint}`);
    let result: Record<string, number> = {};
    await withMonitoredSession(SingularMonitoredSession.create({ graph, sessionCreator: creator, hooks, logger: this.logger }), async (sess) => {
      try {
        while (!sess.shouldStop()) await sess.run(updates);
      } catch (error) {
        if (!(error instanceof OutOfRangeError)) throw error;
      }
      result = { ...(await sess.rawSession.run(values)), loss: await sess.rawSession.run(meanLoss), global_step: await sess.rawSession.run(step) };
    });
    this.logger.info(
      `Saving dict for global step ${result["global_step"]}: ${Object.entries(result)
        .map(([k, v]) => `${k} = ${v}`)
        .join(", ")}`,
    );
    return result;
  }

  /**
   * Yields the predictions of each run over the input, with the model of a checkpoint.
   *
   * @throws {ValueError} when there is no checkpoint.
   */
  async *predict(inputFn: InputFn<F, L>, options: PredictOptions = {}): AsyncGenerator<unknown, void, undefined> {
    const checkpoint = options.checkpointPath ?? (await this.latestCheckpoint());
    if (checkpoint === null) throw new ValueError(`Could not find trained model in modelDir: ${this.dir ?? "(none)"}.`, { fix: "Train the Estimator first." });
    const { graph, spec } = await this.build(inputFn, ModeKeys.PREDICT);
    const creator = this.sessionCreator(options.checkpointPath);
    const sess: MonitoredSession = await SingularMonitoredSession.create({ graph, sessionCreator: creator, hooks: options.hooks ?? [], logger: this.logger });
    try {
      while (!sess.shouldStop()) yield await sess.run(spec.predictions as Tensor<unknown>);
    } catch (error) {
      if (!(error instanceof OutOfRangeError)) {
        await sess.close(error);
        throw error;
      }
    }
    await sess.close();
  }

  /**
   * Makes the sessions of evaluate and predict: restoring the checkpoint asked for, or the newest
   * whole one of the model directory (read as a trainer may be saving there meanwhile).
   */
  private sessionCreator(checkpointPath: string | undefined): ChiefSessionCreator {
    const where = checkpointPath === undefined ? { checkpointDir: this.modelDir } : { checkpointFilenameWithPath: checkpointPath };
    return new ChiefSessionCreator({ scaffold: new Scaffold(), ...where, logger: this.logger });
  }

  /** Builds the graph of one mode: global step, input, model. */
  private async build(inputFn: InputFn<F, L>, mode: ModeKey): Promise<Built> {
    const graph = new Graph();
    const spec = await graph.asDefault(async () => {
      getOrCreateGlobalStep();
      const input = await inputFn();
      const iterator = input instanceof Dataset ? input.iterator() : input;
      if (!(iterator instanceof DatasetIterator)) {
        throw new ValueError(`inputFn must return a Dataset or a DatasetIterator; got ${describeValue(input)}.`, {
          expected: "a Dataset or DatasetIterator",
          received: describeValue(input),
        });
      }
      const next = getNext(iterator, "IteratorGetNext");
      const features = computed("features", async (run) => split(await run.eval(next))[0] as F);
      const labels = computed("labels", async (run) => split(await run.eval(next))[1] as L);
      const spec = await this.modelFn({ features, labels, mode, params: this.params, config: this.config });
      if (!(spec instanceof EstimatorSpec)) {
        throw new ValueError(`modelFn should return an EstimatorSpec; got ${describeValue(spec)}.`, {
          expected: "an EstimatorSpec",
          received: describeValue(spec),
        });
      }
      if (spec.mode !== mode) throw new ValueError(`modelFn returned an EstimatorSpec for mode ${spec.mode} when called in mode ${mode}.`);
      if (mode === ModeKeys.TRAIN) scalarSummary("loss", spec.loss as Tensor<number>);
      return spec;
    });
    return { graph, spec };
  }

  /** The global step of the latest checkpoint, 0 when there is none. */
  private async savedGlobalStep(): Promise<number> {
    const state = this.dir === undefined ? null : await getCheckpointState(this.dir);
    const match = state === null ? null : /-(\d+)$/.exec(state.modelCheckpointPath);
    return match === null ? 0 : Number(match[1]);
  }
}

/**
 * An element is `{ features, labels }` (or `{ features }`) when it is a plain object with
 * exactly those keys; otherwise it is the features. Arrays are never split.
 */
function split(element: unknown): readonly [unknown, unknown] {
  if (typeof element !== "object" || element === null || Object.getPrototypeOf(element) !== Object.prototype) return [element, undefined];
  const keys = Object.keys(element);
  const labeled = keys.includes("features") && keys.every((k) => k === "features" || k === "labels");
  return labeled ? [(element as Labeled<unknown, unknown>).features, (element as Partial<Labeled<unknown, unknown>>).labels] : [element, undefined];
}

/** The model saver's saveables: every global variable and saveable object of the graph. */
function defaultSaveables(graph: Graph): Saveable[] {
  return [...graph.getCollection(GraphKeys.GLOBAL_VARIABLES), ...graph.getCollection(GraphKeys.SAVEABLE_OBJECTS)];
}

/** A hook that stops evaluation after `steps` runs. */
function evalSteps(steps: number): SessionRunHook {
  let done = 0;
  return {
    afterRun: (ctx) => {
      if (++done >= steps) ctx.requestStop();
    },
  };
}
