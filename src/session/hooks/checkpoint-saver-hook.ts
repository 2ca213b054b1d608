/**
 * CheckpointSaverHook: saves a checkpoint every N seconds or N steps, at session start and at
 * the end (TensorFlow's `tf.estimator.CheckpointSaverHook`, TF_REFERENCE.md §2).
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { checkpointStep } from "../../checkpoint/checkpoint-state.js";
import type { Saver } from "../../checkpoint/saver.js";
import { RuntimeError, ValueError } from "../../errors.js";
import type { Awaitable } from "../awaitable.js";
import type { Coordinator } from "../coordinator.js";
import { GraphKeys, type Graph } from "../graph.js";
import { consoleLogger, type Logger, type LoggerOptions } from "../logger.js";
import type { Session } from "../session.js";
import { SessionRunArgs, type SessionRunContext, type SessionRunHook, type SessionRunValues } from "../session-run-hook.js";
import type { Variable } from "../variable.js";
import type { PairedCheckpoint } from "./paired-checkpoint.js";
import { requireGlobalStep } from "./require-global-step.js";
import { SecondOrStepTimer, systemClock, type Clock } from "./second-or-step-timer.js";

/**
 * How far past the stale global step `afterRun` looks before reading the real one
 * (TensorFlow's `_steps_per_run`, as TF_REFERENCE.md §2 gives it: one step per run).
 */
const STEPS_PER_RUN = 1;

/**
 * Is told about each checkpoint a {@link CheckpointSaverHook} saves (TensorFlow's
 * `CheckpointSaverListener`). Every method is optional and may be async.
 *
 * @example
 * const listener: CheckpointSaverListener = {
 *   afterSave: (session, step) => {
 *     console.log(`checkpoint at step ${step}`);
 *     return step >= 1000; // true asks training to stop
 *   },
 * };
 */
export interface CheckpointSaverListener {
  /** Called once, from the hook's `begin()`, before the session exists. */
  begin?(): Awaitable<void>;
  /** Called before each save, with the step the checkpoint will be numbered by. */
  beforeSave?(session: Session, globalStep: number): Awaitable<void>;
  /**
   * Called after each save. Returning true asks the monitored session to stop after the
   * current run (honoured for saves made after a run, not at session start or at the end).
   */
  afterSave?(session: Session, globalStep: number): Awaitable<boolean | void>;
  /** Called once at the end, after the final save, with the last global step. */
  end?(session: Session, globalStep: number): Awaitable<void>;
}

/** Options of `new CheckpointSaverHook(checkpointDir, options)`: exactly one of `saveSecs` and `saveSteps`. */
export interface CheckpointSaverHookOptions extends LoggerOptions {
  /** Save when at least this many seconds passed since the last save. */
  readonly saveSecs?: number | null | undefined;
  /** Save when at least this many global steps passed since the last save (an integer ≥ 1). */
  readonly saveSteps?: number | null | undefined;
  /** The saver to save with (default: the scaffold's, else the graph's `savers` collection). */
  readonly saver?: Saver | null | undefined;
  /** The checkpoint file name prefix inside `checkpointDir` (default `"model.ckpt"`). */
  readonly checkpointBasename?: string;
  /** Something with a saver, e.g. a `Scaffold`; its `saver` is read at save time. */
  readonly scaffold?: { readonly saver: Saver | null } | null | undefined;
  /** Told about every save, in this order. */
  readonly listeners?: readonly CheckpointSaverListener[];
  /** The time in seconds for `saveSecs` (default: a monotonic clock); tests pass a fake one. */
  readonly clock?: Clock;
  /**
   * Write checkpoints in the background (default false): a save takes the values at its step
   * and training goes on while the files are written off the main thread
   * ({@link Saver.saveInBackground}); `end()` waits for every write. Listeners' `afterSave` is
   * called once its checkpoint is on disk, so a stop it asks for takes effect a few steps
   * later. A failed write is thrown by the next save or by `end()`.
   */
  readonly async?: boolean;
  /**
   * Whether the graph's paired checkpoints for `checkpointDir` (`GraphKeys.PAIRED_CHECKPOINTS`,
   * e.g. a CheckpointInputPipelineHook's) are saved for this hook's steps (default true).
   */
  readonly savePairedCheckpoints?: boolean;
}

