/**
 * File plans: the crash-safe file work of a checkpoint (write files atomically, flush
 * directories, delete files), described as data and carried out off the main thread.
 *
 * A plan is a list of phases run one after another. A `"write"` phase writes every file under
 * a temporary name and flushes it to disk, then renames each over its final name in the order
 * given; an `"unlink"` phase deletes files in order (a missing file is no error). After a phase, when it says `sync`, every directory it renamed or deleted in is
 * flushed, so that the next phase starts only once this one is durable.
 *
 * Plans run in a worker thread (the module file-plan-worker.ts), one at a time in the order
 * given, with blocking system calls that never hold up the caller's event loop: the main thread
 * only posts the bytes and hears back. Where a worker cannot be started, the same code
 * (plan-executor.ts) runs in the calling thread, blocking it for the plan's duration. A failed
 * plan rejects with a checkpipe error naming the operation and the file (fs-errors.ts).
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import * as fsSync from "node:fs";
import { resolve } from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { CheckpipeError } from "../errors.js";
import { checkFileFault, fileFaultSet } from "./file-faults.js";
import { fileSystemError } from "./fs-errors.js";
import { threadEntry, type ThreadEntry } from "./thread-entry.js";
import {
  executePlan,
  READY,
  type FilePlan,
  type PlanFailure,
  type PlannedFile,
  type PlanOperation,
  type PlanReply,
  type SerializedFailure,
} from "./plan-executor.js";

export type { FilePhase, FilePlan, PlanFailure, PlannedFile, PlanOperation } from "./plan-executor.js";

/** Where this process's temporary names start: random, so that a reused pid meets no leftover. */
let nextTemporary = randomBytes(4).readUInt32LE(0);

/** The temporary name `path` is written under before it is renamed into place (unique in this process). */
export function temporaryPathFor(path: string): string {
  nextTemporary = (nextTemporary + 1) >>> 0;
  return `${path}.tmp-${process.pid}-${nextTemporary.toString(16).padStart(8, "0")}`;
}

/** The temporary files of the plans under way (absolute paths), which cleanup must not touch. */
const temporariesInUse = new Map<string, number>();

/**
 * Whether a plan under way writes the temporary file `path`.
 *
 * @param path a temporary file's path.
 */
export function temporaryInUse(path: string): boolean {
  return temporariesInUse.has(resolve(path));
}

/**
 * A file for a `"write"` phase: UTF-8 text or bytes, joined into one fresh buffer (never a
 * view of the caller's memory, which may change after the call returns).
 *
 * @param path the final path.
 * @param chunks the contents, in order.
 */
export function plannedFile(path: string, chunks: readonly (Uint8Array | string)[]): PlannedFile {
  return { path, temporary: temporaryPathFor(path), data: joinedBytes(chunks) };
}

/**
 * UTF-8 text or bytes joined into one fresh buffer that owns its `ArrayBuffer`, as the bytes
 * of a {@link PlannedFile} must.
 *
 * @param chunks the contents, in order.
 */
export function joinedBytes(chunks: readonly (Uint8Array | string)[]): Uint8Array {
  const parts = chunks.map((chunk) => (typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk));
  const data = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    data.set(part, offset);
    offset += part.byteLength;
  }
  return data;
}

/** What a plan is for, so that a failure can say so. */
export interface PlanPurpose {
  /** What the caller is doing, e.g. `"Saving checkpoint runs/a/model.ckpt-5"`. */
  readonly purpose: string;
  /** What a failure leaves on disk, given where it happened (e.g. "The checkpoints saved before are whole."). */
  readonly outcome?: (failure: PlanFailure) => string | undefined;
}

/**
 * Carries out a plan, after every plan given before it.
 *
 * @param plan the phases.
 * @param purpose what the plan is for, named by the error of a failure.
 * @returns when every phase is done (and durable where a phase says `sync`).
 * @throws the checkpipe error of the first file system failure (see fs-errors.ts), naming the
 *   operation and the file, with the file system's error as `cause` (its `code`, and the
 *   {@link PlanFailure} fields: {@link planFailureOf}); the plan stops there and its temporary
 *   files are removed.
 */
