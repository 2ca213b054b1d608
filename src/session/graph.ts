/**
 * The Graph: named nodes and collections, and the one default graph of an async scope.
 *
 * @module
 */
import type { Saveable } from "../checkpoint/saveable.js";
import type { Saver } from "../checkpoint/saver.js";
import { currentScope, runInScope, type IteratorScope } from "../core/context.js";
import { DatasetIterator } from "../core/dataset-iterator.js";
import { RuntimeError, invalidArgument } from "../errors.js";
import type { PairedCheckpoint } from "./hooks/paired-checkpoint.js";
import type { Variable } from "./variable.js";

/**
 * The standard collection names, TensorFlow's `tf.GraphKeys`. Any other string is a valid
 * collection key too.
 *
 * @example
 * graph.getCollection(GraphKeys.ITERATORS); // every iterator made under graph.asDefault(...)
 */
export const GraphKeys = Object.freeze({
  /** Every `DatasetIterator` created while the graph was default. */
  ITERATORS: "iterators",
  /** Extra `Saveable`s the model saver saves, e.g. iterators made saveable. */
  SAVEABLE_OBJECTS: "saveable_objects",
  /** The graph's Saver, when one was made for it. */
  SAVERS: "savers",
  /** The global step variable (at most one). */
  GLOBAL_STEP: "global_step",
  /** Every `Variable` (TensorFlow's `GLOBAL_VARIABLES = "variables"`). */
  GLOBAL_VARIABLES: "variables",
  /** The variables an optimizer trains. */
  TRAINABLE_VARIABLES: "trainable_variables",
  /** Variables local to one process, not saved. */
  LOCAL_VARIABLES: "local_variables",
  /**
   * Checkpoints kept in step with the model's (a `PairedCheckpoint`: the input pipeline's):
   * every CheckpointSaverHook saving into their directory saves them for its steps.
   */
  PAIRED_CHECKPOINTS: "paired_checkpoints",
  /** The operation that initializes the model's variables. */
  INIT_OP: "init_op",
  /** The operation that initializes local variables and tables. */
  LOCAL_INIT_OP: "local_init_op",
  /** The operation checking that the model is ready. */
  READY_OP: "ready_op",
  /** Scalar summaries declared with `scalarSummary(tag, tensor)`. */
  SUMMARIES: "summaries",
  /** The operation that writes summaries. */
  SUMMARY_OP: "summary_op",
  /** The training operation. */
  TRAIN_OP: "train_op",
  /** Loss tensors. */
  LOSSES: "losses",
  /** Operations to run with each training step. */
  UPDATE_OPS: "update_ops",
} as const);

/** What each standard collection holds; other keys hold `unknown` values. */
export interface CollectionTypes {
  [GraphKeys.ITERATORS]: DatasetIterator<unknown>;
  [GraphKeys.SAVEABLE_OBJECTS]: Saveable;
  [GraphKeys.SAVERS]: Saver;
  [GraphKeys.GLOBAL_STEP]: Variable<number>;
  [GraphKeys.GLOBAL_VARIABLES]: Variable<unknown>;
  [GraphKeys.TRAINABLE_VARIABLES]: Variable<unknown>;
  [GraphKeys.LOCAL_VARIABLES]: Variable<unknown>;
  [GraphKeys.PAIRED_CHECKPOINTS]: PairedCheckpoint;
}

/** The type of the values in collection `K`. */
export type CollectionValue<K extends string> = K extends keyof CollectionTypes ? CollectionTypes[K] : unknown;

/**
 * A TensorFlow-1-style graph: the tensors, variables and operations of a model, made unique by
 * name, plus named collections (iterators, saveables, savers, the global step, ...).
 *
 * While `graph.asDefault(fn)` runs, the graph is the default for `fn` and every async task it
 * starts: variables, operations and dataset iterators created there belong to it.
 *
 * @example
 * const graph = new Graph();
 * await graph.asDefault(async () => {
 *   const it = Dataset.range(5).iterator();      // registered in GraphKeys.ITERATORS
 *   const step = getOrCreateGlobalStep();
 * });
 */
export class Graph implements IteratorScope {
  private readonly collections = new Map<string, unknown[]>();
  /** Lower-cased names in use, each with the next suffix to try (TensorFlow's `_names_in_use`). */
  private readonly namesInUse = new Map<string, number>();
  private isFinalized = false;

  /**
   * The graph made default by the enclosing `graph.asDefault(...)`.
   *
   * @throws {RuntimeError} when there is none.
   * @example
   * graph.asDefault(() => Graph.getDefault() === graph); // true
   */
  static getDefault(): Graph {
    const graph = Graph.current();
    if (graph !== null) return graph;
    const fix = "Wrap the code in graph.asDefault(() => ...), e.g. `const graph = new Graph(); await graph.asDefault(async () => { ... })`.";
    throw new RuntimeError(`No default graph: this code does not run inside graph.asDefault(...). ${fix}`, {
      expected: "a default graph",
      received: "none",
      fix,
    });
  }

