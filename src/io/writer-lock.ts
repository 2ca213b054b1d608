/**
 * Writer locks: one writer per state file. A writer holds `<state file>.lock` next to the state
 * file, a small JSON file naming its process (pid, host name, thread, start time), created
 * exclusively (written under a temporary name, then hard-linked into place, so that it is never
 * seen half written). Another process that finds the lock held by a live process is refused; a
 * lock whose process is gone (killed, crashed: not running on this host, or its pid now belongs
 * to a process started later) is taken over, with a process warning. Within one process, the
 * lock belongs to one holder (a Saver) at a time: another is refused while the holder has writes
 * under way, and otherwise takes it over, after which the old holder is refused.
 *
 * Locks are released by {@link releaseWriterLock} and, for those still held, when the process
 * exits normally. A process killed leaves its locks behind, stale, for the next writer to take over.
 *
 * @module
 */
import * as fs from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { threadId } from "node:worker_threads";
import { FailedPreconditionError } from "../errors.js";
import { isRunning } from "./atomic-file.js";
import { temporaryPathFor } from "./file-plan.js";
import { errnoCode, fileSystemError } from "./fs-errors.js";

/** The suffix of a lock's name: `<state file>.lock`. */
export const LOCK_SUFFIX = ".lock";

/** The format name in every lock file. */
const LOCK_FORMAT = "checkpipe.lock";
/** The version of the lock file's format. */
const LOCK_VERSION = 1;
/** A lock file larger than this is no lock of ours. */
const MAX_LOCK_BYTES = 4096;
/** A lock file that cannot be read is taken for one being written for this long, then for stale. */
const UNREADABLE_GRACE_MS = 10_000;

/** Who holds a lock, as its file says. */
export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** The worker thread id in its process (0: the main thread). */
  readonly thread: number;
  /** When its process started (ISO 8601). */
  readonly started: string;
  /** The process's start time as the kernel counts it (Linux: field 22 of `/proc/<pid>/stat`), to tell a reused pid; null elsewhere. */
  readonly processStart: string | null;
}

/** What a holder of this process tells the lock: whether it has writes under way. */
export interface LockOwner {
  /** Whether the owner has writes under way (then another holder of this process is refused). */
  busy(): boolean;
}

interface Held {
  owner: LockOwner;
  /** Holders of this process that held it before and were taken over from: refused from now on. */
  readonly superseded: WeakSet<LockOwner>;
}

/** The locks this thread holds, by the lock file's absolute path. */
const held = new Map<string, Held>();
let releasedAtExit = false;

/**
 * Takes (or keeps) the writer lock of a state file for `owner`, at every save: checks that the
 * lock file still names this process, and creates it if it is gone.
 *
 * @param statePath the state file's path.
 * @param owner the holder (a Saver).
 * @throws {FailedPreconditionError} naming the holder, when another live process holds the lock,
 *   another holder of this process has writes under way or took it over from `owner`, or the
 *   lock file cannot be made (naming the path and the errno code).
 */
