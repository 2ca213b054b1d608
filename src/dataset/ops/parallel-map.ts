import { UnaryIterator, END, type End, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { arrayOf, boolean, opState, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { held } from "../../core/value-codec.js";
import type { MapFn } from "./map.js";
import { OrderedResults, failed, running, settle, succeeded, type Call } from "./ordered-results.js";

const KIND = "ParallelMap";

/** Where `map(fn, { parallel: "auto" })` starts, and the most it grows to. */
export const AUTO_PARALLEL = { start: 2, max: 64 } as const;
const VERSION = 1;
/** The results not yet handed out (held entries), and the input ahead of them. */
const STATE = stateSchema(KIND, VERSION, { inputEnded: boolean, results: arrayOf(held), input: opState });

/**
 * `map(fn, { parallel: n })`: keeps up to `n` calls running and delivers their results in
 * input order. Saving waits for the running calls and saves the results not yet delivered.
 */
export class ParallelMapIterator<T, U> extends UnaryIterator<T, U> {
  private readonly results = new OrderedResults<U>();
  private inputEnded = false;
  /** The calls that may run at once now: fixed, or grown by "auto". */
  private parallel: number;
  private readonly auto: boolean;

  constructor(
    input: OpIterator<T>,
    private readonly fn: MapFn<T, U>,
    parallel: number | "auto",
  ) {
    super(input);
    this.auto = parallel === "auto";
    this.parallel = parallel === "auto" ? AUTO_PARALLEL.start : parallel;
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

  private deliver(): Pull<U> {
    this.adapt();
    return this.results.deliver();
  }

  private deliverMany(out: U[], max: number): number | Promise<number> {
    this.adapt();
    return this.results.deliverMany(out, max);
  }

  /** "auto": when the consumer must wait for the oldest call, allow twice as many at once (results keep their order). */
  private adapt(): void {
    if (this.auto && this.parallel < AUTO_PARALLEL.max && this.results.waiting()) this.parallel = Math.min(AUTO_PARALLEL.max, this.parallel * 2);
  }

  /** Starts calls until `parallel` are outstanding or the input ends. */
  private fill(): void | Promise<void> {
    while (!this.inputEnded && this.results.length < this.parallel) {
      let pulled: Pull<T>;
      try {
        pulled = this.input.next();
      } catch (error) {
        this.results.push(failed(error));
        continue;
      }
      if (pulled instanceof Promise) {
        return pulled.then(
          (value) => {
            this.accept(value);
            return this.fill();
          },
          (error: unknown) => {
            this.results.push(failed(error));
            return this.fill();
          },
        );
      }
      this.accept(pulled);
    }
  }

  private accept(value: T | End): void {
    if (value === END) this.inputEnded = true;
    else this.results.push(this.start(value));
  }

  private start(value: T): Call<U> {
    let result: U | Promise<U>;
    try {
      result = this.fn(value);
    } catch (error) {
      return failed(error);
    }
    if (!(result instanceof Promise)) return succeeded(result);
    const call: Call<U> = running<U>(
      result.then(
        (v): void => settle(call, { ok: true, value: v }),
        (error: unknown): void => settle(call, { ok: false, error: error as Error }),
      ),
    );
    return call;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    const results = await this.results.save(ctx, "map result");
    return { kind: KIND, version: VERSION, inputEnded: this.inputEnded, results, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { inputEnded, results, input } = STATE.read(state);
    this.inputEnded = inputEnded;
    this.results.restore(results);
    await this.input.restore(input);
  }

  override async close(): Promise<void> {
    await this.results.clear();
    await this.input.close();
  }
}
