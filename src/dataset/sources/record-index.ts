/**
 * The offset index of record files (`index: true`): where each record of each file starts and
 * ends, found in one pass over the files and kept beside each file as `<file>.checkpipe-index`
 * (valid while the file's size and modification time are those it was built for; rebuilt
 * otherwise, and kept in memory only when the directory is read-only). With it the records have
 * random access: `get(i)` reads and decodes record `i` alone.
 *
 * @module
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from "node:fs";
import type { RandomAccess } from "../../core/random-access.js";
import { DataLossError } from "../../errors.js";
import { fileSystemError } from "../../io/fs-errors.js";
import { temporaryPathFor } from "../../io/file-plan.js";
import { READ_BUFFER_BYTES, oversizedRecordError, type RecordContext, type RecordFormat, type RecordResult } from "./record-format.js";

/** The suffix of an index file beside its data file. */
export const INDEX_SUFFIX = ".checkpipe-index";
const MAGIC = "checkpipe.record-index";
const VERSION = 1;
/** How many files keep an open descriptor for reads by index. */
const OPEN_FILES = 32;

/** One file's records: byte ranges; a range that ends at -1 stands for an error that spoils the rest of the file. */
interface FileIndex {
  readonly starts: Float64Array;
  readonly ends: Float64Array;
}

/** Random access to the records of `files` in order, through their offset indexes. */
export class RecordIndex<T> implements RandomAccess<T> {
  readonly length: number;
  private readonly indexes: FileIndex[];
  /** Records before each file. */
  private readonly before: number[];
  private readonly fds = new Map<string, number>();

  constructor(
    private readonly files: readonly string[],
    private readonly format: RecordFormat<T>,
    private readonly maxRecordBytes: number,
  ) {
    this.indexes = files.map((file) => loadOrBuild(file, format, maxRecordBytes));
    this.before = [];
    let total = 0;
    for (const index of this.indexes) {
      this.before.push(total);
      total += index.starts.length;
    }
    this.length = total;
  }

  get(i: number): T {
    // The last file with fewer records before it than i + 1.
    let low = 0;
    let high = this.before.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.before[mid] as number) <= i) low = mid;
      else high = mid - 1;
    }
    const f = low;
    const index = this.indexes[f] as FileIndex;
    const k = i - (this.before[f] as number);
    const file = this.files[f] as string;
    const start = index.starts[k] as number;
    const fd = this.open(file);
    const end = (index.ends[k] as number) === -1 ? fstatSync(fd).size : (index.ends[k] as number);
    const bytes = new Uint8Array(end - start);
    readFully(fd, bytes, start, file);
    const ctx: RecordContext = { source: file, position: start, atEnd: true, line: null, note: null, maxRecordBytes: this.maxRecordBytes };
    const result = this.format.decode(bytes, 0, ctx);
    if (result === null || "skip" in result || result.end !== bytes.length) {
      throw new DataLossError(
        `${this.format.name} file ${JSON.stringify(file)}, record at byte ${start}: it is not where its index says (the file changed since the index was built). Delete ${JSON.stringify(file + INDEX_SUFFIX)} to rebuild it.`,
      );
    }
    if ("error" in result) throw result.error;
    return result.value;
  }

  private open(file: string): number {
    let fd = this.fds.get(file);
    if (fd !== undefined) {
      this.fds.delete(file); // most recent last
      this.fds.set(file, fd);
      return fd;
    }
    try {
      fd = openSync(file, "r");
    } catch (error) {
      throw fileSystemError(error, { access: "read", doing: "opening", path: file, purpose: `Reading a ${this.format.name} record by index` });
    }
    this.fds.set(file, fd);
    if (this.fds.size > OPEN_FILES) {
      const [oldest, old] = this.fds.entries().next().value as [string, number];
      this.fds.delete(oldest);
      closeSync(old);
    }
    return fd;
  }
}

function readFully(fd: number, into: Uint8Array, position: number, file: string): void {
  for (let at = 0; at < into.length;) {
    let n: number;
    try {
      n = readSync(fd, into, at, into.length - at, position + at);
    } catch (error) {
      throw fileSystemError(error, { access: "read", doing: "reading", path: file });
    }
    if (n === 0)
      throw new DataLossError(
        `File ${JSON.stringify(file)} ends at byte ${position + at}, before the record its index names. Delete ${JSON.stringify(file + INDEX_SUFFIX)} to rebuild it.`,
      );
    at += n;
  }
}