/**
 * Saves a checkpoint of the model when a session is created, every `saveSecs` seconds or
 * `saveSteps` global steps while training, and at the end if the last step was not saved.
 * Checkpoints are `<checkpointDir>/<checkpointBasename>-<globalStep>`; the directory is
 * created when missing. The graph must have a global step.
 *
 * At session start it does not save when the session was restored from the checkpoint of the
 * current step (a restart): that checkpoint holds these very values, and writing it again could
 * only put it at risk. Checkpoints paired with the model's (`GraphKeys.PAIRED_CHECKPOINTS` for
 * this directory: the input pipeline's) are saved for every step it saves, before it.
 *
 * @example
 * const hook = new CheckpointSaverHook("runs/a", { saveSteps: 100 });
 * await withMonitoredSession(MonitoredSession.create({ hooks: [hook] }), async (sess) => {
 *   while (!sess.shouldStop()) await sess.run(trainOp);
 * }); // runs/a/model.ckpt-0, model.ckpt-100, ..., and the last step
 */
export class CheckpointSaverHook implements SessionRunHook {
  private readonly savePath: string;
  private explicitSaver: Saver | null;
  private readonly scaffold: { readonly saver: Saver | null } | null;
  private readonly timer: SecondOrStepTimer;
  private readonly listeners: readonly CheckpointSaverListener[];
  private readonly logger: Logger;
  private globalStep: Variable<number> | null = null;
  /** What `beforeRun` asks every run for: the global step (one object, made once). */
  private runArgs: SessionRunArgs<Variable<number>> | null = null;
  /** The saver found in the `savers` collection, remembered as TensorFlow's `_get_saver` does. */
  private collectionSaver: Saver | null = null;
  private readonly async: boolean;
  /** Whether the checkpoint directory was made. */
  private directoryMade = false;
  /** The saver of the last background save, whose writes `end()` waits for. */
  private backgroundSaver: Saver | null = null;
  /** The `afterSave` calls of background saves, in order. */
  private afterSaves: Promise<void> = Promise.resolve();
  /** What the `afterSave` of a background save asked: a stop, or its error. */
  private heard: { stop: boolean; error: { readonly error: unknown } | null } = { stop: false, error: null };
  private readonly withPaired: boolean;
  /** The paired checkpoints saved with each checkpoint, found at session creation. */
  private paired: readonly PairedCheckpoint[] = [];

  /**
   * @param checkpointDir the directory to save checkpoints in; created when missing.
   * @param options exactly one of `saveSecs` and `saveSteps`; at most one of `saver` and
   *   `scaffold`; `checkpointBasename` (default `"model.ckpt"`), `listeners`, `logger`
   *   (default the console logger) and `clock` (seconds).
   * @throws {ValueError} "You cannot provide both saver and scaffold." when both are given.
   * @throws {ValueError} when neither or both of `saveSecs` and `saveSteps` are given.
   * @throws {InvalidArgumentError} when `saveSecs` is negative or `saveSteps` not an integer ≥ 1.
   */
  constructor(checkpointDir: string, options: CheckpointSaverHookOptions = {}) {
    const { saver = null, scaffold = null } = options;
    if (saver !== null && scaffold !== null) {
      const fix = "Pass only one of saver and scaffold: the hook saves with scaffold.saver when given a scaffold.";
      throw new ValueError(`You cannot provide both saver and scaffold. ${fix}`, {
        expected: "at most one of saver and scaffold",
        received: "both",
        fix,
      });
    }
    this.timer = new SecondOrStepTimer({ everySecs: options.saveSecs, everySteps: options.saveSteps }, options.clock ?? systemClock);
    this.savePath = join(checkpointDir, options.checkpointBasename ?? "model.ckpt");
    this.explicitSaver = saver;
    this.scaffold = scaffold;
    this.listeners = [...(options.listeners ?? [])];
    this.logger = options.logger ?? consoleLogger;
    this.async = options.async ?? false;
    this.withPaired = options.savePairedCheckpoints ?? true;
  }

