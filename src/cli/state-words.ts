/**
 * A state tree in words, for `checkpipe inspect`: one line per op, the op nearest the output
 * first and the ops it reads from indented below it, each named by where it sits when that is
 * not its reader's `input` (`inputs[1]`, `slots[0].state`):
 *
 * ```
 * Prefetch(2) v1: input ended no; buffer 2 items
 *   Batch(4) v1
 *     Shuffle(10) v3: seed 1, input ended no, pulled 37; buffer empty, positions 9 items
 * ```
 *
 * @module
 */
import type { OpReport } from "./state-tree.js";

/** A field name in words: `inputEnded` → `input ended`, `fileIndex` → `file index`. */
export function fieldInWords(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase();
}

/** A scalar field's value in words: `yes` / `no` for flags, `none` for null, strings quoted. */
export function valueInWords(value: string | number | boolean | null): string {
  if (value === null) return "none";
  if (typeof value === "boolean") return value ? "yes" : "no";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** How many items a list holds, in words: `empty`, `1 item`, `9 items`. */
export function countInWords(n: number): string {
  return n === 0 ? "empty" : n === 1 ? "1 item" : `${n} items`;
}

/**
 * One op in words, without the ops it reads from.
 *
 * @example
 * opLine({ kind: "Prefetch", version: 1, at: "root", params: "2", fields: { inputEnded: false }, sizes: { buffer: 2 }, inputs: [] });
 * // "Prefetch(2) v1: input ended no; buffer 2 items"
 */
export function opLine(op: OpReport): string {
  const scalars = Object.entries(op.fields).map(([key, value]) => `${fieldInWords(key)} ${valueInWords(value)}`);
  const lists = Object.entries(op.sizes).map(([key, n]) => `${fieldInWords(key)} ${countInWords(n)}`);
  const parts = [scalars.join(", "), lists.join(", ")].filter((part) => part !== "");
  const name = op.params === null ? op.kind : `${op.kind}(${op.params})`;
  return `${name} v${op.version}${parts.length === 0 ? "" : `: ${parts.join("; ")}`}`;
}

/** Where `op` sits under its reader, as a label (`inputs[1]: `); nothing when it is the reader's only input, its `input`. */
function label(op: OpReport, reader: OpReport | null): string {
  if (reader === null || !op.at.startsWith(`${reader.at}.`)) return "";
  const where = op.at.slice(reader.at.length + 1);
  return where === "input" && reader.inputs.length === 1 ? "" : `${where}: `;
}

/**
 * The tree's lines, the op nearest the output first, each op it reads from indented below it.
 *
 * @param indent put before every line (the tree's own indentation adds two spaces a level).
 */
export function treeLines(op: OpReport, indent = "", reader: OpReport | null = null): string[] {
  const lines = [`${indent}${label(op, reader)}${opLine(op)}`];
  for (const input of op.inputs) lines.push(...treeLines(input, `${indent}  `, op));
  return lines;
}
