/**
 * The Saver: writes and restores checkpoints of a list of saveables, keeps the directory's
 * `checkpoint` state file, and deletes old checkpoints as TensorFlow's `tf.train.Saver` does.
 *
 * @module
 */
import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join, relative, sep } from "node:path";
import { describeValue, NotFoundError, ValueError } from "../errors.js";
import { removeStaleTemporaries } from "../io/atomic-file.js";
import { errnoCode, fileSystemError } from "../io/fs-errors.js";
import { acquireWriterLock, LOCK_SUFFIX, releaseWriterLock, type LockOwner } from "../io/writer-lock.js";
import { checkpointHome, deletable, type Doomed } from "./deletion-guard.js";
import { planFailureOf, plannedFile, pollFilePlans, runFilePlan, type FilePhase, type PlanFailure, type PlannedFile } from "../io/file-plan.js";
import {
  bundleRemovePhase,
  bundleWritePhases,
  DATA_SUFFIX,
  encodeBundle,
  INDEX_SUFFIX,
  planBundleWrite,
  readBundle,
  readDataFileName,
  RESAVED_DATA_SUFFIX,
  type BundleWrite,
  type EncodedBundle,
} from "./bundle.js";
import { DEFAULT_STATE_FILENAME, formatStateText } from "./checkpoint-state.js";
import { loadNewestWhole } from "./newest-whole.js";
import type { Saveable } from "./saveable.js";

/** Options of {@link Saver}. */
export interface SaverOptions {
  /**
   * How many recent checkpoints to keep (default 5). 0 or null keeps every one and lists only
   * the latest in the state file, as TensorFlow does; `Infinity` keeps and lists every one
   * (deleting is then left to {@link Saver.remove}).
   */
  readonly maxToKeep?: number | null;
  /** Besides the recent ones, keep one checkpoint every this many hours (default 10 000: never). */
  readonly keepCheckpointEveryNHours?: number;
  /** The state file's name in the checkpoint directory (default `"checkpoint"`). */
  readonly latestFilename?: string;
  /** The clock, in seconds since the epoch (default `Date.now() / 1000`); for tests. */
  readonly clock?: () => number;
}

/** Options of {@link Saver.save}. */
export interface SaveCheckpointOptions {
  /** Appended to the path: `"<savePath>-<globalStep>"`. */
  readonly globalStep?: number | bigint;
  /** The state file's name, for this save (default: the Saver's). */
  readonly latestFilename?: string;
  /**
   * Checkpoints to delete with this one, for retention decided outside the Saver: they are
   * dropped from the list before the state file is written, and their files deleted after it,
   * in the same writes (see also {@link Saver.remove}).
   */
  readonly remove?: readonly string[];
  /**
   * Aborts the save while it has not been handed to the writer: before the values are taken,
   * or after they are taken and before anything is written. It rejects with the signal's
   * reason and nothing of it reaches the disk (the previous checkpoint stays the latest). Once
   * handed to the writer, a save completes: its files are written whole or not at all.
   */
  readonly signal?: AbortSignal;
}

