/**
 * Reading the bytes of one file for the record readers: positioned reads of a plain file, or
 * the decompressed stream of a gzip / zlib file. Opening maps the operating system's errors
 * to checkpipe's, each naming the path.
 *
 * @module
 */
import { open, type FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream";
import { createGunzip, createInflate } from "node:zlib";
import { DataLossError, FailedPreconditionError, InvalidArgumentError, NotFoundError, describeValue } from "../../errors.js";

/** How a file of records is compressed: not at all, gzip, or zlib (deflate with a zlib header). */
export type RecordFileCompression = "none" | "gzip" | "zlib";

/** The bytes of one open file, read front to back from a starting offset. */
export interface ByteSource {
  /**
   * Reads up to `length` bytes into `into` at `at`. Resolves to how many were read, 0 at the
   * end of the file. Rejects with a `DataLossError` naming the file when decompression fails.
   */
  read(into: Uint8Array, at: number, length: number): Promise<number>;
  /** Releases the file handle (and the decompressor); calling it again is harmless. */
  close(): Promise<void>;
}

/**
 * Opens `path` positioned at byte `offset` (of the decompressed stream when compressed).
 * A plain file seeks there at no cost; a compressed one is decompressed from its start and
 * the first `offset` bytes are discarded.
 *
 * @param subject - Who reads, for messages, e.g. `"TFRecord"`.
 * @throws {NotFoundError} when the file does not exist.
 * @throws {InvalidArgumentError} when the path is a directory, or `offset` lies beyond the end.
 * @throws {FailedPreconditionError} when the file cannot be read (permissions).
 */
export async function openByteSource(subject: string, path: string, compression: RecordFileCompression, offset: number): Promise<ByteSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw openError(subject, path, error);
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw openError(subject, path, Object.assign(new Error("EISDIR"), { code: "EISDIR" }));
    if (compression === "none") {
      if (offset > stats.size) throw beyondEnd(subject, path, offset, `${stats.size} bytes`);
      return new FileBytes(handle, offset);
    }
  } catch (error) {
    await handle.close();
    throw error;
  }
  const source = new StreamBytes(subject, path, handle, compression);
  try {
    if (offset > 0) await source.discard(offset);
  } catch (error) {
    await source.close();
    throw error;
  }
  return source;
}

/** A plain file: positioned reads through one file handle. */
class FileBytes implements ByteSource {
  private closing: Promise<void> | null = null;

  constructor(
    private readonly handle: FileHandle,
    private position: number,
  ) {}

  async read(into: Uint8Array, at: number, length: number): Promise<number> {
    const { bytesRead } = await this.handle.read(into, at, length, this.position);
    this.position += bytesRead;
    return bytesRead;
  }

  close(): Promise<void> {
    return (this.closing ??= this.handle.close());
  }
}

/** A compressed file: its read stream through the decompressor, consumed chunk by chunk. */
class StreamBytes implements ByteSource {
  private readonly file: Readable;
  private readonly output: Readable;
  private readonly chunks: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array | null = null;
  private chunkOffset = 0;
  private done = false;
  private produced = 0;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly subject: string,
    private readonly path: string,
    handle: FileHandle,
    private readonly compression: "gzip" | "zlib",
  ) {
    this.file = handle.createReadStream({ highWaterMark: 1 << 20 });
    const options = { chunkSize: 256 << 10 };
    const inflater = compression === "gzip" ? createGunzip(options) : createInflate(options);
    // pipeline() destroys both streams when either fails or is destroyed.
    this.output = pipeline(this.file, inflater, () => undefined);
    this.chunks = this.output[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  }

  async read(into: Uint8Array, at: number, length: number): Promise<number> {
    let copied = 0;
    while (copied < length) {
      const chunk = this.chunk ?? (copied === 0 ? await this.pull() : null);
      if (chunk === null) break;
      const n = Math.min(length - copied, chunk.length - this.chunkOffset);
      into.set(chunk.subarray(this.chunkOffset, this.chunkOffset + n), at + copied);
      copied += n;
      this.chunkOffset += n;
      if (this.chunkOffset === chunk.length) this.chunk = null;
    }
    this.produced += copied;
    return copied;
  }

  /** Decompresses and drops the first `count` bytes. */
  async discard(count: number): Promise<void> {
    let left = count;
    while (left > 0) {
      const chunk = this.chunk ?? (await this.pull());
      if (chunk === null) throw beyondEnd(this.subject, this.path, count, `${count - left} bytes once decompressed`);
      const n = Math.min(left, chunk.length - this.chunkOffset);
      left -= n;
      this.chunkOffset += n;
      if (this.chunkOffset === chunk.length) this.chunk = null;
    }
    this.produced += count;
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.done = true;
      this.chunk = null;
      if (this.file.closed) return resolve();
      this.file.once("close", () => resolve());
      this.output.destroy();
      this.file.destroy();
    });
    return this.closing;
  }

  private async pull(): Promise<Uint8Array | null> {
    if (this.done) return null;
    let result: IteratorResult<Uint8Array>;
    try {
      result = await this.chunks.next();
    } catch (error) {
      this.done = true;
      throw new DataLossError(
        `${this.subject} file ${JSON.stringify(this.path)}: ${this.compression} decompression failed after ` +
          `${this.produced} decompressed bytes (${error instanceof Error ? error.message : describeValue(error)}). ` +
          `The file is corrupt, truncated or not ${this.compression}-compressed; check the compression option, ` +
          `or regenerate the file.`,
        { expected: `a ${this.compression} stream`, received: "undecodable bytes", fix: "Pass the right compression.", cause: error },
      );
    }
    if (result.done === true) {
      this.done = true;
      return null;
    }
    this.chunk = result.value;
    this.chunkOffset = 0;
    return result.value.length === 0 ? this.pull() : result.value;
  }
}

function beyondEnd(subject: string, path: string, offset: number, size: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `Cannot restore ${subject} in ${JSON.stringify(path)}: the saved byte offset ${offset} lies beyond the end of ` +
      `the file (${size}). The file changed since the state was saved; restore into the files that were read.`,
    { expected: `an offset ≤ the file size`, received: String(offset), fix: "Restore into the same, unchanged files." },
  );
}

function openError(subject: string, path: string, error: unknown): Error {
  const code = (error as { code?: unknown } | null)?.code;
  const quoted = JSON.stringify(path);
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new NotFoundError(
      `${subject}: no file at ${quoted}. Check the path (relative paths start at ${JSON.stringify(process.cwd())}), ` +
        `or list the files that exist with a glob.`,
      { expected: "an existing file", received: "no such file", fix: "Check the path.", cause: error, reason: "FILE_NOT_FOUND" },
    );
  }
  if (code === "EISDIR") {
    return new InvalidArgumentError(
      `${subject} needs a file path; got ${quoted}, which is a directory. Pass the files inside it ` + `(e.g. every *.tfrecord file in it).`,
      { expected: "a file path", received: "a directory", fix: "Pass the files inside the directory.", cause: error },
    );
  }
  if (code === "EACCES" || code === "EPERM") {
    return new FailedPreconditionError(`${subject}: cannot read ${quoted}: permission denied. Make the file readable by this process.`, {
      expected: "a readable file",
      received: "permission denied",
      fix: "Make the file readable.",
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(describeValue(error));
}
