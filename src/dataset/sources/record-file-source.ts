/**
 * The reader of "files of records" that every file source shares (TFRecord, text lines, JSONL
 * and CSV): large buffered reads, records decoded synchronously while the buffer holds them,
 * and a state of (file index, byte offset) that restore seeks to; formats that count lines
 * also keep the line number and a note about the current file (e.g. a CSV header).
 *
 * @module
 */
import { END, SourceNode, type OpIterator, type Pull } from "../../core/iterator.js";
import { integer, json, nullable, olderVersion, optional, stateSchema, type StateSchema } from "../../core/schema.js";
import type { JsonValue, OpState } from "../../core/state.js";
import { InvalidArgumentError, invalidArgument } from "../../errors.js";
import type { RandomAccess } from "../../core/random-access.js";
import { RecordIndex } from "./record-index.js";
import { openByteSource, type ByteSource, type RecordFileCompression } from "./file-bytes.js";
import { READ_BUFFER_BYTES, oversizedRecordError, type RecordContext, type RecordFormat, type RecordResult } from "./record-format.js";

/** The default of the readers' `maxRecordBytes`: 256 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = 256 * 2 ** 20;

/**
 * Checks a reader's `maxRecordBytes` option and returns it (the default when left out).
 *
 * @param op - The reader, for the message, e.g. `"Dataset.textLines"`.
 * @param most - The largest value the format allows.
 * @throws {InvalidArgumentError} for anything but an integer from 1 to `most`.
 */
export function checkMaxRecordBytes(op: string, value: unknown, most: number): number {
  if (value === undefined) return DEFAULT_MAX_RECORD_BYTES;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > most) {
    throw invalidArgument(
      `${op}(files, { maxRecordBytes })`,
      `an integer from 1 to ${most}`,
      value,
      `Pass the size in bytes of the largest record the files hold, or leave it out for ${DEFAULT_MAX_RECORD_BYTES} (256 MiB).`,
    );
  }
  return value;
}

/**
 * Checks a reader's `index` option (a boolean, uncompressed files only) and returns it.
 *
 * @throws {InvalidArgumentError} for a non-boolean, or an index of compressed files.
 */
export function checkIndex(op: string, value: unknown, compression: RecordFileCompression): boolean {
  if (value === undefined || value === false) return false;
  if (value !== true)
    throw invalidArgument(`${op}(files, { index })`, "a boolean", value, "Pass true to build an offset index (random access), or leave it out.");
  if (compression !== "none")
    throw invalidArgument(
      `${op}(files, { index })`,
      "uncompressed files (a compressed file cannot be read from an offset)",
      compression,
      "Decompress the files first, or leave index out.",
    );
  return true;
}

/** What a record file source's state holds, in the current form. */
interface RecordFileState {
  readonly fileIndex: number;
  readonly offset: number;
  /** Null when unknown, or for formats that do not count lines. */
  readonly line: number | null;
  readonly note: JsonValue | null;
}

/**
 * The state of a record file source: `{ fileIndex, offset }`, and for formats that count lines
 * `line` and `note` too (version 2; version 1 states of those formats may lack them: unknown).
 */
function recordFileState(format: RecordFormat<unknown>): StateSchema<RecordFileState> {
  const position = { fileIndex: integer(0), offset: integer(0) };
  if (format.countsLines !== true) {
    return stateSchema<RecordFileState>(format.name, 1, { ...position, line: () => null, note: () => null });
  }
  const note = nullable(format.noteField ?? json);
  return stateSchema<RecordFileState>(
    format.name,
    2,
    { ...position, line: nullable(integer(1)), note },
    {
      older: [
        olderVersion(1, { ...position, line: optional(nullable(integer(1))), note: optional(note) }, (s) => ({
          ...s,
          line: s.line ?? null,
          note: s.note ?? null,
        })),
      ],
    },
  );
}

/** Returned by `step()` when bytes must be read (or a file opened or closed) first. */
const NEED = Symbol("need bytes");
/** Returned by `step()` in bulk pulls instead of raising an error after some elements. */
const STOP = Symbol("stop before an error");

/**
 * A source reading the records of `files` in order. Its state is `{ fileIndex, offset }`:
 * the file of the next record and that record's byte offset in it; for formats that count
 * lines also `line` (the next record's 1-based line number, null when unknown: a state saved
 * without it still restores) and `note` (what the format noted about the current file).
 * Formats that count lines write version 2, which always has them; a version 1 state of theirs
 * may lack them (unknown / null). TFRecord, which counts none, stays at version 1.
 *
 * Restoring a plain file seeks to the offset at no cost. A compressed file cannot seek:
 * restoring it decompresses the current file from its start and discards the bytes before
 * the offset, a cost that grows with the offset (within the current file only).
 */