/** What {@link Saver.restoreLatest} restored, and what it passed over. */
export interface RestoredCheckpoint {
  /** The prefix of the checkpoint restored. */
  readonly path: string;
  /** Newer checkpoints that were damaged or incomplete, newest first, with the reason. */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

/** What {@link Saver.saveInBackground} gives back. */
export interface BackgroundSave {
  /** The checkpoint's prefix, `"<savePath>-<globalStep>"` (or `savePath`). */
  readonly prefix: string;
  /**
   * Resolves when the checkpoint is on disk (files, state file, old checkpoints deleted);
   * rejects with the file system's error when it could not be written.
   */
  readonly written: Promise<void>;
}

interface Kept {
  readonly path: string;
  readonly time: number;
  /**
   * The checkpoint directory it belongs to: the one it was saved into, or for one taken over
   * ({@link Saver.recoverLastCheckpoints}) the one whose state file lists it; its files are
   * deleted only inside it. Null: the directory of the save that deletes it.
   */
  readonly dir: string | null;
}

/** What retention knew before a commit was taken: restored when its writing fails before its state file. */
interface Retention {
  readonly kept: readonly Kept[];
  readonly nextKeepTime: number;
}

/** A checkpoint whose values are taken (or a removal of checkpoints), waiting to be written. */
interface Commit {
  /** Retention as it was before this commit was taken. */
  readonly before: Retention;
  /** The checkpoint to write; null for a removal. */
  readonly bundle: EncodedBundle | null;
  /** The state file as it reads after this commit: its path, and its text (null: no checkpoint left to name, deleted). */
  readonly state: { readonly path: string; readonly file: PlannedFile | null } | null;
  /** Checkpoints deleted once this one is written. */
  readonly doomed: readonly Doomed[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** Whether the caller hears of a failure through `written` (a plain `save`). */
  reported: boolean;
}

/** At most this many checkpoints wait to be written before a save waits for the writes. */
const MAX_WAITING = 64;
/** ... or this many bytes. */
const MAX_WAITING_BYTES = 256 * 1024 * 1024;

/**
 * Saves and restores a list of saveables (model variables, iterators) as checkpoints.
 *
 * Every save writes `<savePath>-<step>.data-00000-of-00001` and `.index` atomically, then
 * rewrites the state file, then deletes checkpoints beyond `maxToKeep` (oldest first, except one
 * every `keepCheckpointEveryNHours`). A crash at any instant leaves the state file naming only
 * whole checkpoints. A prefix saved again (no `globalStep`, or the same step twice) gets its
 * data under the data file name its checkpoint on disk does not use (`.data-00000-of-00001`
 * and `.data-00000-of-00001.resaved` take turns), so that a crash leaves either the old or the
 * new checkpoint whole there.
 *
 * One writer per state file: from its first save into a directory, a Saver holds the state
 * file's writer lock (`<state file>.lock`) until {@link Saver.close} or the process's exit, and
 * another process (or another Saver of this process) saving there with the same state file is
 * refused; the lock of a process that is gone is taken over.
 *
 * @example
 * const saver = new Saver([makeSaveableFromIterator(it)], { maxToKeep: 3 });
 * const prefix = await saver.save("runs/a/model.ckpt", { globalStep: 200 }); // "runs/a/model.ckpt-200"
 * await saver.restore(prefix);
 */
export class Saver {
  /** The saveables, in the order they are written. */
  readonly saveables: readonly Saveable[];
  private readonly maxToKeep: number;
  private readonly keepEverySecs: number;
  private readonly latestFilename: string;
  private readonly clock: () => number;
  private nextKeepTime: number;
  private kept: Kept[] = [];
  /** The last call issued: saves (up to their values being taken) and restores run in order. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Checkpoints taken and not yet being written, oldest first. */
  private waiting: Commit[] = [];
  private waitingBytes = 0;
  /** The writing of the checkpoints taken so far, while under way. */
  private writing: Promise<void> | null = null;
  /** A failed background write nobody has heard of yet: the next save or sync throws it. */
  private failure: { readonly error: unknown } | null = null;
  /** Directories known to exist and cleaned of leftover temporaries, by state file name. */
  private readonly readyDirs = new Set<string>();
  /**
   * The checkpoints of the families saved so far that are on disk: prefix → the data file its
   * manifest names (undefined: not known, read it when saving over it). A prefix not here has
   * no checkpoint on disk.
   */
  private readonly onDisk = new Map<string, string | undefined>();
  private restored: string | null = null;
  /** The state files whose writer lock this Saver holds (see writer-lock.ts). */
  private readonly locked = new Set<string>();
  /** What the writer locks know of this Saver: whether it has writes under way. */
  private readonly lockOwner: LockOwner = { busy: () => this.writing !== null || this.waiting.length > 0 };
  /** Checkpoints the state file no longer names whose deletion failed, by prefix: deleted with the next batch. */
  private readonly undeleted = new Map<string, Doomed>();

  /**
   * @param saveables what to save, each with a unique name.
   * @param options retention and the state file's name.
   * @throws {ValueError} when there is nothing to save, two saveables share a name, or an
   *   option is out of range.
   */
  constructor(saveables: readonly Saveable[], options: SaverOptions = {}) {
    if (!Array.isArray(saveables) || saveables.length === 0) {
      throw new ValueError("No variables to save: a Saver needs at least one saveable.", {
        expected: "a non-empty array of saveables",
        received: describeValue(saveables),
        fix: "Pass the variables and iterators to checkpoint, e.g. [makeSaveableFromIterator(it)].",
      });
    }
    const names = new Set<string>();
    for (const s of saveables) {
      if (typeof s !== "object" || s === null || typeof s.name !== "string" || typeof s.save !== "function" || typeof s.restore !== "function") {
        throw new ValueError(`Not a saveable: ${describeValue(s)}. A saveable has a name, save() and restore().`, {
          expected: "a Saveable",
          received: describeValue(s),
        });
      }
      if (names.has(s.name)) {
        throw new ValueError(`At least two variables have the same name: ${s.name}`, {
          expected: "unique names",
          received: s.name,
          fix: "Give each variable or iterator its own name.",
        });
      }
      names.add(s.name);
    }
    this.saveables = [...saveables];
    const maxToKeep = options.maxToKeep === undefined ? 5 : (options.maxToKeep ?? 0);
    if (!(maxToKeep === Infinity || (Number.isInteger(maxToKeep) && maxToKeep >= 0)))
      throw badOption("maxToKeep", "an integer ≥ 0, Infinity, or null", maxToKeep);
    this.maxToKeep = maxToKeep;
    const hours = options.keepCheckpointEveryNHours ?? 10_000;
    if (typeof hours !== "number" || !(hours > 0)) throw badOption("keepCheckpointEveryNHours", "a number of hours > 0", hours);
    this.keepEverySecs = hours * 3600;
    this.latestFilename = checkLatestFilename(options.latestFilename ?? DEFAULT_STATE_FILENAME);
    this.clock = options.clock ?? (() => Date.now() / 1000);
    this.nextKeepTime = this.clock() + this.keepEverySecs;
  }

