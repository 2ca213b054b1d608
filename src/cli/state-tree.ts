/**
 * An iterator state as a tree of ops, for `checkpipe inspect`: each op's kind and state
 * version, where it sits in the state, its scalar fields (positions, seeds, counts, flags), the
 * fill of its lists (buffers, positions), and the ops it reads from. Driven by the saved state
 * itself (every op state has a `kind`, a `version` and its inputs' states among its fields), so
 * it shows ops it does not know too; the pipeline description adds each op's parameters.
 *
 * @module
 */
import { pathTo } from "../core/schema.js";
import type { JsonValue } from "../core/state.js";
import { describedOps, type DescribedOp } from "./pipeline-description.js";

/** One op of a saved pipeline. */
export interface OpReport {
  /** The op, e.g. `"Shuffle"`. */
  readonly kind: string;
  /** Its state's format version. */
  readonly version: number;
  /** Where its state sits in the iterator state, e.g. `"root.input.inputs[1]"` (the path restore errors name). */
  readonly at: string;
  /** Its parameters as the pipeline description gives them (`"10"` for `Shuffle(10)`), null when it gives none. */
  readonly params: string | null;
  /** Its scalar fields: positions, seeds, counts, flags (long strings shortened). */
  readonly fields: Readonly<Record<string, string | number | boolean | null>>;
  /** How many items each of its list fields holds: buffers, positions, held elements. */
  readonly sizes: Readonly<Record<string, number>>;
  /** The states of the ops it reads from, in the order they sit in its state. */
  readonly inputs: readonly OpReport[];
}

type SavedOp = { readonly kind: string; readonly version: number; readonly [field: string]: JsonValue };

const MAX_STRING = 48;
const MAX_DEPTH = 6;

function isOpState(value: unknown): value is SavedOp {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { kind?: unknown }).kind === "string" &&
    typeof (value as { version?: unknown }).version === "number"
  );
}

/** How many ops follow one another through `input` fields from `state` down. */
function chainLength(state: unknown): number {
  let n = 0;
  for (let s = state; isOpState(s); s = s["input"]) n++;
  return n;
}

/** Whether a description's op name and a state's kind name the same op (`Batch` and `StackBatch`, `Cache` and `FileCache`). */
function sameOp(name: string, kind: string): boolean {
  return kind.includes(name) || name.includes(kind);
}

/** The described ops of the chain from `state` down, when the description has as many as the chain (else null: no parameters shown). */
function chainFor(state: unknown, description: string | null): DescribedOp[] | null {
  if (description === null) return null;
  const ops = describedOps(description);
  return ops !== null && ops.length === chainLength(state) ? ops : null;
}

/** The op states nested in `value` (not inside other op states), with their paths, a few levels down at most. */
function nestedOps(value: unknown, path: string, depth: number): { state: SavedOp; at: string }[] {
  if (depth > MAX_DEPTH || typeof value !== "object" || value === null) return [];
  if (isOpState(value)) return [{ state: value, at: path }];
  const children: [string | number, unknown][] = Array.isArray(value) ? value.map((child, i) => [i, child]) : Object.entries(value);
  return children.flatMap(([key, child]) => nestedOps(child, pathTo(path, key), depth + 1));
}

function report(state: unknown, at: string, chain: readonly DescribedOp[] | null): OpReport {
  if (!isOpState(state)) return { kind: "?", version: 0, at, params: null, fields: { state: describe(state) }, sizes: {}, inputs: [] };
  const described = chain?.[chain.length - 1];
  const own = described !== undefined && sameOp(described.name, state.kind) ? described : undefined;
  const fields: Record<string, string | number | boolean | null> = {};
  const sizes: Record<string, number> = {};
  const nested: { state: SavedOp; at: string; key: string }[] = [];
  for (const [key, value] of Object.entries(state)) {
    if (key === "kind" || key === "version") continue;
    const found = nestedOps(value, pathTo(at, key), 0);
    if (found.length > 0) nested.push(...found.map((n) => ({ ...n, key })));
    else if (value === null || typeof value === "number" || typeof value === "boolean") fields[key] = value;
    else if (typeof value === "string") fields[key] = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
    else if (typeof value === "object") sizes[key] = Array.isArray(value) ? value.length : Object.keys(value).length;
  }
  // The `input` chain continues the description; other inputs (a zip's) take its parameters in order.
  const others = nested.filter((n) => n.key !== "input");
  const argsAreInputs = own !== undefined && others.length > 0 && own.args.length === others.length;
  const chains = others.map((n, i) => (argsAreInputs ? chainFor(n.state, own.args[i] ?? null) : null));
  const inputs = nested.map((n) => {
    if (n.key === "input") return report(n.state, n.at, chain === null ? null : chain.slice(0, -1));
    return report(n.state, n.at, chains[others.indexOf(n)] ?? null);
  });
  // Parameters that are the descriptions of its inputs (`Zip(Range, Range -> Take(3))`) are said by those inputs.
  const params = own === undefined || (argsAreInputs && chains.every((c) => c !== null)) ? null : own.params;
  return { kind: state.kind, version: state.version, at, params, fields, sizes, inputs };
}

/**
 * The tree of a saved op state (an iterator state's `root`), each op with the parameters that
 * `pipeline` (the state's description) gives it; an op of kind `"?"` when `state` is not one.
 *
 * @param state the op state, e.g. an iterator state's `root`.
 * @param pipeline the iterator state's `pipeline` description, if it has one.
 * @example
 * opReport({ kind: "Take", version: 1, taken: 3, input: { kind: "Range", version: 1, index: 3 } }, "Range -> Take(5)");
 * // { kind: "Take", params: "5", fields: { taken: 3 }, inputs: [{ kind: "Range", at: "root.input", ... }], ... }
 */
export function opReport(state: unknown, pipeline: string | null = null): OpReport {
  return report(state, "root", chainFor(state, pipeline));
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? `a list of ${value.length}` : "an object";
}
