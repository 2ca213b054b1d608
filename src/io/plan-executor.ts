/**
 * Carrying out a file plan with blocking system calls: the code that runs in the checkpoint
 * writer thread (file-plan-worker.ts) and, where no worker can be started, in the calling thread
 * (file-plan.ts). Blocking calls cost far less CPU than a round trip through the thread pool per
 * call, and in the worker they hold up nothing else.
 *
 * @module
 */
import { dirname } from "node:path";

/**
 * One file of a `"write"` phase: its final path, the temporary name, the bytes. The bytes are
 * handed over to the writer thread: their whole `ArrayBuffer` is transferred (left empty
 * here), so they must own it, as `plannedFile` makes them.
 */
export interface PlannedFile {
  readonly path: string;
  readonly temporary: string;
  readonly data: Uint8Array;
}

/** One phase of a {@link FilePlan}. */
export type FilePhase =
  | { readonly kind: "write"; readonly files: readonly PlannedFile[]; readonly sync: boolean }
  | { readonly kind: "unlink"; readonly paths: readonly string[]; readonly sync: boolean };

/** Phases, run in order. */
export type FilePlan = readonly FilePhase[];

/**
 * The file operations a plan is made of, as failures name them: creating a file's temporary
 * name, writing it, flushing it to disk, closing it, renaming it over its final name, flushing
 * a directory, deleting a file.
 */
export type PlanOperation = "create" | "write" | "flush" | "close" | "rename" | "flush directory" | "delete";

/** The blocking calls of `node:fs` a plan needs (`node:fs` itself is one). */
export interface PlanFileSystem {
  openSync(path: string, flags: string): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(oldPath: string, newPath: string): void;
  unlinkSync(path: string): void;
}

/**
 * Called before each operation with what it is about to do; it may throw (as the file system
 * would) to make that operation fail. For tests: see file-faults.ts.
 */
export type BeforeOperation = (operation: PlanOperation, path: string) => void;

/**
 * What a failed plan says of its failure, on the error the file system threw: the operation, the
 * file it was for (the final name, not the temporary one; the directory for a flush of one) and
 * the index of the phase in the plan.
 */
export interface PlanFailure {
  readonly operation: PlanOperation;
  readonly target: string;
  readonly phase: number;
}

/**
 * Carries out a plan: each `"write"` phase writes every file under its temporary name and flushes
 * it, then renames each over its final name in order; an `"unlink"` phase deletes files in order
 * (a missing file is no error). After a phase that says `sync`, every directory it renamed or
 * deleted in is flushed. If a write phase fails before its renames, its temporary files are
 * removed.
 *
 * @param plan the phases.
 * @param fs the blocking file system calls (`node:fs`).
 * @param before called before each operation (default: nothing); for tests.
 * @throws the first file system error, with {@link PlanFailure}'s fields added; the plan stops there.
 */
export function executePlan(plan: FilePlan, fs: PlanFileSystem, before: BeforeOperation = () => undefined): void {
  for (const [index, phase] of plan.entries()) {
    const step = <R>(operation: PlanOperation, target: string, call: () => R): R => {
      try {
        before(operation, target);
        return call();
      } catch (error) {
        throw annotated(error, { operation, target, phase: index });
      }
    };
    const touched = new Set<string>();
    if (phase.kind === "write") {
      const made: string[] = [];
      try {
        for (const file of phase.files) {
          const fd = step("create", file.path, () => fs.openSync(file.temporary, "wx"));
          made.push(file.temporary);
          try {
            let offset = 0;
            while (offset < file.data.byteLength) {
              offset += step("write", file.path, () => fs.writeSync(fd, file.data, offset, file.data.byteLength - offset));
            }
            step("flush", file.path, () => fs.fsyncSync(fd));
          } finally {
            step("close", file.path, () => fs.closeSync(fd));
          }
        }
        for (const file of phase.files) {
          step("rename", file.path, () => fs.renameSync(file.temporary, file.path));
          touched.add(dirname(file.path));
        }
      } catch (error) {
        for (const temporary of made) {
          try {
            fs.unlinkSync(temporary);
          } catch {
            // renamed into place already
          }
        }
        throw error;
      }
    } else {
      for (const path of phase.paths) {
        try {
          step("delete", path, () => fs.unlinkSync(path));
          touched.add(dirname(path));
        } catch (error) {
          if (!codeIs(error, ["ENOENT"])) throw error;
        }
      }
    }
    if (phase.sync) for (const dir of touched) step("flush directory", dir, () => syncDirectory(fs, dir));
  }
}

/** Flushes a directory's entries to disk, where the platform can (not on Windows). */
function syncDirectory(fs: PlanFileSystem, dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, "r");
  } catch (error) {
    if (codeIs(error, ["EISDIR", "EPERM", "EACCES"])) return; // a platform that cannot open directories
    throw error;
  }
  try {
    fs.fsyncSync(fd);
  } catch (error) {
    if (!codeIs(error, ["EINVAL", "EPERM", "EBADF"])) throw error; // a file system that cannot flush one
  } finally {
    fs.closeSync(fd);
  }
}

/** A plan as the main thread posts it. */
export interface PlanRequest {
  readonly id: number;
  readonly plan: FilePlan;
}

/** The id of the writer thread's first message, which says it is loaded and listening. */
export const READY = -1;

/** What the thread says of a plan: nothing when done, else what failed. */
export interface PlanReply {
  readonly id: number;
  readonly error?: SerializedFailure;
}

/** A file system error, as it crosses threads: its message and the fields a caller reads. */
export interface SerializedFailure {
  readonly message: string;
  readonly code?: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly path?: string;
  readonly operation?: string;
  readonly target?: string;
  readonly phase?: number;
}

/** The fields of a file system error (and of a plan's failure) that cross threads. */
export function serializeFailure(error: unknown): SerializedFailure {
  if (typeof error !== "object" || error === null) return { message: String(error) };
  const fields = error as Record<string, unknown>;
  const out: Record<string, unknown> = { message: error instanceof Error ? error.message : String(error) };
  for (const key of ["code", "syscall", "path", "operation", "target"] as const) if (typeof fields[key] === "string") out[key] = fields[key];
  for (const key of ["errno", "phase"] as const) if (typeof fields[key] === "number") out[key] = fields[key];
  return out as unknown as SerializedFailure;
}

function annotated(error: unknown, failure: PlanFailure): unknown {
  if (typeof error !== "object" || error === null) return error;
  // The innermost operation names the failure: a close after a failed write keeps the write's.
  if ("operation" in error) return error;
  return Object.assign(error, failure);
}

function codeIs(error: unknown, codes: readonly string[]): boolean {
  return typeof error === "object" && error !== null && codes.includes((error as { code?: unknown }).code as string);
}
