/**
 * Saved states described as data (DESIGN.md, "Second wave"): each op declares the fields of its
 * saved state, version by version, and restoring reads the state through that description —
 * every field checked, element values decoded, older versions upgraded — or fails with an
 * `InvalidArgumentError` naming the op, the path of the bad field in the whole state
 * (`root.input.buffer[3].value`) and what was expected there.
 *
 * A `Field<T>` reads one value; `stateSchema(kind, version, shape, older)` reads one op's state.
 * Nested op states are only checked to be op states here: each op reads its own, and finds its
 * path in the state tree where its parent's schema left it.
 *
 * @module
 */
import { describeValue, InvalidArgumentError } from "../errors.js";
import type { JsonValue, OpState } from "./state.js";

/** Reads and checks the value at `path` of a saved state; throws a {@link FieldError} when it does not fit. */
export type Field<T> = (value: unknown, path: string) => T;

/** The fields of one version of an op's state, each with its reader; `kind` and `version` are implied. */
export type Shape<T> = { readonly [K in keyof T]-?: Field<T[K]> };

/** A field that does not fit its description: caught by the schema, which names the op. */
export class FieldError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
    readonly got: string,
  ) {
    super(`${path} should be ${expected}; got ${got}`);
  }
}

/** Throws a {@link FieldError} for `value` at `path`. */
export function misfit(path: string, expected: string, value: unknown, detail?: string): never {
  throw new FieldError(path, expected, detail === undefined ? describeValue(value) : `${describeValue(value)} (${detail})`);
}

/** The path of `key` under `path` (`root.input`, `root.buffer[3]`). */
export function pathTo(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path === "" ? key : `${path}.${key}`;
}

/** Where each nested op state sits in the state being restored, as its parent's schema found it. */
const placed = new WeakMap<object, string>();

/** The path of an op state in the state being restored ("root" when nobody placed it). */
export function pathOf(state: object): string {
  return placed.get(state) ?? "root";
}

/** Records where a nested op state sits, for the errors its op raises. */
export function place(state: object, path: string): void {
  placed.set(state, path);
}

// ---------------------------------------------------------------------------------------------
// Fields.

/** An integer (a safe one), at least `min` (default: any). */
export function integer(min = Number.MIN_SAFE_INTEGER): Field<number> {
  const expected = min === Number.MIN_SAFE_INTEGER ? "an integer" : min === 0 ? "an integer ≥ 0" : `an integer ≥ ${min}`;
  return (value, path) => {
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= min) return value;
    return misfit(path, expected, value);
  };
}

/** A finite number. */
export const finite: Field<number> = (value, path) => (typeof value === "number" && Number.isFinite(value) ? value : misfit(path, "a finite number", value));

/** A boolean. */
export const boolean: Field<boolean> = (value, path) => (typeof value === "boolean" ? value : misfit(path, "a boolean", value));

/** A string. */
export const string: Field<string> = (value, path) => (typeof value === "string" ? value : misfit(path, "a string", value));

/** One of the given strings. */
export function oneOf<const V extends string>(...values: readonly V[]): Field<V> {
  const expected = values.map((v) => JSON.stringify(v)).join(" or ");
  return (value, path) => ((values as readonly unknown[]).includes(value) ? (value as V) : misfit(path, expected, value));
}

/** Any JSON value, taken as it is (a format's own note, read by the format). */
export const json: Field<JsonValue> = (value, path) => {
  if (value === undefined || typeof value === "function" || typeof value === "symbol" || typeof value === "bigint") return misfit(path, "a JSON value", value);
  return value as JsonValue;
};

/** `field`, or null. */
export function nullable<T>(field: Field<T>): Field<T | null> {
  return (value, path) => (value === null ? null : field(value, path));
}

/** `field`, or absent (undefined). */
export function optional<T>(field: Field<T>): Field<T | undefined> {
  return (value, path) => (value === undefined ? undefined : field(value, path));
}

/** An array whose items are each `item` (read with their index in the path). */
export function arrayOf<T>(item: Field<T>): Field<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) return misfit(path, "an array", value);
    const out: T[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = item(value[i], pathTo(path, i));
    return out;
  };
}

/** A record with exactly these fields (absent ones only where `optional`). */
export function record<T>(shape: Shape<T>, name = "a record"): Field<T> {
  const keys = Object.keys(shape) as (keyof T & string)[];
  return (value, path) => {
    if (!isRecord(value)) return misfit(path, name, value);
    return readFields(value, shape, keys, path, new Set(keys));
  };
}

/** A nested op state (its op reads it); remembers where it sits, for that op's errors. */
export const opState: Field<OpState> = (value, path) => {
  if (!isRecord(value) || typeof value["kind"] !== "string" || typeof value["version"] !== "number") {
    return misfit(path, "a saved iterator state ({ kind, version, ... })", value);
  }
  place(value, path);
  return value as OpState;
};

