/**
 * Finding the newest whole checkpoint a state file lists, while a writer may be saving into the
 * same directory: retention can delete the very checkpoint being read. A checkpoint that fails
 * to load because a save changed the directory under the read is not damaged; the state file
 * is read again and the search starts over from its new latest checkpoint.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { DataLossError, NotFoundError, ValueError } from "../errors.js";
import { INDEX_SUFFIX } from "./bundle.js";
import { getCheckpointState, MAX_REREADS, sameCheckpointState } from "./checkpoint-state.js";

/** A checkpoint passed over, and why. */
export interface SkippedCheckpoint {
  readonly path: string;
  readonly reason: string;
}

/** The checkpoint found and its values, and the newer ones passed over. */
export interface LoadedCheckpoint<V> {
  readonly path: string;
  readonly values: V;
  /** Newer checkpoints that were damaged or incomplete, newest first. */
  readonly skipped: readonly SkippedCheckpoint[];
}

/**
 * Whether a failed load says the checkpoint is not whole (damaged, or a file of it missing) —
 * as opposed to whole but not what the caller saves (a missing entry), which is no reason to
 * take an older one.
 *
 * @param error what the load threw.
 * @param prefix the checkpoint it loaded.
 */
export async function isNotWhole(error: unknown, prefix: string): Promise<boolean> {
  if (error instanceof DataLossError || error instanceof ValueError) return true;
  if (error instanceof NotFoundError)
    return stat(prefix + INDEX_SUFFIX).then(
      () => false,
      () => true,
    );
  return false;
}

/**
 * Loads the newest whole checkpoint `dir`'s state file lists: its latest, else the others,
 * newest first. Each one passed over is reported with a process warning
 * (`CHECKPIPE_CHECKPOINT_SKIPPED`) saying which and why.
 *
 * @param dir the checkpoint directory.
 * @param latestFilename the state file's name.
 * @param load reads and verifies one checkpoint, throwing when it is not whole.
 * @returns the checkpoint and its values, or null when there is no state file.
 * @throws {DataLossError} when checkpoints are listed but none is whole, naming each and why.
 * @throws what `load` throws for a checkpoint that is whole but does not fit.
 */
export async function loadNewestWhole<V>(dir: string, latestFilename: string, load: (prefix: string) => Promise<V>): Promise<LoadedCheckpoint<V> | null> {
  for (let attempt = 0; ; attempt++) {
    const state = await getCheckpointState(dir, latestFilename);
    if (state === null) return null;
    const candidates = new Set([state.modelCheckpointPath, ...[...state.allModelCheckpointPaths].reverse()]);
    const skipped: SkippedCheckpoint[] = [];
    let changed = false;
    for (const path of candidates) {
      try {
        const values = await load(path);
        warnSkipped(skipped);
        return { path, values, skipped };
      } catch (error) {
        if (!(await isNotWhole(error, path))) throw error;
        if (attempt < MAX_REREADS && !sameCheckpointState(await getCheckpointState(dir, latestFilename).catch(() => null), state)) {
          changed = true;
          break;
        }
        skipped.push({ path, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    if (changed) continue;
    warnSkipped(skipped);
    throw new DataLossError(`No whole checkpoint in ${dir}: ${skipped.map((s) => `${s.path} (${s.reason})`).join("; ")}`, {
      expected: "at least one whole checkpoint",
      received: `${skipped.length} damaged`,
      fix: "Restore the directory from a backup, or delete it to start over.",
    });
  }
}

/**
 * Reports each checkpoint passed over with a process warning (`CHECKPIPE_CHECKPOINT_SKIPPED`).
 *
 * @param skipped the checkpoints and why.
 */
export function warnSkipped(skipped: readonly SkippedCheckpoint[]): void {
  for (const { path, reason } of skipped) process.emitWarning(`Skipped checkpoint ${path}: ${reason}`, { code: "CHECKPIPE_CHECKPOINT_SKIPPED" });
}
