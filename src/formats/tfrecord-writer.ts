/**
 * Writing TFRecord files: TensorFlow's framing, uncompressed or compressed like
 * `tf.io.TFRecordOptions(compression_type="GZIP" | "ZLIB")`.
 *
 * @module
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { createDeflate, createGzip } from "node:zlib";
import { InvalidArgumentError, NotFoundError, RuntimeError, describeValue, invalidArgument } from "../errors.js";
import { encodeFrame } from "./tfrecord-frame.js";

/** How a TFRecord file is compressed: not at all, gzip, or zlib (deflate with a zlib header). */
export type TFRecordCompression = "none" | "gzip" | "zlib";

/** Options of {@link TFRecordWriter.open}. */
export interface TFRecordWriterOptions {
  /** Compression of the whole file (default `"none"`), as TensorFlow's `"GZIP"` / `"ZLIB"`. */
  readonly compression?: TFRecordCompression;
}

const COMPRESSIONS: readonly string[] = ["none", "gzip", "zlib"];

/**
 * Writes records to a TFRecord file that TensorFlow (`tf.data.TFRecordDataset`) and
 * `Dataset.tfrecord` read. Every record is framed as TensorFlow frames it, so files are
 * byte-identical to those TensorFlow's `TFRecordWriter` writes from the same records.
 *
 * @example
 * const writer = await TFRecordWriter.open("data/train.tfrecord", { compression: "gzip" });
 * for (const row of rows) await writer.write(serializeExample(row));
 * await writer.close();
 */
export class TFRecordWriter {
  /** The file being written. */
  readonly path: string;
  /** Its compression. */
  readonly compression: TFRecordCompression;
  readonly #head: Writable;
  readonly #done: Promise<void>;
  #failure: Error | null = null;
  #closing: Promise<void> | null = null;
  #drain: Promise<void> | null = null;

  private constructor(path: string, compression: TFRecordCompression, file: WriteStream) {
    this.path = path;
    this.compression = compression;
    const compressor = compression === "gzip" ? createGzip() : compression === "zlib" ? createDeflate() : null;
    this.#head = compressor ?? file;
    this.#done = compressor === null ? finished(file) : pipeline(compressor, file);
    this.#done.catch((error: unknown) => {
      this.#failure ??= error instanceof Error ? error : new Error(String(error));
    });
    this.#head.on("error", (error: Error) => {
      this.#failure ??= error;
    });
  }

  /**
   * Creates (or truncates) the file at `path` and opens it for writing.
   *
   * @param path - The file to write; its directory must exist.
   * @param options - `compression`: `"none"` (default), `"gzip"` or `"zlib"`.
   * @returns The writer, once the file is open.
   * @throws {InvalidArgumentError} for a path that is not a non-empty string, an unknown
   *   compression, or a path that is a directory.
   * @throws {NotFoundError} when the directory does not exist.
   * @example
   * const writer = await TFRecordWriter.open("out.tfrecord");
   */
  static async open(path: string, options: TFRecordWriterOptions = {}): Promise<TFRecordWriter> {
    if (typeof path !== "string" || path === "") {
      throw invalidArgument("TFRecordWriter.open(path)", "a file path (a non-empty string)", path, 'Pass where to write, e.g. "data/train.tfrecord".');
    }
    if (options === null || typeof options !== "object") {
      throw invalidArgument("TFRecordWriter.open(path, options)", "an options object", options, 'Pass e.g. { compression: "gzip" }, or nothing.');
    }
    const compression = options.compression ?? "none";
    if (!COMPRESSIONS.includes(compression)) {
      throw invalidArgument(
        "TFRecordWriter.open(path, { compression })",
        '"none", "gzip" or "zlib"',
        compression,
        'Use "gzip" for TensorFlow\'s "GZIP", "zlib" for "ZLIB".',
      );
    }
    const file = createWriteStream(path);
    try {
      await once(file, "open");
    } catch (error) {
      throw openError(path, error);
    }
    return new TFRecordWriter(path, compression, file);
  }

  /**
   * Appends one record.
   *
   * @param record - The record's bytes, e.g. from {@link serializeExample}.
   * @returns A Promise that resolves at once, or, when the stream's buffer is full, once it has
   *   drained: awaiting it keeps memory bounded however fast records come.
   * @throws {InvalidArgumentError} when `record` is not a Uint8Array.
   * @throws {RuntimeError} after {@link TFRecordWriter.close}; the write error, if writing failed.
   * @example
   * await writer.write(new TextEncoder().encode("hello"));
   */
  async write(record: Uint8Array): Promise<void> {
    if (this.#closing !== null) {
      throw new RuntimeError(
        `TFRecordWriter for ${JSON.stringify(this.path)}: write() needs an open writer; it was closed. ` +
          `Write every record before close(), or open a new writer (which truncates the file).`,
        { expected: "an open writer", received: "a closed writer", fix: "Write before close()." },
      );
    }
    if (!(record instanceof Uint8Array)) {
      throw invalidArgument(
        `TFRecordWriter(${JSON.stringify(this.path)}).write(record)`,
        "a Uint8Array",
        record,
        "Pass the record's bytes, e.g. serializeExample(features) or new TextEncoder().encode(text).",
      );
    }
    if (this.#failure !== null) throw this.#failure;
    if (!this.#head.write(encodeFrame(record))) {
      // One wait shared by every write made while the buffer is full (no listener per write).
      this.#drain ??= drained(this.#head).finally(() => {
        this.#drain = null;
      });
      await this.#drain;
    }
    if (this.#failure !== null) throw this.#failure;
  }

  /**
   * Flushes everything (ending the compressed stream, if any) and closes the file. Calling it
   * again returns the same Promise.
   *
   * @throws the write error, if writing failed.
   * @example
   * await writer.close();
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#head.end();
      await this.#done;
      if (this.#failure !== null) throw this.#failure;
    })();
    return this.#closing;
  }

  /** `TFRecordWriter("out.tfrecord", gzip)`. */
  toString(): string {
    return `TFRecordWriter(${JSON.stringify(this.path)}${this.compression === "none" ? "" : `, ${this.compression}`})`;
  }
}

function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error: Error | null): void => {
      stream.off("drain", onDrain);
      stream.off("error", onError);
      stream.off("close", onClose);
      if (error === null) resolve();
      else reject(error);
    };
    const onDrain = (): void => settle(null);
    const onError = (error: Error): void => settle(error);
    const onClose = (): void => settle(stream.errored ?? new Error("the stream closed before it drained"));
    stream.once("drain", onDrain);
    stream.once("error", onError);
    stream.once("close", onClose);
  });
}

function openError(path: string, error: unknown): Error {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT") {
    return new NotFoundError(
      `TFRecordWriter.open: cannot create ${JSON.stringify(path)}: its directory does not exist. Create the directory first ` +
        `(fs.mkdir(dir, { recursive: true })).`,
      { expected: "an existing directory", received: "no such directory", fix: "Create the directory first.", cause: error },
    );
  }
  if (code === "EISDIR") {
    return new InvalidArgumentError(
      `TFRecordWriter.open(path) needs a file path; got ${JSON.stringify(path)}, which is a directory. Pass a file name inside it.`,
      { expected: "a file path", received: "a directory", fix: "Pass a file name inside the directory.", cause: error },
    );
  }
  return error instanceof Error ? error : new Error(describeValue(error));
}