export function runFilePlan(plan: FilePlan, purpose?: PlanPurpose): Promise<void> {
  const temporaries = plan.flatMap((phase) => (phase.kind === "write" ? phase.files.map((file) => resolve(file.temporary)) : []));
  for (const path of temporaries) temporariesInUse.set(path, (temporariesInUse.get(path) ?? 0) + 1);
  const release = (): void => {
    for (const path of temporaries) {
      const count = (temporariesInUse.get(path) ?? 1) - 1;
      if (count === 0) temporariesInUse.delete(path);
      else temporariesInUse.set(path, count);
    }
  };
  const worker = fileFaultSet() ? null : planWorker();
  let done: Promise<void>;
  if (worker === null) {
    done = lastPlan.then(() => executeInProcess(plan));
    lastInProcess = true;
  } else if (lastInProcess) {
    // Plans run in the order given: after the plans of this thread still under way.
    done = lastPlan.then(() => worker.run(plan));
    lastInProcess = false;
  } else {
    done = worker.run(plan);
  }
  lastPlan = done.catch(() => undefined);
  return done
    .catch((error: unknown) => {
      throw planError(error, purpose);
    })
    .finally(release);
}

/** The last plan issued, settled either way: plans of this thread run after it. */
let lastPlan: Promise<void> = Promise.resolve();
/** Whether the last plan issued runs in this thread. */
let lastInProcess = false;

/**
 * Where the last plan that finished ran: the writer thread, this thread, or null before any.
 * For tests, which check that the writer thread really runs.
 */
export function lastPlanThread(): "writer thread" | "calling thread" | null {
  return lastThread;
}

let lastThread: "writer thread" | "calling thread" | null = null;

/**
 * Where a failed plan failed: the {@link PlanFailure} on the file system error behind a plan's
 * error (its `cause`), or null when the error says nothing of it.
 *
 * @param error what {@link runFilePlan} rejected with.
 */
export function planFailureOf(error: unknown): PlanFailure | null {
  const cause = typeof error === "object" && error !== null ? (error as { cause?: unknown }).cause : undefined;
  const failure = (typeof cause === "object" && cause !== null ? cause : {}) as Partial<PlanFailure>;
  return typeof failure.operation === "string" && typeof failure.target === "string" && typeof failure.phase === "number"
    ? { operation: failure.operation, target: failure.target, phase: failure.phase }
    : null;
}

/** The words of each operation, as they take the file's path. */
const DOING: Readonly<Record<PlanOperation, string>> = {
  create: "creating a temporary file for",
  write: "writing",
  flush: "syncing",
  close: "closing",
  rename: "moving into place",
  "flush directory": "syncing the directory",
  delete: "deleting",
};

function planError(error: unknown, purpose: PlanPurpose | undefined): CheckpipeError {
  const failure = planFailureOf({ cause: error });
  const outcome = failure === null ? undefined : purpose?.outcome?.(failure);
  return fileSystemError(error, {
    access: "write",
    doing: failure === null ? "carrying out the file plan for" : DOING[failure.operation],
    path: failure?.target ?? errorPath(error) ?? "(unknown path)",
    ...(purpose === undefined ? {} : { purpose: purpose.purpose }),
    ...(outcome === undefined ? {} : { outcome }),
  });
}

function errorPath(error: unknown): string | undefined {
  const path = typeof error === "object" && error !== null ? (error as { path?: unknown }).path : undefined;
  return typeof path === "string" ? path : undefined;
}

/**
 * Settles the plans the writer thread has finished, now: their Promises resolve (or reject) at
 * the next microtask, even in a loop that never lets the event loop turn. Cheap when none has.
 *
 * @example
 * pollFilePlans(); // called by Saver at every save
 */
export function pollFilePlans(): void {
  shared?.poll();
}

function executeInProcess(plan: FilePlan): void {
  executePlan(plan, fsSync, checkFileFault);
  lastThread = "calling thread";
}

