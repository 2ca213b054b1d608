/**
 * CheckpointInputPipelineHook: saves the state of the graph's iterators every N steps or
 * seconds, so that training resumes reading its input where it left off
 * (`tf.data.experimental.CheckpointInputPipelineHook`, TF_REFERENCE.md §1).
 *
 * @module
 */
import { getCheckpointState } from "../checkpoint/checkpoint-state.js";
import { makeSaveableFromIterator } from "../checkpoint/saveable.js";
import { Saver } from "../checkpoint/saver.js";
import { EXTERNAL_STATE_POLICIES, type ExternalStatePolicy } from "../core/iterator.js";
import { describeValue, RuntimeError, ValueError } from "../errors.js";
import type { Coordinator } from "../session/coordinator.js";
import { getGlobalStep } from "../session/global-step.js";
import { Graph, GraphKeys } from "../session/graph.js";
import { CheckpointSaverHook } from "../session/hooks/checkpoint-saver-hook.js";
import type { Clock } from "../session/hooks/second-or-step-timer.js";
import { consoleLogger, type Logger, type LoggerOptions } from "../session/logger.js";
import type { Session } from "../session/session.js";
import type { SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues } from "../session/session-run-hook.js";
import type { Variable } from "../session/variable.js";
import type { RunConfig } from "./run-config.js";

/**
 * What the hook needs of an Estimator: its model directory and the parts of its config that
 * say how often to save and which worker this is. An `Estimator` satisfies it; so does a plain
 * object, to use the hook with any MonitoredSession.
 */
export interface EstimatorLike {
  /** The directory the input checkpoints are written to (usually the model's). */
  readonly modelDir: string;
  /** The checkpoint interval and this process's place in the cluster. */
  readonly config: Pick<RunConfig, "saveCheckpointsSteps" | "saveCheckpointsSecs" | "numWorkerReplicas" | "taskType" | "taskId">;
}

/** Options of `new CheckpointInputPipelineHook(estimator, options)`. */
export interface CheckpointInputPipelineHookOptions extends LoggerOptions {
  /**
   * What saving does when an iterator holds state that cannot be captured (a generator):
   * `"fail"` (default) throws `FailedPreconditionError`, `"warn"` saves what it can and warns,
   * `"ignore"` saves what it can silently.
   */
  readonly externalStatePolicy?: ExternalStatePolicy | null | undefined;
  /** The time in seconds for `saveCheckpointsSecs` (default: a monotonic clock); tests pass a fake one. */
  readonly clock?: Clock;
}

/**
 * Saves the state of every iterator in the default graph's `iterators` collection — and only
 * those, not the model's variables — to `<modelDir>/input.ckpt-<globalStep>`, with the state
 * file `checkpoint_input`, as often as the config's `saveCheckpointsSteps` or
 * `saveCheckpointsSecs` say. When training starts again (a new process, or a new session after
 * a preemption) it restores the latest of them before the first run, so the input continues
 * exactly where the checkpoint left it; when there is none it saves one at the current step.
 *
 * With several workers (`numWorkerReplicas > 1`), each writes its own files:
 * `input_<taskType>_<taskId>.ckpt-<step>` and `checkpoint_input_<taskType>_<taskId>`.
 *
 * It wraps a {@link CheckpointSaverHook} rather than being one, so an Estimator still adds its
 * own model checkpoint saver next to it.
 *
 * Deviations from TensorFlow: a restore also takes over the checkpoints the state file lists,
 * so `maxToKeep` (5) counts those of earlier runs too; `end()` before any run restores first,
 * so it never saves the unrestored iterator over the latest checkpoint.
 *
 * @example
 * const config = new RunConfig({ saveCheckpointsSteps: 100 });
 * const hook = new CheckpointInputPipelineHook({ modelDir: "runs/a", config });
 * await withMonitoredSession(MonitoredTrainingSession.create({ graph, checkpointDir: "runs/a", hooks: [hook] }), async (sess) => {
 *   while (!sess.shouldStop()) await sess.run(trainOp);
 * }); // runs/a/input.ckpt-0, input.ckpt-100, ...; the next run continues the input from the last
 */
