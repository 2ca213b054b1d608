/**
 * Finding and splitting one RFC 4180 row: quoted fields, `""` escapes, line ends inside
 * quotes, `\n` and `\r\n`. Line ends are found by scanning bytes; quotes and delimiters are
 * ASCII, so each line is decoded once and rows are split as strings.
 *
 * @module
 */
import type { RecordContext } from "./record-format.js";
import { UTF8 } from "./text-file-args.js";

const NEWLINE = 0x0a;
const CR = 0x0d;

/** A row found in a buffer: its text (without its line end); the next row starts at `end`. */
export interface FoundRow {
  readonly text: string;
  readonly end: number;
  /** How many line ends the row spans (those inside quotes and its own). */
  readonly lines: number;
  /** True when the file ends inside a quoted field. */
  readonly unterminated: boolean;
}

/**
 * Finds the row at `offset`; null when more bytes are needed, or at the end when nothing is
 * left. A line end is inside quotes exactly when an odd number of quotes precede it in the
 * row (`""` counts twice), so a row is found line by line, counting quotes.
 */
export function findRow(buffer: Uint8Array, offset: number, ctx: RecordContext): FoundRow | null {
  let text = "";
  let quotes = 0;
  let lines = 0;
  let separator = "\n";
  for (let from = offset; ;) {
    const newline = buffer.indexOf(NEWLINE, from);
    if (newline === -1 && (!ctx.atEnd || from >= buffer.length)) {
      if (!ctx.atEnd) return null;
      if (from === offset) return null;
      return { text, end: buffer.length, lines, unterminated: true };
    }
    const lineEnd = newline === -1 ? buffer.length : newline;
    const crlf = lineEnd > from && buffer[lineEnd - 1] === CR;
    const line = UTF8.decode(buffer.subarray(from, crlf ? lineEnd - 1 : lineEnd));
    text = from === offset ? line : `${text}${separator}${line}`;
    separator = crlf ? "\r\n" : "\n";
    for (let q = line.indexOf('"'); q !== -1; q = line.indexOf('"', q + 1)) quotes++;
    const end = newline === -1 ? buffer.length : newline + 1;
    lines += newline === -1 ? 0 : 1;
    if (quotes % 2 === 0) return { text, end, lines, unterminated: false };
    if (newline === -1) return { text, end, lines, unterminated: true };
    from = end;
  }
}

/** Splits a row's text into fields, unquoting quoted ones (`""` stands for `"`). */
export function splitRow(text: string, delimiter: string): string[] {
  if (!text.includes('"')) return text.split(delimiter);
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close === -1) {
          field += text.slice(i);
          i = text.length;
          break;
        }
        field += text.slice(i, close);
        if (text[close + 1] === '"') {
          field += '"';
          i = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
    }
    const next = text.indexOf(delimiter, i);
    field += text.slice(i, next === -1 ? text.length : next); // text after a closing quote is kept as is
    fields.push(field);
    if (next === -1) return fields;
    i = next + delimiter.length;
  }
}
