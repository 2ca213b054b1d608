/**
 * What a checkpoint holds: named values, each saved and restored by a {@link Saveable}.
 *
 * @module
 */
import { DatasetIterator } from "../core/dataset-iterator.js";
import { EXTERNAL_STATE_POLICIES, type ExternalStatePolicy } from "../core/iterator.js";
import type { IteratorState } from "../core/state.js";
import { EncodedState } from "../core/value-codec.js";
import { describeValue, InvalidArgumentError, ValueError } from "../errors.js";

/**
 * One named value of a checkpoint: model variables, iterators and anything else that must
 * survive a restart implement it. `save()` returns the value to write; `restore()` takes back a
 * value read from a checkpoint and replaces the object's whole state with it.
 *
 * A value may be a number, a bigint, a string, a boolean, null, a typed array, an ArrayBuffer,
 * or a tree of those in arrays and plain objects (Maps, Sets and Dates too); typed arrays are
 * stored as raw bytes.
 */
export interface Saveable {
  /** The key of the value in a checkpoint; unique among the saveables of one Saver. */
  readonly name: string;
  /** The value to write now. */
  save(): Promise<unknown>;
  /** Replaces the state with `value`, as read from a checkpoint. */
  restore(value: unknown): Promise<void>;
}

/**
 * A saveable over an iterator: its value is the iterator's whole saved state, under the key
 * `<iterator name>_STATE` (as TensorFlow names it); restoring replaces the iterator's state.
 * Give it to a {@link Saver} together with model variables to keep both in one checkpoint.
 *
 * @param iterator the iterator to save.
 * @param externalStatePolicy what to do when the pipeline holds state that cannot be saved
 *   (default `"fail"`; see `DatasetOptions.externalStatePolicy`).
 * @throws {ValueError} when the policy is not one of `"warn"`, `"ignore"`, `"fail"`.
 * @example
 * const it = Dataset.range(100).shuffle(10, { seed: 1 }).iterator();
 * const saver = new Saver([makeSaveableFromIterator(it)]);
 * await saver.save("runs/a/input.ckpt", { globalStep: 0 });
 */
export function makeSaveableFromIterator(iterator: DatasetIterator<unknown>, externalStatePolicy: ExternalStatePolicy | null = null): Saveable {
  if (!(iterator instanceof DatasetIterator)) {
    throw new ValueError(`makeSaveableFromIterator needs a DatasetIterator; got ${describeValue(iterator)}.`, {
      expected: "a DatasetIterator",
      received: describeValue(iterator),
      fix: "Pass the iterator made by dataset.iterator().",
    });
  }
  const policy = externalStatePolicy ?? "fail";
  if (!EXTERNAL_STATE_POLICIES.includes(policy)) {
    throw new ValueError(`Unsupported external state policy ${describeValue(externalStatePolicy)}. Supported values: "warn", "ignore", "fail".`, {
      expected: '"warn", "ignore" or "fail"',
      received: describeValue(externalStatePolicy),
    });
  }
  return {
    name: `${iterator.name}_STATE`,
    save: () => iterator.saveEncoded({ externalStatePolicy: policy }),
    restore: (value) => (value instanceof EncodedState ? iterator.restoreEncoded(value) : iterator.restore(value as IteratorState)),
  };
}

/**
 * A saveable over a plain value held somewhere else: `get` reads it when a checkpoint is
 * saved, `set` takes it back on restore. Numbers, bigints, strings, typed arrays and JSON trees
 * (with Maps, Sets, Dates) are all stored exactly; typed arrays as raw bytes.
 *
 * On restore the value must have the kind the current one has: a number for a number, a typed
 * array of the same type and length for a typed array.
 *
 * @param name the key in the checkpoint.
 * @param get reads the current value.
 * @param set replaces it.
 * @throws {ValueError} when `name` is empty.
 * @example
 * let weights = new Float32Array(784);
 * const w = makeSaveable("weights", () => weights, (v) => { weights = v; });
 */
export function makeSaveable<T>(name: string, get: () => T | Promise<T>, set: (value: T) => void | Promise<void>): Saveable {
  if (typeof name !== "string" || name === "") {
    throw new ValueError(`A saveable needs a non-empty name; got ${describeValue(name)}.`, {
      expected: "a non-empty string",
      received: describeValue(name),
    });
  }
  return {
    name,
    save: async () => await get(),
    restore: async (value) => {
      checkSameKind(name, await get(), value);
      await set(value as T);
    },
  };
}

/** Refuses a restored value whose kind differs from the current one. */
function checkSameKind(name: string, current: unknown, restored: unknown): void {
  const kind = (v: unknown): string => {
    if (ArrayBuffer.isView(v)) return `${v.constructor.name === "Buffer" ? "Uint8Array" : v.constructor.name}(${(v as Uint8Array).length})`;
    if (v === null || Array.isArray(v)) return "tree";
    return typeof v === "object" ? "tree" : typeof v;
  };
  const want = kind(current);
  const got = kind(restored);
  const scalar = (k: string): boolean => k !== "tree" && k !== "undefined";
  if (scalar(want) && want !== got) {
    throw new InvalidArgumentError(`Cannot restore "${name}": the checkpoint holds a ${got} where the value is a ${want}.`, {
      expected: want,
      received: got,
      fix: "Restore a checkpoint saved by the same model, or build the value with the shape the checkpoint has.",
    });
  }
}
