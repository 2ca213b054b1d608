/**
 * File system failures as checkpipe errors: what was being done, to which path, what the system
 * said (its errno code) and how to fix it. The errno error stays available as `cause` (with its
 * `code`, `errno`, `syscall` and `path`).
 *
 * | code | error |
 * |---|---|
 * | `ENOENT` | `NotFoundError` |
 * | `EIO` | `DataLossError` when reading, `FailedPreconditionError` when writing |
 * | `ENOSPC`, `EDQUOT`, `EROFS`, `EACCES`, `EPERM`, `EISDIR`, `ENOTDIR`, and any other | `FailedPreconditionError` |
 *
 * No file system failure becomes an `UnavailableError` or `AbortedError`: a monitored session
 * recovers from those by creating a new session, which would save into a full disk again and again.
 *
 * @module
 */
import { dirname } from "node:path";
import { DataLossError, FailedPreconditionError, NotFoundError, type CheckpipeError } from "../errors.js";

/** What was being done when the file system failed. */
export interface FileWork {
  /** Whether the operation reads or writes: an I/O error reading is data loss, writing it is not. */
  readonly access: "read" | "write";
  /** The operation, as a phrase that takes the path: `"writing"`, `"renaming into place"`, `"reading"`. */
  readonly doing: string;
  /** The file (or directory) it was for. */
  readonly path: string;
  /** What the caller was doing, e.g. `"Saving checkpoint runs/a/model.ckpt-5"` (default: none). */
  readonly purpose?: string;
  /** What the failure leaves, e.g. `"The checkpoints saved before are whole."` (default: none). */
  readonly outcome?: string;
}

/** The errno `code` of a Node.js system error, if it has one. */
export function errnoCode(error: unknown): string | undefined {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

const DESCRIPTIONS: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "not a directory",
  ENOENT: "no such file or directory",
  EIO: "input/output error",
  EMFILE: "too many open files in this process",
  ENFILE: "too many open files in the system",
  ENAMETOOLONG: "file name too long",
  ELOOP: "too many levels of symbolic links",
  EBUSY: "device or resource busy",
  EEXIST: "file exists",
  ENXIO: "no such device or address",
};

/**
 * The checkpipe error for a file system failure (see the module's table), naming the operation
 * and the path, with the errno error as `cause`.
 *
 * @param cause what the file system threw.
 * @param work what was being done.
 * @example
 * throw fileSystemError(error, { access: "write", doing: "writing", path: "runs/a/checkpoint", purpose: "Saving checkpoint runs/a/model.ckpt-5" });
 */
export function fileSystemError(cause: unknown, work: FileWork): CheckpipeError {
  const code = errnoCode(cause) ?? "an error";
  const description = DESCRIPTIONS[code] ?? (cause instanceof Error ? cause.message : String(cause));
  const { expected, fix } = advice(code, work);
  const head = work.purpose === undefined ? `${capitalized(work.doing)} ${work.path} failed` : `${work.purpose} failed`;
  const where = work.purpose === undefined ? "" : ` while ${work.doing} ${work.path}`;
  const message = `${head}: ${description} (${code})${where}. ${work.outcome === undefined ? "" : `${work.outcome} `}${fix}`;
  const received = `${code}${syscallOf(cause)}`;
  const options = { expected, received, fix, cause, reason: reasonOf(code) };
  if (code === "ENOENT") return new NotFoundError(message, options);
  if (code === "EIO" && work.access === "read") return new DataLossError(message, options);
  return new FailedPreconditionError(message, options);
}

function advice(code: string, work: FileWork): { expected: string; fix: string } {
  const dir = dirname(work.path);
  const again = work.access === "write" ? "then save again" : "then read again";
  switch (code) {
    case "ENOSPC":
      return { expected: `free space for ${work.path}`, fix: `Free space on the file system of ${dir} (or save to another one), ${again}.` };
    case "EDQUOT":
      return {
        expected: `room within the disk quota for ${work.path}`,
        fix: `Free space within your quota on the file system of ${dir}, or have it raised, ${again}.`,
      };
    case "EROFS":
      return {
        expected: "a writable file system",
        fix: `The file system of ${dir} is mounted read-only: remount it read-write, or save to another directory.`,
      };
    case "EACCES":
    case "EPERM":
      return {
        expected: `permission for ${work.doing} ${work.path}`,
        fix: `Give this process the permission (check the owner and mode of ${work.path} and of ${dir}), or use another directory.`,
      };
    case "EISDIR":
      return { expected: `a file, not a directory, at ${work.path}`, fix: `Move the directory ${work.path} out of the way, or use another name.` };
    case "ENOTDIR":
      return {
        expected: `a directory at every step of ${work.path}`,
        fix: `A component of ${work.path} is a file, not a directory: move it, or use another path.`,
      };
    case "ENOENT":
      return work.access === "write"
        ? { expected: `the directory ${dir}`, fix: `The directory ${dir} is gone: create it again (mkdir -p), or save to another one.` }
        : { expected: `the file ${work.path}`, fix: `Check that ${work.path} exists, or read another checkpoint.` };
    case "EIO":
      return work.access === "write"
        ? { expected: "a working storage device", fix: `The device holding ${dir} failed: check it (e.g. the kernel log), or save to another one, ${again}.` }
        : { expected: "a readable storage device", fix: "The device failed while reading: restore an older checkpoint or a copy, and check the device." };
    default:
      return { expected: `${work.doing} ${work.path} to succeed`, fix: `Check ${work.path} and its file system (the system said ${code}).` };
  }
}

function syscallOf(error: unknown): string {
  const syscall = typeof error === "object" && error !== null ? (error as { syscall?: unknown }).syscall : undefined;
  return typeof syscall === "string" ? ` from ${syscall}` : "";
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The error's reason for a file system error code (see `REASONS` in errors.ts). */
function reasonOf(code: string): "FILE_NOT_FOUND" | "DISK_FULL" | "PERMISSION_DENIED" | "IO_ERROR" {
  if (code === "ENOENT" || code === "ENOTDIR") return "FILE_NOT_FOUND";
  if (code === "ENOSPC" || code === "EDQUOT") return "DISK_FULL";
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return "PERMISSION_DENIED";
  return "IO_ERROR";
}