export class RecordFileNode<T> extends SourceNode<T> {
  readonly label: string;
  private readonly files: readonly string[];
  private schema: StateSchema<RecordFileState> | null = null;

  constructor(
    files: readonly string[],
    private readonly format: RecordFormat<T>,
    private readonly compression: RecordFileCompression,
    private readonly maxRecordBytes: number = DEFAULT_MAX_RECORD_BYTES,
    index = false,
  ) {
    super();
    this.files = [...files];
    this.label = format.name;
    if (index) {
      let built: RecordIndex<T> | null = null;
      // Built at the first use, in one pass over the files (or read from beside them).
      this.randomAccess = () => (built ??= new RecordIndex(this.files, this.format, this.maxRecordBytes));
    }
  }

  /** With `index: true`: the records by index (see record-index.ts). */
  readonly randomAccess?: () => RandomAccess<T>;

  cardinality(): null {
    return null;
  }

  makeIterator(): OpIterator<T> {
    return new RecordFileIterator(this.files, this.format, this.compression, this.maxRecordBytes, (this.schema ??= recordFileState(this.format)));
  }
}

class RecordFileIterator<T> implements OpIterator<T> {
  /** The file being read, `files.length` at the end. */
  private fileIndex = 0;
  /** The byte offset in that file of `buffer[start]`, the next record. */
  private offset = 0;
  /** The 1-based line number of the next record, null when unknown; only for `countsLines` formats. */
  private line: number | null = 1;
  /** The format's note about the current file. */
  private note: JsonValue | null = null;
  private source: ByteSource | null = null;
  /** True when `source` has no more bytes: the buffer holds the rest of the file. */
  private eof = false;
  private buffer = new Uint8Array(0);
  /** `buffer` up to the last byte read: what the format decodes. */
  private view = this.buffer;
  private start = 0;
  /** Closes of files left behind, awaited before the end is reported and by close(). */
  private closing: Promise<void> | null = null;
  /** The read or open under way, awaited by close() and restore(). */
  private pending: Promise<void> | null = null;
  private closed = false;
  private closeFailure: { readonly error: unknown } | null = null;

  constructor(
    private readonly files: readonly string[],
    private readonly format: RecordFormat<T>,
    private readonly compression: RecordFileCompression,
    private readonly maxRecordBytes: number,
    private readonly schema: StateSchema<RecordFileState>,
  ) {}

  next(): Pull<T> {
    const result = this.step(true);
    return result === NEED ? this.nextAsync() : (result as T | typeof END);
  }

  nextMany(out: T[], max: number): number | Promise<number> {
    const count = this.pullSync(out, max);
    return count === NEED ? this.nextManyAsync(out, max) : count;
  }

  async save(): Promise<OpState> {
    const state: OpState = { kind: this.format.name, version: this.schema.version, fileIndex: this.fileIndex, offset: this.offset };
    return this.format.countsLines === true ? { ...state, line: this.line, note: this.note } : state;
  }

  async restore(state: OpState): Promise<void> {
    const { fileIndex, offset, line, note } = this.schema.read(state);
    if (fileIndex > this.files.length) {
      throw new InvalidArgumentError(
        `Cannot restore ${this.format.name}: its saved state points at file ${fileIndex}, byte ${offset}, and this ` +
          `dataset reads ${this.files.length} file(s). Restore into a dataset built from the same files.`,
        { expected: `a file index from 0 to ${this.files.length} and an offset ≥ 0`, received: `${fileIndex}, ${offset}` },
      );
    }
    await this.settle();
    this.retire();
    const closing = this.closing;
    this.closing = null;
    await closing;
    this.fileIndex = fileIndex;
    this.offset = offset;
    this.line = offset === 0 ? 1 : line;
    this.note = offset === 0 ? null : note;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.settle();
    this.retire();
    await this.closing;
    if (this.closeFailure !== null) throw this.closeFailure.error;
  }

  /**
   * Hands out the next record, the end, or NEED when bytes must come first. Raises a record's
   * error only when `raise` is set; otherwise returns STOP and leaves the state as it was.
   */
  private step(raise: boolean): T | typeof END | typeof NEED | typeof STOP {
    if (this.fileIndex >= this.files.length || this.closed) return this.closing === null ? END : NEED;
    if (this.source === null) return NEED;
    for (;;) {
      let result: RecordResult<T> | null;
      const ctx: RecordContext = {
        source: this.files[this.fileIndex] as string,
        position: this.offset,
        atEnd: this.eof,
        line: this.format.countsLines === true ? this.line : null,
        note: this.note,
        maxRecordBytes: this.maxRecordBytes,
      };
      try {
        result = this.format.decode(this.view, this.start, ctx);
        if (result === null ? !this.eof && this.view.length - this.start > this.maxRecordBytes : result.end - this.start > this.maxRecordBytes) {
          throw oversizedRecordError(this.format.name, ctx, result === null ? null : result.end - this.start);
        }
      } catch (error) {
        if (!raise) return STOP;
        this.nextFile();
        throw error;
      }
      if (result === null) {
        if (!this.eof) return NEED;
        this.nextFile();
        return NEED;
      }
      if ("error" in result) {
        if (!raise) return STOP;
        this.advance(result);
        throw result.error;
      }
      this.advance(result);
      if (!("skip" in result)) return result.value;
    }
  }