  /**
   * Finds the default graph's global step and calls every listener's `begin()`, in order.
   *
   * @throws {RuntimeError} "Global step should be created to use CheckpointSaverHook." when
   *   the graph has none, or when there is no default graph.
   * @example
   * await graph.asDefault(() => hook.begin());
   */
  async begin(): Promise<void> {
    this.globalStep = requireGlobalStep("CheckpointSaverHook");
    this.runArgs = null;
    for (const listener of this.listeners) await listener.begin?.();
  }

  /**
   * Saves a checkpoint at the current global step, so that one always exists at session
   * start, and counts the next interval from there. When the session was restored from that
   * very checkpoint, it is not written again (nor are listeners called); its paired
   * checkpoints are saved where they are missing.
   *
   * @example
   * await hook.afterCreateSession(session, coord); // writes model.ckpt-<step>, or keeps it
   */
  async afterCreateSession(session: Session, _coord: Coordinator): Promise<void> {
    const dir = resolve(dirname(this.savePath));
    this.paired = this.withPaired ? session.graph.getCollection(GraphKeys.PAIRED_CHECKPOINTS).filter((p) => resolve(p.checkpointDir) === dir) : [];
    const step = await this.readGlobalStep(session);
    const prefix = `${this.savePath}-${step}`;
    const restoredFrom = this.getSaver(session.graph).restoredFrom;
    if (restoredFrom !== null && resolve(restoredFrom) === resolve(prefix)) {
      await this.savePaired(session, step);
      this.timer.updateLastTriggeredStep(step);
      return;
    }
    // The checkpoint saved here is the state at `step`; a listener's stop request is ignored here, as in TensorFlow.
    await this.saveAt(session, step);
  }

  /**
   * Asks the run for the global step.
   *
   * @example
   * hook.beforeRun(ctx).fetches; // the global step variable
   */
  beforeRun(_runContext: SessionRunContext): SessionRunArgs<Variable<number>> {
    return (this.runArgs ??= new SessionRunArgs(this.requireGlobalStep()));
  }

  /**
   * Saves when the interval has passed: when the timer would trigger one step past the global
   * step read in the run, reads the real global step and, if the timer triggers for it too,
   * saves. A listener's `afterSave` returning true requests a stop. Returns nothing (no
   * Promise) in the steps where no save is due.
   *
   * @example
   * await hook.afterRun(ctx, new SessionRunValues(staleStep));
   */
  afterRun(runContext: SessionRunContext, runValues: SessionRunValues): Promise<void> | undefined {
    if (this.heard.stop || this.heard.error !== null) {
      const { stop, error } = this.heard;
      this.heard = { stop: false, error: null };
      if (error !== null) return Promise.reject(error.error);
      if (stop) runContext.requestStop();
    }
    const stale = runValues.results;
    // Without a stale step (a caller that did not run beforeRun's fetches), read the real one.
    if (typeof stale === "number" && !this.timer.shouldTriggerForStep(stale + STEPS_PER_RUN)) return undefined;
    return this.saveIfDue(runContext);
  }

  private async saveIfDue(runContext: SessionRunContext): Promise<void> {
    const session = runContext.session;
    const step = await this.readGlobalStep(session);
    if (!this.timer.shouldTriggerForStep(step)) return;
    this.timer.updateLastTriggeredStep(step);
    if (await this.save(session, step, true)) runContext.requestStop();
  }

  /**
   * Saves a last checkpoint unless the final global step was just saved, then calls every
   * listener's `end(session, step)`, then closes the saver ({@link Saver.close}): its writer
   * lock of the directory is released, so that another process may train there (a later save
   * takes it again).
   *
   * @example
   * await hook.end(session);
   */
  async end(session: Session): Promise<void> {
    try {
      const step = await this.readGlobalStep(session);
      if (step !== this.timer.lastTriggeredStep()) await this.save(session, step, false);
      if (this.backgroundSaver !== null) {
        await this.backgroundSaver.sync();
        await this.afterSaves;
        if (this.heard.error !== null) throw this.heard.error.error;
      }
      for (const listener of this.listeners) await listener.end?.(session, step);
    } catch (error) {
      try {
        await this.getSaver(session.graph).close();
      } catch {
        // the error that ended training is the one to report
      }
      throw error;
    }
    // Training into the directory is over: another Saver or process may save there now.
    await this.getSaver(session.graph).close();
  }