/** The worker thread, started at the first plan; null where none can be started. */
let shared: PlanWorker | null | undefined;

function planWorker(): PlanWorker | null {
  if (shared === undefined) {
    try {
      shared = new PlanWorker();
    } catch {
      shared = null;
    }
  }
  return shared;
}

/** The writer thread's entry module, next to this one (see thread-entry.ts). */
function workerEntry(): ThreadEntry {
  return threadEntry(import.meta.url, "file-plan-worker");
}

interface Waiter {
  readonly plan: FilePlan;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The worker that runs plans; it keeps the process alive only while a plan is under way. It
 * answers on a port of its own, which {@link poll} reads synchronously: a loop that never lets
 * the event loop turn (a training loop whose steps only await Promises) still hears of its
 * writes at its next save. Plans are posted once the thread said it is loaded; if it cannot be
 * loaded, the plans given meanwhile (their bytes still here) run in this thread, and so do all
 * later ones.
 */
class PlanWorker {
  private readonly worker: Worker;
  private readonly replies: MessagePort;
  private readonly waiting = new Map<number, Waiter>();
  /** Plans given before the thread was loaded, in order: posted once it is. */
  private unposted: number[] = [];
  private ready = false;
  private nextId = 0;

  constructor() {
    const { url, execArgv } = workerEntry();
    const { port1, port2 } = new MessageChannel();
    this.worker = new Worker(url, { execArgv, name: "checkpipe file writer", workerData: { replies: port2 }, transferList: [port2] });
    this.replies = port1;
    this.worker.unref();
    this.replies.on("message", (reply: PlanReply) => this.settle(reply));
    this.replies.unref();
    this.worker.on("error", (error) => this.fail(error));
    this.worker.on("exit", (code) => this.fail(new Error(`The checkpoint file writer thread stopped (exit code ${code}).`)));
  }

  /** Takes in every answer the worker has sent, without waiting for the event loop. */
  poll(): void {
    for (let received = receiveMessageOnPort(this.replies); received !== undefined; received = receiveMessageOnPort(this.replies)) {
      this.settle(received.message as PlanReply);
    }
  }

  run(plan: FilePlan): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      if (this.waiting.size === 0) {
        this.worker.ref();
        this.replies.ref();
      }
      this.waiting.set(id, { plan, resolve, reject });
      if (this.ready) this.post(id, plan);
      else this.unposted.push(id);
    });
  }

  private post(id: number, plan: FilePlan): void {
    const transfer = [...new Set(plan.flatMap((phase) => (phase.kind === "write" ? phase.files.map((file) => file.data.buffer as ArrayBuffer) : [])))];
    this.worker.postMessage({ id, plan }, transfer);
  }

  private settle(reply: PlanReply): void {
    if (reply.id === READY) {
      this.ready = true;
      for (const id of this.unposted) {
        const waiter = this.waiting.get(id);
        if (waiter !== undefined) this.post(id, waiter.plan);
      }
      this.unposted = [];
      return;
    }
    const waiter = this.waiting.get(reply.id);
    if (waiter === undefined) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) {
      this.worker.unref();
      this.replies.unref();
    }
    lastThread = "writer thread";
    if (reply.error === undefined) waiter.resolve();
    else waiter.reject(revived(reply.error));
  }

  /**
   * The worker is gone. Before it was loaded, no plan reached it: they run in this thread, in
   * order. After, the plans under way fail. Later plans run in this thread.
   */
  private fail(error: Error): void {
    if (shared === this) shared = null;
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    this.unposted = [];
    if (this.ready) {
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    for (const waiter of waiters) {
      try {
        executeInProcess(waiter.plan);
        waiter.resolve();
      } catch (failure) {
        waiter.reject(failure);
      }
    }
  }
}

/** A file system error of the writer thread, as an Error of this thread with the same fields. */
function revived(failure: SerializedFailure): Error {
  const { message, ...fields } = failure;
  return Object.assign(new Error(message), fields);
}