/** The file's index from beside it when it still fits the file, else built (and written beside it when possible). */
function loadOrBuild(file: string, format: RecordFormat<unknown>, maxRecordBytes: number): FileIndex {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (error) {
    throw fileSystemError(error, { access: "read", doing: "opening", path: file, purpose: `Indexing ${format.name} records` });
  }
  try {
    const { size, mtimeMs } = fstatSync(fd);
    const header = { magic: MAGIC, version: VERSION, format: format.name, size, mtimeMs };
    const loaded = load(file + INDEX_SUFFIX, header);
    if (loaded !== null) return loaded;
    const built = scan(fd, file, size, format, maxRecordBytes);
    save(file + INDEX_SUFFIX, header, built);
    return built;
  } finally {
    closeSync(fd);
  }
}

/** Layout: one line of JSON (the header and the record count), then the starts and the ends as float64. */
function load(path: string, header: object): FileIndex | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return null;
  }
  const newline = bytes.indexOf(0x0a);
  if (newline === -1) return null;
  let saved: { count?: unknown } & Record<string, unknown>;
  try {
    saved = JSON.parse(bytes.subarray(0, newline).toString("utf8")) as typeof saved;
  } catch {
    return null;
  }
  const { count, ...rest } = saved;
  if (JSON.stringify(rest) !== JSON.stringify(header) || typeof count !== "number" || !Number.isInteger(count) || count < 0) return null;
  const body = bytes.subarray(newline + 1);
  if (body.length !== count * 16) return null;
  const copy = new Uint8Array(body); // aligned for Float64Array
  return { starts: new Float64Array(copy.buffer, 0, count), ends: new Float64Array(copy.buffer, count * 8, count) };
}

function save(path: string, header: object, index: FileIndex): void {
  const count = index.starts.length;
  const head = Buffer.from(`${JSON.stringify({ ...header, count })}\n`);
  const temp = temporaryPathFor(path);
  try {
    writeFileSync(
      temp,
      Buffer.concat([
        head,
        Buffer.from(index.starts.buffer, index.starts.byteOffset, count * 8),
        Buffer.from(index.ends.buffer, index.ends.byteOffset, count * 8),
      ]),
    );
    renameSync(temp, path);
  } catch {
    // A read-only directory: the index lives in memory only.
  }
}

/** One pass over the file: the range of every record the format decodes (skips left out). */
function scan(fd: number, file: string, size: number, format: RecordFormat<unknown>, maxRecordBytes: number): FileIndex {
  const starts: number[] = [];
  const ends: number[] = [];
  let buffer = new Uint8Array(Math.min(READ_BUFFER_BYTES * 4, Math.max(1, size)));
  let base = 0; // file offset of buffer[0]
  let length = 0;
  let start = 0;
  let note: RecordContext["note"] = null;
  for (;;) {
    const atEnd = base + length >= size;
    const ctx: RecordContext = { source: file, position: base + start, atEnd, line: null, note, maxRecordBytes };
    let result: RecordResult<unknown> | null;
    try {
      result = format.decode(buffer.subarray(0, length), start, ctx);
      if (result === null ? !atEnd && length - start > maxRecordBytes : result.end - start > maxRecordBytes)
        throw oversizedRecordError(format.name, ctx, result === null ? null : result.end - start);
    } catch {
      starts.push(base + start);
      ends.push(-1);
      break;
    }
    if (result === null) {
      if (atEnd) break;
      // More bytes: keep the record's start, grow only for a record larger than the buffer.
      buffer.copyWithin(0, start, length);
      base += start;
      length -= start;
      start = 0;
      if (length === buffer.length) {
        const grown = new Uint8Array(Math.min(buffer.length * 2, maxRecordBytes + 1));
        grown.set(buffer);
        buffer = grown;
      }
      while (length < buffer.length && base + length < size) {
        const n = readSync(fd, buffer, length, buffer.length - length, base + length);
        if (n === 0) break;
        length += n;
      }
      continue;
    }
    if (result.note !== undefined) note = result.note;
    if (!("skip" in result)) {
      starts.push(base + start);
      ends.push(base + result.end);
    }
    start = result.end;
  }
  return { starts: Float64Array.from(starts), ends: Float64Array.from(ends) };
}
