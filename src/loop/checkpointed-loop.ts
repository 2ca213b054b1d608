/**
 * CheckpointedLoop: checkpoints a plain loop over a dataset — one that writes output or calls
 * other systems, without a Graph or a Session — so that a job killed at any instant resumes
 * with nothing processed twice: the iterator's position and the caller's own progress (e.g.
 * how many bytes of output are durable) are saved together, in one checkpoint.
 *
 * @module
 */
import { join } from "node:path";
import { makeSaveable, makeSaveableFromIterator } from "../checkpoint/saveable.js";
import { Saver } from "../checkpoint/saver.js";
import type { DatasetIterator } from "../core/dataset-iterator.js";
import type { JsonValue } from "../core/state.js";
import type { Dataset } from "../dataset/dataset.js";
import { requireOptions } from "../dataset/validate.js";
import { invalidArgument, RuntimeError } from "../errors.js";

/** Options of {@link CheckpointedLoop.open}. */
export interface CheckpointedLoopOptions<P extends JsonValue> {
  /** The caller's progress before the first element, e.g. `{ outputBytes: 0 }` (JSON). */
  readonly progress: P;
  /** Save after every this many committed elements (default 100). */
  readonly saveEvery?: number;
  /** Also save when this many seconds have passed since the last save (default: never by time). */
  readonly saveSecs?: number | null;
  /** How many checkpoints to keep (default 2). */
  readonly maxToKeep?: number;
  /** The name of the checkpoints (default `"loop.ckpt"`, state file `checkpoint_loop`), to keep several loops in one directory. */
  readonly name?: string;
}

/** One element of the loop and its place: elements are numbered from 0 over the whole job, restarts included. */
export interface LoopElement<T> {
  readonly value: T;
  readonly index: number;
}

/**
 * A loop over a dataset that restores where it left off, and saves the iterator's position
 * together with the caller's progress. For each element: do the work, make its effect durable
 * (write and `fsync` the output), then `await loop.commit(progress)` with the progress that
 * now holds (e.g. the output file's length) — before taking the next element. Every
 * `saveEvery` commits (or `saveSecs`) the position after the committed elements and that
 * progress go into one checkpoint. After a kill, `open` restores both: cut the output back to
 * the restored progress (what was written after the last save is written again) and go on;
 * nothing is processed twice, nothing is lost.
 *
 * Effects that cannot be undone (an API call) are done again for the elements since the last
 * save: at least once, not exactly once — unless the call is idempotent, e.g. keyed by the
 * element's `index`, which counts elements over the whole job.
 *
 * @example
 * const loop = await CheckpointedLoop.open("runs/convert", Dataset.jsonl("in.jsonl"), { progress: { bytes: 0 }, saveEvery: 1000 });
 * await truncate("out.jsonl", loop.progress.bytes);                // drop what the last save did not cover
 * const out = await open("out.jsonl", "a");
 * let bytes = loop.progress.bytes;
 * for await (const { value } of loop) {
 *   bytes += (await out.write(JSON.stringify(transform(value)) + "\n")).bytesWritten;
 *   if (loop.saveDue) await out.sync();                            // durable before it is recorded
 *   await loop.commit({ bytes });
 * }
 * await loop.close();
 */
export class CheckpointedLoop<T, P extends JsonValue> implements AsyncIterable<LoopElement<T>> {
  /** The checkpoint restored at open (its prefix), or null when the loop started afresh. */
  readonly restoredFrom: string | null;
  private next: number;
  private sinceSave = 0;
  private lastSave: number;
  private pending = false;
  private closed = false;

  private constructor(
    private readonly iterator: DatasetIterator<T>,
    private readonly saver: Saver,
    private readonly prefix: string,
    private readonly saveEvery: number,
    private readonly saveSecs: number | null,
    /** What is saved besides the iterator: the progress and the count of committed elements. */
    private readonly saved: { progress: P; index: number },
    restoredFrom: string | null,
  ) {
    this.restoredFrom = restoredFrom;
    this.next = saved.index;
    this.lastSave = performance.now();
  }

