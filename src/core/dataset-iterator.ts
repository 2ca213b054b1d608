/// <reference lib="esnext.disposable" preserve="true" />
/**
 * The iterator users hold: an async iterator over a dataset that can save and restore its
 * exact position.
 *
 * @module
 */
import { FailedPreconditionError, InvalidArgumentError, REASONS, describeValue } from "../errors.js";
import { END, type DatasetNode, type ExternalStatePolicy, type IteratorContext, type OpIterator, type Pull, type SaveContext } from "./iterator.js";
import { currentScope } from "./context.js";
import { randomSeed } from "./rng.js";
import { ITERATOR_STATE_FORMAT, ITERATOR_STATE_VERSION, type IteratorState, type JsonValue, type OpState } from "./state.js";
import { place } from "./schema.js";
import { attachBlobs, EncodedState, type BlobSink } from "./value-codec.js";

const DONE: IteratorResult<never, undefined> = Object.freeze({ value: undefined, done: true });

/** Options of `Dataset.iterator()`. */
export interface IteratorOptions {
  /**
   * A state saved by `save()` of an iterator over an identically built dataset: start there.
   * Or the states of every worker of an old job (elastic resume, see `Dataset.globalShuffle`).
   */
  readonly state?: IteratorState | readonly IteratorState[];
  /**
   * The iterator's name, the key of its state in a checkpoint (default `"Iterator"`). Under a
   * default graph the name is made unique there (`"Iterator_1"`, ...).
   */
  readonly name?: string;
  /**
   * Aborts the iteration: a pending `next()` rejects at once with the signal's reason, and so
   * does every later `next()` and `save()`; the iterator closes (its files, threads and nested
   * iterators are released once the pull under way, if any, settles).
   */
  readonly signal?: AbortSignal;
}

/** Options of {@link DatasetIterator.save}. */
export interface SaveOptions {
  /** Overrides the pipeline's external state policy for this save (see `DatasetOptions`). */
  readonly externalStatePolicy?: ExternalStatePolicy;
}

/**
 * How an iterator resumes from the states of several workers (given by the dataset layer, see
 * `dataset/elastic.ts`).
 */
export interface ElasticResume {
  /** This iterator's state from `fresh` (its own, unused) and one state of each old worker. */
  merge(fresh: IteratorState, states: readonly IteratorState[]): IteratorState;
  /** The state to resume from among the states of the workers' files (each newest first), or null to restore `own[0]` as it is. */
  resume(fresh: IteratorState, own: readonly IteratorState[], others: readonly (readonly IteratorState[])[]): IteratorState | null;
}

/**
 * One run over a dataset. Use it with `for await`, or call `next()`; `save()` captures the
 * position as of the last element handed out, and `restore()` (or `iterator({ state })`) puts a
 * fresh iterator there, in this process or another.
 *
 * Calls are served in the order they are made: a `save()` issued while a `next()` is pending
 * waits for it.
 *
 * @example
 * const it = Dataset.range(10).shuffle(4, { seed: 1 }).iterator();
 * await it.next();
 * const state = await it.save();
 * const resumed = Dataset.range(10).shuffle(4, { seed: 1 }).iterator({ state });
 */
export class DatasetIterator<T> implements AsyncIterableIterator<T> {
  /** The key of this iterator's state in a checkpoint; unique within its graph. */
  readonly name: string;
  private root: OpIterator<T> | null;
  private ended = false;
  private closed = false;
  /** How many calls are still running; while any is, later calls wait for the last one. */
  private busy = 0;
  /** The last call issued. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Why the iterator cannot be used (a failed restore), until a restore succeeds. */
  private broken: unknown = null;
  private warned = false;

  /** Where unseeded random ops derive their seeds from; saved with the state. */
  private seed = randomSeed();

