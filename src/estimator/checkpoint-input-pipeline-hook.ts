/**
 * CheckpointInputPipelineHook: saves the state of the graph's iterators with every model
 * checkpoint, so that training resumes reading its input exactly where the restored model left
 * it (`tf.data.experimental.CheckpointInputPipelineHook`, TF_REFERENCE.md §1, made exact under
 * repeated preemption: DESIGN.md "Second wave").
 *
 * @module
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { checkpointStep, getCheckpointState } from "../checkpoint/checkpoint-state.js";
import { isNotWhole, warnSkipped, type SkippedCheckpoint } from "../checkpoint/newest-whole.js";
import { makeSaveableFromIterator, type Saveable } from "../checkpoint/saveable.js";
import { Saver } from "../checkpoint/saver.js";
import type { DatasetIterator } from "../core/dataset-iterator.js";
import { EXTERNAL_STATE_POLICIES, type ExternalStatePolicy } from "../core/iterator.js";
import type { IteratorState } from "../core/state.js";
import { EncodedState } from "../core/value-codec.js";
import { CheckpipeError, DataLossError, describeValue, NotFoundError, RuntimeError, ValueError } from "../errors.js";
import { fileSystemError } from "../io/fs-errors.js";
import type { Coordinator } from "../session/coordinator.js";
import { getGlobalStep } from "../session/global-step.js";
import { Graph, GraphKeys } from "../session/graph.js";
import { CheckpointSaverHook } from "../session/hooks/checkpoint-saver-hook.js";
import type { ModelCheckpointStep, PairedCheckpoint } from "../session/hooks/paired-checkpoint.js";
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
 * file `checkpoint_input`, so that training that starts again (a new process, or a new session
 * after a preemption) continues the input exactly where the model's checkpoint left it.
 *
 * **Paired with the model's checkpoints** (where this differs from TensorFlow). When the
 * session has a CheckpointSaverHook saving into `modelDir` (an Estimator's, a
 * MonitoredTrainingSession's), the input is saved for exactly the steps the model is — at
 * session start, every interval (`saveCheckpointsSteps` or `saveCheckpointsSecs`: the model
 * saver's timer decides) and at the end — and its files are on disk before the model's state
 * file names that step. On restore it takes the input checkpoint of the model's restored step;
 * when that one is missing or damaged it warns, naming both, and takes the newest input
 * checkpoint before that step (the batches in between are read again; none is skipped). Input
 * checkpoints are kept for the model checkpoints the model's state file lists (they go with the
 * next input save once the model's retention drops theirs), and those newer than the restored
 * step are deleted. So however often the job dies, the model trains on every batch exactly as an
 * uninterrupted run does. TensorFlow's hook keeps its own timer instead, so after a restart its
 * saves fall one step after the model's, and after a second kill the two checkpoints disagree.
 *
 * Without such a model saver (a worker that is not the chief, a session without model
 * checkpoints), it behaves as TensorFlow's: it saves by its own timer, restores the newest whole
 * input checkpoint before the first run, and keeps the 5 most recent.
 *
 * With several workers (`numWorkerReplicas > 1`), each writes its own files:
 * `input_<taskType>_<taskId>.ckpt-<step>` and `checkpoint_input_<taskType>_<taskId>`.
 *
 * It wraps a {@link CheckpointSaverHook} rather than being one, so an Estimator still adds its
 * own model checkpoint saver next to it.
 *
 * @example
 * const config = new RunConfig({ saveCheckpointsSteps: 100 });
 * const hook = new CheckpointInputPipelineHook({ modelDir: "runs/a", config });
 * await withMonitoredSession(MonitoredTrainingSession.create({ graph, checkpointDir: "runs/a", saveCheckpointSteps: 100, hooks: [hook] }), async (sess) => {
 *   while (!sess.shouldStop()) await sess.run(trainOp);
 * }); // runs/a/model.ckpt-0 and input.ckpt-0, model.ckpt-100 and input.ckpt-100, ...
 */
