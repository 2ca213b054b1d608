/**
 * Crash-safe file writes: a file is written under a temporary name in its directory, flushed
 * to disk, renamed over its final name, and the directory flushed, so that after a crash at any
 * instant the final name holds either the old whole file or the new whole file, never a part.
 *
 * A crash can leave temporary files behind; {@link removeStaleTemporaries} deletes those whose
 * writer is gone.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { open, readdir, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** `<final name>.tmp-<pid>-<8 hex digits>`: the names temporary files are written under. */
const TEMPORARY = /^(.+)\.tmp-(\d+)-[0-9a-f]{8}$/;

/** The temporary name `path` is written under before it is renamed into place. */
export function temporaryPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/**
 * Writes `chunks` to `path` atomically and durably: temporary file, fsync, rename, fsync of the
 * directory. On failure the temporary file is removed and `path` is unchanged.
 *
 * @param path the final file name.
 * @param chunks the bytes (or UTF-8 text) to write, in order.
 * @throws the file system's error (e.g. `ENOENT` when the directory does not exist).
 */
export async function writeFileAtomic(path: string, chunks: readonly (Uint8Array | string)[]): Promise<void> {
  const temporary = temporaryPathFor(path);
  const file = await open(temporary, "wx");
  try {
    try {
      const buffers = chunks.map((chunk) => (typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk));
      await writeAll(file, buffers);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(path));
}

/** Writes every buffer in order, many per system call, looping over short writes. */
async function writeAll(file: Awaited<ReturnType<typeof open>>, buffers: readonly Uint8Array[]): Promise<void> {
  for (let start = 0; start < buffers.length; start += MAX_BUFFERS_PER_CALL) {
    const batch = buffers.slice(start, start + MAX_BUFFERS_PER_CALL);
    const total = batch.reduce((sum, b) => sum + b.byteLength, 0);
    let { bytesWritten } = await file.writev(batch);
    if (bytesWritten === total) continue;
    for (const buffer of batch) {
      if (bytesWritten >= buffer.byteLength) {
        bytesWritten -= buffer.byteLength;
        continue;
      }
      let offset = bytesWritten;
      bytesWritten = 0;
      while (offset < buffer.byteLength) offset += (await file.write(buffer, offset, buffer.byteLength - offset)).bytesWritten;
    }
  }
}

/** At most this many buffers go to one `writev` (the usual IOV_MAX). */
const MAX_BUFFERS_PER_CALL = 1024;

/**
 * Flushes a directory's entries (renames, creations, deletions) to disk. File systems that
 * cannot open a directory for this (Windows) are skipped: their renames are durable already.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(dir, "r");
  } catch (error) {
    if (isErrno(error, "EISDIR") || isErrno(error, "EPERM") || isErrno(error, "EACCES")) return;
    throw error;
  }
  try {
    await handle.sync().catch((error: unknown) => {
      if (!isErrno(error, "EINVAL") && !isErrno(error, "EPERM") && !isErrno(error, "EBADF")) throw error;
    });
  } finally {
    await handle.close();
  }
}

/**
 * Deletes the temporary files a crashed writer left in `dir`: those whose final name satisfies
 * `belongs` and whose writing process is no longer running (or is this process, whose writes
 * through the caller are over). Returns the names removed.
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
    if (pid !== process.pid && isRunning(pid)) continue;
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

function isRunning(pid: number): boolean {
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