  /**
   * Opens the loop over `dataset`, restoring the newest whole checkpoint in `directory` (the
   * position and the progress), or starting afresh with `options.progress`.
   *
   * @param directory an existing directory for the loop's checkpoints.
   * @param dataset the dataset to loop over, built the same way on every run.
   * @throws {InvalidArgumentError} for bad options.
   * @throws {DataLossError} when checkpoints are listed but none is whole.
   */
  static async open<T, P extends JsonValue>(directory: string, dataset: Dataset<T>, options: CheckpointedLoopOptions<P>): Promise<CheckpointedLoop<T, P>> {
    requireOptions(
      "CheckpointedLoop.open(options)",
      options,
      ["progress", "saveEvery", "saveSecs", "maxToKeep", "name"],
      "{ progress: { outputBytes: 0 }, saveEvery: 100 }",
    );
    const saveEvery = options.saveEvery ?? 100;
    if (!Number.isSafeInteger(saveEvery) || saveEvery < 1)
      throw invalidArgument("CheckpointedLoop.open({ saveEvery })", "an integer ≥ 1", saveEvery, "Pass how many committed elements to save after.");
    const saveSecs = options.saveSecs ?? null;
    if (saveSecs !== null && !(typeof saveSecs === "number" && saveSecs > 0))
      throw invalidArgument("CheckpointedLoop.open({ saveSecs })", "a number of seconds > 0, or null", saveSecs, "Pass e.g. 60, or leave it out.");
    const name = options.name ?? "loop.ckpt";
    const iterator = dataset.iterator({ name: "Loop" });
    const saved = { progress: options.progress, index: 0 };
    const saver = new Saver(
      [
        makeSaveableFromIterator(iterator),
        makeSaveable<JsonValue>(
          "progress",
          () => saved.progress,
          (value) => void (saved.progress = value as P),
        ),
        makeSaveable(
          "index",
          () => saved.index,
          (value) => void (saved.index = value),
        ),
      ],
      { maxToKeep: options.maxToKeep ?? 2, latestFilename: name === "loop.ckpt" ? "checkpoint_loop" : `checkpoint_${name}` },
    );
    const restored = await saver.restoreLatest(directory);
    return new CheckpointedLoop<T, P>(iterator, saver, join(directory, name), saveEvery, saveSecs, saved, restored?.path ?? null);
  }

  /** The caller's progress as of the last commit (restored at open). */
  get progress(): P {
    return this.saved.progress;
  }

  /** How many elements have been committed over the whole job. */
  get index(): number {
    return this.saved.index;
  }

  /** Whether the next {@link commit} will save: make the output durable before it. */
  get saveDue(): boolean {
    return this.sinceSave + 1 >= this.saveEvery || (this.saveSecs !== null && (performance.now() - this.lastSave) / 1000 >= this.saveSecs);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<LoopElement<T>, void, undefined> {
    for (;;) {
      if (this.pending)
        throw new RuntimeError(
          "CheckpointedLoop: an element was taken before the one before it was committed. Call await loop.commit(progress) after each element.",
        );
      if (this.closed) return;
      const result = await this.iterator.next();
      if (result.done === true) return;
      this.pending = true;
      yield { value: result.value, index: this.next++ };
    }
  }

  /**
   * Records that the element taken last is done and `progress` now holds; saves when due.
   *
   * @param progress the caller's progress after that element (JSON).
   */
  async commit(progress: P): Promise<void> {
    if (!this.pending) throw new RuntimeError("CheckpointedLoop.commit(): no element is waiting to be committed. Commit once after each element.");
    const due = this.saveDue;
    this.pending = false;
    this.saved.progress = progress;
    this.saved.index = this.next;
    this.sinceSave++;
    if (due) await this.save();
  }

  /** Saves the position after the committed elements and the progress now, durably. */
  async save(): Promise<void> {
    if (this.pending) throw new RuntimeError("CheckpointedLoop.save(): commit the element taken last first.");
    await this.saver.save(this.prefix, { globalStep: this.saved.index });
    this.sinceSave = 0;
    this.lastSave = performance.now();
  }

  /** Saves (when anything was committed since the last save) and releases the iterator and the checkpoint directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.pending && this.sinceSave > 0) await this.save();
    await this.iterator.close();
    await this.saver.close();
  }

  /** {@link close}, for `await using loop = await CheckpointedLoop.open(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