  /*
   * The surface below lets another hook compose a CheckpointSaverHook and drive it, as
   * TensorFlow's CheckpointInputPipelineHook does by reaching into `_saver`, `_scaffold`,
   * `_save` and `_timer`. It changes nothing for a hook used on its own.
   */

  /**
   * Whether the hook was given a saver or a scaffold (in its options or by {@link useSaver});
   * when false it saves with the single saver of the graph's `savers` collection.
   *
   * @example
   * new CheckpointSaverHook("runs/a", { saveSteps: 10 }).hasSaver; // false
   */
  get hasSaver(): boolean {
    return this.explicitSaver !== null || this.scaffold !== null;
  }

  /**
   * Gives a hook made without a saver or scaffold the saver to save with, e.g. one over only
   * some saveables (TensorFlow's CheckpointInputPipelineHook sets `_saver` this way in `begin`).
   * Call it before the first save.
   *
   * @param saver the saver every later save uses.
   * @throws {ValueError} when the hook already has a saver or a scaffold ({@link hasSaver}).
   * @example
   * if (!hook.hasSaver) hook.useSaver(new Saver(saveables, { latestFilename: "checkpoint_input" }));
   */
  useSaver(saver: Saver): void {
    if (this.hasSaver) {
      const fix = "Call useSaver only on a hook made without saver and scaffold; check hasSaver first.";
      throw new ValueError(`CheckpointSaverHook already has a ${this.explicitSaver !== null ? "saver" : "scaffold"}. ${fix}`, {
        expected: "a hook without saver and scaffold",
        received: this.explicitSaver !== null ? "a hook with a saver" : "a hook with a scaffold",
        fix,
      });
    }
    this.explicitSaver = saver;
  }

  /**
   * Saves a checkpoint at `step` now — every listener's `beforeSave`, the save, every
   * listener's `afterSave` — and counts the next interval from `step`, as `afterCreateSession`
   * does (TensorFlow's `_save` then `_timer.update_last_triggered_step`).
   *
   * @param session the session to save from.
   * @param step the global step the checkpoint is numbered by.
   * @returns whether a listener's `afterSave` asked to stop; the caller decides what to do.
   *   With `async: true` it returns false: the save is written in the background, and a stop
   *   its `afterSave` asks for later is ignored.
   * @example
   * await hook.saveAt(session, await session.run(globalStep)); // writes <basename>-<step>
   */
  async saveAt(session: Session, step: number): Promise<boolean> {
    const stop = await this.save(session, step, false);
    this.timer.updateLastTriggeredStep(step);
    return stop;
  }

  /**
   * Saves a checkpoint at `step` with the listeners around it; whether a listener asked to stop.
   * A background save returns false at once: its `afterSave` calls come when it is on disk, and
   * a stop they ask for is applied at a later run when `fromRun` (a save made after a run; as
   * without `async`, a stop asked at session start or at the end is not honoured).
   */
  private async save(session: Session, step: number, fromRun: boolean): Promise<boolean> {
    this.logger.info(`Calling checkpoint listeners before saving checkpoint ${step}...`);
    for (const listener of this.listeners) await listener.beforeSave?.(session, step);
    this.logger.info(`Saving checkpoints for ${step} into ${this.savePath}.`);
    const saver = this.getSaver(session.graph);
    if (!this.directoryMade) {
      await mkdir(dirname(this.savePath), { recursive: true });
      this.directoryMade = true;
    }
    // The paired checkpoints of `step` are on disk before the model's state file can name it.
    await this.savePaired(session, step);
    const before = this.paired.length > 0 ? saver.lastCheckpoints : [];
    if (!this.async) {
      await saver.save(this.savePath, { globalStep: step });
      await this.removePaired(before, saver.lastCheckpoints);
      return this.afterSave(session, step);
    }
    const { written } = await saver.saveInBackground(this.savePath, { globalStep: step });
    this.backgroundSaver = saver;
    const after = this.paired.length > 0 ? saver.lastCheckpoints : [];
    if (this.paired.length > 0 || this.listeners.some((listener) => listener.afterSave !== undefined)) {
      // A failed write is the saver's to report (next save, or end); afterSave is then skipped.
      const onDisk = written.then(
        () => true,
        () => false,
      );
      this.afterSaves = this.afterSaves
        .then(() => onDisk)
        .then(async (ok) => {
          if (!ok) return false;
          await this.removePaired(before, after);
          return this.afterSave(session, step);
        })
        .then(
          (stop) => {
            if (stop && fromRun) this.heard.stop = true;
          },
          (error: unknown) => {
            this.heard.error ??= { error };
          },
        );
    }
    return false;
  }

