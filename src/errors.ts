/**
 * Every error checkpipe throws. Each class carries a stable string `code` that programs can
 * match on; the message is for people and says what was expected, what was got, and how to
 * fix it. The names are TensorFlow's, since its users know them.
 *
 * @module
 */

/** What went wrong, as data: the wording of the message is built from it. */
export interface ErrorDetails {
  /** What checkpipe needed, e.g. `"an integer ≥ 1"`. */
  readonly expected?: string;
  /** What it got instead, e.g. `"-1"`. */
  readonly received?: string;
  /** How to fix it, e.g. `"Pass how many elements to put in each batch."`. */
  readonly fix?: string;
}

/**
 * The conditions a program may want to tell apart, each with a stable name: an error's
 * `reason`. Matching on a reason is finer than on a class (the category) or its `code`:
 *
 * ```ts
 * if (error instanceof CheckpipeError && error.reason === "RECORD_CRC_MISMATCH") skipFile();
 * ```
 *
 * An error raised for a condition not listed here has its `code` as its reason.
 */
export const REASONS = {
  ARGUMENT_INVALID: "An argument or option has a value the function cannot take.",
  OPTION_UNKNOWN: "An options object has a key the function does not know (often a typo).",
  STATE_INVALID: "A saved iterator state is malformed, or a field does not have the shape its op saves.",
  STATE_VERSION_UNSUPPORTED: "A saved state has a format version this checkpipe does not read (saved by a newer one).",
  STATE_KIND_MISMATCH: "A saved state was saved by another op than the one restoring it: the pipeline was built differently.",
  ELASTIC_RESUME_INVALID: "The states of several workers cannot be combined for a resume on another number of workers.",
  RECORD_CRC_MISMATCH: "A TFRecord's length or data does not match its CRC32C: the file is damaged.",
  RECORD_TRUNCATED: "A record file ends in the middle of a record.",
  RECORD_TOO_LARGE: "A record or line is longer than maxRecordBytes.",
  CHECKPOINT_DAMAGED: "A checkpoint's manifest or data file is missing, truncated, or does not match its checksums.",
  CHECKPOINT_NOT_FOUND: "There is no checkpoint at the prefix given.",
  WRITER_LOCKED: "Another Saver (of this or another process) writes the checkpoint directory's state file.",
  END_OF_SEQUENCE: "An iterator has no more elements.",
  FILE_NOT_FOUND: "A file or directory does not exist (ENOENT).",
  DISK_FULL: "The disk or quota is full (ENOSPC, EDQUOT).",
  PERMISSION_DENIED: "The file system refuses access (EACCES, EPERM) or is read-only (EROFS).",
  IO_ERROR: "The disk failed reading or writing (EIO), or another file system error.",
} as const;

/** The `reason` of a checkpipe error: one of {@link REASONS}, or its `code`. */
export type ErrorReason = keyof typeof REASONS | ErrorCode;

/** Options accepted by every checkpipe error. */
export interface CheckpipeErrorOptions extends ErrorDetails {
  /** The error that caused this one. */
  readonly cause?: unknown;
  /** The condition, when it is one of {@link REASONS} (default: the error's code). */
  readonly reason?: keyof typeof REASONS;
}

/** The base class of every error checkpipe throws. */
export abstract class CheckpipeError extends Error {
  /** A stable identifier of the kind of error, e.g. `"INVALID_ARGUMENT"`. */
  abstract readonly code: string;
  /** What checkpipe needed, when that can be said. */
  readonly expected: string | undefined;
  /** What it got instead, when that can be said. */
  readonly received: string | undefined;
  /** How to fix it, when that can be said. */
  readonly fix: string | undefined;
  readonly #reason: keyof typeof REASONS | undefined;

  constructor(message: string, options: CheckpipeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.expected = options.expected;
    this.received = options.received;
    this.fix = options.fix;
    this.#reason = options.reason;
    this.name = new.target.name;
  }

