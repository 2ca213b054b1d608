/**
 * An iterator state as a tree of ops in words, for `checkpipe inspect`: each op's kind and
 * state version, its scalar fields (positions, seeds, counts, flags) and the fill of its
 * buffers, with the ops it reads from below it. Driven by the saved state itself (every op
 * state has a `kind`, a `version` and its inputs' states among its fields), so it shows ops it
 * does not know too.
 *
 * @module
 */
import type { JsonValue } from "../core/state.js";

/** One op of a saved pipeline. */
export interface OpReport {
  /** The op, e.g. `"Shuffle"`. */
  readonly kind: string;
  /** Its state's format version. */
  readonly version: number;
  /** Its scalar fields: positions, seeds, counts, flags (long strings shortened). */
  readonly fields: Readonly<Record<string, string | number | boolean | null>>;
  /** How many items each of its list fields holds: buffers, positions, held elements. */
  readonly sizes: Readonly<Record<string, number>>;
  /** The states of the ops it reads from, in order. */
  readonly inputs: readonly OpReport[];
}

const MAX_STRING = 48;

function isOpState(value: unknown): value is { kind: string; version: number; [field: string]: JsonValue } {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { kind?: unknown }).kind === "string" &&
    typeof (value as { version?: unknown }).version === "number"
  );
}

/** The op states nested in `value` (not inside other op states), at most a few levels down. */
function nestedOps(value: unknown, depth = 0): OpReport[] {
  if (depth > 4 || typeof value !== "object" || value === null) return [];
  if (isOpState(value)) return [opReport(value)];
  const children = Array.isArray(value) ? value : Object.values(value);
  return children.flatMap((child) => nestedOps(child, depth + 1));
}

/**
 * The tree of a saved op state, or null when `state` is not one.
 *
 * @example
 * opReport({ kind: "Range", version: 1, next: 47 }); // { kind: "Range", version: 1, fields: { next: 47 }, sizes: {}, inputs: [] }
 */
export function opReport(state: unknown): OpReport {
  if (!isOpState(state)) return { kind: "?", version: 0, fields: { state: describe(state) }, sizes: {}, inputs: [] };
  const fields: Record<string, string | number | boolean | null> = {};
  const sizes: Record<string, number> = {};
  const inputs: OpReport[] = [];
  for (const [key, value] of Object.entries(state)) {
    if (key === "kind" || key === "version") continue;
    if (isOpState(value)) inputs.push(opReport(value));
    else if (value === null || typeof value === "number" || typeof value === "boolean") fields[key] = value;
    else if (typeof value === "string") fields[key] = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
    else {
      const nested = nestedOps(value);
      if (nested.length > 0) inputs.push(...nested);
      else sizes[key] = Array.isArray(value) ? value.length : Object.keys(value).length;
    }
  }
  return { kind: state.kind, version: state.version, fields, sizes, inputs };
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? `a list of ${value.length}` : "an object";
}

/**
 * One op in words: `Shuffle v3: seed 7, inputEnded false; buffer 10, positions 10`.
 *
 * @example
 * opLine({ kind: "Prefetch", version: 2, fields: {}, sizes: { buffer: 2 }, inputs: [] }); // "Prefetch v2: buffer 2"
 */
export function opLine(op: OpReport): string {
  const scalars = Object.entries(op.fields).map(([key, value]) => `${key} ${typeof value === "string" ? JSON.stringify(value) : String(value)}`);
  const lists = Object.entries(op.sizes).map(([key, n]) => `${key} ${n}`);
  const parts = [scalars.join(", "), lists.join(", ")].filter((part) => part !== "");
  return `${op.kind} v${op.version}${parts.length === 0 ? "" : `: ${parts.join("; ")}`}`;
}

/** The tree's lines, the op nearest the output first, each input indented below the op reading it. */
export function treeLines(op: OpReport, indent = ""): string[] {
  const lines = [`${indent}${opLine(op)}`];
  for (const input of op.inputs) lines.push(...treeLines(input, `${indent}  `));
  return lines;
}
