/**
 * Argument checks shared by the ops: each throws `InvalidArgumentError` saying what was
 * expected, what was got, and how to fix it.
 *
 * @module
 */
import { InvalidArgumentError, invalidArgument } from "../errors.js";

/** Requires an integer in `[min, max]`. */
export function requireInteger(subject: string, value: unknown, min: number, fix: string, max = Infinity): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    throw invalidArgument(subject, range, value, fix);
  }
  return value;
}

/** Requires a function. */
export function requireFunction<F>(subject: string, value: F, fix: string): F {
  if (typeof value !== "function") throw invalidArgument(subject, "a function", value, fix);
  return value;
}

/**
 * Requires an options object (or undefined) whose keys are all among `known` (when given): a
 * misspelt or foreign option (`drop_remainder`, `numParallelCalls`) would otherwise be ignored
 * without a word.
 *
 * @param example - An options object for this call, shown in the fix, e.g. `"{ dropRemainder: true }"`.
 */
export function requireOptions<O extends object>(
  subject: string,
  value: O | undefined,
  known?: readonly string[],
  example?: string,
): O | Record<string, never> {
  if (value === undefined) return {};
  const shown = example ?? (known !== undefined && known.length > 0 ? `{ ${known[0]}: … }` : "{ … }");
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidArgument(subject, "an options object", value, `Pass an object such as ${shown}, or nothing.`);
  }
  if (known !== undefined) {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        const list = known.length === 0 ? "none" : known.join(", ");
        throw new InvalidArgumentError(`${subject} has no option ${JSON.stringify(key)}; its options are: ${list}. Fix the name, or remove it.`, {
          expected: `one of: ${list}`,
          received: JSON.stringify(key),
          fix: `Use one of its options (${list}), e.g. ${shown}.`,
          reason: "OPTION_UNKNOWN",
        });
      }
    }
  }
  return value;
}