  /** The checkpoints this Saver keeps, oldest first (empty when `maxToKeep` is 0 or null). */
  get lastCheckpoints(): string[] {
    return this.kept.map((k) => k.path);
  }

  /**
   * The checkpoint the saveables were last restored from, until the next save (then null): a
   * caller about to save at the same prefix knows that checkpoint holds these very values.
   */
  get restoredFrom(): string | null {
    return this.restored;
  }

  /**
   * Saves a checkpoint of every saveable, and resolves once it is on disk.
   *
   * @param savePath the prefix, e.g. `"runs/a/model.ckpt"`; its directory must exist.
   * @param options `globalStep` appended to the prefix; `latestFilename` for this save.
   * @returns the checkpoint's prefix, `"<savePath>-<globalStep>"` (or `savePath`).
   * @throws {ValueError} when the directory does not exist, `savePath` names a directory (ends
   *   with a separator, as `"runs/a/"`, or is one), `latestFilename` has path components or
   *   collides with `savePath`, or `globalStep` is not an integer.
   * @throws {InvalidArgumentError} when a value cannot be encoded.
   * @throws {FailedPreconditionError} when the file system fails the write (a full disk:
   *   ENOSPC, EDQUOT; a read-only one: EROFS; permissions: EACCES, EPERM; a directory in the way:
   *   EISDIR, ENOTDIR; the device: EIO), naming the file and the operation, with the file
   *   system's error as `cause`. The checkpoints saved before stay whole, and retention is as if
   *   this save never happened (docs/checkpoint-format.md, "File system failures").
   * @throws {NotFoundError} likewise when the directory is gone (ENOENT).
   * @throws {FailedPreconditionError} naming the holder, when another process (or another Saver
   *   of this process) writes the same state file: see the class's summary.
   * @throws the error of an earlier {@link saveInBackground} whose write failed, if not yet thrown.
   */
  async save(savePath: string, options: SaveCheckpointOptions = {}): Promise<string> {
    const commit = await this.enqueue(() => this.take(savePath, options, true));
    await commit.written;
    return commit.prefix;
  }

  /**
   * Takes the values of every saveable now and writes the checkpoint in the background:
   * resolves as soon as the values are taken, so that training goes on while the files are
   * written (off the main thread). Checkpoints are written in the order taken; when several
   * wait, they are written together, with one round of disk flushes. The state file and
   * retention are exactly as with {@link save}. Call {@link sync} to wait for every write
   * (restores wait by themselves).
   *
   * @param savePath the prefix, e.g. `"runs/a/model.ckpt"`; its directory must exist.
   * @param options `globalStep` appended to the prefix; `latestFilename` for this save.
   * @returns the prefix, and `written`, which settles when this checkpoint is on disk. A failed
   *   write rejects `written` (with the errors of {@link save}), and the next `save`,
   *   `saveInBackground` or `sync` throws it too (once), so that a caller who does not await
   *   `written` still hears of it. It also rejects the checkpoints taken after it and not yet
   *   written, whose state files would name it.
   * @throws as {@link save}, for what can be checked before writing.
   * @example
   * const { prefix, written } = await saver.saveInBackground("runs/a/model.ckpt", { globalStep: 100 });
   * // ... train on ...
   * await saver.sync(); // every checkpoint on disk
   */
  saveInBackground(savePath: string, options: SaveCheckpointOptions = {}): Promise<BackgroundSave> {
    return this.enqueue(() => this.take(savePath, options, false));
  }

  /**
   * Waits until every checkpoint of the saves called before it is on disk.
   *
   * @throws the error of a background write that failed, once.
   * @example
   * await saver.sync();
   */
  sync(): Promise<void> {
    return this.enqueue(async () => {
      await this.settled();
      this.throwFailure();
    });
  }

