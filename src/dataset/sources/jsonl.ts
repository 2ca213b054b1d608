/**
 * `Dataset.jsonl`: one JSON value per non-blank line, through the shared record-file reader.
 *
 * @module
 */
import { InvalidArgumentError } from "../../errors.js";
import { RecordFileNode, checkIndex } from "./record-file-source.js";
import type { RecordContext, RecordFormat, RecordResult } from "./record-format.js";
import { UTF8, byteOrderMark, checkTextFileArgs, findLine, lineLabel, textMaxRecordBytes } from "./text-file-args.js";
import type { TextFileOptions } from "./text-lines.js";

/** Options of `Dataset.jsonl`. */
export type JsonlOptions = TextFileOptions;

/**
 * JSON Lines as a {@link RecordFormat}. Blank lines (only whitespace) are skipped; a line
 * that is not JSON is an `InvalidArgumentError` confined to it, naming the file and line.
 */
export const jsonlFormat: RecordFormat<unknown> = {
  name: "JSONL",
  countsLines: true,
  decode(buffer: Uint8Array, offset: number, ctx: RecordContext): RecordResult<unknown> | null {
    const bom = byteOrderMark(buffer, offset, ctx);
    if (bom !== 0) return bom === null ? null : { skip: true, end: offset + bom };
    const line = findLine(buffer, offset, ctx);
    if (line === null) return null;
    const text = UTF8.decode(buffer.subarray(offset, line.textEnd));
    try {
      return { value: JSON.parse(text) as unknown, end: line.end, lines: line.lines };
    } catch (cause) {
      if (text.trim() === "") return { skip: true, end: line.end, lines: line.lines };
      return { error: malformedLine(ctx, text, cause), end: line.end, lines: line.lines };
    }
  },
};

function malformedLine(ctx: RecordContext, text: string, cause: unknown): InvalidArgumentError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const shown = text.length > 80 ? `${JSON.stringify(text.slice(0, 80))}…` : JSON.stringify(text);
  return new InvalidArgumentError(
    `JSONL file ${JSON.stringify(ctx.source)}, line ${lineLabel(ctx)}: expected one JSON value; got ${shown} (${reason}). ` +
      `Fix or remove the line, or skip bad lines with .ignoreErrors().`,
    { expected: "one JSON value per line", received: shown, fix: "Fix or remove the line, or skip bad lines with .ignoreErrors().", cause },
  );
}

/**
 * The JSONL source over `paths`, after checking the arguments.
 *
 * @throws {InvalidArgumentError} for a path that is not a non-empty string or an unknown compression.
 */
export function jsonlNode(paths: readonly unknown[], options: JsonlOptions): RecordFileNode<unknown> {
  const compression = checkTextFileArgs("Dataset.jsonl", paths, options.compression);
  return new RecordFileNode(
    paths as readonly string[],
    jsonlFormat,
    compression,
    textMaxRecordBytes("Dataset.jsonl", options),
    checkIndex("Dataset.jsonl", options.index, compression),
  );
}
