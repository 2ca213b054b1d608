/**
 * Temporary files of crash-safe writes (see file-plan.ts): a file is written under a temporary
 * name in its directory, flushed to disk, renamed over its final name, and the directory
 * flushed, so that after a crash at any instant the final name holds either the old whole file
 * or the new whole file, never a part.
 *
 * A crash can leave temporary files behind; {@link removeStaleTemporaries} deletes those whose
 * writer is gone.
 *
 * @module
 */
import { readdir, unlink } from "node:fs/promises";
import { basename, join } from "node:path";
import { temporaryInUse } from "./file-plan.js";

/** `<final name>.tmp-<pid>-<8 hex digits>`: the names temporary files are written under. */
const TEMPORARY = /^(.+)\.tmp-(\d+)-[0-9a-f]{8}$/;

/**
 * Deletes the temporary files a crashed writer left in `dir`: those whose final name satisfies
 * `belongs` and whose writing process is no longer running (or is this process, and no write
 * under way uses it). Returns the names removed.
 *
 * @param dir the directory to clean.
 * @param belongs whether a final file name is one the caller writes.
 */
export async function removeStaleTemporaries(dir: string, belongs: (finalName: string) => boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const match = TEMPORARY.exec(name);
    if (match === null || !belongs(match[1] as string)) continue;
    const pid = Number(match[2]);
    if (pid === process.pid ? temporaryInUse(join(dir, name)) : isRunning(pid)) continue;
    try {
      await unlink(join(dir, name));
      removed.push(name);
    } catch (error) {
      if (!isErrno(error, "ENOENT")) throw error;
    }
  }
  return removed;
}

/** Whether `name` is the name of a temporary file written by {@link writeFileAtomic}. */
export function isTemporaryName(name: string): boolean {
  return TEMPORARY.test(basename(name));
}

/**
 * Whether a process with this pid is running (or exists, as another user's: `EPERM`).
 *
 * @param pid the process id.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, "EPERM");
  }
}

/** Whether `error` is a Node.js system error with this `code`. */
export function isErrno(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}