  /**
   * Waits until every checkpoint of the saves called before it is on disk, then releases the
   * writer locks this Saver holds (`<state file>.lock`, see docs/checkpoint-format.md, "One
   * writer per state file"), so that another Saver or process may save there. A later save
   * takes the lock again. Locks still held are released when the process exits.
   *
   * @throws the error of a background write that failed, once (as {@link sync}); the locks are
   *   released all the same.
   * @example
   * await saver.save("runs/a/model.ckpt", { globalStep: 100 });
   * await saver.close(); // another process may now train into runs/a
   */
  close(): Promise<void> {
    return this.enqueue(async () => {
      await this.settled();
      for (const statePath of this.locked) releaseWriterLock(statePath, this.lockOwner);
      this.locked.clear();
      this.throwFailure();
    });
  }

  /**
   * Restores every saveable from the checkpoint at `prefix`. Every entry is read and verified
   * before any saveable changes, so a damaged checkpoint leaves them as they were; a saveable
   * that refuses its value (e.g. a shape that differs) stops the restore there, after the
   * saveables before it were restored.
   *
   * @param prefix a checkpoint prefix, e.g. from {@link latestCheckpoint}.
   * @throws {ValueError} when `prefix` is not a checkpoint.
   * @throws {NotFoundError} when the checkpoint lacks a saveable's entry.
   * @throws {DataLossError} naming the file and the entry, when a file is damaged, missing, not a
   *   regular file, or the disk fails reading it (EIO).
   * @throws {FailedPreconditionError} naming the file, when it cannot be read for another reason
   *   (permissions: EACCES), with the file system's error as `cause`.
   */
  restore(prefix: string): Promise<void> {
    return this.enqueue(async () => {
      await this.settled();
      await this.apply(await this.load(prefix));
      this.restored = prefix;
    });
  }

  /**
   * Restores the newest whole checkpoint listed in `dir`'s state file. Damaged or incomplete
   * newer ones are passed over, each with a process warning (`CHECKPIPE_CHECKPOINT_SKIPPED`)
   * saying which and why. Another process may be saving there meanwhile: a checkpoint its
   * retention deletes under the read is no damage, the state file is read again and its newest
   * whole checkpoint restored.
   *
   * @param dir the checkpoint directory.
   * @param latestFilename the state file's name (default: the Saver's).
   * @returns what was restored, or null when the directory has no checkpoint state.
   * @throws {DataLossError} when checkpoints are listed but none is whole, naming each and why.
   * @throws {NotFoundError} when the newest whole checkpoint lacks a saveable's entry.
   */
  restoreLatest(dir: string, latestFilename: string = this.latestFilename): Promise<RestoredCheckpoint | null> {
    return this.enqueue(async () => {
      await this.settled();
      const found = await loadNewestWhole(dir, latestFilename, (path) => this.load(path));
      if (found === null) return null;
      await this.apply(found.values);
      this.restored = found.path;
      return { path: found.path, skipped: found.skipped };
    });
  }

  /**
   * Reads the checkpoint at `prefix` without restoring it: every saveable's value by name,
   * verified as {@link restore} verifies them. For states that are combined before they are
   * restored, e.g. other workers' input checkpoints.
   *
   * @param prefix a checkpoint prefix.
   * @throws as {@link restore}.
   * @example
   * const values = await saver.read("runs/a/input_worker_1.ckpt-300");
   */
  read(prefix: string): Promise<ReadonlyMap<string, unknown>> {
    return this.enqueue(async () => {
      await this.settled();
      return await this.load(prefix);
    });
  }

  /**
   * Deletes checkpoints, after every save called before: drops them from the ones kept,
   * rewrites the state file without them (naming the newest one left as the latest, or deleted
   * when none is left), then deletes their files. For retention decided outside the Saver, e.g.
   * input checkpoints that go when the model checkpoints of their steps go.
   *
   * @param prefixes the checkpoints to delete, all in one directory; those without files are passed over.
   * @param latestFilename the name of the state file listing them (default: the Saver's).
   * @throws {ValueError} when the prefixes are not all in one directory.
   * @throws the error of an earlier {@link saveInBackground} whose write failed, if not yet thrown.
   * @example
   * await saver.remove(["runs/a/input.ckpt-100"]);
   */
  async remove(prefixes: readonly string[], latestFilename: string = this.latestFilename): Promise<void> {
    if (prefixes.length === 0) return;
    const dirs = new Set(prefixes.map((prefix) => dirname(prefix)));
    if (dirs.size > 1) throw badOption("remove(prefixes)", "checkpoints of one directory", [...dirs].join(", "));
    const dir = [...dirs][0] ?? ".";
    checkLatestFilename(latestFilename);
    const commit = await this.enqueue(async () => {
      pollFilePlans();
      this.throwFailure();
      const drop = new Set(prefixes);
      const before = this.retention();
      const listed = this.kept.some((k) => drop.has(k.path));
      // Their checkpoint directory: where this Saver saved them or found them listed, else their own.
      const homes = new Set(this.kept.filter((k) => drop.has(k.path)).map((k) => k.dir ?? dir));
      const home = homes.size === 1 ? ([...homes][0] as string) : dir;
      const statePath = join(home, latestFilename);
      this.lock(statePath);
      const doomed = [...drop].map((path) => ({ path, home: this.kept.find((k) => k.path === path)?.dir ?? home }));
      this.kept = this.kept.filter((k) => !drop.has(k.path));
      return this.queue(before, null, listed ? this.stateAfter(statePath, this.kept.at(-1)?.path ?? null) : null, doomed, true);
    });
    await commit.written;
  }

