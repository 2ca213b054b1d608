/**
 * What the text readers (`textLines`, `jsonl`, `csv`) share: the checks of their paths and
 * compression, and finding the next line in a buffer of UTF-8 bytes.
 *
 * @module
 */
import { invalidArgument } from "../../errors.js";
import type { RecordFileCompression } from "./file-bytes.js";
import { checkMaxRecordBytes } from "./record-file-source.js";
import type { RecordContext } from "./record-format.js";

const COMPRESSIONS: readonly unknown[] = ["none", "gzip", "zlib"];
const NEWLINE = 0x0a;
const CR = 0x0d;

/** Decodes UTF-8 (malformed bytes become U+FFFD); shared because it holds no state. */
export const UTF8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * Checks the paths and compression of the text reader `op` (e.g. `"Dataset.jsonl"`).
 *
 * @throws {InvalidArgumentError} for a path that is not a non-empty string or an unknown compression.
 */
export function checkTextFileArgs(op: string, paths: readonly unknown[], compression: unknown): RecordFileCompression {
  paths.forEach((path, i) => {
    if (typeof path !== "string" || path === "") {
      throw invalidArgument(
        `${op}(files)${paths.length === 1 ? "" : `[${i}]`}`,
        "a file path (a non-empty string)",
        path,
        `Pass a path, an array of paths, or a Dataset of paths, e.g. ${op}("data/train.txt").`,
      );
    }
  });
  const chosen = compression ?? "none";
  if (!COMPRESSIONS.includes(chosen)) {
    throw invalidArgument(
      `${op}(files, { compression })`,
      '"none", "gzip" or "zlib"',
      chosen,
      'Use "gzip" for .gz files, "zlib" for zlib streams, or leave it out for plain files.',
    );
  }
  return chosen as RecordFileCompression;
}

/** The longest string JavaScript holds: a longer line could not be decoded into one. */
const MAX_STRING_LENGTH = 536_870_888;

/**
 * Checks the `maxRecordBytes` option of the text reader `op` and returns it (256 MiB when left out).
 *
 * @throws {InvalidArgumentError} for anything but an integer from 1 to 536,870,888.
 */
export function textMaxRecordBytes(op: string, options: { readonly maxRecordBytes?: unknown }): number {
  return checkMaxRecordBytes(op, options.maxRecordBytes, MAX_STRING_LENGTH);
}

/** One line found in a buffer: its text bytes are `[offset, textEnd)`, the next line starts at `end`. */
export interface FoundLine {
  readonly textEnd: number;
  readonly end: number;
  /** 1 when the line ends with `\n`, 0 for a last line without one. */
  readonly lines: number;
}

/**
 * Finds the line that starts at `offset`: up to `\n` (a `\r` before it is not part of the
 * line). A last line without `\n` counts at the end of the file. Null when more bytes are
 * needed, or at the end of the file when nothing is left.
 */
export function findLine(buffer: Uint8Array, offset: number, ctx: RecordContext): FoundLine | null {
  const newline = buffer.indexOf(NEWLINE, offset);
  if (newline === -1) {
    if (!ctx.atEnd || offset >= buffer.length) return null;
    return { textEnd: buffer.length, end: buffer.length, lines: 0 };
  }
  const textEnd = newline > offset && buffer[newline - 1] === CR ? newline - 1 : newline;
  return { textEnd, end: newline + 1, lines: 1 };
}

/** The line number to name in an error: the known number, or "?" after a state saved without it. */
export function lineLabel(ctx: RecordContext): string {
  return ctx.line === null ? `? (byte ${ctx.position})` : String(ctx.line);
}

/**
 * At the very start of a file, the length of a UTF-8 byte order mark there (3, or 0), or
 * null when fewer than 3 bytes are buffered and more may come.
 */
export function byteOrderMark(buffer: Uint8Array, offset: number, ctx: RecordContext): number | null {
  if (ctx.position !== 0) return 0;
  if (buffer.length - offset < 3) return ctx.atEnd ? 0 : null;
  return buffer[offset] === 0xef && buffer[offset + 1] === 0xbb && buffer[offset + 2] === 0xbf ? 3 : 0;
}
