/**
 * What a bulk pull leaves over when a user function fails part-way: the error, to be raised by
 * the next call, and the input elements already pulled after the failing one, to be processed
 * after it. Both are saved with the op's state, so a bulk pull never changes the sequence.
 *
 * @module
 */
import { decodeError, encodeError } from "./iterator.js";
import { decodeValues, encodeValues, type BlobSink, stateArray, type JsonValue, type OpState } from "./state.js";

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

  /** The fields to add to the op's saved state (none when nothing is held). */
  save(path: string, sink: BlobSink | undefined): { [field: string]: JsonValue } {
    if (this.empty) return {};
    const fields: { [field: string]: JsonValue } = { pending: encodeValues(this.pending.slice(this.head), path, sink) };
    if (this.failure !== null) fields["failure"] = encodeError(this.failure.error);
    return fields;
  }

  restore(state: OpState): void {
    this.pending = state["pending"] === undefined ? [] : (decodeValues(stateArray(state, "pending")) as T[]);
    this.head = 0;
    this.failure = state["failure"] === undefined ? null : { error: decodeError(state["failure"]) };
  }
}
