/**
 * How the records of a file are framed and decoded: the interface a format implements (TFRecord,
 * text lines, JSONL, CSV), what it learns about where its bytes come from, what a decoded record
 * is, and the error for a record larger than the reader may buffer. A module of its own so
 * that the offset index (record-index.ts), which the reader (record-file-source.ts) uses, needs
 * nothing of the reader.
 *
 * @module
 */
import type { JsonValue } from "../../core/state.js";
import { DataLossError } from "../../errors.js";
import type { Field } from "../../core/schema.js";

/** Where the bytes being decoded come from: for error messages, and whether more can come. */
export interface RecordContext {
  /** The file, named in errors. */
  readonly source: string;
  /** The byte offset in the file (decompressed) of the record that starts at `offset`. */
  readonly position: number;
  /** True when the buffer holds every remaining byte of the file: no more will come. */
  readonly atEnd: boolean;
  /**
   * The 1-based line number of the record at `offset`, for formats that count lines
   * (`countsLines`); null when unknown (a state saved without it).
   */
  readonly line: number | null;
  /** What the format noted about the current file (e.g. a CSV header), null until it notes something. */
  readonly note: JsonValue | null;
  /**
   * The most bytes one record may span (framing or line end included). The reader enforces it;
   * a format that learns a record's size early (a TFRecord header) checks it before the bytes
   * are buffered and throws {@link oversizedRecordError}.
   */
  readonly maxRecordBytes: number;
}

/** What a record result may add for formats that count lines or note something about the file. */
export interface RecordExtras {
  /** How many line ends the record (and what was skipped before it) spans. */
  readonly lines?: number;
  /** Replaces the note about the current file (saved with the state). */
  readonly note?: JsonValue;
}

/**
 * One decoded record: its value, or an error confined to it (a bad record whose extent is
 * known, so reading can go on after it); `end` is where the next record starts in the buffer.
 */
export type RecordResult<T> =
  | ({ readonly value: T; readonly end: number } & RecordExtras)
  | ({ readonly error: Error; readonly end: number } & RecordExtras)
  | ({ readonly skip: true; readonly end: number } & RecordExtras);

/** How the records of a file are framed and decoded. */
export interface RecordFormat<T> {
  /** The format's name: the op's label and the `kind` of its saved state, e.g. `"TFRecord"`. */
  readonly name: string;
  /**
   * Decodes the record that starts at `offset` in `buffer` (which ends where the bytes read so
   * far end). Returns null when more bytes are needed; at the end of the file (`atEnd`) null
   * means the leftover bytes hold no record and are ignored. The value must not alias
   * `buffer`, which is reused. Throws when nothing more of the file can be trusted: the error
   * is raised once and reading goes on with the next file.
   */
  decode(buffer: Uint8Array, offset: number, ctx: RecordContext): RecordResult<T> | null;
  /**
   * True when the format counts lines: its state then also holds `line` (the 1-based line
   * number of the next record) and `note` (what it noted about the current file, or null).
   */
  readonly countsLines?: boolean;
  /** Checks the note a saved state holds (default: any JSON value), for formats that note something. */
  readonly noteField?: Field<JsonValue>;
}

/** The first read buffer, in bytes; it grows only for a record larger than it. */
export const READ_BUFFER_BYTES = 1 << 20;

/**
 * The error for a record that spans more than `maxRecordBytes`: the reader never buffers more,
 * so the rest of its file is not read (reading goes on with the next file).
 *
 * @param span - How many bytes the record spans, when known (a TFRecord header says); null
 *   when only "more than the limit" is known.
 */
export function oversizedRecordError(format: string, ctx: RecordContext, span: number | null): DataLossError {
  const where = `${format} file ${JSON.stringify(ctx.source)}, record at byte ${ctx.position}${ctx.line === null ? "" : ` (line ${ctx.line})`}`;
  const size = span === null ? `more than ${ctx.maxRecordBytes} bytes` : `${span} bytes`;
  return new DataLossError(
    `${where}: a record of at most maxRecordBytes = ${ctx.maxRecordBytes} bytes was expected; this one spans ${size}. ` +
      `The rest of this file is not read. If the file is intact and its records are this large, pass a larger ` +
      `maxRecordBytes; otherwise the file is damaged (a missing line end, a corrupt length): regenerate it.`,
    {
      expected: `a record of ≤ ${ctx.maxRecordBytes} bytes`,
      received: size,
      fix: "Pass a larger maxRecordBytes, or regenerate the file.",
      reason: "RECORD_TOO_LARGE",
    },
  );
}
