/**
 * Argument checks shared by the ops: each throws `InvalidArgumentError` saying what was
 * expected, what was got, and how to fix it.
 *
 * @module
 */
import { invalidArgument } from "../errors.js";

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

/** Requires an options object (or undefined). */
export function requireOptions<O extends object>(subject: string, value: O | undefined): O | Record<string, never> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidArgument(subject, "an options object", value, "Pass an object such as { seed: 42 }, or nothing.");
  }
  return value;
}

/**
 * Requires an options object (or undefined) whose keys are all among `known`.
 *
 * @throws {InvalidArgumentError} for a non-object, or an unknown key (the message lists the known ones).
 */
export function requireKnownOptions<O extends object>(subject: string, value: O | undefined, known: readonly string[]): O | Record<string, never> {
  const options = requireOptions(subject, value);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw invalidArgument(`${subject}: option ${JSON.stringify(key)}`, `one of the known options ${known.join(", ")}`, key, "Remove the unknown option or correct its spelling.");
    }
  }
  return options;
}