export function acquireWriterLock(statePath: string, owner: LockOwner): void {
  const lockPath = resolve(statePath + LOCK_SUFFIX);
  const dir = dirname(statePath);
  const entry = held.get(lockPath);
  if (entry !== undefined && entry.owner !== owner) {
    if (entry.superseded.has(owner)) throw refusedInProcess(dir, `took over its state file ${statePath}`, statePath);
    if (entry.owner.busy()) throw refusedInProcess(dir, `writes its state file ${statePath}, and its checkpoints are being written`, statePath);
    entry.superseded.add(entry.owner);
    entry.owner = owner;
  }
  const me = thisHolder();
  let holding = false;
  for (let attempt = 0; attempt < 5 && !holding; attempt++) {
    const found = readLock(lockPath);
    if (found === "none") {
      holding = createLock(lockPath, me); // false: another writer made it meanwhile, look at it
      continue;
    }
    if (found !== "unreadable" && sameHolder(found, me)) {
      holding = true;
      continue;
    }
    if (found === "unreadable" ? !unreadableForLong(lockPath) : holderLives(found, me)) {
      held.delete(lockPath);
      throw refusedByHolder(dir, statePath, lockPath, found);
    }
    const who = found === "unreadable" ? "a writer that never finished writing it" : describeHolder(found);
    process.emitWarning(
      `Took over the writer lock ${lockPath} of ${who}, which is no longer running. Its state file ${statePath} is written by this process from now on.`,
      {
        code: "CHECKPIPE_CHECKPOINT_LOCK",
      },
    );
    try {
      fs.unlinkSync(lockPath);
    } catch (error) {
      if (errnoCode(error) !== "ENOENT") throw fileSystemError(error, { access: "write", doing: "deleting the stale writer lock", path: lockPath });
    }
  }
  if (!holding) throw refusedByHolder(dir, statePath, lockPath, "unreadable");
  if (!held.has(lockPath)) held.set(lockPath, { owner, superseded: new WeakSet() });
  if (!releasedAtExit) {
    releasedAtExit = true;
    process.once("exit", releaseAll);
  }
}

/**
 * Releases the writer lock of a state file if `owner` holds it: deletes the lock file, if it
 * still names this process.
 *
 * @param statePath the state file's path.
 * @param owner the holder.
 */
export function releaseWriterLock(statePath: string, owner: LockOwner): void {
  const lockPath = resolve(statePath + LOCK_SUFFIX);
  if (held.get(lockPath)?.owner !== owner) return;
  held.delete(lockPath);
  unlinkIfOurs(lockPath);
}

/** At exit, the locks still held go: their process no longer writes. */
function releaseAll(): void {
  for (const lockPath of held.keys()) unlinkIfOurs(lockPath);
  held.clear();
}

/** Deletes a lock file that names this process; any failure leaves it, stale, for the next writer to take over. */
function unlinkIfOurs(lockPath: string): void {
  try {
    const found = readLock(lockPath);
    if (found !== "none" && found !== "unreadable" && sameHolder(found, thisHolder())) fs.unlinkSync(lockPath);
  } catch {
    // gone already, or its directory is, or unreadable: a stale lock at worst
  }
}

/** Creates the lock file exclusively, whole; false when one is there already. */
function createLock(lockPath: string, me: LockHolder): boolean {
  const text = `${JSON.stringify({ format: LOCK_FORMAT, version: LOCK_VERSION, ...me })}\n`;
  const temporary = temporaryPathFor(lockPath);
  try {
    fs.writeFileSync(temporary, text, { flag: "wx" });
    try {
      fs.linkSync(temporary, lockPath);
      return true;
    } catch (error) {
      if (errnoCode(error) === "EEXIST") return false;
      if (!["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV"].includes(errnoCode(error) ?? "")) throw error;
      // A file system without hard links: create it exclusively in place (a crash may leave it empty).
      try {
        fs.writeFileSync(lockPath, text, { flag: "wx" });
        return true;
      } catch (inPlace) {
        if (errnoCode(inPlace) === "EEXIST") return false;
        throw inPlace;
      }
    } finally {
      fs.rmSync(temporary, { force: true });
    }
  } catch (error) {
    throw fileSystemError(error, { access: "write", doing: "creating the writer lock", path: lockPath });
  }
}

