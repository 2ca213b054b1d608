/**
 * `Dataset.fromWorkers(module, options)`: each worker thread builds its own shard of a
 * pipeline (the module's export, called with `{ workerIndex, numWorkers }`, returns a Dataset)
 * and the main thread yields their elements in a fixed round-robin order — Grain's
 * multiprocess prefetch for Node, so reading files and parsing scale with the threads too.
 *
 * @module
 */
import { END, SourceNode, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { Queue } from "../../core/queue.js";
import { arrayOf, boolean, integer, json, nullable, record, stateSchema } from "../../core/schema.js";
import type { JsonValue, OpState } from "../../core/state.js";
import { encodeHeld, held, type Held } from "../../core/value-codec.js";
import { InvalidArgumentError, UnavailableError, invalidArgument } from "../../errors.js";
import { workerSpec, type WorkerSpec } from "../workers/module-spec.js";
import { acquireThreads, ThreadDied, type HostThread } from "../workers/pool.js";
import type { HostReply } from "../workers/protocol.js";
import { fromWire } from "../workers/wire.js";

const KIND = "FromWorkers";
const VERSION = 1;
/**
 * The worker whose element comes next, and per worker: its pipeline's iterator state (null
 * before it started), whether it ended, and the entries received from it not yet handed out.
 */
const STATE = stateSchema(KIND, VERSION, {
  numWorkers: integer(1),
  turn: integer(0),
  workers: arrayOf(record({ state: nullable(json), ended: boolean, buffer: arrayOf(held) }, "a worker's state ({ state, ended, buffer })")),
});

/** The most entries one pull asks of a worker. */
const PULL_MAX = 128;
/** Pulls go on while fewer entries than this wait in a worker's buffer. */
const HIGH_WATER = 2 * PULL_MAX;

/** Options of `Dataset.fromWorkers`. */
export interface FromWorkersOptions {
  /** The export that builds a worker's Dataset (default `"default"`). */
  readonly export?: string;
  /** How many workers, each on its own thread (default: one per core). */
  readonly workers?: number;
  /**
   * Move the buffers of typed arrays an element owns whole instead of copying them (default
   * true). A pipeline that yields the same array twice gets an error for the second element:
   * yield fresh arrays (e.g. `map((x) => x.slice())`), or pass false.
   */
  readonly transfer?: boolean;
}

/** What a worker's export is called with. */
export interface WorkerShard {
  /** This worker's index, from 0. */
  readonly workerIndex: number;
  /** How many workers there are. */
  readonly numWorkers: number;
}

const KNOWN = ["export", "workers", "transfer"];

interface FromWorkersSpec extends WorkerSpec {
  readonly transfer: boolean;
}

let pipelineIds = 0;

/** `Dataset.fromWorkers(module, options)`. */
export class FromWorkersNode<T> extends SourceNode<T> {
  readonly label: string;
  private readonly spec: FromWorkersSpec;

  constructor(module: unknown, options: FromWorkersOptions) {
    super();
    for (const key of Object.keys(options)) {
      if (!KNOWN.includes(key))
        throw invalidArgument(`Dataset.fromWorkers(module, { ${key} })`, `one of the options ${KNOWN.join(", ")}`, key, "Remove the unknown option.");
    }
    const transfer = options.transfer ?? true;
    if (typeof transfer !== "boolean")
      throw invalidArgument("Dataset.fromWorkers(module, { transfer })", "a boolean", transfer, "Pass true (the default) or false.");
    this.spec = { ...workerSpec("Dataset.fromWorkers", module, options), transfer };
    this.label = `FromWorkers(workers=${this.spec.workers})`;
  }

  cardinality(): null {
    return null;
  }

  makeIterator(): OpIterator<T> {
    return new FromWorkersIterator<T>(this.spec);
  }
}

/** One worker's pipeline, as the main thread sees it. */
interface Worker<T> {
  readonly index: number;
  /** Its pipeline's id in its thread; null until opened. */
  id: number | null;
  thread: HostThread | null;
  /** The state to open it at (a restored one), until it is opened. */
  state: JsonValue | null;
  readonly buffer: Queue<Held<T>>;
  ended: boolean;
  /** The pull under way. */
  pulling: Promise<void> | null;
}

/**
 * Opens the workers' pipelines at the first pull, keeps each one's buffer filled, and yields
 * entry after entry in turn, skipping workers that ended. Saving lets the pulls under way land,
 * then asks each worker for its iterator's state.
 */
class FromWorkersIterator<T> implements OpIterator<T> {
  private workers: Worker<T>[];
  private turn = 0;
  private threads: HostThread[] | null = null;
  private opening: Promise<void> | null = null;
  /** While set, pulls that land ask for no more (a save or close waits for quiet). */
  private quiet = false;
  /** Why nothing more can be read (a worker could not open, or died): raised by every pull. */
  private broken: Error | null = null;

  constructor(private readonly spec: FromWorkersSpec) {
    this.workers = this.freshWorkers();
  }

  next(): Pull<T> {
    for (;;) {
      if (this.broken !== null) throw this.broken;
      if (this.opening === null) this.opening = this.open();
      const worker = this.current();
      if (worker === null) return END;
      if (worker.buffer.length > 0) return this.take(worker);
      return this.refill(worker).then(() => this.next());
    }
  }

  nextMany(out: T[], max: number): number | Promise<number> {
    const first = this.next();
    if (first instanceof Promise) return first.then((value) => this.more(out, max, value));
    return this.more(out, max, first);
  }

  /** After a first element: those that wait in the buffers, in turn, up to the first error or gap. */
  private more(out: T[], max: number, first: T | typeof END): number {
    if (first === END) return 0;
    out.push(first);
    let n = 1;
    for (
      let worker = this.current();
      n < max && worker !== null && worker.buffer.length > 0 && (worker.buffer.peekFirst() as Held<T>).ok;
      worker = this.current()
    ) {
      out.push(this.take(worker));
      n++;
    }
    return n;
  }

  /** The worker whose turn it is, skipping those that ended with nothing left; null when all did. */
  private current(): Worker<T> | null {
    const count = this.workers.length;
    for (let i = 0; i < count; i++) {
      const worker = this.workers[(this.turn + i) % count] as Worker<T>;
      if (worker.buffer.length > 0 || !worker.ended) {
        this.turn = worker.index;
        return worker;
      }
    }
    return null;
  }

  private take(worker: Worker<T>): T {
    const entry = worker.buffer.shift();
    this.turn = (worker.index + 1) % this.workers.length;
    this.pull(worker);
    if (!entry.ok) throw entry.error;
    return entry.value;
  }

  /** Waits until the worker's buffer holds something or it ended. */
  private async refill(worker: Worker<T>): Promise<void> {
    await this.opening;
    while (this.broken === null && worker.buffer.length === 0 && !worker.ended) {
      this.pull(worker);
      await worker.pulling;
    }
  }

  /** Opens every worker's pipeline (at its restored state, if any). */
  private async open(): Promise<void> {
    const threads = (this.threads ??= acquireThreads(this.workers.length));
    await Promise.all(
      this.workers.map(async (worker) => {
        if (worker.ended) return;
        const thread = threads[worker.index] as HostThread;
        const id = ++pipelineIds;
        worker.thread = thread;
        worker.id = id;
        const { module, export: name } = this.spec;
        const request = {
          op: "open" as const,
          pipeline: id,
          module,
          export: name,
          workerIndex: worker.index,
          numWorkers: this.workers.length,
          state: worker.state,
        };
        worker.state = null;
        this.check(await this.ask(worker, () => thread.request(request)));
        this.pull(worker);
      }),
    );
  }

  /** Starts a pull of the worker unless one is under way, it ended, or its buffer is full enough. */
  private pull(worker: Worker<T>): void {
    if (this.quiet || worker.pulling !== null || worker.ended || worker.thread === null || worker.buffer.length >= HIGH_WATER || this.broken !== null) return;
    const thread = worker.thread;
    const request = { op: "pull" as const, pipeline: worker.id as number, max: PULL_MAX, transfer: this.spec.transfer };
    worker.pulling = this.ask(worker, () => thread.request(request)).then((reply) => {
      worker.pulling = null;
      if (!this.check(reply)) return;
      for (const entry of reply.entries ?? []) {
        worker.buffer.push("value" in entry ? { ok: true, value: entry.value as T } : { ok: false, error: fromWire(entry.error, "Dataset.fromWorkers") });
      }
      if (reply.ended === true) worker.ended = true;
      this.pull(worker);
    });
  }

  /** A request to the worker's thread; a thread that dies breaks the iterator (never a hang). */
  private async ask(worker: Worker<T>, send: () => Promise<HostReply>): Promise<HostReply | null> {
    try {
      return await send();
    } catch (error) {
      const reason = error instanceof ThreadDied ? error.reason : String(error);
      this.broken ??= new UnavailableError(
        `Dataset.fromWorkers(${JSON.stringify(this.spec.shown)}): the thread of worker ${worker.index} died (${reason}). ` +
          `Its pipeline is lost: restore the iterator from a checkpoint to go on.`,
        {
          expected: "a worker thread that keeps running",
          received: reason,
          fix: "Find why the module ends its thread (process.exit, memory); restore from a checkpoint.",
        },
      );
      return null;
    }
  }

  /** True for a reply to go on with; a failure of the whole request breaks the iterator. */
  private check(reply: HostReply | null): reply is HostReply {
    if (reply === null) return false;
    if (reply.fatal === undefined) return true;
    this.broken ??= fromWire(reply.fatal, "Dataset.fromWorkers");
    return false;
  }

  /** Lets every pull under way land without starting more. */
  private async settle(): Promise<void> {
    this.quiet = true;
    try {
      await this.opening?.catch(() => undefined);
      for (let pulls = this.pulls(); pulls.length > 0; pulls = this.pulls()) await Promise.all(pulls);
    } finally {
      this.quiet = false;
    }
  }

  private pulls(): Promise<void>[] {
    return this.workers.flatMap((w) => (w.pulling === null ? [] : [w.pulling]));
  }

  async save(ctx: SaveContext): Promise<OpState> {
    // Opened first, if no pull did yet: a pipeline's state is its own iterator's (the seed of an
    // unseeded shuffle in it included), which only exists once opened.
    this.opening ??= this.open();
    await this.settle();
    if (this.broken !== null) throw this.broken;
    const workers = await Promise.all(
      this.workers.map(async (worker) => {
        let state = worker.state;
        if (!worker.ended && worker.thread !== null) {
          const thread = worker.thread;
          const reply = await this.ask(worker, () => thread.request({ op: "save", pipeline: worker.id as number }));
          if (reply === null) throw this.broken;
          if (reply.fatal !== undefined) throw fromWire(reply.fatal, "Dataset.fromWorkers");
          state = reply.state ?? null;
        }
        const buffer = worker.buffer.toArray().map((entry, i) => encodeHeld(entry, `worker ${worker.index} element ${i}`, ctx.sink));
        return { state, ended: worker.ended, buffer };
      }),
    );
    for (const worker of this.workers) this.pull(worker);
    return { kind: KIND, version: VERSION, numWorkers: this.workers.length, turn: this.turn, workers };
  }

  async restore(state: OpState): Promise<void> {
    const { numWorkers, turn, workers } = STATE.read(state);
    if (numWorkers !== this.workers.length || workers.length !== numWorkers || turn >= numWorkers) {
      throw new InvalidArgumentError(
        `Cannot restore FromWorkers: its saved state is of ${numWorkers} worker(s) (${workers.length} saved, turn ${turn}), and this dataset has ${this.workers.length}. ` +
          `Restore into a dataset built with the same number of workers.`,
        { expected: `${this.workers.length} workers`, received: `${numWorkers} workers` },
      );
    }
    await this.closePipelines();
    this.broken = null;
    this.opening = null;
    this.turn = turn;
    this.workers = this.freshWorkers();
    workers.forEach((saved, i) => {
      const worker = this.workers[i] as Worker<T>;
      worker.state = saved.state;
      worker.ended = saved.ended;
      for (const entry of saved.buffer) worker.buffer.push(entry as Held<T>);
    });
  }

  async close(): Promise<void> {
    await this.closePipelines();
    const threads = this.threads;
    this.threads = null;
    for (const thread of threads ?? []) thread.release();
  }

  /** Waits for the pulls under way and closes every opened pipeline. */
  private async closePipelines(): Promise<void> {
    await this.settle();
    await Promise.all(
      this.workers.map(async (worker) => {
        const { thread, id } = worker;
        worker.thread = null;
        if (thread === null || id === null || thread.dead) return;
        await thread.request({ op: "close", pipeline: id }).catch(() => undefined);
      }),
    );
  }

  private freshWorkers(): Worker<T>[] {
    return Array.from({ length: this.spec.workers }, (_, index) => ({
      index,
      id: null,
      thread: null,
      state: null,
      buffer: new Queue<Held<T>>(),
      ended: false,
      pulling: null,
    }));
  }
}