  /**
   * Takes over checkpoints saved earlier (e.g. by a previous process), so that retention
   * counts and deletes them too. Their save times are their `.index` files' modification times.
   * Their files are deleted only inside the directory of the state file listing them (the
   * nearest directory at or above each one's that holds this Saver's state file): a listed
   * `sub/x` whose `sub` links to a directory elsewhere is never deleted there (a process warning,
   * `CHECKPIPE_CHECKPOINT_OUTSIDE`, says so when retention comes to it).
   *
   * @param paths checkpoint prefixes, oldest first (e.g. `getCheckpointState(dir).allModelCheckpointPaths`).
   */
  async recoverLastCheckpoints(paths: readonly string[]): Promise<void> {
    const kept: Kept[] = [];
    const homes = new Map<string, Promise<string>>();
    for (const path of paths) {
      const s = await stat(path + INDEX_SUFFIX).catch(() => null);
      if (s === null) continue;
      // The directory of the state file that lists it: its files are deleted only inside that one.
      const parent = dirname(path);
      if (!homes.has(parent)) homes.set(parent, checkpointHome(parent, this.latestFilename));
      kept.push({ path, time: s.mtimeMs / 1000, dir: await (homes.get(parent) as Promise<string>) });
    }
    this.kept = kept;
  }

  /**
   * Takes a checkpoint: checks the arguments, takes every saveable's value, encodes the files,
   * counts it for retention and queues it for writing. `reported`: the caller awaits `written`.
   */
  private async take(savePath: string, options: SaveCheckpointOptions, reported: boolean): Promise<BackgroundSave> {
    // Hear of finished writes even when the caller's loop never lets the event loop turn.
    pollFilePlans();
    this.throwFailure();
    options.signal?.throwIfAborted();
    const latestFilename = checkLatestFilename(options.latestFilename ?? this.latestFilename);
    if (typeof savePath !== "string" || savePath === "") throw badOption("savePath", "a non-empty path prefix", savePath);
    if (endsWithSeparator(savePath)) throw namesDirectory(savePath);
    const step = options.globalStep;
    if (step !== undefined && !(typeof step === "bigint" || Number.isSafeInteger(step))) throw badOption("globalStep", "an integer", step);
    const prefix = step === undefined ? savePath : `${savePath}-${step}`;
    if (step === undefined && basename(savePath) === latestFilename) {
      throw new ValueError(`latestFilename collides with savePath: '${latestFilename}' and '${savePath}'`, {
        expected: "a save path other than the state file",
        received: savePath,
        fix: "Pass a globalStep, or another savePath or latestFilename.",
      });
    }
    const dir = dirname(savePath);
    const ready = `${dir}\0${basename(savePath)}\0${latestFilename}`;
    if (!this.readyDirs.has(ready)) {
      await this.prepareDirectory(dir, savePath, latestFilename);
      this.readyDirs.add(ready);
    } else {
      this.lock(join(dir, latestFilename));
    }
    const values = new Map<string, unknown>();
    for (const saveable of this.saveables) values.set(saveable.name, await saveable.save());
    options.signal?.throwIfAborted();
    this.restored = null;
    const bundle = encodeBundle(prefix, values);
    const before = this.retention();
    const removed = new Set((options.remove ?? []).filter((path) => path !== prefix));
    const removedDoomed = [...removed].map((path) => ({ path, home: this.kept.find((k) => k.path === path)?.dir ?? dir }));
    if (removed.size > 0) this.kept = this.kept.filter((k) => !removed.has(k.path));
    const doomed = [...this.record(prefix, dir), ...removedDoomed];
    const commit = this.queue(before, bundle, this.stateAfter(join(dir, latestFilename), prefix), doomed, reported);
    if (this.waiting.length >= MAX_WAITING || this.waitingBytes >= MAX_WAITING_BYTES) await this.writing;
    return commit;
  }