export class CheckpointInputPipelineHook implements SessionRunHook, PairedCheckpoint {
  /** The model directory: where the input checkpoints go, next to the model checkpoints they pair with. */
  readonly checkpointDir: string;
  /** Times and performs the saves when no model saver pairs with this hook. */
  private readonly saverHook: CheckpointSaverHook;
  /** `input.ckpt`, or `input_<taskType>_<taskId>.ckpt`. */
  private readonly basename: string;
  /** The state file's name: `checkpoint_input`, or `checkpoint_input_<taskType>_<taskId>`. */
  private readonly latestFilename: string;
  private readonly policy: ExternalStatePolicy;
  private readonly logger: Logger;
  private iterators: readonly DatasetIterator<unknown>[] = [];
  private saveables: Saveable[] | null = null;
  private saver: Saver | null = null;
  private globalStep: Variable<number> | null = null;
  /** The session whose input was restored (null: none yet); each new session restores afresh. */
  private restoredIn: Session | null = null;
  /** The session in which a model saver pairs with this hook. */
  private pairedIn: Session | null = null;
  /** The step whose input checkpoint holds the iterators' state as it is now, if any. */
  private savedStep: number | null = null;
  /** Input checkpoints whose model checkpoints were deleted: deleted with the next input save, or at the end. */
  private removing: string[] = [];

  /**
   * @param estimator the Estimator (or anything with `modelDir` and `config`) whose input to checkpoint.
   * @param options `externalStatePolicy` (default `"fail"`), `logger`, `clock`.
   * @throws {ValueError} when `externalStatePolicy` is not `"warn"`, `"ignore"` or `"fail"`, or
   *   `modelDir` is not a non-empty path.
   * @throws {ValueError} "Either everySecs or everySteps should be provided." / "Can not
   *   provide both everySecs and everySteps." when the config sets neither or both of
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
    this.checkpointDir = modelDir;
    const config = estimator.config;
    // "input" is not "model", so input checkpoints never collide with the model's in the same directory.
    const prefix = config.numWorkerReplicas > 1 ? `input_${config.taskType}_${config.taskId}` : "input";
    this.basename = `${prefix}.ckpt`;
    this.latestFilename = `checkpoint_${prefix}`;
    this.logger = options.logger ?? consoleLogger;
    this.saverHook = new CheckpointSaverHook(modelDir, {
      saveSecs: config.saveCheckpointsSecs,
      saveSteps: config.saveCheckpointsSteps,
      checkpointBasename: this.basename,
      logger: this.logger,
      savePairedCheckpoints: false,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
  }

  /**
   * Takes every iterator of the default graph's `iterators` collection (each saved under
   * `<iterator name>_STATE`), puts this hook in the graph's `paired_checkpoints` collection, so
   * that the model saver of `modelDir` saves the input with the model, then begins the wrapped
   * saver hook.
   *
   * @throws {ValueError} when the graph has no iterator.
   * @throws {RuntimeError} "Global step should be created to use CheckpointSaverHook." when the
   *   graph has no global step, or when there is no default graph.
   * @example
   * await graph.asDefault(() => hook.begin());
   */
  async begin(): Promise<void> {
    const graph = Graph.getDefault();
    const iterators = graph.getCollection(GraphKeys.ITERATORS);
    if (iterators.length === 0) {
      const fix = "Create the input's iterator while the graph is the default, e.g. graph.asDefault(() => dataset.iterator()), before the session is created.";
      throw new ValueError(`No variables to save: CheckpointInputPipelineHook found no iterator in the graph's "${GraphKeys.ITERATORS}" collection. ${fix}`, {
        expected: `at least one iterator in the "${GraphKeys.ITERATORS}" collection`,
        received: "none",
        fix,
      });
    }
    this.iterators = iterators;
    this.saveables = iterators.map((iterator) => makeSaveableFromIterator(iterator, this.policy));
    await this.saverHook.begin();
    this.globalStep = getGlobalStep(graph);
    if (!graph.getCollection(GraphKeys.PAIRED_CHECKPOINTS).includes(this)) graph.addToCollection(GraphKeys.PAIRED_CHECKPOINTS, this);
  }

  /**
   * Nothing: the restore of a new session waits for the model saver's session-start save or,
   * without one, for the first run, so that every hook's `afterCreateSession` (which may
   * initialize the input) has run before it.
   *
   * @example
   * await hook.afterCreateSession(session, coord); // after a recovery too
   */
  afterCreateSession(_session: Session, _coord: Coordinator): void {}