  private advance(result: RecordResult<T>): void {
    this.offset += result.end - this.start;
    this.start = result.end;
    if (this.line !== null && result.lines !== undefined) this.line += result.lines;
    if (result.note !== undefined) this.note = result.note;
  }

  private async nextAsync(): Promise<T | typeof END> {
    for (;;) {
      await this.fetch();
      const result = this.step(true);
      if (result !== NEED) return result as T | typeof END;
    }
  }

  private async nextManyAsync(out: T[], max: number): Promise<number> {
    for (;;) {
      await this.fetch();
      const count = this.pullSync(out, max);
      if (count !== NEED) return count;
    }
  }

  /** Appends what the buffer holds (up to `max`); NEED when it holds nothing yet. */
  private pullSync(out: T[], max: number): number | typeof NEED {
    let count = 0;
    while (count < max) {
      const result = this.step(count === 0);
      if (result === NEED || result === STOP || result === END) {
        if (result === NEED && count === 0) return NEED;
        break;
      }
      out.push(result);
      count++;
    }
    return count;
  }

  /** Makes progress for `step()`: waits for closes at the end, opens the next file, or reads. */
  private fetch(): Promise<void> {
    const work = this.fetchNow();
    this.pending = work;
    return work.finally(() => {
      if (this.pending === work) this.pending = null;
    });
  }

  private async fetchNow(): Promise<void> {
    if (this.fileIndex >= this.files.length || this.closed) {
      const closing = this.closing;
      this.closing = null;
      await closing;
      return;
    }
    if (this.source === null) {
      const path = this.files[this.fileIndex] as string;
      try {
        this.source = await openByteSource(this.format.name, path, this.compression, this.offset);
      } catch (error) {
        this.nextFile();
        throw error;
      }
      this.eof = false;
      this.start = 0;
      this.view = this.buffer.subarray(0, 0);
      return;
    }
    await this.fill(this.source);
  }

  /**
   * Reads more of the file behind what the buffer holds until the buffer is full or the file
   * ends, growing it (to at most `maxRecordBytes + 1`) only for a record larger than it. Filling
   * it whole keeps decoding linear: a record is looked for again once per doubling, not per read.
   */
  private async fill(source: ByteSource): Promise<void> {
    let length = this.view.length - this.start;
    if (this.start > 0) {
      this.buffer.copyWithin(0, this.start, this.view.length);
      this.start = 0;
    }
    if (length === this.buffer.length) {
      const grown = new Uint8Array(Math.max(READ_BUFFER_BYTES, Math.min(this.buffer.length * 2, this.maxRecordBytes + 1)));
      grown.set(this.buffer.subarray(0, length));
      this.buffer = grown;
    }
    this.view = this.buffer.subarray(0, length);
    while (length < this.buffer.length) {
      let read: number;
      try {
        read = await source.read(this.buffer, length, this.buffer.length - length);
      } catch (error) {
        if (source === this.source) this.nextFile();
        throw error;
      }
      if (source !== this.source) return; // closed or restored meanwhile
      if (read === 0) {
        this.eof = true;
        break;
      }
      length += read;
      this.view = this.buffer.subarray(0, length);
    }
  }

  /** Leaves the current file (at its end, or after an error that spoils the rest of it). */
  private nextFile(): void {
    this.retire();
    this.fileIndex++;
    this.offset = 0;
    this.line = 1;
    this.note = null;
  }

  /** Closes the current file in the background and forgets the buffered bytes. */
  private retire(): void {
    const source = this.source;
    this.source = null;
    this.eof = false;
    this.start = 0;
    this.view = this.buffer.subarray(0, 0);
    if (source === null) return;
    // A failed close is kept (not left unhandled) and reported by close().
    const closing = source.close().catch((error: unknown) => {
      this.closeFailure ??= { error };
    });
    const before = this.closing;
    this.closing = before === null ? closing : Promise.all([before, closing]).then(() => undefined);
  }

  /** Waits for the read or open under way (its outcome belongs to the pull that started it). */
  private async settle(): Promise<void> {
    await this.pending?.catch(() => undefined);
  }
}