  /**
   * The default graph of this async context, or null when there is none.
   *
   * @example
   * const graph = Graph.current() ?? new Graph();
   */
  static current(): Graph | null {
    const scope = currentScope();
    return scope instanceof Graph ? scope : null;
  }

  /**
   * Runs `fn` with this graph as the default for `fn` and all the async work it starts, and
   * returns what `fn` returns. Nested calls make the inner graph default inside them only.
   *
   * @param fn the code to run; may be async (its promise is returned).
   * @example
   * const loss = await graph.asDefault(async () => buildModel());
   */
  asDefault<R>(fn: () => R): R {
    return runInScope(this, fn);
  }

  /** Whether {@link finalize} was called: the graph can no longer be changed. */
  get finalized(): boolean {
    return this.isFinalized;
  }

  /**
   * Makes the graph read-only: adding nodes, names or collection entries afterwards throws.
   * MonitoredSession finalizes the graph so that nothing is added while training.
   *
   * @example
   * graph.finalize();
   * graph.addToCollection("losses", loss); // throws RuntimeError
   */
  finalize(): void {
    this.isFinalized = true;
  }

  /**
   * A name unique in this graph, marked as used: `base` the first time, then `base_1`,
   * `base_2`, ... (case-insensitively, as TensorFlow).
   *
   * @param base the name asked for; a non-empty string.
   * @throws {InvalidArgumentError} when `base` is not a non-empty string.
   * @throws {RuntimeError} when the graph is finalized.
   * @example
   * graph.uniqueName("x"); // "x"
   * graph.uniqueName("x"); // "x_1"
   */
  uniqueName(base: string): string {
    if (typeof base !== "string" || base === "") {
      throw invalidArgument("uniqueName(base)", "a non-empty string", base, 'Pass the node\'s name, e.g. "loss".');
    }
    this.checkNotFinalized();
    const key = base.toLowerCase();
    const next = this.namesInUse.get(key) ?? 0;
    this.namesInUse.set(key, next + 1);
    if (next === 0) return base;
    let i = next;
    while (this.namesInUse.has(`${key}_${i}`)) i++;
    this.namesInUse.set(`${key}_${i}`, 1);
    return `${base}_${i}`;
  }

  /**
   * Appends `value` to the collection `key`.
   *
   * @param key a {@link GraphKeys} value or any other string.
   * @param value the value; the standard collections take the type {@link CollectionTypes} says.
   * @throws {RuntimeError} when the graph is finalized.
   * @example
   * graph.addToCollection(GraphKeys.SAVEABLE_OBJECTS, saveable);
   */
  addToCollection<K extends string>(key: K, value: CollectionValue<K>): void {
    this.checkNotFinalized();
    const list = this.collections.get(key);
    if (list === undefined) this.collections.set(key, [value]);
    else list.push(value);
  }

  /**
   * A copy of the collection `key`, in insertion order; empty when nothing was added.
   *
   * @param key a {@link GraphKeys} value or any other string.
   * @example
   * const iterators = graph.getCollection(GraphKeys.ITERATORS); // DatasetIterator<unknown>[]
   */
  getCollection<K extends string>(key: K): CollectionValue<K>[] {
    // Safe: addToCollection only lets values of CollectionValue<K> into collection K.
    return [...(this.collections.get(key) ?? [])] as CollectionValue<K>[];
  }

  /**
   * The keys of every non-empty collection, in the order they were first added to.
   *
   * @example
   * graph.getAllCollectionKeys(); // ["iterators", "variables", ...]
   */
  getAllCollectionKeys(): string[] {
    return [...this.collections.keys()];
  }

  /**
   * Records a dataset iterator created while this graph is default (called by the iterator's
   * constructor) in `GraphKeys.ITERATORS` and returns its unique name.
   *
   * @param iterator the new iterator; a `DatasetIterator`.
   * @param name the name asked for, e.g. `"Iterator"`.
   * @throws {RuntimeError} when the graph is finalized.
   * @throws {InvalidArgumentError} when `iterator` is not a `DatasetIterator`.
   * @example
   * graph.asDefault(() => Dataset.range(5).iterator()).name; // "Iterator", then "Iterator_1"
   */
  registerIterator(iterator: object, name: string): string {
    if (!(iterator instanceof DatasetIterator)) {
      throw invalidArgument("registerIterator(iterator)", "a DatasetIterator", iterator, "Make iterators with dataset.iterator().");
    }
    this.checkNotFinalized();
    const unique = this.uniqueName(name);
    this.addToCollection(GraphKeys.ITERATORS, iterator);
    return unique;
  }

  private checkNotFinalized(): void {
    if (!this.isFinalized) return;
    const fix =
      "Create variables, operations, iterators and collection entries before the graph is finalized " +
      "(MonitoredSession finalizes it when it starts), or build a new Graph.";
    throw new RuntimeError(`Graph is finalized and cannot be modified. ${fix}`, {
      expected: "a graph that is not finalized",
      received: "a finalized graph",
      fix,
    });
  }
}
