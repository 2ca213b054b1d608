/**
 * File plans: the crash-safe file work of a checkpoint (write files atomically, flush
 * directories, delete files), described as data and carried out off the main thread.
 *
 * A plan is a list of phases run one after another. A `"write"` phase writes every file under
 * a temporary name and flushes it to disk, then renames each over its final name in the order
 * given; an `"unlink"` phase deletes files in order (a missing file is no error). After a phase, when it says `sync`, every directory it renamed or deleted in is
 * flushed, so that the next phase starts only once this one is durable.
 *
 * Plans run in a worker thread, one at a time in the order given, with blocking system calls
 * that never hold up the caller's event loop: the main thread only posts the bytes and hears
 * back. Where a worker cannot be started, the same code runs in the calling thread (blocking
 * it for the plan's duration).
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import * as fsSync from "node:fs";
import { dirname, resolve } from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";

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
 * One file of a `"write"` phase: its final path, the temporary name, the bytes. The bytes are
 * handed over to the writer thread: their whole `ArrayBuffer` is transferred (left empty
 * here), so they must own it, as {@link plannedFile} makes them.
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

/**
 * Carries out a plan, after every plan given before it.
 *
 * @param plan the phases.
 * @returns when every phase is done (and durable where a phase says `sync`).
 * @throws the first file system error, with its `code` and `path`; the plan stops there and
 *   its temporary files are removed.
 */
export function runFilePlan(plan: FilePlan): Promise<void> {
  const temporaries = plan.flatMap((phase) => (phase.kind === "write" ? phase.files.map((file) => resolve(file.temporary)) : []));
  for (const path of temporaries) temporariesInUse.set(path, (temporariesInUse.get(path) ?? 0) + 1);
  const release = (): void => {
    for (const path of temporaries) {
      const count = (temporariesInUse.get(path) ?? 1) - 1;
      if (count === 0) temporariesInUse.delete(path);
      else temporariesInUse.set(path, count);
    }
  };
  const worker = planWorker();
  let done: Promise<void>;
  if (worker === null) {
    done = inProcessTail.then(() => executeInProcess(plan));
    inProcessTail = done.catch(() => undefined);
  } else {
    done = worker.run(plan);
  }
  return done.finally(release);
}

/**
 * The code that runs a plan, as source text, so that the worker (started from text) and this
 * thread run the very same code: `executePlan(plan, fs, dirname)` with `node:fs` and
 * `node:path`'s `dirname`. Blocking calls: in the worker they hold up nothing else, and they
 * cost far less CPU than a round trip through the thread pool per call.
 */
const EXECUTE_PLAN = String.raw`
function executePlan(plan, fs, dirname) {
  const codeIs = (error, codes) => typeof error === "object" && error !== null && codes.includes(error.code);
  const syncDirectory = (dir) => {
    let fd;
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
  };
  for (const phase of plan) {
    const touched = new Set();
    if (phase.kind === "write") {
      const made = [];
      try {
        for (const file of phase.files) {
          const fd = fs.openSync(file.temporary, "wx");
          made.push(file.temporary);
          try {
            let offset = 0;
            while (offset < file.data.byteLength) offset += fs.writeSync(fd, file.data, offset, file.data.byteLength - offset);
            fs.fsyncSync(fd);
          } finally {
            fs.closeSync(fd);
          }
        }
        for (const file of phase.files) {
          fs.renameSync(file.temporary, file.path);
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
          fs.unlinkSync(path);
          touched.add(dirname(path));
        } catch (error) {
          if (!codeIs(error, ["ENOENT"])) throw error;
        }
      }
    }
    if (phase.sync) for (const dir of touched) syncDirectory(dir);
  }
}
`;

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

type ExecutePlan = (plan: FilePlan, fs: typeof fsSync, parentOf: (path: string) => string) => void;

/** {@link EXECUTE_PLAN} in this thread, made at the first plan that needs it. */
let executeHere: ExecutePlan | null = null;

function executeInProcess(plan: FilePlan): void {
  executeHere ??= new Function(`${EXECUTE_PLAN}\nreturn executePlan;`)() as ExecutePlan;
  executeHere(plan, fsSync, dirname);
}

let inProcessTail: Promise<void> = Promise.resolve();

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

/** What the worker says of a plan: nothing when done, else the error. */
interface Reply {
  readonly id: number;
  readonly error?: { readonly message: string; readonly code?: string; readonly path?: string };
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const fs = require("node:fs");
const { dirname } = require("node:path");
${EXECUTE_PLAN}
const replies = workerData.replies;
parentPort.on("message", ({ id, plan }) => {
  try {
    executePlan(plan, fs, dirname);
    replies.postMessage({ id });
  } catch (error) {
    replies.postMessage({ id, error: { message: String((error && error.message) || error), code: error && error.code, path: error && error.path } });
  }
});
`;

/**
 * The worker that runs plans; it keeps the process alive only while a plan is under way. It
 * answers on a port of its own, which {@link poll} reads synchronously: a loop that never lets
 * the event loop turn (a training loop whose steps only await Promises) still hears of its
 * writes at its next save.
 */
class PlanWorker {
  private readonly worker: Worker;
  private readonly replies: MessagePort;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private nextId = 0;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.worker = new Worker(WORKER_SOURCE, { eval: true, name: "checkpipe file writer", workerData: { replies: port2 }, transferList: [port2] });
    this.replies = port1;
    this.worker.unref();
    this.replies.on("message", (reply: Reply) => this.settle(reply));
    this.replies.unref();
    this.worker.on("error", (error) => this.fail(error));
    this.worker.on("exit", (code) => this.fail(new Error(`The checkpoint file writer thread stopped (exit code ${code}).`)));
  }

  /** Takes in every answer the worker has sent, without waiting for the event loop. */
  poll(): void {
    for (let received = receiveMessageOnPort(this.replies); received !== undefined; received = receiveMessageOnPort(this.replies)) {
      this.settle(received.message as Reply);
    }
  }

  run(plan: FilePlan): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      if (this.waiting.size === 0) {
        this.worker.ref();
        this.replies.ref();
      }
      this.waiting.set(id, { resolve, reject });
      const transfer = [...new Set(plan.flatMap((phase) => (phase.kind === "write" ? phase.files.map((file) => file.data.buffer as ArrayBuffer) : [])))];
      this.worker.postMessage({ id, plan }, transfer);
    });
  }

  private settle(reply: Reply): void {
    const waiter = this.waiting.get(reply.id);
    if (waiter === undefined) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) {
      this.worker.unref();
      this.replies.unref();
    }
    if (reply.error === undefined) waiter.resolve();
    else waiter.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code, path: reply.error.path }));
  }

  /** The worker is gone: every plan under way fails, and later plans run in this thread. */
  private fail(error: Error): void {
    if (shared === this) shared = null;
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