  /**
   * Takes (or checks that this Saver still holds) the writer lock of a state file. A directory
   * that is gone holds no lock: the write there fails by itself, with the error it meets.
   */
  private lock(statePath: string): void {
    try {
      acquireWriterLock(statePath, this.lockOwner);
      this.locked.add(statePath);
    } catch (error) {
      if (error instanceof NotFoundError && errnoCode(error.cause) === "ENOENT") return;
      throw error;
    }
  }

  /** What retention knows now, to go back to if the commit taken next is not written. */
  private retention(): Retention {
    return { kept: [...this.kept], nextKeepTime: this.nextKeepTime };
  }

  /** The state file as it reads with `latest` as the latest checkpoint and the kept ones listed (none left: deleted). */
  private stateAfter(path: string, latest: string | null): NonNullable<Commit["state"]> {
    if (latest === null) return { path, file: null };
    const dir = dirname(path);
    const kept = this.kept.length > 0 ? this.kept : [{ path: latest, time: this.clock() }];
    const text = formatStateText({
      modelCheckpointPath: nameIn(dir, latest),
      allModelCheckpointPaths: kept.map((k) => nameIn(dir, k.path)),
      allModelCheckpointTimestamps: kept.map((k) => k.time),
      lastPreservedTimestamp: this.nextKeepTime - this.keepEverySecs,
    });
    return { path, file: plannedFile(path, [text]) };
  }

  /** Queues a commit for writing and starts the writing if it is not under way. */
  private queue(before: Retention, bundle: EncodedBundle | null, state: Commit["state"], doomed: readonly Doomed[], reported: boolean): BackgroundSave {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const written = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Heard of through sync() or the next save when the caller does not await it.
    written.catch(() => undefined);
    this.waiting.push({ before, bundle, state, doomed, resolve, reject, reported });
    this.waitingBytes += bundle?.bytes ?? 0;
    this.writing ??= this.writeWaiting();
    return { prefix: bundle?.prefix ?? "", written };
  }

  /** Checks that the directory exists and removes temporaries a crashed save left there. */
  private async prepareDirectory(dir: string, savePath: string, latestFilename: string): Promise<void> {
    if (
      await stat(savePath).then(
        (s) => s.isDirectory(),
        () => false,
      )
    )
      throw namesDirectory(savePath);
    const isDir = await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) {
      throw new ValueError(`Parent directory of ${savePath} doesn't exist, can't save.`, {
        expected: "an existing directory",
        received: dir,
        fix: `Create it first, e.g. await mkdir(${JSON.stringify(dir)}, { recursive: true }).`,
      });
    }
    this.lock(join(dir, latestFilename));
    await this.removeLeftovers(dir, basename(savePath), latestFilename);
    const manifest = new RegExp(`^(${escapeRegExp(basename(savePath))}(?:-\\d+)?)${escapeRegExp(INDEX_SUFFIX)}$`);
    const names = await readdir(dir).catch((error: unknown) => {
      throw fileSystemError(error, { access: "read", doing: "listing", path: dir, purpose: `Saving into ${savePath}` });
    });
    for (const name of names) {
      const prefix = manifest.exec(name)?.[1];
      if (prefix !== undefined && !this.onDisk.has(join(dir, prefix))) this.onDisk.set(join(dir, prefix), undefined);
    }
  }