  /**
   * Use `dataset.iterator()`.
   *
   * @param elastic - Turns old workers' states into this iterator's (given by the dataset layer).
   */
  constructor(
    private readonly node: DatasetNode<T>,
    options: IteratorOptions = {},
    private readonly elastic?: ElasticResume,
  ) {
    const name = options.name ?? "Iterator";
    this.name = currentScope()?.registerIterator(this, name) ?? name;
    this.root = node.makeIterator(this.newContext());
    if (options.signal !== undefined) this.abortWith(options.signal);
    const state = options.state;
    if (state === undefined) return;
    if (!Array.isArray(state)) {
      void this.restore(state as IteratorState).catch(() => undefined);
      return;
    }
    void this.enqueue(async () => {
      try {
        await this.restoreNow(this.requireElastic().merge(await this.saveNow(undefined), state));
      } catch (error) {
        this.broken = error;
      }
    }).catch(() => undefined);
  }

  /** The pipeline this iterator runs, e.g. `"Range -> Shuffle(100) -> Batch(32)"`. */
  get pipeline(): string {
    return this.node.describe();
  }

  /** The next element, or `{ done: true }` at the end. */
  next(): Promise<IteratorResult<T, undefined>> {
    const pulled = this.busy > 0 ? this.enqueue(this.pullLater) : this.pull();
    return this.aborted === null ? pulled : Promise.race([pulled, this.aborted]);
  }

  /** Rejects when the signal aborts (null without a signal). */
  private aborted: Promise<never> | null = null;

  private abortWith(signal: AbortSignal): void {
    this.aborted = new Promise<never>((_, reject) => {
      const abort = (): void => {
        this.broken ??= signal.reason;
        reject(signal.reason);
        void this.close().catch(() => undefined);
      };
      if (signal.aborted) abort();
      else signal.addEventListener("abort", abort, { once: true });
    });
    // Rejections are handed to the callers of next(); none is left unhandled here.
    this.aborted.catch(() => undefined);
  }

