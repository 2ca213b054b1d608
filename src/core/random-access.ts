/**
 * Random access: datasets whose elements can be had by index, without reading those before —
 * sources such as `range` and `fromArray`, and element-wise ops over them (`map`, `batch`,
 * `take`, `skip`, `shard`, `enumerate`, `zip`, `concatenate`, `globalShuffle`). Ops that decide
 * what comes next from what came before (`filter`, `shuffle`, `interleave`, `flatMap`, file
 * readers without an index) take it away.
 *
 * @module
 */
import type { DatasetNode, IteratorContext } from "./iterator.js";

/** The elements of one pass, by index. */
export interface RandomAccess<T> {
  /** How many elements a pass has. */
  readonly length: number;
  /** The element at `index` (0 ≤ index < length). */
  get(index: number): T | Promise<T>;
}

/** A dataset node that may offer random access (null when its inputs take it away). */
export interface RandomAccessNode<T> extends DatasetNode<T> {
  randomAccess(ctx: IteratorContext): RandomAccess<T> | null;
}

/** The node's random access, or null when it (or one of its inputs) has none. */
export function randomAccessOf<T>(node: DatasetNode<T>, ctx: IteratorContext): RandomAccess<T> | null {
  const method = (node as Partial<RandomAccessNode<T>>).randomAccess;
  return typeof method === "function" ? method.call(node, ctx) : null;
}

/** The label of the op that takes random access away in `node`'s pipeline, or null when it has it. */
export function randomAccessBlocker(node: DatasetNode<unknown>): string | null {
  if (typeof (node as Partial<RandomAccessNode<unknown>>).randomAccess !== "function") return node.label;
  for (const input of node.inputs) {
    const blocker = randomAccessBlocker(input);
    if (blocker !== null) return blocker;
  }
  return null;
}

/** The values of `indices`, each an element or a Promise of one: an array, or a Promise when any was one. */
export function gather<T>(values: readonly (T | Promise<T>)[]): T[] | Promise<T[]> {
  return values.some((v) => v instanceof Promise) ? Promise.all(values) : (values as T[]);
}

/** `f` applied to a value that may be a Promise. */
export function andThen<A, B>(value: A | Promise<A>, f: (a: A) => B | Promise<B>): B | Promise<B> {
  return value instanceof Promise ? value.then(f) : f(value);
}
