/**
 * `dataset.cache(filename)`: the first iteration to reach the end writes every element to a
 * file; later iterations read the file. The state holds positions, never the contents: while
 * writing, the input's state and how many bytes of the temporary file were written; while
 * reading, a byte offset in the file.
 *
 * The file is TFRecord framing (length, CRC32C, record, CRC32C) of one header record (format,
 * version, and the pipeline it caches) followed by one record per element, serialized with
 * `v8.serialize` (plain data, typed arrays, Map, Set, Date, bigint). It is written under a
 * temporary name and renamed into place, fsynced, once complete: a cache cut short by a crash is
 * never read as whole.
 *
 * @module
 */
import {
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { deserialize, serialize } from "node:v8";
import {
  BackgroundCloser,
  END,
  UnaryNode,
  type DatasetNode,
  type End,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import { integer, nullable, oneOf, opState, optional, record, stateSchema, string } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { DataLossError, FailedPreconditionError, describeValue } from "../../errors.js";
import { decodeFrame, encodeFrame } from "../../formats/tfrecord-frame.js";
import { errnoCode, fileSystemError } from "../../io/fs-errors.js";
import { RecordFileNode } from "../sources/record-file-source.js";
import { temporaryPathFor } from "../../io/file-plan.js";
import { tfrecordFormat } from "../sources/tfrecord.js";

const KIND = "FileCache";
const VERSION = 1;
const FORMAT = "checkpipe.cache";
/** The reader's state at the end of the file. */
const AT_END: OpState = { kind: "TFRecord", version: 1, fileIndex: 1, offset: 0 };
/** Writes are gathered to this many bytes before they go to the file. */
const WRITE_CHUNK = 1 << 20;

/**
 * `"read"`: `reader` is the state of the reader of the complete file. `"write"`: `input`, and
 * `temp` / `bytes` / `count`: the temporary file and how much of it holds the elements so far;
 * `"bypass"`: `input` only (a restored writer whose temporary file was gone: this pass writes
 * nothing, a later one writes the cache anew).
 */
const STATE = stateSchema(KIND, VERSION, {
  mode: oneOf("read", "write", "bypass"),
  reader: optional(opState),
  input: optional(opState),
  written: optional(nullable(record({ temp: string, bytes: integer(0), count: integer(0) }, "the temporary file written so far ({ temp, bytes, count })"))),
});

/** `dataset.cache(filename)`. */
export class FileCacheNode<T> extends UnaryNode<T, T> {
  readonly label: string;
  private readonly reader: RecordFileNode<Uint8Array>;

  constructor(
    input: DatasetNode<T>,
    readonly filename: string,
  ) {
    super(input);
    this.label = `Cache(${JSON.stringify(filename)})`;
    this.reader = new RecordFileNode([filename], tfrecordFormat(true), "none");
    this.header = new TextEncoder().encode(JSON.stringify({ format: FORMAT, version: 1, pipeline: input.describe() }));
    this.firstRecord = encodeFrame(this.header).length;
  }

  /** The header record this pipeline's cache file starts with. */
  readonly header: Uint8Array;
  /** Where the first element's record starts in the file: just after the header's frame. */
  readonly firstRecord: number;

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new FileCacheIterator(this, ctx);
  }

  /** True when the complete cache file is there (checked against this pipeline). */
  complete(): boolean {
    if (!existsSync(this.filename)) return false;
    checkHeader(this.filename, this.header);
    return true;
  }

  openInput(ctx: IteratorContext): OpIterator<T> {
    return this.input.makeIterator(ctx);
  }

  openReader(): OpIterator<Uint8Array> {
    return this.reader.makeIterator();
  }
}

/** Reads the first frame of a cache file and checks it is this pipeline's. */
function checkHeader(filename: string, expected: Uint8Array): void {
  let fd: number;
  try {
    fd = openSync(filename, "r");
  } catch (error) {
    throw fileSystemError(error, { access: "read", doing: "opening", path: filename, purpose: "Reading a cache file" });
  }
  try {
    const head = new Uint8Array(16 + expected.length);
    const got = readSync(fd, head, 0, head.length, 0);
    const frame = decodeFrame(head.subarray(0, got), 0, { source: filename, position: 0 });
    const text = frame === null ? "" : new TextDecoder().decode(frame.data);
    if (frame === null || text !== new TextDecoder().decode(expected)) {
      throw new FailedPreconditionError(
        `cache(${JSON.stringify(filename)}): the file there is not the cache of this pipeline (its header: ${frame === null ? "none" : text.slice(0, 200)}; ` +
          `this pipeline's: ${new TextDecoder().decode(expected).slice(0, 200)}). Delete the file to rebuild the cache, or pass another filename.`,
        {
          expected: "the cache file of this pipeline",
          received: frame === null ? "another file" : text.slice(0, 200),
          fix: "Delete the file, or use another filename.",
        },
      );
    }
  } finally {
    closeSync(fd);
  }
}

/** The temporary file a writer appends to, through a buffer. */
class CacheWriter {
  private chunks: Uint8Array[] = [];
  private pending = 0;
  private fd: number;

  /** Opens `temp`, cut to `bytes` (a restored writer) or new with the header. */
  constructor(
    private readonly filename: string,
    readonly temp: string,
    public bytes: number,
    public count: number,
    header: Uint8Array | null,
  ) {
    this.fd = this.guard("opening", () => openSync(temp, header === null ? "r+" : "w"));
    if (header === null) this.guard("truncating", () => ftruncateSync(this.fd, bytes));
    else this.append(encodeFrame(header), false);
  }

  /** Appends one element's record. */
  add(value: unknown): void {
    let bytes: Uint8Array;
    try {
      bytes = serialize(value);
    } catch (cause) {
      throw new FailedPreconditionError(
        `cache(${JSON.stringify(this.filename)}): element ${this.count} cannot be written to the cache (${describeValue(cause)}); cached elements must be plain data.`,
        { cause },
      );
    }
    this.append(encodeFrame(bytes), true);
  }

  private append(frame: Uint8Array, element: boolean): void {
    this.chunks.push(frame);
    this.pending += frame.length;
    if (element) this.count++;
    if (this.pending >= WRITE_CHUNK) this.flush();
  }

  /** Writes what is gathered; `bytes` then counts it. */
  flush(): void {
    if (this.pending === 0) return;
    const data = Buffer.concat(this.chunks);
    this.chunks = [];
    this.pending = 0;
    this.guard("writing", () => {
      for (let at = 0; at < data.length;) at += writeSync(this.fd, data, at, data.length - at, this.bytes + at);
    });
    this.bytes += data.length;
  }

  /** Makes the file durable and renames it into place. */
  finish(): void {
    this.flush();
    this.guard("syncing", () => fsyncSync(this.fd));
    this.close();
    this.guard("renaming into place", () => renameSync(this.temp, this.filename));
    const dir = dirname(this.filename);
    const fd = this.guard("opening the directory of", () => openSync(dir, "r"));
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    if (this.fd === -1) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  /** Closes and deletes the temporary file. */
  discard(): void {
    this.close();
    try {
      unlinkSync(this.temp);
    } catch {
      // already gone
    }
  }

  private guard<R>(doing: string, work: () => R): R {
    try {
      return work();
    } catch (error) {
      throw fileSystemError(error, { access: "write", doing, path: this.temp, purpose: `Writing the cache ${JSON.stringify(this.filename)}` });
    }
  }
}

/** Writes the cache while reading the input through, or reads the complete file. */
class FileCacheIterator<T> implements OpIterator<T> {
  private mode: "read" | "write" | "bypass";
  private input: OpIterator<T> | null = null;
  private reader: OpIterator<Uint8Array> | null = null;
  private writer: CacheWriter | null = null;
  private readonly closer = new BackgroundCloser();
  private readonly onInput = (value: T | End): T | End => {
    if (value !== END) {
      this.writer?.add(value);
      return value;
    }
    this.finishWriting();
    return END;
  };
  private readonly onRecord = (bytes: Uint8Array | End): T | End => (bytes === END ? END : this.decode(bytes));

  constructor(
    private readonly node: FileCacheNode<T>,
    private readonly ctx: IteratorContext,
  ) {
    this.mode = node.complete() ? "read" : "write";
  }

  next(): Pull<T> {
    if (this.mode === "read") {
      if (this.ended) return END;
      if (this.reader === null) return this.openReader().then(() => this.next());
      const bytes = this.reader.next();
      return bytes instanceof Promise ? bytes.then(this.onRecord) : this.onRecord(bytes);
    }
    const value = this.openInput().next();
    return value instanceof Promise ? value.then(this.onInput) : this.onInput(value);
  }

  /** A reader of the file, at `state` or just after the header record. */
  private async openReader(state?: OpState): Promise<OpIterator<Uint8Array>> {
    const reader = this.node.openReader();
    await reader.restore(state ?? { kind: "TFRecord", version: 1, fileIndex: 0, offset: this.node.firstRecord });
    this.reader = reader;
    return reader;
  }

  private openInput(): OpIterator<T> {
    if (this.input === null) {
      this.input = this.node.openInput(this.ctx);
      if (this.mode === "write") this.writer = new CacheWriter(this.node.filename, temporaryPathFor(this.node.filename), 0, 0, this.node.header);
    }
    return this.input;
  }

  /** An element's record, read back. */
  private decode(bytes: Uint8Array): T {
    try {
      return deserialize(bytes) as T;
    } catch (cause) {
      throw new DataLossError(
        `cache(${JSON.stringify(this.node.filename)}): a cached element cannot be read back (${describeValue(cause)}). Delete the file to rebuild the cache.`,
        { cause },
      );
    }
  }

  /**
   * The input ended: the cache file is complete (written now, unless bypassing); this
   * iterator is at the end from now on, saved as a reader at the end of the file.
   */
  private finishWriting(): void {
    const writer = this.writer;
    this.writer = null;
    if (writer !== null) writer.finish();
    if (this.input !== null) this.closer.close(this.input);
    this.input = null;
    this.mode = "read";
    this.ended = true;
  }

  /** True at the end of a pass (the reader's, or the writer's input's). */
  private ended = false;

  async save(ctx: SaveContext): Promise<OpState> {
    if (this.mode === "read") {
      const reader = this.ended ? AT_END : this.reader === null ? undefined : await this.reader.save(ctx);
      return reader === undefined ? { kind: KIND, version: VERSION, mode: "read" } : { kind: KIND, version: VERSION, mode: "read", reader };
    }
    const input = await this.openInput().save(ctx);
    const writer = this.writer;
    writer?.flush();
    const written = writer === null ? null : { temp: writer.temp, bytes: writer.bytes, count: writer.count };
    return { kind: KIND, version: VERSION, mode: this.mode, input, written };
  }

  async restore(state: OpState): Promise<void> {
    const { mode, reader, input, written } = STATE.read(state);
    await this.close();
    this.ended = false;
    if (mode === "read") {
      this.mode = "read";
      if (reader !== undefined && (reader as { fileIndex?: unknown }).fileIndex === 1) this.ended = true;
      else await this.openReader(reader);
      return;
    }
    this.input = this.node.openInput(this.ctx);
    this.mode = mode;
    if (mode === "write") {
      this.writer = written === null || written === undefined ? null : resumeWriter(this.node.filename, written);
      if (this.writer === null) this.mode = "bypass";
    }
    await this.input.restore(input as OpState);
  }

  async close(): Promise<void> {
    // An unfinished cache is of no use to anyone: a state saved from it restores as "bypass".
    this.writer?.discard();
    this.writer = null;
    for (const it of [this.input, this.reader]) if (it !== null) this.closer.close(it);
    this.input = null;
    this.reader = null;
    await this.closer.drain();
  }
}

/**
 * A writer that goes on from a saved one: a copy of the first `bytes` of its temporary file
 * under a name of its own (the saving iterator may go on, or delete its file), or null when
 * that file is gone or shorter (then this pass writes nothing).
 */
function resumeWriter(filename: string, written: { readonly temp: string; readonly bytes: number; readonly count: number }): CacheWriter | null {
  if (!existsSync(written.temp) || statSync(written.temp).size < written.bytes) return null;
  const temp = temporaryPathFor(filename);
  try {
    copyFileSync(written.temp, temp, constants.COPYFILE_FICLONE);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return null; // deleted meanwhile
    throw fileSystemError(error, { access: "write", doing: "copying", path: written.temp, purpose: `Resuming the cache ${JSON.stringify(filename)}` });
  }
  return new CacheWriter(filename, temp, written.bytes, written.count, null);
}
