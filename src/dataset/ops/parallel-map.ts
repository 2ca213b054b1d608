import { END, UnaryIterator, type End, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { Queue } from "../../core/queue.js";
import { arrayOf, boolean, opState, stateSchema } from "../../core/schema.js";
import type { JsonValue, OpState } from "../../core/state.js";
import { encodeHeld, held } from "../../core/value-codec.js";
import type { MapFn } from "./map.js";

const KIND = "ParallelMap";
const VERSION = 1;
/** The results not yet handed out (held entries), and the input ahead of them. */
const STATE = stateSchema(KIND, VERSION, { inputEnded: boolean, results: arrayOf(held), input: opState });

/** One call of the function, in input order: running, or settled with a value or an error. */
interface Call<U> {
  settled: boolean;
  ok: boolean;
  value: U | undefined;
  error: unknown;
  done: Promise<void> | null;
}

/**
 * `map(fn, { parallel: n })`: keeps up to `n` calls running and delivers their results in
 * input order. Saving waits for the running calls and saves the results not yet delivered.
 */
export class ParallelMapIterator<T, U> extends UnaryIterator<T, U> {
  private readonly calls = new Queue<Call<U>>();
  private inputEnded = false;

  constructor(
    input: OpIterator<T>,
    private readonly fn: MapFn<T, U>,
    private readonly parallel: number,
  ) {
    super(input);
  }

  next(): Pull<U> {
    const filling = this.fill();
    if (filling instanceof Promise) return filling.then(() => this.deliver());
    return this.deliver();
  }

  nextMany(out: U[], max: number): number | Promise<number> {
    const filling = this.fill();
    if (filling instanceof Promise) return filling.then(() => this.deliverMany(out, max));
    return this.deliverMany(out, max);
  }

  /** Hands out the results at the front that are ready, or waits for the first one. */
  private deliverMany(out: U[], max: number): number | Promise<number> {
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

  /** Starts calls until `parallel` are outstanding or the input ends. */
  private fill(): void | Promise<void> {
    while (!this.inputEnded && this.calls.length < this.parallel) {
      let pulled: Pull<T>;
      try {
        pulled = this.input.next();
      } catch (error) {
        this.calls.push(failed(error));
        continue;
      }
      if (pulled instanceof Promise) {
        return pulled.then(
          (value) => {
            this.accept(value);
            return this.fill();
          },
          (error: unknown) => {
            this.calls.push(failed(error));
            return this.fill();
          },
        );
      }
      this.accept(pulled);
    }
  }

  private accept(value: T | End): void {
    if (value === END) this.inputEnded = true;
    else this.calls.push(this.start(value));
  }

  private start(value: T): Call<U> {
    let result: U | Promise<U>;
    try {
      result = this.fn(value);
    } catch (error) {
      return failed(error);
    }
    if (!(result instanceof Promise)) return { settled: true, ok: true, value: result, error: undefined, done: null };
    const call: Call<U> = { settled: false, ok: false, value: undefined, error: undefined, done: null };
    call.done = result.then(
      (v) => {
        call.settled = true;
        call.ok = true;
        call.value = v;
      },
      (error: unknown) => {
        call.settled = true;
        call.error = error;
      },
    );
    return call;
  }

  private deliver(): Pull<U> {
    if (this.calls.length === 0) return END;
    const call = this.calls.shift();
    if (call.settled) return unwrap(call);
    return (call.done as Promise<void>).then(() => unwrap(call));
  }

  async save(ctx: SaveContext): Promise<OpState> {
    const calls = this.calls.toArray();
    await Promise.all(calls.map((call) => call.done));
    const results: JsonValue[] = calls.map((call, i) =>
      encodeHeld(call.ok ? { ok: true, value: call.value } : { ok: false, error: call.error }, `map result ${i}`, ctx.sink),
    );
    return { kind: KIND, version: VERSION, inputEnded: this.inputEnded, results, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { inputEnded, results, input } = STATE.read(state);
    this.inputEnded = inputEnded;
    this.calls.clear();
    for (const entry of results) {
      this.calls.push(entry.ok ? { settled: true, ok: true, value: entry.value as U, error: undefined, done: null } : failed(entry.error));
    }
    await this.input.restore(input);
  }

  override async close(): Promise<void> {
    await Promise.all(this.calls.toArray().map((call) => call.done));
    this.calls.clear();
    await this.input.close();
  }
}

function pushResult<U>(out: U[], value: U | End): number {
  if (value === END) return 0;
  out.push(value);
  return 1;
}

function failed<U>(error: unknown): Call<U> {
  return { settled: true, ok: false, value: undefined, error, done: null };
}

function unwrap<U>(call: Call<U>): U {
  if (!call.ok) throw call.error;
  return call.value as U;
}
