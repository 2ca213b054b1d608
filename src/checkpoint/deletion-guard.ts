/**
 * Which files retention may delete: only those of a checkpoint inside its checkpoint directory,
 * real paths resolved (docs/checkpoint-format.md, "Retention"). A state file is data, and data
 * must not send a deletion to arbitrary files.
 *
 * @module
 */
import { realpathSync } from "node:fs";
import { lstat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";

/** A checkpoint to delete, and the directory whose files alone its deletion may touch. */
export interface Doomed {
  /** The checkpoint's prefix. */
  readonly path: string;
  /** Its checkpoint directory. */
  readonly home: string;
}

/**
 * The checkpoints among `doomed` whose files may be deleted: those whose directory, its real
 * path resolved, is inside the real path of their checkpoint directory. A state file is data:
 * one listing `sub/x`, with `sub` a symbolic link to elsewhere, must not make retention delete
 * files there. The others are passed over with a process warning (`CHECKPIPE_CHECKPOINT_OUTSIDE`);
 * those whose directory does not exist have no files to delete. The paths are resolved with
 * blocking calls (a few microseconds each), so that the writing of checkpoints goes on in a
 * training loop that never lets the event loop turn.
 *
 * @param doomed the checkpoints to delete, each with its checkpoint directory.
 * @returns the prefixes of those whose files may be deleted, in order.
 */
export function deletable(doomed: readonly Doomed[]): string[] {
  const real = new Map<string, string | null>();
  const realOf = (path: string): string | null => {
    if (!real.has(path)) {
      try {
        real.set(path, realpathSync(path));
      } catch {
        real.set(path, null);
      }
    }
    return real.get(path) ?? null;
  };
  const ok: string[] = [];
  for (const { path, home } of doomed) {
    const where = realOf(dirname(path));
    const root = realOf(home);
    if (where === null || root === null) continue;
    const rel = relative(root, where);
    if (rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))) {
      ok.push(path);
      continue;
    }
    process.emitWarning(
      `Did not delete checkpoint ${path}: its directory ${dirname(path)} is really ${where}, outside the checkpoint directory ${home}. ` +
        "A Saver deletes only the files of checkpoints inside their directory; delete it by hand if it should go.",
      { code: "CHECKPIPE_CHECKPOINT_OUTSIDE" },
    );
  }
  return ok;
}

/**
 * The checkpoint directory of a checkpoint in `dir` listed by the state file `latestFilename`:
 * the nearest of `dir` and its parents that holds that state file, or `dir` when none does.
 *
 * @param dir the directory a checkpoint is in.
 * @param latestFilename the name of the state file that lists it.
 */
export async function checkpointHome(dir: string, latestFilename: string): Promise<string> {
  for (let at = dir; ;) {
    if (
      await lstat(join(at, latestFilename)).then(
        () => true,
        () => false,
      )
    )
      return at;
    const parent = dirname(at);
    if (parent === at) return dir;
    at = parent;
  }
}