  /** The condition: one of {@link REASONS}, or the error's `code` for one not listed there. */
  get reason(): ErrorReason {
    return this.#reason ?? (this.code as ErrorCode);
  }
}

/** An operation was used in a way its current state does not allow (Python's `RuntimeError`). */
export class RuntimeError extends CheckpipeError {
  readonly code = "RUNTIME_ERROR";
}

/** The input is exhausted: iteration went past the end. Ends training cleanly. */
export class OutOfRangeError extends CheckpipeError {
  readonly code = "OUT_OF_RANGE";
}

/** The operation was aborted, e.g. by preemption; a monitored session recovers from it. */
export class AbortedError extends CheckpipeError {
  readonly code = "ABORTED";
}

/** A resource is temporarily unavailable; a monitored session recovers from it. */
export class UnavailableError extends CheckpipeError {
  readonly code = "UNAVAILABLE";
}

/** The system is not in a state that allows the operation, e.g. saving external state. */
export class FailedPreconditionError extends CheckpipeError {
  readonly code = "FAILED_PRECONDITION";
}

/**
 * An argument or a saved state is invalid. Every bad argument checkpipe refuses is one: catch
 * this class for all of them.
 */
export class InvalidArgumentError extends CheckpipeError {
  readonly code: "INVALID_ARGUMENT" | "VALUE_ERROR" = "INVALID_ARGUMENT";
}

/**
 * A bad argument where TensorFlow's Python raises `ValueError` (the Estimator, RunConfig,
 * hooks and Saver misused): an {@link InvalidArgumentError}, with the code `"VALUE_ERROR"`.
 */
export class ValueError extends InvalidArgumentError {
  override readonly code = "VALUE_ERROR";
}

/** A file or entry that was asked for does not exist. */
export class NotFoundError extends CheckpipeError {
  readonly code = "NOT_FOUND";
}

/** Data is corrupt or truncated: a CRC mismatch, a short record, a missing data file. */
export class DataLossError extends CheckpipeError {
  readonly code = "DATA_LOSS";
}

/** The training loss became NaN. */
export class NanLossDuringTrainingError extends CheckpipeError {
  readonly code = "NAN_LOSS";
}

/** Every error class, by its `code`. */
export const ERROR_CLASSES = {
  VALUE_ERROR: ValueError,
  RUNTIME_ERROR: RuntimeError,
  OUT_OF_RANGE: OutOfRangeError,
  ABORTED: AbortedError,
  UNAVAILABLE: UnavailableError,
  FAILED_PRECONDITION: FailedPreconditionError,
  INVALID_ARGUMENT: InvalidArgumentError,
  NOT_FOUND: NotFoundError,
  DATA_LOSS: DataLossError,
  NAN_LOSS: NanLossDuringTrainingError,
} as const;

/** The `code` of any checkpipe error. */
export type ErrorCode = keyof typeof ERROR_CLASSES;

/**
 * Builds the message "`subject` needs `expected`; got `received`. `fix`" and the error
 * carrying those details as data.
 *
 * @example
 * throw invalidArgument("batch(size)", "an integer ≥ 1", 0, "Pass how many elements to put in each batch.");
 */
export function invalidArgument(subject: string, expected: string, received: unknown, fix: string): InvalidArgumentError {
  const got = describeValue(received);
  return new InvalidArgumentError(`${subject} needs ${expected}; got ${got}. ${fix}`, {
    expected,
    received: got,
    fix,
    reason: "ARGUMENT_INVALID",
  });
}

/** A short, readable rendering of any value for an error message. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return `a function${value.name ? ` (${value.name})` : ""}`;
  if (typeof value === "number" && Object.is(value, -0)) return "-0";
  if (value === null || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  const ctor = value.constructor;
  return ctor && ctor !== Object ? `an instance of ${ctor.name}` : "an object";
}