/** The lock file's holder; "none" when there is no lock file; "unreadable" when it says nothing readable. */
function readLock(lockPath: string): LockHolder | "none" | "unreadable" {
  let fd: number;
  try {
    fd = fs.openSync(lockPath, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return "none";
    if (errnoCode(error) === "ENXIO") return "unreadable";
    throw fileSystemError(error, { access: "read", doing: "reading the writer lock", path: lockPath });
  }
  try {
    const stats = fs.fstatSync(fd);
    if (!stats.isFile() || stats.size > MAX_LOCK_BYTES) return "unreadable";
    const bytes = Buffer.alloc(stats.size);
    const read = fs.readSync(fd, bytes, 0, bytes.byteLength, 0);
    return parseLock(bytes.toString("utf8", 0, read));
  } catch (error) {
    throw fileSystemError(error, { access: "read", doing: "reading the writer lock", path: lockPath });
  } finally {
    fs.closeSync(fd);
  }
}

function parseLock(text: string): LockHolder | "unreadable" {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "unreadable";
  }
  const lock = parsed as Partial<Record<keyof LockHolder | "format" | "version", unknown>> | null;
  if (typeof lock !== "object" || lock === null || lock.format !== LOCK_FORMAT || lock.version !== LOCK_VERSION) return "unreadable";
  const { pid, hostname: host, thread, started, processStart } = lock;
  if (!Number.isSafeInteger(pid) || typeof host !== "string" || !Number.isSafeInteger(thread) || typeof started !== "string") return "unreadable";
  if (processStart !== null && typeof processStart !== "string") return "unreadable";
  return { pid: pid as number, hostname: host, thread: thread as number, started, processStart };
}

/** Whether an unreadable lock file is older than a writer needs to write one. */
function unreadableForLong(lockPath: string): boolean {
  try {
    return Date.now() - fs.statSync(lockPath).mtimeMs > UNREADABLE_GRACE_MS;
  } catch {
    return true;
  }
}

function sameHolder(a: LockHolder, b: LockHolder): boolean {
  return a.pid === b.pid && a.hostname === b.hostname && a.thread === b.thread && a.processStart === b.processStart;
}

/**
 * Whether the holder of a lock may still be writing: a process of another host (which cannot be
 * checked), another thread of this process, or a process running here since the start time the
 * lock records.
 */
function holderLives(holder: LockHolder, me: LockHolder): boolean {
  if (holder.hostname !== me.hostname) return true;
  if (holder.pid === me.pid) return holder.thread !== me.thread;
  if (!isRunning(holder.pid)) return false;
  const now = processStartOf(holder.pid);
  if (now === "zombie") return false;
  return holder.processStart === null || now === null || now === holder.processStart;
}

let me: LockHolder | null = null;

function thisHolder(): LockHolder {
  if (me === null) {
    const start = processStartOf(process.pid);
    me = {
      pid: process.pid,
      hostname: hostname(),
      thread: threadId,
      started: new Date(performance.timeOrigin).toISOString(),
      processStart: start === "zombie" ? null : start,
    };
  }
  return me;
}

/** A process's start time as the kernel counts it (Linux), "zombie" for one that ended unreaped, null where unknown. */
function processStartOf(pid: number): string | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // "pid (name) state ppid ...": the name may hold spaces and parentheses; field 22 is the start time.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return "zombie";
  return fields[19] ?? null;
}

function describeHolder(holder: LockHolder): string {
  return `process ${holder.pid}${holder.thread === 0 ? "" : ` (thread ${holder.thread})`} on ${holder.hostname} (started ${holder.started})`;
}

function refusedByHolder(dir: string, statePath: string, lockPath: string, holder: LockHolder | "unreadable"): FailedPreconditionError {
  const who = holder === "unreadable" ? "a writer that is writing its lock" : describeHolder(holder);
  const fix =
    `One writer per state file: stop that process, or save into another directory or with another latestFilename. ` +
    `If that process is gone and ${lockPath} is stale, delete it.`;
  return new FailedPreconditionError(`Saving into ${dir} is refused: its state file ${statePath} is written by ${who}, which holds ${lockPath}. ${fix}`, {
    expected: `no other writer of ${statePath}`,
    received: who,
    fix,
    reason: "WRITER_LOCKED",
  });
}

function refusedInProcess(dir: string, what: string, statePath: string): FailedPreconditionError {
  const fix = "One Saver writes a state file at a time: save with that Saver, or call close() on one Saver before another saves there.";
  return new FailedPreconditionError(`Saving into ${dir} is refused: another Saver of this process ${what}. ${fix}`, {
    expected: `no other Saver writing ${statePath}`,
    received: `another Saver of this process (pid ${process.pid})`,
    fix,
    reason: "WRITER_LOCKED",
  });
}
