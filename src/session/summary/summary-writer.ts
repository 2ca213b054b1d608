/**
 * Writing TensorBoard event files, as TensorFlow's `tf.compat.v1.summary.FileWriter` does.
 *
 * @module
 */
import { mkdir, open, type FileHandle } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { FailedPreconditionError, InvalidArgumentError, RuntimeError, invalidArgument } from "../../errors.js";
import { encodeFrame } from "../../formats/tfrecord-frame.js";
import { FILE_VERSION, checkStep, encodeEvent, type TFEvent } from "./event-proto.js";

/** Options of {@link SummaryWriter.open}. */
export interface SummaryWriterOptions {
  /**
   * Appended to the file name (default `""`), as TensorFlow's `filename_suffix`, e.g.
   * `".eval"`; two writers opened in the same second in one directory need different ones.
   */
  readonly filenameSuffix?: string;
  /** The time now, in milliseconds since the epoch (default `Date.now`). */
  readonly clock?: () => number;
}

/**
 * Writes a TensorBoard event file: TFRecord-framed `Event` protos, the first naming the format
 * (`"brain.Event:2"`). TensorBoard (`tensorboard --logdir DIR`) shows its scalars.
 *
 * Each event is handed to the file as it is added, in order; {@link SummaryWriter.flush} waits
 * until they are on disk, {@link SummaryWriter.close} as well and then closes the file.
 *
 * @example
 * const writer = await SummaryWriter.open("logs/train");
 * await writer.addScalar("loss", 0.25, step);
 * await writer.close();
 */
export class SummaryWriter {
  readonly #path: string;
  readonly #file: FileHandle;
  readonly #clock: () => number;
  /** The last write; each write waits for the one before, so events keep their order. */
  #tail: Promise<void> = Promise.resolve();
  #closing: Promise<void> | null = null;

  private constructor(path: string, file: FileHandle, clock: () => number) {
    this.#path = path;
    this.#file = file;
    this.#clock = clock;
  }

  /**
   * Creates `logdir` if missing and, in it, the file
   * `events.out.tfevents.<seconds since the epoch, 10 digits>.<os.hostname()><filenameSuffix>`,
   * exactly as TensorFlow names it; writes the file-version event and flushes it.
   *
   * @param logdir - The directory (TensorBoard's `--logdir`, or a run inside it).
   * @param options - `filenameSuffix` (default `""`), `clock` (ms since the epoch, default `Date.now`).
   * @returns The writer, once the first event is on disk.
   * @throws {InvalidArgumentError} for a bad logdir or option, or a logdir that is a file.
   * @throws {FailedPreconditionError} when the directory or file cannot be created or written,
   *   naming it.
   * @example
   * const writer = await SummaryWriter.open("logs/eval", { filenameSuffix: ".eval" });
   */
  static async open(logdir: string, options: SummaryWriterOptions = {}): Promise<SummaryWriter> {
    if (typeof logdir !== "string" || logdir === "") {
      throw invalidArgument(
        "SummaryWriter.open(logdir)",
        "a directory path (a non-empty string)",
        logdir,
        'Pass where TensorBoard should look, e.g. "logs/train".',
      );
    }
    if (options === null || typeof options !== "object") {
      throw invalidArgument("SummaryWriter.open(logdir, options)", "an options object", options, 'Pass e.g. { filenameSuffix: ".eval" }, or nothing.');
    }
    const suffix: unknown = options.filenameSuffix ?? "";
    if (typeof suffix !== "string" || /[/\\]/.test(suffix)) {
      throw invalidArgument(
        "SummaryWriter.open(logdir, { filenameSuffix })",
        "a string without path separators",
        suffix,
        'Pass e.g. ".eval"; put runs in directories of their own with logdir.',
      );
    }
    const clock: unknown = options.clock ?? Date.now;
    if (typeof clock !== "function") {
      throw invalidArgument(
        "SummaryWriter.open(logdir, { clock })",
        "a function returning milliseconds since the epoch",
        clock,
        "Pass e.g. () => Date.now(), or nothing.",
      );
    }
    const now: unknown = clock();
    if (typeof now !== "number" || !Number.isFinite(now) || now < 0) {
      throw invalidArgument(
        "SummaryWriter.open(logdir, { clock })",
        "a clock returning milliseconds since the epoch (a finite number ≥ 0)",
        now,
        "Return e.g. Date.now().",
      );
    }
    const seconds = Math.floor(now / 1000);
    const path = join(logdir, `events.out.tfevents.${String(seconds).padStart(10, "0")}.${hostname()}${suffix}`);
    let file: FileHandle;
    try {
      await mkdir(logdir, { recursive: true });
      file = await open(path, "wx");
    } catch (error) {
      throw fileError("create", path, error);
    }
    const writer = new SummaryWriter(path, file, clock as () => number);
    try {
      await writer.addEvent({ wallTime: seconds, step: 0, fileVersion: FILE_VERSION });
      await writer.flush();
    } catch (error) {
      await writer.close().catch(() => undefined);
      throw error;
    }
    return writer;
  }

  /** The event file being written. */
  get path(): string {
    return this.#path;
  }

