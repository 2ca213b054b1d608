/**
 * Reading the files of a checkpoint directory without trusting what is there: a name may be a
 * directory, a FIFO, a socket or a device instead of a file, and opening a FIFO for reading
 * blocks until someone writes to it. Files are opened without blocking (`O_NONBLOCK`), checked
 * with `fstat` to be regular files of a bounded size, and only then read. Failures are checkpipe
 * errors naming the path (fs-errors.ts).
 *
 * @module
 */
import { constants, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { CheckpipeError, FailedPreconditionError, type ErrorDetails } from "../errors.js";
import { checkFileFault } from "./file-faults.js";
import { errnoCode, fileSystemError } from "./fs-errors.js";

/** How a file is read, and what to say when it cannot be. */
export interface RegularFileOptions {
  /** What the caller is doing, for messages, e.g. `"Reading the state file of runs/a"`. */
  readonly purpose: string;
  /**
   * The error for a file that is not a regular file (or too large), from its message and
   * details (default: a `FailedPreconditionError`).
   */
  readonly refuse?: (message: string, details: ErrorDetails) => CheckpipeError;
}

/** Options of {@link readRegularFile}. */
export interface ReadRegularFileOptions extends RegularFileOptions {
  /** The most bytes the file may have: a larger one is refused unread. */
  readonly maxBytes: number;
  /** What kind of file it is, for the message of one too large, e.g. `"state file"`. */
  readonly what: string;
}

/** An open regular file, and its size when it was opened. */
export interface OpenRegularFile {
  readonly handle: FileHandle;
  readonly size: number;
}

/** `O_RDONLY | O_NONBLOCK` (where the platform has it): opening a FIFO does not wait for a writer. */
const READ_WITHOUT_BLOCKING = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Opens a file for reading, without blocking, and checks that it is a regular file.
 *
 * @param path the file.
 * @param options the purpose, for messages, and the error for a file that is not a regular one.
 * @returns the open file (the caller closes it) and its size.
 * @throws the `refuse` error (default `FailedPreconditionError`) naming the path, when it is a
 *   directory, a FIFO, a socket or a device.
 * @throws the error of fs-errors.ts (ENOENT: `NotFoundError`; EIO: `DataLossError`; others:
 *   `FailedPreconditionError`) when it cannot be opened, with the file system's error as `cause`.
 */
export async function openRegularFile(path: string, options: RegularFileOptions): Promise<OpenRegularFile> {
  let handle: FileHandle;
  try {
    checkFileFault("read", path);
    handle = await open(path, READ_WITHOUT_BLOCKING);
  } catch (error) {
    // A socket cannot be opened (ENXIO); some platforms refuse to open a directory (EISDIR).
    const code = errnoCode(error);
    if (code === "ENXIO") throw notRegular(path, "a socket or a device without a reader", options);
    if (code === "EISDIR") throw notRegular(path, "a directory", options);
    throw fileSystemError(error, { access: "read", doing: "opening", path, purpose: options.purpose });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notRegular(path, kindOf(stats), options);
    return { handle, size: stats.size };
  } catch (error) {
    await handle.close().catch(() => undefined);
    if (error instanceof CheckpipeError) throw error;
    throw fileSystemError(error, { access: "read", doing: "checking", path, purpose: options.purpose });
  }
}

/**
 * Reads bytes of an open file, as many as asked unless it ends first.
 *
 * @param file the file, from {@link openRegularFile}.
 * @param path its path, for messages.
 * @param into where the bytes go; `length` bytes from `offset` in the file.
 * @param purpose what the caller is doing, for messages.
 * @returns how many bytes were read (fewer than asked when the file ends first).
 * @throws the error of fs-errors.ts (EIO: `DataLossError`) naming the path.
 */
export async function readAt(file: OpenRegularFile, path: string, into: Uint8Array, offset: number, purpose: string): Promise<number> {
  let read = 0;
  try {
    while (read < into.byteLength) {
      checkFileFault("read", path);
      const { bytesRead } = await file.handle.read(into, read, into.byteLength - read, offset + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
  } catch (error) {
    throw fileSystemError(error, { access: "read", doing: "reading", path, purpose });
  }
  return read;
}

/**
 * Reads a whole regular file of at most `maxBytes` bytes, without blocking on a FIFO.
 *
 * @param path the file.
 * @param options the purpose, the size limit and the error for a file refused.
 * @returns its bytes.
 * @throws as {@link openRegularFile}; and the `refuse` error when it has more than `maxBytes`.
 */
export async function readRegularFile(path: string, options: ReadRegularFileOptions): Promise<Buffer> {
  const file = await openRegularFile(path, options);
  try {
    if (file.size > options.maxBytes) {
      const received = `${file.size} bytes`;
      const message = `${options.purpose}: ${path} has ${file.size} bytes, more than the ${options.maxBytes} any ${options.what} needs; it is refused unread.`;
      throw (options.refuse ?? precondition)(message, {
        expected: `at most ${options.maxBytes} bytes`,
        received,
        fix: `Check what ${path} is; a ${options.what} is never that large.`,
      });
    }
    const bytes = Buffer.allocUnsafe(file.size);
    const read = await readAt(file, path, bytes, 0, options.purpose);
    return bytes.subarray(0, read);
  } finally {
    await file.handle.close().catch(() => undefined);
  }
}

function notRegular(path: string, kind: string, options: RegularFileOptions): CheckpipeError {
  const fix = `Move ${path} out of the way (or restore the file it replaced).`;
  const message = `${options.purpose}: ${path} is ${kind}, not a regular file. ${fix}`;
  return (options.refuse ?? precondition)(message, { expected: "a regular file", received: kind, fix });
}

function precondition(message: string, details: ErrorDetails): CheckpipeError {
  return new FailedPreconditionError(message, details);
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a FIFO (named pipe)";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  return "not a regular file";
}
