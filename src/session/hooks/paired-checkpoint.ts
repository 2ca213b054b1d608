/**
 * Paired checkpoints: checkpoints written for exactly the steps the model's are, so that
 * whatever instant a job dies at, the model and what it pairs with (its input pipeline's
 * position) are restored to the same step (DESIGN.md, "Second wave").
 *
 * @module
 */
import type { Awaitable } from "../awaitable.js";
import type { Session } from "../session.js";

/** Which model checkpoint a paired save is for. */
export interface ModelCheckpointStep {
  /** The global step both checkpoints are numbered by. */
  readonly step: number;
  /** The model checkpoint's prefix (written next, or restored and not written again). */
  readonly modelCheckpoint: string;
  /**
   * The steps of the model checkpoints its state file lists before this save (empty when its
   * saver lists none, keeping every checkpoint): the paired checkpoints of other steps are no
   * longer needed.
   */
  readonly kept: readonly number[];
}

/**
 * A checkpoint kept in step with the model's. Put it in the graph's
 * `GraphKeys.PAIRED_CHECKPOINTS` collection (in a hook's `begin()`): every CheckpointSaverHook
 * saving into `checkpointDir` then calls it for each model checkpoint it saves — at session
 * start (also when the model's checkpoint of that step exists and is not written again), every
 * interval and at the end — and its files are durable before the model's state file names that
 * step. `CheckpointInputPipelineHook` is one.
 *
 * @example
 * const paired: PairedCheckpoint = {
 *   checkpointDir: "runs/a",
 *   saveForStep: async (_session, { step }) => { await saver.save("runs/a/extra.ckpt", { globalStep: step }); },
 *   modelStepsRemoved: async (steps) => { await saver.remove(steps.map((s) => `runs/a/extra.ckpt-${s}`)); },
 * };
 * graph.addToCollection(GraphKeys.PAIRED_CHECKPOINTS, paired);
 */
export interface PairedCheckpoint {
  /** The directory of the model checkpoints it pairs with. */
  readonly checkpointDir: string;
  /**
   * Makes the paired checkpoint of `step` durable: called before the model's checkpoint of that
   * step is taken. At session start it is the first call of the session, before any run.
   */
  saveForStep(session: Session, at: ModelCheckpointStep): Promise<void>;
  /**
   * The model's retention deleted its checkpoints of these steps (called once the checkpoint
   * that made it do so is on disk): the paired ones may go too, now or with a later save.
   */
  modelStepsRemoved(steps: readonly number[]): Awaitable<void>;
}