  /**
   * Without a model saver pairing with it: on the first run of a session, restores the newest
   * whole input checkpoint — or, when there is none, saves one at the current global step; then
   * asks for the global step, to save by its own timer.
   *
   * @throws {FailedPreconditionError} when an iterator holds state that cannot be saved and the
   *   policy is `"fail"`.
   * @example
   * await hook.beforeRun(ctx); // restores input.ckpt-<step> on the first call
   */
  beforeRun(runContext: SessionRunContext): Promise<SessionRunArgs> | SessionRunArgs | undefined {
    if (this.pairedIn === runContext.session) return undefined;
    if (this.restoredIn !== runContext.session) return this.restoreThenAsk(runContext);
    return this.saverHook.beforeRun(runContext);
  }

  private async restoreThenAsk(runContext: SessionRunContext): Promise<SessionRunArgs> {
    await this.restoreOrSaveInitial(runContext.session);
    return this.saverHook.beforeRun(runContext);
  }

  /**
   * Without a model saver pairing with it, saves the iterators when its own interval has passed
   * (see {@link CheckpointSaverHook.afterRun}).
   *
   * @example
   * await hook.afterRun(ctx, values);
   */
  afterRun(runContext: SessionRunContext, runValues: SessionRunValues): Promise<void> | undefined {
    this.savedStep = null;
    if (this.pairedIn === runContext.session) return undefined;
    return this.saverHook.afterRun(runContext, runValues);
  }

  /**
   * Without a model saver pairing with it, saves the iterators at the final global step unless
   * that step was just saved (when no run happened since the session was created, it restores
   * first, so the save holds the input's real position). With one, the model saver's `end`
   * saves the input.
   *
   * @example
   * await hook.end(session);
   */
  async end(session: Session): Promise<void> {
    if (this.pairedIn === session) {
      const saver = this.requireSaver();
      await saver.remove(this.removing, this.latestFilename);
      this.removing = [];
      // Another process may now save into the directory (the writer lock goes).
      await saver.close();
      return;
    }
    if (this.restoredIn !== session) await this.restoreOrSaveInitial(session);
    await this.saverHook.end(session);
  }

  /**
   * Saves the input checkpoint of `step`, durably, unless the iterators' state is the one that
   * checkpoint already holds; the first call of a session restores the input of `step` first.
   * The model saver of `modelDir` calls it before each model checkpoint it takes.
   *
   * @param session the session to save from.
   * @param at the step and the prefix of the model checkpoint it pairs with.
   * @example
   * await hook.saveForStep(session, { step: 200, modelCheckpoint: "runs/a/model.ckpt-200" });
   */
  async saveForStep(session: Session, at: ModelCheckpointStep): Promise<void> {
    if (this.restoredIn !== session) {
      this.pairedIn = session;
      await this.restoreFor(at);
      this.restoredIn = session;
    }
    if (this.savedStep === at.step) return;
    // The input checkpoints whose model checkpoints are gone go in the same writes.
    await this.requireSaver().save(join(this.checkpointDir, this.basename), { globalStep: at.step, remove: this.removing });
    this.removing = [];
    this.savedStep = at.step;
  }

  /**
   * Marks the input checkpoints of steps whose model checkpoints were deleted, to be deleted
   * with the next input checkpoint (costing no writes of their own) or at the end.
   *
   * @param steps the steps of the model checkpoints deleted.
   * @example
   * hook.modelStepsRemoved([100]); // input.ckpt-100 goes with the next save
   */
  modelStepsRemoved(steps: readonly number[]): void {
    this.removing.push(...steps.map((step) => this.prefixOf(step)));
  }