export class CheckpointInputPipelineHook implements SessionRunHook {
  /** The hook that times and performs the saves, with a saver over the iterators. */
  private readonly saverHook: CheckpointSaverHook;
  private readonly modelDir: string;
  /** The state file's name: `checkpoint_input`, or `checkpoint_input_<taskType>_<taskId>`. */
  private readonly latestFilename: string;
  private readonly policy: ExternalStatePolicy;
  private readonly logger: Logger;
  private saver: Saver | null = null;
  private globalStep: Variable<number> | null = null;
  /** Whether the next run is the first of a session: restore (or save) before it. */
  private firstRun = true;

  /**
   * @param estimator the Estimator (or anything with `modelDir` and `config`) whose input to checkpoint.
   * @param options `externalStatePolicy` (default `"fail"`), `logger`, `clock`.
   * @throws {ValueError} when `externalStatePolicy` is not `"warn"`, `"ignore"` or `"fail"`, or
   *   `modelDir` is not a non-empty path.
   * @throws {ValueError} "Either every_secs or every_steps should be provided." / "Can not
   *   provide both every_secs and every_steps." when the config sets neither or both of
   *   `saveCheckpointsSecs` and `saveCheckpointsSteps`.
   */
  constructor(estimator: EstimatorLike, options: CheckpointInputPipelineHookOptions = {}) {
    this.policy = policyOf(options.externalStatePolicy);
    const modelDir: unknown = estimator?.modelDir;
    if (typeof modelDir !== "string" || modelDir === "") {
      const fix = "Pass an Estimator, or an object { modelDir, config } whose modelDir is the directory to save in.";
      throw new ValueError(`CheckpointInputPipelineHook needs estimator.modelDir, a non-empty path; got ${describeValue(modelDir)}. ${fix}`, {
        expected: "a non-empty path",
        received: describeValue(modelDir),
        fix,
      });
    }
    this.modelDir = modelDir;
    const config = estimator.config;
    // "input" is not "model", so input checkpoints never collide with the model's in the same directory.
    const prefix = config.numWorkerReplicas > 1 ? `input_${config.taskType}_${config.taskId}` : "input";
    this.latestFilename = `checkpoint_${prefix}`;
    this.logger = options.logger ?? consoleLogger;
    this.saverHook = new CheckpointSaverHook(modelDir, {
      saveSecs: config.saveCheckpointsSecs,
      saveSteps: config.saveCheckpointsSteps,
      checkpointBasename: `${prefix}.ckpt`,
      logger: this.logger,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
  }

  /**
   * Makes a saver over every iterator of the default graph's `iterators` collection (each saved
   * under `<iterator name>_STATE`), then begins the wrapped saver hook.
   *
   * @throws {ValueError} when the graph has no iterator.
   * @throws {RuntimeError} "Global step should be created to use CheckpointSaverHook." when the
   *   graph has no global step, or when there is no default graph.
   * @example
   * await graph.asDefault(() => hook.begin());
   */
  async begin(): Promise<void> {
    const graph = Graph.getDefault();
    if (!this.saverHook.hasSaver) {
      const iterators = graph.getCollection(GraphKeys.ITERATORS);
      if (iterators.length === 0) {
        const fix = "Create the input's iterator while the graph is the default, e.g. graph.asDefault(() => dataset.iterator()), before the session is created.";
        throw new ValueError(
          `No variables to save: CheckpointInputPipelineHook found no iterator in the graph's "${GraphKeys.ITERATORS}" collection. ${fix}`,
          { expected: `at least one iterator in the "${GraphKeys.ITERATORS}" collection`, received: "none", fix },
        );
      }
      this.saver = new Saver(
        iterators.map((iterator) => makeSaveableFromIterator(iterator, this.policy)),
        { maxToKeep: 5, latestFilename: this.latestFilename },
      );
      this.saverHook.useSaver(this.saver);
    }
    await this.saverHook.begin();
    this.globalStep = getGlobalStep(graph);
  }

  /**
   * Marks the next run as the first of a new session. The restore waits for that run, so that
   * every hook's `afterCreateSession` (which may initialize the input) has run before it.
   *
   * @example
   * await hook.afterCreateSession(session, coord); // after a recovery too
   */
  afterCreateSession(_session: Session, _coord: Coordinator): void {
    this.firstRun = true;
  }

  /**
   * On the first run of a session, restores the latest input checkpoint — or, when there is
   * none, saves one at the current global step; then asks for the global step.
   *
   * @throws {FailedPreconditionError} when an iterator holds state that cannot be saved and the
   *   policy is `"fail"`.
   * @example
   * await hook.beforeRun(ctx); // restores input.ckpt-<latest> on the first call
   */
  beforeRun(runContext: SessionRunContext): Promise<SessionRunArgs> | SessionRunArgs {
    if (this.firstRun) return this.restoreThenAsk(runContext);
    return this.saverHook.beforeRun(runContext);
  }

  private async restoreThenAsk(runContext: SessionRunContext): Promise<SessionRunArgs> {
    await this.restoreOrSaveInitial(runContext.session);
    this.firstRun = false;
    return this.saverHook.beforeRun(runContext);
  }

  /**
   * Saves the iterators when the interval has passed (see {@link CheckpointSaverHook.afterRun}).
   *
   * @example
   * await hook.afterRun(ctx, values);
   */
  afterRun(runContext: SessionRunContext, runValues: SessionRunValues): Promise<void> | undefined {
    return this.saverHook.afterRun(runContext, runValues);
  }

  /**
   * Saves the iterators at the final global step unless that step was just saved. When no run
   * happened since the session was created, restores first, so the save holds the input's
   * real position.
   *
   * @example
   * await hook.end(session);
   */
  async end(session: Session): Promise<void> {
    if (this.firstRun) {
      await this.restoreOrSaveInitial(session);
      this.firstRun = false;
    }
    await this.saverHook.end(session);
  }

  /** TensorFlow's `_restore_or_save_initial_ckpt`. */
  private async restoreOrSaveInitial(session: Session): Promise<void> {
    const saver = this.requireSaver();
    // The newest whole input checkpoint: one a crash left damaged is passed over, with a warning.
    const restored = await saver.restoreLatest(this.modelDir, this.latestFilename);
    if (restored !== null) {
      this.logger.info(`Restoring the input pipeline from ${restored.path}.`);
      // Count the checkpoints of earlier runs for retention, as the model saver does.
      const state = await getCheckpointState(this.modelDir, this.latestFilename);
      if (state !== null) await saver.recoverLastCheckpoints(state.allModelCheckpointPaths);
      return;
    }
    // The checkpoint saved here is the input's state at the current global step.
    const step = await session.run(this.requireGlobalStep());
    await this.saverHook.saveAt(session, step);
  }

  private requireSaver(): Saver {
    if (this.saver !== null) return this.saver;
    throw usedBeforeBegin();
  }

  private requireGlobalStep(): Variable<number> {
    if (this.globalStep !== null) return this.globalStep;
    throw usedBeforeBegin();
  }
}

/** The policy, checked: null and undefined mean `"fail"`. */
function policyOf(policy: unknown): ExternalStatePolicy {
  if (policy === undefined || policy === null) return "fail";
  if ((EXTERNAL_STATE_POLICIES as readonly unknown[]).includes(policy)) return policy as ExternalStatePolicy;
  const supported = EXTERNAL_STATE_POLICIES.map((p) => JSON.stringify(p)).join(", ");
  const fix = 'Pass "fail" (the default) to refuse saving state that cannot be captured, "warn" or "ignore" to save what can be.';
  throw new ValueError(`CheckpointInputPipelineHook externalStatePolicy must be one of ${supported}; got ${describeValue(policy)}. ${fix}`, {
    expected: supported,
    received: describeValue(policy),
    fix,
  });
}

function usedBeforeBegin(): RuntimeError {
  const fix = "Call begin() first; a MonitoredSession calls it when it is created.";
  return new RuntimeError(`CheckpointInputPipelineHook was used before begin(). ${fix}`, {
    expected: "begin() called",
    received: "not called",
    fix,
  });
}
