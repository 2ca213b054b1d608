/**
 * The pipeline description an iterator state carries (`"Range -> Shuffle(10) -> Batch(4)"`,
 * what `String(dataset)` returns), read back into ops and their parameters, so that `inspect`
 * can show each op of the state tree with the parameters it was built with (`Shuffle(10)`).
 *
 * @module
 */

/** One op of a description: its name and what its parentheses hold (`"10"`, `"4, stack"`), null without any. */
export interface DescribedOp {
  readonly name: string;
  readonly params: string | null;
  /** Its parameters split at the top-level commas (the inputs of a `Zip(Range, Range -> Take(3))`). */
  readonly args: readonly string[];
}

/** Splits `text` at `separator` where it is outside every pair of parentheses or brackets. */
export function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (depth === 0 && text.startsWith(separator, i)) {
      parts.push(text.slice(start, i));
      start = i + separator.length;
      i += separator.length - 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim());
}

const OP = /^([A-Za-z_$][\w$]*)(?:\((.*)\))?$/s;

/**
 * The ops of a description, the source first, or null when it does not read as one.
 *
 * @example
 * describedOps("Range -> Shuffle(10)"); // [{ name: "Range", params: null, args: [] }, { name: "Shuffle", params: "10", args: ["10"] }]
 */
export function describedOps(description: string): DescribedOp[] | null {
  const ops: DescribedOp[] = [];
  for (const segment of splitTopLevel(description, "->")) {
    const match = OP.exec(segment);
    if (match === null) return null;
    const params = match[2] ?? null;
    ops.push({ name: match[1] ?? segment, params, args: params === null ? [] : splitTopLevel(params, ",") });
  }
  return ops;
}