  /**
   * TensorFlow's `_restore_or_save_initial_ckpt`, for a hook no model saver pairs with: restores
   * the newest whole input checkpoint or, when there is none, saves one at the current step.
   */
  private async restoreOrSaveInitial(session: Session): Promise<void> {
    const saver = (this.saver ??= this.makeSaver(false));
    this.restoredIn = session;
    this.savedStep = null;
    if (await this.resumeWorkers()) {
      const state = await getCheckpointState(this.checkpointDir, this.latestFilename);
      if (state !== null) await saver.recoverLastCheckpoints(state.allModelCheckpointPaths);
      // This worker's file holds the resumed state at once, and the timer starts from here.
      await this.saverHook.saveAt(session, await session.run(this.requireGlobalStep()));
      return;
    }
    const restored = await saver.restoreLatest(this.checkpointDir, this.latestFilename);
    if (restored === null) {
      // The checkpoint saved here is the input's state at the current global step.
      await this.saverHook.saveAt(session, await session.run(this.requireGlobalStep()));
      return;
    }
    this.logger.info(`Restoring the input pipeline from ${restored.path}.`);
    // Count the checkpoints of earlier runs for retention, as the model saver does.
    const state = await getCheckpointState(this.checkpointDir, this.latestFilename);
    if (state !== null) await saver.recoverLastCheckpoints(state.allModelCheckpointPaths);
  }