  /**
   * Writes the waiting checkpoints, all that wait at once, until none waits. Per batch: the
   * checkpoints that are still kept after the batch (data file and manifest of each), then the
   * state files as the last of them left them, then the deletions — so that a crash at any
   * instant leaves every state file naming whole checkpoints only.
   */
  private async writeWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      this.waitingBytes = 0;
      // What the batch leaves: each prefix either written (by its last save) or deleted.
      const outcome = new Map<string, EncodedBundle | Doomed>();
      const states = new Map<string, PlannedFile | null>();
      for (const [prefix, old] of this.undeleted) outcome.set(prefix, old);
      for (const commit of batch) {
        if (commit.bundle !== null) {
          outcome.delete(commit.bundle.prefix);
          outcome.set(commit.bundle.prefix, commit.bundle);
        }
        for (const old of commit.doomed) {
          outcome.delete(old.path);
          outcome.set(old.path, old);
        }
        if (commit.state !== null) {
          states.delete(commit.state.path);
          states.set(commit.state.path, commit.state.file);
        }
      }
      const writes: BundleWrite[] = [];
      const doomed: Doomed[] = [];
      for (const [prefix, what] of outcome) {
        if ("home" in what) doomed.push(what);
        else writes.push(planBundleWrite(what, await this.dataFileOnDisk(prefix)));
      }
      const removed = deletable(doomed);
      const stateFiles = [...states.values()].filter((file): file is PlannedFile => file !== null);
      const stateGone = [...states].filter(([, file]) => file === null).map(([path]) => path);
      const stateWrite: FilePhase = { kind: "write", files: stateFiles, sync: true };
      const stateUnlink: FilePhase = { kind: "unlink", paths: stateGone, sync: true };
      const planned = [
        ...bundleWritePhases(writes).map((phase) => ({ phase, ofState: false })),
        { phase: stateWrite, ofState: true },
        { phase: stateUnlink, ofState: true },
        { phase: bundleRemovePhase(removed), ofState: false },
      ].filter(({ phase }) => (phase.kind === "write" ? phase.files.length : phase.paths.length) > 0);
      const phases = planned.map(({ phase }) => phase);
      // Until the batch's state files are in place (the last phase of them done), the batch did not happen.
      const lastStatePhase = planned.findLastIndex(({ ofState }) => ofState);
      const saved = writes.map((write) => write.bundle.prefix);
      const purpose = saved.length > 0 ? `Saving checkpoint ${saved.join(", ")}` : `Deleting checkpoint ${removed.join(", ")}`;
      const stateWritten = (failure: PlanFailure | null): boolean =>
        failure !== null && (failure.phase > lastStatePhase || (failure.phase === lastStatePhase && failure.operation === "flush directory"));
      try {
        await runFilePlan(phases, {
          purpose,
          outcome: (failure) =>
            !stateWritten(failure)
              ? "The checkpoints saved before are whole, and the state file still names them."
              : saved.length > 0
                ? `Checkpoint ${saved.join(", ")} is saved and the state file names it; the old checkpoints not deleted yet are deleted at the next save.`
                : "The state file no longer names them; the files not deleted yet are deleted at the next save.",
        });
        for (const write of writes) this.onDisk.set(write.bundle.prefix, basename(write.files[0].path));
        for (const prefix of removed) this.onDisk.delete(prefix);
        this.undeleted.clear();
        for (const commit of batch) commit.resolve();
      } catch (error) {
        // What is on disk is known no longer for the prefixes of the batch.
        for (const prefix of outcome.keys()) this.onDisk.set(prefix, undefined);
        let failed = batch;
        if (stateWritten(planFailureOf(error))) {
          // The state file names what the batch leaves: only deletions are missing, retried at the next batch.
          for (const old of doomed) if (removed.includes(old.path)) this.undeleted.set(old.path, old);
        } else {
          // As if the batch never happened: retention as before it, and the checkpoints taken after it
          // (whose state files would name its checkpoints) fail with it.
          const first = batch[0] as Commit;
          this.kept = [...first.before.kept];
          this.nextKeepTime = first.before.nextKeepTime;
          failed = [...batch, ...this.waiting];
          for (const commit of this.waiting) if (commit.bundle !== null) this.onDisk.set(commit.bundle.prefix, undefined);
          this.waiting = [];
          this.waitingBytes = 0;
        }
        if (failed.some((commit) => !commit.reported)) this.failure ??= { error };
        for (const commit of failed) commit.reject(error);
      }
    }
    this.writing = null;
  }

  /** The data file the checkpoint on disk at `prefix` uses, or null when there is none there. */
  private async dataFileOnDisk(prefix: string): Promise<string | null> {
    if (!this.onDisk.has(prefix)) return null;
    return this.onDisk.get(prefix) ?? (await readDataFileName(prefix));
  }

  /** Resolves when nothing waits to be written and nothing is being written. */
  private async settled(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }

  private throwFailure(): void {
    const failure = this.failure;
    if (failure === null) return;
    this.failure = null;
    throw failure.error;
  }

  /**
   * Records a new checkpoint saved into `dir` for retention (TensorFlow's `_RecordLastCheckpoint`
   * and `_MaybeDeleteOldCheckpoints`) and returns the checkpoints to delete: each within the
   * directory it was saved into, or `dir` for one taken over.
   */
  private record(prefix: string, dir: string): Doomed[] {
    if (this.maxToKeep === 0) return [];
    this.kept = this.kept.filter((k) => k.path !== prefix);
    this.kept.push({ path: prefix, time: this.clock(), dir });
    const doomed: Doomed[] = [];
    while (this.kept.length > this.maxToKeep) {
      const oldest = this.kept.shift() as Kept;
      if (oldest.time > this.nextKeepTime) {
        this.nextKeepTime += this.keepEverySecs;
        continue;
      }
      doomed.push({ path: oldest.path, home: oldest.dir ?? dir });
    }
    return doomed;
  }

  /** Reads and verifies a checkpoint and checks it holds every saveable's entry; changes nothing. */
  private async load(prefix: string): Promise<Map<string, unknown>> {
    if (typeof prefix !== "string" || prefix === "") {
      throw new ValueError(`Can't load savePath when it is ${describeValue(prefix)}.`, {
        expected: "a checkpoint prefix",
        received: describeValue(prefix),
        fix: "Pass a prefix returned by save() or latestCheckpoint(), and check latestCheckpoint() for null.",
      });
    }
    const index = await stat(prefix + INDEX_SUFFIX).catch((error: unknown) => {
      const code = errnoCode(error);
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw fileSystemError(error, { access: "read", doing: "checking", path: prefix + INDEX_SUFFIX, purpose: `Reading checkpoint ${prefix}` });
    });
    if (index === null || !index.isFile()) {
      throw new ValueError(`The passed savePath is not a valid checkpoint: ${prefix}`, {
        reason: "CHECKPOINT_NOT_FOUND",
        expected: `${prefix}${INDEX_SUFFIX} and ${prefix}${DATA_SUFFIX}`,
        received: index === null ? "no index file" : "an index that is not a regular file",
      });
    }
    const values = await readBundle(prefix);
    for (const saveable of this.saveables) {
      if (!values.has(saveable.name)) {
        throw new NotFoundError(`Key ${saveable.name} not found in checkpoint ${prefix}`, {
          expected: `an entry "${saveable.name}"`,
          received: `entries ${[...values.keys()].map((k) => `"${k}"`).join(", ") || "none"}`,
          fix: "Restore a checkpoint saved with the same variables and iterators.",
        });
      }
    }
    return values;
  }

  /** Hands each saveable its value, in order. */
  private async apply(values: ReadonlyMap<string, unknown>): Promise<void> {
    for (const saveable of this.saveables) await saveable.restore(values.get(saveable.name));
  }

  /** Deletes temporary files a crashed save of this family left behind. */
  private async removeLeftovers(dir: string, base: string, latestFilename: string): Promise<void> {
    const bundle = new RegExp(`^${escapeRegExp(base)}(-\\d+)?(${[INDEX_SUFFIX, DATA_SUFFIX, RESAVED_DATA_SUFFIX].map(escapeRegExp).join("|")})$`);
    const ours = (name: string): boolean => name === latestFilename || name === latestFilename + LOCK_SUFFIX || bundle.test(name);
    await removeStaleTemporaries(dir, ours).catch((error: unknown) => {
      process.emitWarning(`Could not remove leftover temporary files in ${dir}: ${String(error)}`, { code: "CHECKPIPE_CHECKPOINT_CLEANUP" });
    });
  }

  private enqueue<R>(call: () => Promise<R>): Promise<R> {
    const promise = this.tail.then(call, call);
    this.tail = promise.catch(() => undefined);
    return promise;
  }
}

