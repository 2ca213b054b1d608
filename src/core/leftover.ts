/**
 * What a bulk pull leaves over when a user function fails part-way: the error, to be raised by
 * the next call, and the input elements already pulled after the failing one, to be processed
 * after it. Both are saved with the op's state — as held entries (`held: [{ error }, { value },
 * ...]`, the first an error when one waits), so a bulk pull never changes the sequence.
 *
 * @module
 */
import { arrayOf, misfit, olderVersion, opState, optional, pathTo, stateSchema, type Field, type StateSchema } from "./schema.js";
import type { JsonValue, OpState } from "./state.js";
import { element, encodeHeld, held, savedError, type BlobSink, type Held } from "./value-codec.js";

/** The `held` field of an op that keeps a {@link Leftover}: absent when nothing is held. */
export const leftoverField: Field<Held<unknown>[]> = (value, path) => {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return misfit(path, "an array of held entries", value);
  return value.map((entry: unknown, i) => {
    const read = held(entry, pathTo(path, i));
    if (!read.ok && i > 0) misfit(pathTo(path, i), "an element (only the first held entry may be an error)", entry);
    return read;
  });
};

export class Leftover<T> {
  private pending: T[] = [];
  private head = 0;
  private failure: { readonly error: unknown } | null = null;

  /** True when nothing is held: the op reads its input directly. */
  get empty(): boolean {
    return this.failure === null && this.head === this.pending.length;
  }

  /** Holds `error` (raised by the next `take()`) and `rest` (taken after it). */
  hold(error: unknown, rest: T[]): void {
    this.failure = { error };
    this.pending = rest;
    this.head = 0;
  }

  /** Raises the held error once; then hands out the held elements in order. Call only when not empty. */
  take(): T {
    const failure = this.failure;
    if (failure !== null) {
      this.failure = null;
      throw failure.error;
    }
    const value = this.pending[this.head++] as T;
    if (this.head === this.pending.length) {
      this.pending = [];
      this.head = 0;
    }
    return value;
  }

  /** The fields to add to the op's saved state: `held`, or none when nothing is held. */
  save(path: string, sink: BlobSink | undefined): { held?: JsonValue } {
    if (this.empty) return {};
    const entries: JsonValue[] = [];
    if (this.failure !== null) entries.push(encodeHeld({ ok: false, error: this.failure.error }, path, sink));
    for (let i = this.head; i < this.pending.length; i++) entries.push(encodeHeld({ ok: true, value: this.pending[i] }, pathTo(path, i - this.head), sink));
    return { held: entries };
  }

  /** Takes back what {@link leftoverField} read from a saved state. */
  restore(entries: readonly Held<unknown>[]): void {
    const first = entries[0];
    this.failure = first !== undefined && !first.ok ? { error: first.error } : null;
    this.pending = entries.flatMap((entry) => (entry.ok ? [entry.value as T] : []));
    this.head = 0;
  }

  /**
   * Reads the fields a version 1 state kept a leftover in (`pending`, `failure`) as held
   * entries, for the upgrade of such a state.
   */
  static fromVersion1(pending: readonly unknown[] | undefined, failure: Error | undefined): Held<unknown>[] {
    return [...(failure === undefined ? [] : [{ ok: false as const, error: failure }]), ...(pending ?? []).map((value) => ({ ok: true as const, value }))];
  }
}

/**
 * The state of an op that holds nothing but a leftover (map, filter): version 2, `{ held,
 * input }`; version 1 kept the leftover as `pending` (the elements) and `failure` (the error).
 */
export function leftoverStateSchema(kind: string): StateSchema<{ readonly held: Held<unknown>[]; readonly input: OpState }> {
  return stateSchema(
    kind,
    2,
    { held: leftoverField, input: opState },
    {
      older: [
        olderVersion(1, { pending: optional(arrayOf(element)), failure: optional(savedError), input: opState }, ({ pending, failure, input }) => ({
          held: Leftover.fromVersion1(pending, failure),
          input,
        })),
      ],
    },
  );
}
