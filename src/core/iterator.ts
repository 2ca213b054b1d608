/**
 * The iterator contract every op implements (see DESIGN.md, "The iterator contract").
 *
 * An op's iterator pulls with `next()`, which answers synchronously when all the work behind
 * it is synchronous and with a Promise only when something really waits: a pipeline of
 * synchronous ops costs no Promise per element. `save()` captures the state as of the last
 * element handed out; `restore()` is called on a fresh iterator only.
 *
 * @module
 */
import type { OpState } from "./state.js";
import type { BlobSink } from "./value-codec.js";

/** Returned by `next()` when the sequence has ended; every later `next()` returns it again. */
export const END: unique symbol = Symbol("checkpipe.end");
/** The type of {@link END}. */
export type End = typeof END;

/** What an op's `next()` gives: an element, the end, or a Promise of either. */
export type Pull<T> = T | End | Promise<T | End>;

/** What `Dataset.withOptions` sets; options merge down the pipeline, the outermost wins. */
export interface DatasetOptions {
  /**
   * What saving does when an op holds state that cannot be captured (a generator):
   * `"fail"` (default) throws `FailedPreconditionError`, `"warn"` saves what it can and
   * warns, `"ignore"` saves what it can silently.
   */
  readonly externalStatePolicy?: ExternalStatePolicy;
}

/** See {@link DatasetOptions.externalStatePolicy}. */
export type ExternalStatePolicy = "warn" | "ignore" | "fail";

/** The external state policies, for validation. */
export const EXTERNAL_STATE_POLICIES: readonly ExternalStatePolicy[] = ["warn", "ignore", "fail"];

/** Passed down through `save()`. */
export interface SaveContext {
  /** The external state policy in force for this save. */
  readonly policy: ExternalStatePolicy;
  /** Reports a warning (under the `"warn"` policy). */
  warn(message: string): void;
  /**
   * Where the binary parts of held elements go when the state is saved in binary form (for a
   * checkpoint file); ops pass it to `encodeValue`. Absent for a JSON state.
   */
  readonly sink?: BlobSink;
}

/** Passed down when iterators are made; one per top-level iterator. */
export interface IteratorContext {
  /** The top-level iterator's pipeline: where ops without a seed of their own find their place. */
  readonly root: DatasetNode<unknown>;
  /** The top-level iterator's random seed (saved in its state): unseeded shuffles derive theirs from it. */
  readonly seed: number;
  /** The epoch of each enclosing `repeat`, outermost first: shuffles derive their order from it. */
  readonly epoch: readonly number[];
  /** Seeds restored from saved state, by the dataset node they belong to. */
  readonly seeds: Map<object, number>;
}

/** One op's running iterator. */
export interface OpIterator<T> {
  /** The next element, {@link END}, or a Promise of either. */
  next(): Pull<T>;
  /**
   * Bulk pull, for ops that can do it faster than element by element: appends between 1 and
   * `max` elements to `out` and returns how many, or 0 at the end (a Promise of that when it
   * waits). It may return fewer than `max` at any time. It throws only when it appended
   * nothing; an error met after some elements is kept and raised by the next call. Pulling in
   * bulk or one by one yields the same sequence and leaves the same state.
   */
  nextMany?(out: T[], max: number): number | Promise<number>;
  /** This op's state and its inputs', as of the last element handed out. */
  save(ctx: SaveContext): Promise<OpState>;
  /** Takes the state saved by an identically built iterator. Called on a fresh iterator only. */
  restore(state: OpState): Promise<void>;
  /** Releases what the iterator holds (inputs, nested iterators, files, background work). */
  close(): Promise<void>;
}

/** The recipe of one op: what a `Dataset` wraps. */
export interface DatasetNode<T> {
  /** How the op names itself in a pipeline description, e.g. `"Shuffle(100)"`. */
  readonly label: string;
  /** The datasets this op reads (not those a function makes while iterating). */
  readonly inputs: readonly DatasetNode<unknown>[];
  /** The whole pipeline up to this op, e.g. `"Range -> Shuffle(100)"`. */
  describe(): string;
  /** How many elements one iteration yields: a count, `Infinity`, or null when unknown. */
  cardinality(): number | null;
  /** The options in force here, merged from the inputs. */
  options(): DatasetOptions;
  /** A fresh iterator at the start of the sequence. */
  makeIterator(ctx: IteratorContext): OpIterator<T>;
}