  /** Closes the iterator (what `break` in a `for await` loop calls). */
  async return(): Promise<IteratorResult<T, undefined>> {
    await this.close();
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The position as of the last element handed out: a JSON-compatible tree.
   *
   * @throws {FailedPreconditionError} when an op holds state that cannot be captured and the
   *   external state policy is `"fail"` (the default), or when the iterator is closed.
   * @throws {InvalidArgumentError} when a held element cannot be encoded.
   */
  save(options: SaveOptions = {}): Promise<IteratorState> {
    return this.enqueue(() => this.saveNow(options.externalStatePolicy));
  }

  /**
   * {@link save} in binary form, as checkpoint files store it: the bytes of held typed arrays
   * and long strings are kept raw instead of being written as base64 text. The blobs of typed
   * arrays are views of the held elements' memory (elements are not copied): write them out
   * before anything changes an element in place.
   *
   * @throws as {@link save}.
   */
  saveEncoded(options: SaveOptions = {}): Promise<EncodedState> {
    return this.enqueue(async () => {
      const blobs: Uint8Array[] = [];
      const tree = await this.saveNow(options.externalStatePolicy, (bytes) => blobs.push(bytes) - 1);
      return new EncodedState(tree as unknown as JsonValue, blobs);
    });
  }

  /**
   * {@link restore} from the binary form made by {@link saveEncoded}.
   *
   * @throws as {@link restore}.
   */
  restoreEncoded(state: EncodedState): Promise<void> {
    return this.enqueue(() => this.restoreNow(attachBlobs(state) as unknown as IteratorState));
  }

  /**
   * Puts the iterator at the position `state` was saved at, replacing its whole state.
   *
   * @throws {InvalidArgumentError} when the state is not a checkpipe iterator state, has an
   *   unknown version, or was saved from a differently built pipeline.
   */
  restore(state: IteratorState): Promise<void> {
    return this.enqueue(() => this.restoreNow(state));
  }

  /**
   * Resumes from the states in every worker's checkpoint files, for a job whose worker count
   * may have changed: `own` from this worker's file, `others` one array for each other
   * worker's file (of this job or an older one), each newest first. The input hook calls it;
   * see `Dataset.globalShuffle` for the pipelines this applies to.
   *
   * @returns false when there is nothing to do but restore `own[0]` as it is (the worker count
   *   is unchanged, or the pipeline does not shard a global shuffle); true when it has resumed.
   * @throws {InvalidArgumentError} when the states cannot be combined (see `mergeWorkerStates`).
   */
  resumeWorkers(own: readonly (IteratorState | EncodedState)[], others: readonly (readonly (IteratorState | EncodedState)[])[]): Promise<boolean> {
    return this.enqueue(async () => {
      const decode = (s: IteratorState | EncodedState): IteratorState => (s instanceof EncodedState ? (attachBlobs(s) as unknown as IteratorState) : s);
      const state = this.requireElastic().resume(
        await this.saveNow(undefined),
        own.map(decode),
        others.map((file) => file.map(decode)),
      );
      if (state === null) return false;
      await this.restoreNow(state);
      return true;
    });
  }

  /** Releases everything the iterator holds; later `next()` calls report the end. */
  close(): Promise<void> {
    return this.enqueue(async () => {
      this.closed = true;
      await this.closeRoot();
    });
  }

  /**
   * Closes the iterator, for `await using it = ds.iterator()`: its files, threads and nested
   * iterators are released when the block ends, however it ends.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  toString(): string {
    return `DatasetIterator(${this.node.describe()})`;
  }

  private requireElastic(): ElasticResume {
    if (this.elastic !== undefined) return this.elastic;
    throw new InvalidArgumentError("The states of several workers restore only an iterator made by Dataset.iterator().");
  }

  private pull(): Promise<IteratorResult<T, undefined>> {
    if (this.broken !== null) return Promise.reject(this.broken);
    const root = this.root;
    if (root === null) return Promise.resolve(DONE);
    let pulled: Pull<T>;
    try {
      pulled = root.next();
    } catch (error) {
      return Promise.reject(error);
    }
    if (pulled instanceof Promise) {
      this.busy++;
      return (this.tail = pulled.then(this.onPulled, this.onPullFailed));
    }
    if (pulled === END) return this.finish();
    return Promise.resolve({ value: pulled, done: false });
  }

  private readonly pullLater = (): Promise<IteratorResult<T, undefined>> => this.pull();

  // Typed `unknown` in, so that DatasetIterator<T> stays covariant in T.
  private readonly onPulled = (value: unknown): IteratorResult<T, undefined> | Promise<IteratorResult<T, undefined>> => {
    this.busy--;
    return value === END ? this.finish() : { value: value as T, done: false };
  };

  private readonly onPullFailed = (error: unknown): never => {
    this.busy--;
    throw error;
  };

  /** Marks the end (at once: a save from now on sees it) and releases the ops. */
  private async finish(): Promise<IteratorResult<T, undefined>> {
    this.ended = true;
    await this.closeRoot();
    return DONE;
  }

  private async closeRoot(): Promise<void> {
    const root = this.root;
    this.root = null;
    if (root !== null) await root.close();
  }

  private async saveNow(policy: ExternalStatePolicy | undefined, sink?: BlobSink): Promise<IteratorState> {
    if (this.broken !== null) throw this.broken;
    const pipeline = this.node.describe();
    const envelope = { format: ITERATOR_STATE_FORMAT, version: ITERATOR_STATE_VERSION, pipeline, seed: this.seed };
    if (this.ended) return { ...envelope, ended: true, root: null };
    if (this.root === null || this.closed) {
      throw new FailedPreconditionError(`Cannot save an iterator over ${pipeline}: it is closed. Save before calling close() or breaking out of the loop.`);
    }
    return { ...envelope, ended: false, root: await this.root.save(this.saveContext(policy, sink)) };
  }

  private async restoreNow(state: IteratorState): Promise<void> {
    const pipeline = this.node.describe();
    checkEnvelope(state, pipeline);
    await this.closeRoot();
    this.broken = null;
    this.closed = false;
    this.ended = state.ended;
    if (typeof state.seed === "number") this.seed = state.seed;
    if (state.ended) return;
    const root = this.node.makeIterator(this.newContext());
    this.root = root;
    try {
      await root.restore(state.root as OpState);
      if (state.pipeline !== pipeline) {
        process.emitWarning(
          `Restored a state saved from ${describeValue(state.pipeline)} into ${JSON.stringify(pipeline)}: the ops match ` +
            `but their parameters differ, so the iteration continues under the new parameters. If that is not ` +
            `what you meant, restore into a dataset built exactly as the one that saved.`,
          { code: "CHECKPIPE_PIPELINE_CHANGED" },
        );
      }
    } catch (error) {
      this.broken = error instanceof InvalidArgumentError ? withPipelines(error, pipeline, state.pipeline) : error;
      this.root = null;
      await root.close().catch(() => undefined);
      throw this.broken;
    }
  }

  private newContext(): IteratorContext {
    return { root: this.node, seed: this.seed, epoch: [], seeds: new Map() };
  }

  private saveContext(override: ExternalStatePolicy | undefined, sink: BlobSink | undefined): SaveContext {
    return {
      ...(sink === undefined ? {} : { sink }),
      policy: override ?? this.node.options().externalStatePolicy ?? "fail",
      warn: (message) => {
        if (this.warned) return;
        this.warned = true;
        process.emitWarning(message, { code: "CHECKPIPE_EXTERNAL_STATE" });
      },
    };
  }

  /** Runs `call` after every call made before it. */
  private enqueue<R>(call: () => Promise<R>): Promise<R> {
    this.busy++;
    const done = (): void => {
      this.busy--;
    };
    const promise = this.tail.then(call, call);
    this.tail = promise;
    promise.then(done, done);
    return promise;
  }
}

function checkEnvelope(state: unknown, pipeline: string): asserts state is IteratorState {
  const s = state as Partial<Record<string, unknown>> | null;
  if (typeof s !== "object" || s === null || s["format"] !== ITERATOR_STATE_FORMAT) {
    throw new InvalidArgumentError(
      `Cannot restore an iterator over ${pipeline}: expected a state saved by DatasetIterator.save() ` +
        `(format "${ITERATOR_STATE_FORMAT}"); got ${describeValue(state)}${
          typeof s === "object" && s !== null ? ` with format ${describeValue(s["format"])}` : ""
        }. Pass the object save() returned (JSON round trips are fine).`,
      { expected: `format "${ITERATOR_STATE_FORMAT}"`, received: describeValue(s?.["format"] ?? state) },
    );
  }
  if (s["version"] !== ITERATOR_STATE_VERSION) {
    throw new InvalidArgumentError(
      `Cannot restore an iterator over ${pipeline}: the state has envelope version ${describeValue(s["version"])}, ` +
        `and this version of checkpipe reads version ${ITERATOR_STATE_VERSION}. Restore it with the checkpipe version that saved it.`,
      { expected: `version ${ITERATOR_STATE_VERSION}`, received: describeValue(s["version"]) },
    );
  }
  if (typeof s["ended"] !== "boolean" || (s["ended"] === false && (typeof s["root"] !== "object" || s["root"] === null || Array.isArray(s["root"])))) {
    throw new InvalidArgumentError(
      `Cannot restore an iterator over ${pipeline}: the state has no "ended" flag or no root state. ` + `The state is damaged; restore an intact one.`,
    );
  }
  const seed = s["seed"];
  if (typeof s["pipeline"] !== "string" || (seed !== undefined && !(typeof seed === "number" && Number.isSafeInteger(seed)))) {
    throw new InvalidArgumentError(
      `Cannot restore an iterator over ${pipeline}: its "pipeline" should be a string and its "seed" an integer; got ` +
        `${describeValue(s["pipeline"])} and ${describeValue(seed)}. The state is damaged; restore an intact one.`,
      { expected: "a pipeline string and an integer seed", received: `${describeValue(s["pipeline"])}, ${describeValue(seed)}` },
    );
  }
  if (s["root"] !== null && typeof s["root"] === "object") place(s["root"], "root");
}

function withPipelines(error: InvalidArgumentError, pipeline: string, saved: unknown): InvalidArgumentError {
  const message = `${error.message} This iterator runs ${pipeline}; the state was saved from ${typeof saved === "string" ? saved : "an unnamed pipeline"}.`;
  return new InvalidArgumentError(message, {
    cause: error,
    ...(error.expected === undefined ? {} : { expected: error.expected }),
    ...(error.received === undefined ? {} : { received: error.received }),
    ...(error.fix === undefined ? {} : { fix: error.fix }),
    ...(error.reason in REASONS ? { reason: error.reason as keyof typeof REASONS } : {}),
  });
}
