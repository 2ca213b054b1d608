/**
 * Injected file system faults, for tests: while a fault is set, the file operations of file
 * plans and the reads of checkpoint files fail as the file system would, with the errno code
 * given, at the operation and path given. While a fault is set, plans run in the calling thread
 * (not in the writer thread), so that the fault applies to them; set or clear it only while no
 * plan is under way (after `await saver.sync()`).
 *
 * Not part of the public API (not exported by the package's barrel).
 *
 * @example
 * injectFileFault({ code: "ENOSPC", operation: "write", path: /\.data-/ });
 * await expect(saver.save(path, { globalStep: 2 })).rejects.toThrow(FailedPreconditionError);
 * injectFileFault(null);
 *
 * @module
 */
import type { PlanOperation } from "./plan-executor.js";

/** The operations a fault can hit: those of file plans, and `"read"` (opening, checking or reading a file). */
export type FaultyOperation = PlanOperation | "read";

/** Which operations fail, and how. */
export interface FileFault {
  /** The errno code to fail with, e.g. `"ENOSPC"`. */
  readonly code: string;
  /** The operation that fails (default: every one). */
  readonly operation?: FaultyOperation;
  /** The file it is for: its whole path, or a pattern it matches (default: every file). */
  readonly path?: string | RegExp;
  /** How many matching operations succeed before the first failure (default 0). */
  readonly skip?: number;
  /** How many matching operations fail, after `skip` (default: every one). */
  readonly times?: number;
}

interface ActiveFault {
  readonly fault: FileFault;
  /** Matching operations met so far. */
  met: number;
  /** Failures injected so far. */
  hits: number;
}

let active: ActiveFault | null = null;

/**
 * Sets the fault (replacing any), or clears it with null.
 *
 * @param fault what to fail, or null for nothing.
 */
export function injectFileFault(fault: FileFault | null): void {
  active = fault === null ? null : { fault, met: 0, hits: 0 };
}

/** How many failures the current fault has injected (0 when none is set). */
export function injectedFaults(): number {
  return active?.hits ?? 0;
}

/** Whether a fault is set (then plans run in the calling thread). */
export function fileFaultSet(): boolean {
  return active !== null;
}

/**
 * Throws the injected error when the fault set matches this operation; does nothing otherwise.
 *
 * @param operation what is about to be done.
 * @param path the file it is for (a plan's final name, or the file read).
 */
export function checkFileFault(operation: FaultyOperation, path: string): void {
  if (active === null) return;
  const { fault } = active;
  if (fault.operation !== undefined && fault.operation !== operation) return;
  if (fault.path !== undefined && !(typeof fault.path === "string" ? fault.path === path : fault.path.test(path))) return;
  active.met++;
  if (active.met <= (fault.skip ?? 0) || active.hits >= (fault.times ?? Infinity)) return;
  active.hits++;
  throw Object.assign(new Error(`${fault.code}: injected fault, ${operation} '${path}'`), { code: fault.code, syscall: operation, path });
}