  /**
   * Restores the input checkpoint of the model's `step` or, when it is missing or damaged, the
   * newest one before it (with a warning naming both); deletes those after it, and those of
   * steps the model no longer keeps.
   */
  private async restoreFor({ step, modelCheckpoint, kept }: ModelCheckpointStep): Promise<void> {
    const saver = (this.saver ??= this.makeSaver(true));
    const state = await getCheckpointState(this.checkpointDir, this.latestFilename);
    const listed = state === null ? [] : [...new Set([...state.allModelCheckpointPaths, state.modelCheckpointPath])];
    if (state !== null) await saver.recoverLastCheckpoints(state.allModelCheckpointPaths);
    const exact = this.prefixOf(step);
    const older = listed
      .filter((path) => path !== exact && (checkpointStep(path) ?? Infinity) < step)
      .sort((a, b) => (checkpointStep(b) ?? 0) - (checkpointStep(a) ?? 0));
    const passedOver: SkippedCheckpoint[] = [];
    let restored: string | null = null;
    const resumed = await this.resumeWorkers();
    for (const path of resumed ? [] : [exact, ...older]) {
      try {
        await saver.restore(path);
        restored = path;
        break;
      } catch (error) {
        if (!(await isNotWhole(error, path))) throw error;
        passedOver.push({ path, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    this.savedStep = restored === exact ? step : null;
    if (restored !== null) this.logger.info(`Restoring the input pipeline from ${restored}.`);
    // Nothing is expected at a first start: no input checkpoint, and the model at step 0.
    if (!resumed && restored !== exact && (listed.length > 0 || step > 0)) {
      warnSkipped(passedOver);
      const from = restored === null ? 0 : (checkpointStep(restored) ?? 0);
      const instead = restored === null ? "The input starts from its beginning" : `Restoring ${restored} instead`;
      this.logger.warn(
        `No whole input checkpoint for the model checkpoint ${modelCheckpoint} (step ${step}): ` +
          `${passedOver.map((p) => `${p.path} (${p.reason})`).join("; ")}. ${instead}, so the batches of steps ${from + 1}–${step} are read again.`,
      );
    }
    // Input checkpoints no model checkpoint pairs with: after the restored step, or of steps the
    // model deleted while a kill kept them from going too.
    const unpaired = listed.filter((path) => {
      const at = checkpointStep(path) ?? -1;
      return at > step || (kept.length > 0 && at < step && !kept.includes(at));
    });
    if (unpaired.length > 0) {
      this.logger.info(`Deleting input checkpoints no model checkpoint pairs with: ${unpaired.join(", ")}.`);
      await saver.remove(unpaired, this.latestFilename);
    }
  }

  /**
   * Elastic resume: when the directory holds other workers' input state files (of this job, or
   * of an older one that had another number of workers), hands each iterator the newest whole
   * state of every one of them, and its own. True when the iterators resumed from them (see
   * `DatasetIterator.resumeWorkers`); false when this worker's own input checkpoint is the one
   * to restore as usual.
   */
  private async resumeWorkers(): Promise<boolean> {
    const names = await inputStateFiles(this.checkpointDir);
    const others = names.filter((name) => name !== this.latestFilename);
    if (others.length === 0) return false;
    const own = names.includes(this.latestFilename) ? await this.historyOf(this.latestFilename) : [];
    const theirs = await Promise.all(others.map((name) => this.historyOf(name)));
    const statesOf = (history: readonly Read[], iterator: DatasetIterator<unknown>): (IteratorState | EncodedState)[] =>
      history.map((read) => read.values.get(`${iterator.name}_STATE`) as IteratorState | EncodedState | undefined).filter((state) => state !== undefined);
    const asIs: DatasetIterator<unknown>[] = [];
    for (const iterator of this.iterators) {
      if (
        !(await iterator.resumeWorkers(
          statesOf(own, iterator),
          theirs.map((history) => statesOf(history, iterator)),
        ))
      )
        asIs.push(iterator);
    }
    if (asIs.length === this.iterators.length) return false;
    // An iterator that is not sharded that way restores from this worker's own newest checkpoint.
    const saveables = this.saveables ?? [];
    for (const [i, iterator] of this.iterators.entries()) {
      const state = asIs.includes(iterator) ? own[0]?.values.get(`${iterator.name}_STATE`) : undefined;
      if (state !== undefined) await saveables[i]?.restore(state);
    }
    const read = [own, ...theirs].filter((history) => history.length > 0).map((history) => (history[0] as Read).path);
    this.logger.info(
      `Resuming the input pipeline from the input checkpoints of ${read.length} worker(s) (newest: ${read.join(", ")}): the number of workers changed, or this worker had not saved since it did.`,
    );
    return true;
  }

  /**
   * The whole input checkpoints a state file lists, newest first, as far back as needed: up to
   * the first in which every iterator's state is live (not ended) — the generation of a file's
   * states only grows, so that one is of its newest generation. Damaged ones are passed over
   * with a warning.
   */
  private async historyOf(latestFilename: string): Promise<Read[]> {
    const saver = this.requireSaver();
    const state = await getCheckpointState(this.checkpointDir, latestFilename).catch((error: unknown) => {
      if (!(error instanceof DataLossError || error instanceof NotFoundError)) throw error;
      this.logger.warn(`Passing over ${join(this.checkpointDir, latestFilename)} for an elastic resume: ${error.message}`);
      return null;
    });
    if (state === null) return [];
    const read: Read[] = [];
    for (const path of new Set([state.modelCheckpointPath, ...[...state.allModelCheckpointPaths].reverse()])) {
      try {
        const values = await saver.read(path);
        read.push({ path, values });
        if (this.iterators.every((iterator) => isLive(values.get(`${iterator.name}_STATE`)))) break;
      } catch (error) {
        if (!(await isNotWhole(error, path))) throw error;
        this.logger.warn(`Passing over the input checkpoint ${path} for an elastic resume: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return read;
  }

  private makeSaver(paired: boolean): Saver {
    const saveables = this.saveables;
    if (saveables === null) throw usedBeforeBegin();
    // Paired: input checkpoints go when the model's of their steps go, never by count.
    const saver = new Saver(saveables, { maxToKeep: paired ? Infinity : 5, latestFilename: this.latestFilename });
    if (!paired) this.saverHook.useSaver(saver);
    return saver;
  }

  private prefixOf(step: number): string {
    return join(this.checkpointDir, `${this.basename}-${step}`);
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

/** Whether a saved iterator state (JSON or binary) is of an iterator that had not ended. */
function isLive(state: unknown): boolean {
  const tree = state instanceof EncodedState ? state.tree : state;
  return typeof tree === "object" && tree !== null && (tree as { ended?: unknown }).ended === false;
}

/** An input checkpoint read: its prefix and its values by name. */
interface Read {
  readonly path: string;
  readonly values: ReadonlyMap<string, unknown>;
}

/** The input state files in `dir`: `checkpoint_input`, and `checkpoint_input_<taskType>_<taskId>` of each worker. */
async function inputStateFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => /^checkpoint_input(_[a-z]+_\d+)?$/.test(name)).sort();
  } catch (error) {
    if (error instanceof CheckpipeError) throw error;
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw fileSystemError(error, { access: "read", doing: "listing", path: dir, purpose: "Looking for the input checkpoints of other workers" });
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
