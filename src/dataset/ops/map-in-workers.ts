/**
 * `ds.mapInWorkers(module, options)`: the module's export applied to each element on worker
 * threads, results in input order. Elements go to the threads in batches (one message per
 * batch, sized from how long the function takes); the buffers of typed arrays in a result
 * move back without a copy.
 *
 * @module
 */
import {
  UnaryIterator,
  UnaryNode,
  pullMany,
  type DatasetNode,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import { arrayOf, boolean, integer, opState, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { held } from "../../core/value-codec.js";
import { UnavailableError, invalidArgument } from "../../errors.js";
import { requireInteger } from "../validate.js";
import { acquireThreads, replaceThread, ThreadDied, type HostThread } from "../workers/pool.js";
import type { HostReply } from "../workers/protocol.js";
import { workerSpec, type WorkerSpec } from "../workers/module-spec.js";
import { fromWire } from "../workers/wire.js";
import { OrderedResults, failed, running, settle, type Call } from "./ordered-results.js";

const KIND = "MapInWorkers";
const VERSION = 1;
/** How many elements went to the threads so far (for messages), the results not yet handed out, and the input. */
const STATE = stateSchema(KIND, VERSION, { inputEnded: boolean, sent: integer(0), results: arrayOf(held), input: opState });

/** The first batch's size, before the function's cost is known. */
const FIRST_BATCH = 8;
/** The largest batch. */
const MAX_BATCH = 1024;
/** How much work one batch should carry, in milliseconds: enough that a message's cost (tens of µs) is small beside it. */
const BATCH_MS = 4;

/** Options of `mapInWorkers`. */
export interface MapInWorkersOptions {
  /** The export that holds the function (default `"default"`). */
  readonly export?: string;
  /** How many worker threads (default: one per core, `os.availableParallelism()`). */
  readonly workers?: number;
  /**
   * The most elements in flight at once (sent and not yet handed out). Default: two batches
   * per thread, batches sized from the function's cost.
   */
  readonly parallel?: number;
  /**
   * Move the buffers of typed arrays a result owns whole instead of copying them (default true).
   * A function that returns the same array twice gets an error for the second element: return
   * fresh arrays, or pass false.
   */
  readonly transfer?: boolean;
}

const KNOWN = ["export", "workers", "parallel", "transfer"];

/** What the iterator needs to know of the op. */
interface MapSpec extends WorkerSpec {
  readonly parallel: number | null;
  readonly transfer: boolean;
}

/** `ds.mapInWorkers(module, options)`. */
export class MapInWorkersNode<T, U> extends UnaryNode<T, U> {
  readonly label: string;
  private readonly spec: MapSpec;

  constructor(input: DatasetNode<T>, module: unknown, options: MapInWorkersOptions) {
    super(input);
    for (const key of Object.keys(options)) {
      if (!KNOWN.includes(key))
        throw invalidArgument(`mapInWorkers(module, { ${key} })`, `one of the options ${KNOWN.join(", ")}`, key, "Remove the unknown option.");
    }
    const base = workerSpec("mapInWorkers", module, options);
    const parallel =
      options.parallel === undefined
        ? null
        : requireInteger("mapInWorkers(module, { parallel })", options.parallel, 1, "Pass how many elements may be in flight at once, or leave it out.");
    const transfer = options.transfer ?? true;
    if (typeof transfer !== "boolean") throw invalidArgument("mapInWorkers(module, { transfer })", "a boolean", transfer, "Pass true (the default) or false.");
    this.spec = { ...base, parallel, transfer };
    this.label = `MapInWorkers(workers=${base.workers})`;
  }

  makeIterator(ctx: IteratorContext): OpIterator<U> {
    return new MapInWorkersIterator(this.input.makeIterator(ctx), this.spec);
  }
}

/**
 * Gathers input elements into batches, sends each to the next thread in turn, and hands the
 * results out in input order. A save waits for the batches under way and keeps the results
 * not handed out. An error thrown for one element is that element's error; a module that
 * cannot load fails every pull; a thread that dies fails the elements it held
 * (`UnavailableError`) and a new thread takes the next ones.
 */
class MapInWorkersIterator<T, U> extends UnaryIterator<T, U> {
  private readonly results = new OrderedResults<U>();
  private threads: HostThread[] | null = null;
  private turn = 0;
  private inputEnded = false;
  private sent = 0;
  private gathering: T[] = [];
  private batch = FIRST_BATCH;
  /** Why nothing can be mapped (the module did not load): raised by every pull. */
  private broken: Error | null = null;

  constructor(
    input: OpIterator<T>,
    private readonly spec: MapSpec,
  ) {
    super(input);
  }

  next(): Pull<U> {
    if (this.broken !== null) throw this.broken;
    const filling = this.fill();
    if (filling instanceof Promise) return filling.then(() => this.results.deliver());
    return this.results.deliver();
  }

  nextMany(out: U[], max: number): number | Promise<number> {
    if (this.broken !== null) throw this.broken;
    const filling = this.fill();
    if (filling instanceof Promise) return filling.then(() => this.results.deliverMany(out, max));
    return this.results.deliverMany(out, max);
  }

  /** The most elements in flight. */
  private capacity(): number {
    return this.spec.parallel ?? 2 * this.spec.workers * this.batch;
  }

  /** The size of the next batch: as measured, within the in-flight limit. */
  private batchSize(): number {
    return Math.min(this.batch, this.capacity());
  }

  /**
   * Pulls input and sends whole batches while a whole one fits under the in-flight limit (or
   * nothing is in flight), until the input ends; what was gathered when the input waits or
   * ends goes as it is. Topping up one element at a time would send batches of one.
   */
  private fill(): void | Promise<void> {
    while (!this.inputEnded && (this.results.length === 0 || this.results.length + this.batchSize() <= this.capacity())) {
      let pulled: number | Promise<number>;
      try {
        pulled = pullMany(this.input, this.gathering, this.batchSize() - this.gathering.length);
      } catch (error) {
        this.inputFailed(error);
        continue;
      }
      if (pulled instanceof Promise) {
        return pulled.then(
          (n) => {
            this.took(n);
            return this.fill();
          },
          (error: unknown) => {
            this.inputFailed(error);
            return this.fill();
          },
        );
      }
      this.took(pulled);
    }
    this.send();
  }

  private took(n: number): void {
    if (n === 0) this.inputEnded = true;
    if (n === 0 || this.gathering.length >= this.batchSize()) this.send();
  }

  /** An input error takes its place in the order, after the elements gathered before it. */
  private inputFailed(error: unknown): void {
    this.send();
    this.results.push(failed(error));
  }

  /** Sends the gathered elements to the next thread as one batch. */
  private send(): void {
    const elements = this.gathering;
    if (elements.length === 0) return;
    this.gathering = [];
    const threads = (this.threads ??= acquireThreads(this.spec.workers));
    const at = this.turn;
    this.turn = (at + 1) % threads.length;
    const first = this.sent;
    this.sent += elements.length;
    const calls: Call<U>[] = [];
    const request = { op: "map" as const, module: this.spec.module, export: this.spec.export, elements, transfer: this.spec.transfer };
    const done = (threads[at] as HostThread).request(request).then(
      (reply) => this.received(reply, calls),
      (error: unknown) => this.lost(error, calls, at, first),
    );
    for (let i = 0; i < elements.length; i++) {
      const call = running<U>(done);
      calls.push(call);
      this.results.push(call);
    }
  }

  private received(reply: HostReply, calls: readonly Call<U>[]): void {
    if (reply.fatal !== undefined) {
      const error = fromWire(reply.fatal, "mapInWorkers");
      this.broken ??= error;
      for (const call of calls) settle(call, { ok: false, error });
      return;
    }
    const entries = reply.entries ?? [];
    calls.forEach((call, i) => {
      const entry = entries[i];
      if (entry !== undefined && "value" in entry) settle(call, { ok: true, value: entry.value as U });
      else
        settle(call, {
          ok: false,
          error:
            entry === undefined
              ? new UnavailableError("mapInWorkers: a worker thread answered fewer results than elements.")
              : fromWire(entry.error, "mapInWorkers"),
        });
    });
    const perElement = (reply.busyMs ?? 0) / Math.max(1, calls.length);
    this.batch = Math.max(1, Math.min(MAX_BATCH, perElement > 0 ? Math.round(BATCH_MS / perElement) : MAX_BATCH));
  }

  /** The thread died under a batch: its elements fail, and a new thread takes its turn. */
  private lost(error: unknown, calls: readonly Call<U>[], at: number, first: number): void {
    const threads = this.threads;
    const thread = threads?.[at];
    if (threads !== null && thread !== undefined && thread.dead) {
      thread.release();
      threads[at] = replaceThread();
    }
    const reason = error instanceof ThreadDied ? error.reason : String(error);
    const failure = new UnavailableError(
      `mapInWorkers(${JSON.stringify(this.spec.shown)}): the worker thread mapping elements ${first} to ${first + calls.length - 1} died (${reason}). ` +
        `Those elements fail with this error; a new thread maps the next ones. Restore from a checkpoint to map them again.`,
      { expected: "a worker thread that finishes its batch", received: reason, fix: "Find why the module ends its thread (process.exit, memory)." },
    );
    for (const call of calls) settle(call, { ok: false, error: failure });
  }

  async save(ctx: SaveContext): Promise<OpState> {
    const results = await this.results.save(ctx, "mapInWorkers result");
    return { kind: KIND, version: VERSION, inputEnded: this.inputEnded, sent: this.sent, results, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { inputEnded, sent, results, input } = STATE.read(state);
    await this.results.clear();
    this.inputEnded = inputEnded;
    this.sent = sent;
    this.results.restore(results);
    await this.input.restore(input);
  }

  override async close(): Promise<void> {
    await this.results.clear();
    const threads = this.threads;
    this.threads = null;
    for (const thread of threads ?? []) thread.release();
    await this.input.close();
  }
}