function readFields<T>(value: Record<string, unknown>, shape: Shape<T>, keys: readonly (keyof T & string)[], path: string, known: ReadonlySet<string>): T {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) misfit(pathTo(path, key), "absent (not a field of this state)", value[key]);
  }
  const out = {} as T;
  for (const key of keys) out[key] = shape[key](value[key], pathTo(path, key));
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Schemas of op states.

/** How an older version of an op's state is read and brought to the current form. */
export interface OlderVersion<T> {
  readonly version: number;
  /** Reads a state of this version (its fields checked) into the current form. */
  read(state: Record<string, unknown>, path: string): T;
}

/**
 * An older version of an op's state: its fields, and the upgrade to the current form.
 *
 * @param version the older version's number.
 * @param shape its fields.
 * @param upgrade turns its fields into the current version's.
 */
export function olderVersion<V, T>(version: number, shape: Shape<V>, upgrade: (fields: V) => T): OlderVersion<T> {
  const keys = Object.keys(shape) as (keyof V & string)[];
  const known = new Set<string>(["kind", "version", ...keys]);
  return { version, read: (state, path) => upgrade(readFields(state, shape, keys, path, known)) };
}

/** The saved state of one op kind: its current version, and the older ones it still reads. */
export interface StateSchema<T> {
  readonly kind: string;
  readonly version: number;
  /**
   * Reads a saved state of this op: checks `kind`, reads every field of its version (upgrading
   * an older version to the current form).
   *
   * @throws {InvalidArgumentError} naming the op, the path of the bad field and what was expected.
   */
  read(state: unknown): T;
}

/** More of a state schema: the older versions it reads, and checks across fields. */
export interface StateSchemaOptions<T> {
  /** The older versions it still reads, each with its upgrade. */
  readonly older?: readonly OlderVersion<T>[];
  /** Checks the fields together, once read (in the current form); calls {@link misfit} for one that does not fit. */
  readonly check?: (fields: T, path: string) => void;
}

/**
 * The schema of an op's saved state.
 *
 * @param kind the op's kind, e.g. `"Shuffle"`.
 * @param version the version this code writes.
 * @param shape the fields of that version.
 * @param options the older versions it still reads, and checks across fields.
 * @example
 * const STATE = stateSchema("Take", 1, { taken: integer(0), input: opState });
 * const { taken, input } = STATE.read(state);
 */
export function stateSchema<T>(kind: string, version: number, shape: Shape<T>, options: StateSchemaOptions<T> = {}): StateSchema<T> {
  const older = options.older ?? [];
  const keys = Object.keys(shape) as (keyof T & string)[];
  const known = new Set<string>(["kind", "version", ...keys]);
  const versions = [...older.map((o) => o.version), version].sort((a, b) => a - b);
  const readable = versions.length === 1 ? `version ${version}` : `versions ${versions.join(", ")}`;
  return {
    kind,
    version,
    read(state: unknown): T {
      const path = typeof state === "object" && state !== null ? pathOf(state) : "root";
      if (!isRecord(state) || typeof state["kind"] !== "string" || typeof state["version"] !== "number") {
        throw new InvalidArgumentError(
          `Cannot restore ${kind}: expected the saved state of a ${kind} iterator at ${path}; got ${describeValue(state)}. ` +
            `Pass the state returned by save() of an iterator over a dataset built the same way.`,
          { expected: `${kind} state`, received: describeValue(state), reason: "STATE_INVALID" },
        );
      }
      if (state["kind"] !== kind) {
        throw new InvalidArgumentError(
          `Cannot restore ${kind}: the saved state at this place in the pipeline (${path}) is of ${state["kind"]}, not ${kind}. ` +
            `The state was saved from a differently built pipeline; restore it into a dataset built the same way.`,
          { expected: kind, received: state["kind"], reason: "STATE_KIND_MISMATCH" },
        );
      }
      const saved = state["version"];
      try {
        const upgrade = older.find((o) => o.version === saved);
        const fields = saved === version ? readFields(state, shape, keys, path, known) : upgrade?.read(state, path);
        if (fields !== undefined) {
          options.check?.(fields, path);
          return fields;
        }
      } catch (error) {
        if (!(error instanceof FieldError)) throw error;
        throw new InvalidArgumentError(
          `Cannot restore ${kind}: ${error.message}. The state is damaged or was not written by checkpipe; restore an intact state.`,
          { expected: error.expected, received: error.got, reason: "STATE_INVALID" },
        );
      }
      throw new InvalidArgumentError(
        `Cannot restore ${kind}: its saved state (${path}) has version ${describeValue(saved)}, and this version of checkpipe reads ` +
          `${readable}. Restore it with the checkpipe version that saved it.`,
        { expected: readable, received: `version ${describeValue(saved)}`, reason: "STATE_VERSION_UNSUPPORTED" },
      );
    },
  };
}
