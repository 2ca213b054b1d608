/**
 * Results of calls started in input order and handed out in that order, whatever finishes
 * first: what `map(fn, { parallel })` and `mapInWorkers` share. A save waits for the calls
 * under way and keeps every result not handed out as a held entry.
 *
 * @module
 */
import { END, type End, type Pull, type SaveContext } from "../../core/iterator.js";
import { Queue } from "../../core/queue.js";
import type { JsonValue } from "../../core/state.js";
import { encodeHeld, type Held } from "../../core/value-codec.js";

/** One call, in input order: running, or settled with a value or an error. */
export interface Call<U> {
  settled: boolean;
  ok: boolean;
  value: U | undefined;
  error: unknown;
  /** Resolves once the call settled (never rejects); null when it settled at once. */
  done: Promise<void> | null;
}

/** A call that settled at once with `value`. */
export function succeeded<U>(value: U): Call<U> {
  return { settled: true, ok: true, value, error: undefined, done: null };
}

/** A call that settled at once with `error`. */
export function failed<U>(error: unknown): Call<U> {
  return { settled: true, ok: false, value: undefined, error, done: null };
}

/** A call still running; settle it with {@link settle}. */
export function running<U>(done: Promise<void>): Call<U> {
  return { settled: false, ok: false, value: undefined, error: undefined, done };
}

/** Settles a running call. */
export function settle<U>(call: Call<U>, entry: Held<U>): void {
  call.settled = true;
  call.ok = entry.ok;
  if (entry.ok) call.value = entry.value;
  else call.error = entry.error;
}

/** The calls not yet handed out, oldest first. */
export class OrderedResults<U> {
  private readonly calls = new Queue<Call<U>>();

  /** How many calls are held (running or settled). */
  get length(): number {
    return this.calls.length;
  }

  /** True when the oldest call still runs: handing it out would wait. */
  waiting(): boolean {
    const first = this.calls.peekFirst();
    return first !== undefined && !first.settled;
  }

  push(call: Call<U>): void {
    this.calls.push(call);
  }

  /** The oldest call's result (raising its error), waiting for it if it runs; END when none is held. */
  deliver(): Pull<U> {
    if (this.calls.length === 0) return END;
    const call = this.calls.shift();
    if (call.settled) return unwrap(call);
    return (call.done as Promise<void>).then(() => unwrap(call));
  }

  /** Hands out the settled successes at the front (up to `max`), or waits for the first call. */
  deliverMany(out: U[], max: number): number | Promise<number> {
    const calls = this.calls;
    const first = calls.peekFirst();
    if (first === undefined) return 0;
    if (!first.settled || !first.ok) {
      const value = this.deliver();
      return value instanceof Promise ? value.then((v) => pushResult(out, v)) : pushResult(out, value);
    }
    let n = 0;
    for (let call = calls.peekFirst(); n < max && call !== undefined && call.settled && call.ok; call = calls.peekFirst()) {
      out.push(calls.shift().value as U);
      n++;
    }
    return n;
  }

  /** Waits until every held call settled. */
  async settled(): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/await-thenable -- a mix of values and Promises: Promise.all waits for those that are Promises
    await Promise.all(this.calls.toArray().map((call) => call.done));
  }

  /** Every held result as a held entry, once all settled. */
  async save(ctx: SaveContext, what: string): Promise<JsonValue[]> {
    await this.settled();
    return this.calls
      .toArray()
      .map((call, i) => encodeHeld(call.ok ? { ok: true, value: call.value } : { ok: false, error: call.error }, `${what} ${i}`, ctx.sink));
  }

  /** Replaces what is held by saved entries. */
  restore(entries: readonly Held<unknown>[]): void {
    this.calls.clear();
    for (const entry of entries) this.calls.push(entry.ok ? succeeded(entry.value as U) : failed(entry.error));
  }

  /** Waits for the running calls and forgets every result. */
  async clear(): Promise<void> {
    await this.settled();
    this.calls.clear();
  }
}

function pushResult<U>(out: U[], value: U | End): number {
  if (value === END) return 0;
  out.push(value);
  return 1;
}

function unwrap<U>(call: Call<U>): U {
  if (!call.ok) throw call.error;
  return call.value as U;
}