  /** Saves the paired checkpoints of `step`, telling them which model checkpoints are kept. */
  private async savePaired(session: Session, step: number): Promise<void> {
    if (this.paired.length === 0) return;
    const kept = this.getSaver(session.graph)
      .lastCheckpoints.map(checkpointStep)
      .filter((s): s is number => s !== null);
    for (const paired of this.paired) await paired.saveForStep(session, { step, modelCheckpoint: `${this.savePath}-${step}`, kept });
  }

  /** Tells the paired checkpoints which model checkpoints retention deleted, going from `before` to `after`. */
  private async removePaired(before: readonly string[], after: readonly string[]): Promise<void> {
    if (this.paired.length === 0) return;
    const kept = new Set(after);
    const steps = before
      .filter((prefix) => !kept.has(prefix))
      .map(checkpointStep)
      .filter((step): step is number => step !== null);
    if (steps.length === 0) return;
    for (const paired of this.paired) await paired.modelStepsRemoved(steps);
  }

  /** Calls every listener's `afterSave`; whether one asked to stop. */
  private async afterSave(session: Session, step: number): Promise<boolean> {
    this.logger.info(`Calling checkpoint listeners after saving checkpoint ${step}...`);
    let stop = false;
    for (const [i, listener] of this.listeners.entries()) {
      if (await listener.afterSave?.(session, step)) {
        this.logger.info(`A CheckpointSaverListener requested that training be stopped. listener: listeners[${i}]`);
        stop = true;
      }
    }
    return stop;
  }

  /** The saver: the explicit one, the scaffold's, or the single one of the graph's `savers` collection. */
  private getSaver(graph: Graph): Saver {
    if (this.explicitSaver !== null) return this.explicitSaver;
    if (this.scaffold !== null) {
      const saver = this.scaffold.saver;
      if (saver !== null) return saver;
      const fix = "Finalize the scaffold before the first save (MonitoredSession does), or give it a saver.";
      throw new RuntimeError(`The scaffold given to CheckpointSaverHook has no saver. ${fix}`, {
        expected: "a scaffold with a saver",
        received: "scaffold.saver === null",
        fix,
      });
    }
    if (this.collectionSaver !== null) return this.collectionSaver;
    const savers = graph.getCollection(GraphKeys.SAVERS);
    const [only] = savers;
    if (only === undefined) {
      const fix = "Please add a saver to the collection or provide a saver or scaffold.";
      throw new RuntimeError(`No items in collection ${GraphKeys.SAVERS}. ${fix}`, {
        expected: "one saver in the savers collection",
        received: "none",
        fix,
      });
    }
    if (savers.length > 1) {
      const fix = "Please indicate which one to use by passing it to the constructor.";
      throw new RuntimeError(`More than one item in collection ${GraphKeys.SAVERS}. ${fix}`, {
        expected: "one saver in the savers collection",
        received: `${savers.length}`,
        fix,
      });
    }
    this.collectionSaver = only;
    return only;
  }

  private async readGlobalStep(session: Session): Promise<number> {
    return session.run(this.requireGlobalStep());
  }

  private requireGlobalStep(): Variable<number> {
    if (this.globalStep !== null) return this.globalStep;
    const fix = "Call begin() first; a MonitoredSession calls it when it is created.";
    throw new RuntimeError(`CheckpointSaverHook was used before begin(). ${fix}`, {
      expected: "begin() called",
      received: "not called",
      fix,
    });
  }
}