  /**
   * Appends one event.
   *
   * @param event - The event; see `encodeEvent`.
   * @returns A Promise that resolves once the event is written to the file (not yet synced).
   * @throws {InvalidArgumentError} for an event `encodeEvent` refuses.
   * @throws {RuntimeError} after {@link SummaryWriter.close}.
   * @throws {FailedPreconditionError} when writing fails, naming the file (and so does every
   *   later call).
   * @example
   * await writer.addEvent({ wallTime: Date.now() / 1000, step: 7, summary: { value: [{ tag: "lr", simpleValue: 0.1 }] } });
   */
  async addEvent(event: TFEvent): Promise<void> {
    if (this.#closing !== null) {
      throw new RuntimeError(
        `SummaryWriter for ${JSON.stringify(this.#path)}: adding an event needs an open writer; it was closed. ` +
          `Add every event before close(), or open a new writer (a new file).`,
        { expected: "an open writer", received: "a closed writer", fix: "Add events before close()." },
      );
    }
    const frame = encodeFrame(encodeEvent(event));
    const write = this.#tail.then(async () => {
      try {
        await this.#file.writeFile(frame);
      } catch (error) {
        throw fileError("write", this.#path, error);
      }
    });
    this.#tail = write;
    return write;
  }

  /**
   * Appends an event with one scalar summary value, stamped with the clock's time.
   *
   * @param tag - The name TensorBoard charts it under, e.g. `"loss"`.
   * @param value - The value; it is stored as a 32-bit float.
   * @param step - The global step, an integer with |step| ≤ 2⁵³ − 1.
   * @throws {InvalidArgumentError} for a tag that is not a string, a value that is not a number
   *   or a step that is not a safe integer, naming the file.
   * @throws the errors of {@link SummaryWriter.addEvent}.
   * @example
   * await writer.addScalar("loss", 0.25, 300);
   */
  async addScalar(tag: string, value: number, step: number): Promise<void> {
    const subject = `SummaryWriter(${JSON.stringify(this.#path)}).addScalar(tag, value, step)`;
    if (typeof tag !== "string") throw invalidArgument(`${subject}: tag`, "a string", tag, 'Name the value, e.g. "loss".');
    return this.#addScalars(subject, [[tag, value]], step);
  }

  /**
   * Appends one event holding a scalar summary value per entry of `scalars`, in their order,
   * stamped with the clock's time.
   *
   * @param scalars - Tag → value, e.g. `{ loss: 0.25, "global_step/sec": 12.5 }`; values are
   *   stored as 32-bit floats.
   * @param step - The global step, an integer with |step| ≤ 2⁵³ − 1.
   * @throws {InvalidArgumentError} for a value that is not a number or a step that is not a safe
   *   integer, naming the file.
   * @throws the errors of {@link SummaryWriter.addEvent}.
   * @example
   * await writer.addScalars({ loss: 0.25, accuracy: 0.9 }, 300);
   */
  async addScalars(scalars: Readonly<Record<string, number>>, step: number): Promise<void> {
    const subject = `SummaryWriter(${JSON.stringify(this.#path)}).addScalars(scalars, step)`;
    if (scalars === null || typeof scalars !== "object" || Array.isArray(scalars)) {
      throw invalidArgument(subject, "an object of tag → number", scalars, "Pass e.g. { loss: 0.25 }.");
    }
    return this.#addScalars(subject, Object.entries(scalars), step);
  }

  #addScalars(subject: string, entries: ReadonlyArray<readonly [string, unknown]>, step: number): Promise<void> {
    checkStep(`${subject}: step`, step);
    const value = entries.map(([tag, simpleValue]) => {
      if (typeof simpleValue !== "number") {
        throw invalidArgument(
          `${subject}: the value of ${JSON.stringify(tag)}`,
          "a number",
          simpleValue,
          "Pass the scalar as a number (convert a bigint first).",
        );
      }
      return { tag, simpleValue };
    });
    return this.addEvent({ wallTime: this.#clock() / 1000, step, summary: { value } });
  }

  /**
   * Waits until every event added so far is written and synced to disk. After close, resolves
   * when close does.
   *
   * @throws {FailedPreconditionError} when writing or syncing failed, naming the file.
   * @example
   * await writer.flush(); // TensorBoard now sees every event
   */
  async flush(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    await this.#tail;
    try {
      await this.#file.datasync();
    } catch (error) {
      throw fileError("sync", this.#path, error);
    }
  }

  /**
   * Writes and syncs every event added, then closes the file. Calling it again returns the same
   * Promise.
   *
   * @throws {FailedPreconditionError} when writing, syncing or closing failed, naming the file.
   * @example
   * await writer.close();
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      let failure: unknown = null;
      try {
        await this.#tail;
        await this.#file.datasync();
      } catch (error) {
        failure = error instanceof FailedPreconditionError ? error : fileError("sync", this.#path, error);
      }
      try {
        await this.#file.close();
      } catch (error) {
        failure ??= fileError("close", this.#path, error);
      }
      if (failure !== null) throw failure;
    })();
    return this.#closing;
  }

  /** `SummaryWriter("logs/events.out.tfevents.1700000000.host")`. */
  toString(): string {
    return `SummaryWriter(${JSON.stringify(this.#path)})`;
  }
}

function fileError(action: "create" | "write" | "sync" | "close", path: string, error: unknown): Error {
  const code = (error as { code?: unknown } | null)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  if (action === "create" && (code === "ENOTDIR" || code === "EEXIST" || code === "EISDIR")) {
    return new InvalidArgumentError(
      `SummaryWriter.open: cannot create ${JSON.stringify(path)}: its logdir (or a parent of it) is not a directory (${reason}). ` +
        `Pass a directory path as logdir.`,
      { expected: "a directory", received: "a file", fix: "Pass a directory path as logdir.", cause: error },
    );
  }
  return new FailedPreconditionError(
    `SummaryWriter: cannot ${action} the event file ${JSON.stringify(path)}: ${reason}. ` + `Check that its directory is writable and the disk has room.`,
    { expected: `to ${action} the file`, received: reason, fix: "Check permissions and free space.", cause: error },
  );
}