/** `relative(dir, path)`, without its cost when `path` is a file directly in `dir` (the usual case). */
function nameIn(dir: string, path: string): string {
  const head = dir.endsWith(sep) ? dir : dir + sep;
  if (path.startsWith(head)) {
    const rest = path.slice(head.length);
    if (rest !== "" && rest !== "." && rest !== ".." && !rest.includes(sep) && !rest.includes("/")) return rest;
  }
  return relative(dir, path);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function checkLatestFilename(name: string): string {
  if (typeof name !== "string" || name === "" || basename(name) !== name || name === "." || name === "..") {
    throw new ValueError("latestFilename must not contain path components", {
      expected: 'a file name such as "checkpoint"',
      received: describeValue(name),
      fix: "Pass the state file's bare name; it is written in the checkpoint's directory.",
    });
  }
  return name;
}

/** Whether a path ends with a separator, or with `.` or `..` after one: it names a directory, never a file prefix. */
function endsWithSeparator(path: string): boolean {
  return path.endsWith("/") || path.endsWith(sep) || [".", ".."].includes(basename(path));
}

/** The refusal of a save path that names a directory (its `dirname` would be the parent's). */
function namesDirectory(savePath: string): ValueError {
  const expected = 'a checkpoint prefix, a path that names no directory, such as "runs/a/model.ckpt"';
  const fix = `Pass the directory joined with a file name prefix, e.g. ${JSON.stringify(join(savePath, "model.ckpt"))}.`;
  return new ValueError(
    `Saver savePath must be ${expected}; got ${JSON.stringify(savePath)}, which names a directory: the state file would go into its parent. ${fix}`,
    { expected, received: JSON.stringify(savePath), fix },
  );
}

function badOption(name: string, expected: string, got: unknown): ValueError {
  return new ValueError(`Saver ${name} must be ${expected}; got ${describeValue(got)}.`, { expected, received: describeValue(got) });
}
