/**
 * `Dataset.textLines`: the UTF-8 lines of text files, through the shared record-file reader.
 *
 * @module
 */
import type { RecordFileCompression } from "./file-bytes.js";
import { RecordFileNode, checkIndex } from "./record-file-source.js";
import type { RecordContext, RecordFormat, RecordResult } from "./record-format.js";
import { UTF8, checkTextFileArgs, findLine, textMaxRecordBytes } from "./text-file-args.js";

/** Options of `Dataset.textLines`, `Dataset.jsonl` and `Dataset.csv`. */
export interface TextFileOptions {
  /** Compression of every file (default `"none"`). */
  readonly compression?: RecordFileCompression;
  /**
   * The most bytes one line (a CSV row: all its lines) may span, its line end included
   * (default 256 MiB, at most 536,870,888: the longest string JavaScript holds). The reader
   * never buffers more: a longer line is a `DataLossError` naming the file, byte offset and
   * line, and the rest of that file is not read.
   */
  readonly maxRecordBytes?: number;
  /**
   * `textLines` and `jsonl`: build (or reuse) an offset index of the lines, kept beside each
   * file as `<file>.checkpipe-index`, so the dataset has random access. Uncompressed files only;
   * errors then name byte offsets, not line numbers. Not for `csv`. Default false.
   */
  readonly index?: boolean;
}

/** Lines as a {@link RecordFormat}: each line's text without its `\n` or `\r\n`. */
export const textLinesFormat: RecordFormat<string> = {
  name: "TextLines",
  countsLines: true,
  decode(buffer: Uint8Array, offset: number, ctx: RecordContext): RecordResult<string> | null {
    const line = findLine(buffer, offset, ctx);
    if (line === null) return null;
    return { value: UTF8.decode(buffer.subarray(offset, line.textEnd)), end: line.end, lines: line.lines };
  },
};

/**
 * The text-lines source over `paths`, after checking the arguments.
 *
 * @throws {InvalidArgumentError} for a path that is not a non-empty string or an unknown compression.
 */
export function textLinesNode(paths: readonly unknown[], options: TextFileOptions): RecordFileNode<string> {
  const compression = checkTextFileArgs("Dataset.textLines", paths, options.compression);
  return new RecordFileNode(
    paths as readonly string[],
    textLinesFormat,
    compression,
    textMaxRecordBytes("Dataset.textLines", options),
    checkIndex("Dataset.textLines", options.index, compression),
  );
}