/** An op with one input: describes, counts and merges options through it. */
export abstract class UnaryNode<I, O> implements DatasetNode<O> {
  abstract readonly label: string;

  constructor(readonly input: DatasetNode<I>) {}

  get inputs(): readonly DatasetNode<unknown>[] {
    return [this.input];
  }

  describe(): string {
    return `${this.input.describe()} -> ${this.label}`;
  }

  cardinality(): number | null {
    return this.input.cardinality();
  }

  options(): DatasetOptions {
    return this.input.options();
  }

  abstract makeIterator(ctx: IteratorContext): OpIterator<O>;
}

/** A source: no inputs, no options of its own. */
export abstract class SourceNode<T> implements DatasetNode<T> {
  abstract readonly label: string;
  readonly inputs: readonly DatasetNode<unknown>[] = [];

  describe(): string {
    return this.label;
  }

  abstract cardinality(): number | null;

  options(): DatasetOptions {
    return {};
  }

  abstract makeIterator(ctx: IteratorContext): OpIterator<T>;
}

/** An iterator with one input iterator; closing it closes the input. */
export abstract class UnaryIterator<I, O> implements OpIterator<O> {
  constructor(protected readonly input: OpIterator<I>) {}

  abstract next(): Pull<O>;
  abstract save(ctx: SaveContext): Promise<OpState>;
  abstract restore(state: OpState): Promise<void>;

  close(): Promise<void> {
    return this.input.close();
  }
}

/**
 * Pulls up to `max` elements into `out` (at least one unless the input has ended): through
 * the input's `nextMany` when it has one, else with one `next()`. Returns how many, 0 at the end.
 */
export function pullMany<T>(input: OpIterator<T>, out: T[], max: number): number | Promise<number> {
  if (input.nextMany !== undefined) return input.nextMany(out, max);
  return pullOne(input, out);
}

/** Pulls one element into `out` with `next()`. Returns 1, or 0 at the end. */
export function pullOne<T>(input: OpIterator<T>, out: T[]): number | Promise<number> {
  const value = input.next();
  if (value instanceof Promise) return value.then((v) => pushOne(out, v));
  return pushOne(out, value);
}

function pushOne<T>(out: T[], value: T | End): number {
  if (value === END) return 0;
  out.push(value);
  return 1;
}

/**
 * Where `node` stands in the pipeline `root` (depth first, inputs in order), or -1 when it is
 * not part of it (a dataset made by a function while iterating).
 */
export function nodeOrdinal(root: DatasetNode<unknown>, node: DatasetNode<unknown>): number {
  let ordinal = 0;
  const stack: DatasetNode<unknown>[] = [root];
  for (let current = stack.pop(); current !== undefined; current = stack.pop()) {
    if (current === node) return ordinal;
    ordinal++;
    for (let i = current.inputs.length - 1; i >= 0; i--) stack.push(current.inputs[i] as DatasetNode<unknown>);
  }
  return -1;
}

/** True for a Promise or any other thenable. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value instanceof Promise || (typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function");
}

/**
 * Closes finished iterators in the background (a finished pass of `repeat`, a nested iterator
 * of `interleave`) and reports the first failure when drained.
 */
export class BackgroundCloser {
  private readonly pending = new Set<Promise<void>>();
  private failure: { readonly error: unknown } | null = null;

  close(iterator: OpIterator<unknown>): void {
    const closing = iterator.close().then(
      () => undefined,
      (error: unknown) => {
        this.failure ??= { error };
      },
    );
    this.pending.add(closing);
    void closing.then(() => this.pending.delete(closing));
  }

  /** Waits for every close started so far; throws the first error one of them raised. */
  async drain(): Promise<void> {
    await Promise.all(this.pending);
    if (this.failure !== null) throw this.failure.error;
  }
}
