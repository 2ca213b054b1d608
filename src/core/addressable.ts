/**
 * Addressable datasets: each element has a position (an integer in some index space) and can
 * be had again by it — a capability weaker than random access, with no known length and no
 * dense numbering. Datasets with random access are addressable (position = index). `filter`
 * over an addressable input is addressable (an element's position is its input's), and so is a
 * sequential `map` over one. `shuffle(n, { saveBuffer: "positions" })` saves the positions of
 * its buffered elements and gets them again by position on restore.
 *
 * Iterators learn the positions of elements as they pull them: over an input with random
 * access by pull count (the k-th element pulled has position k), above a filter through
 * {@link PositionedIterator.nextManyAt}.
 *
 * @module
 */
import { pullMany, type DatasetNode, type IteratorContext, type OpIterator } from "./iterator.js";
import { randomAccessBlocker, randomAccessOf } from "./random-access.js";

/** What a position is when it cannot be told (after an input error). */
export const UNKNOWN_POSITION = -1;

/** The elements of one pass, by position. */
export interface Addresses<T> {
  /** Every position lies below this (null when unknown). */
  readonly bound: number | null;
  /** The element at `position`, a position an iterator reported. */
  get(position: number): T | Promise<T>;
}

/**
 * A dataset node whose elements carry their input's positions (`filter`, sequential `map`):
 * addressable when its inputs are.
 */
export interface AddressableNode<T> extends DatasetNode<T> {
  /** True when this op's iterators report positions (see {@link PositionedIterator}). */
  readonly carriesPositions: boolean;
  /** The elements by position, or null when an input is not addressable. */
  addresses(ctx: IteratorContext): Addresses<T> | null;
}

/** An op iterator that reports where each element it hands out came from. */
export interface PositionedIterator<T> extends OpIterator<T> {
  /**
   * Like `nextMany`, and appends the position of each element appended to `out` to
   * `positions` (in the same order; {@link UNKNOWN_POSITION} when it cannot be told).
   * When it throws it has appended nothing to either.
   */
  nextManyAt(out: T[], positions: number[], max: number): number | Promise<number>;
}

function carries(node: DatasetNode<unknown>): node is AddressableNode<unknown> {
  return (node as Partial<AddressableNode<unknown>>).carriesPositions === true;
}

/** The node's elements by position, or null when it is not addressable. */
export function addressesOf<T>(node: DatasetNode<T>, ctx: IteratorContext): Addresses<T> | null {
  if (carries(node)) return (node as AddressableNode<T>).addresses(ctx);
  if (indexBlocker(node) !== null) return null;
  const access = randomAccessOf(node, ctx);
  return access === null ? null : { bound: access.length, get: (i) => access.get(i) };
}

/**
 * What keeps `node`'s iterator from numbering its elements by index (the k-th pulled is the
 * element at index k): the op without random access, or a global shuffle (its iterator's order
 * after an elastic resume differs from its index view); null when nothing does.
 */
export function indexBlocker(node: DatasetNode<unknown>): string | null {
  const blocker = randomAccessBlocker(node);
  if (blocker !== null) return blocker;
  const stack: DatasetNode<unknown>[] = [node];
  for (let current = stack.pop(); current !== undefined; current = stack.pop()) {
    if (current.label === "GlobalShuffle") return current.label;
    stack.push(...current.inputs);
  }
  return null;
}

/**
 * The label of the op that keeps `node`'s elements from being had again by position (the
 * lowest one: a source without random access, or an op that does not carry its input's
 * positions), or null when it is addressable.
 */
export function addressBlocker(node: DatasetNode<unknown>): string | null {
  if (!carries(node) && indexBlocker(node) === null) return null;
  for (const input of node.inputs) {
    const blocker = addressBlocker(input);
    if (blocker !== null) return blocker;
  }
  return carries(node) ? null : node.label;
}

/**
 * Pulls up to `max` elements into `out` and their positions into `positions`: through the
 * input's `nextManyAt` when it has one, else {@link UNKNOWN_POSITION} for each.
 */
export function pullManyAt<T>(input: OpIterator<T>, out: T[], positions: number[], max: number): number | Promise<number> {
  const positioned = (input as Partial<PositionedIterator<T>>).nextManyAt;
  if (positioned !== undefined) return positioned.call(input, out, positions, max);
  const pulled = pullMany(input, out, max);
  return pulled instanceof Promise ? pulled.then((n) => unknownPositions(positions, n)) : unknownPositions(positions, pulled);
}

/** Appends `n` unknown positions; returns `n`. */
export function unknownPositions(positions: number[], n: number): number {
  for (let k = 0; k < n; k++) positions.push(UNKNOWN_POSITION);
  return n;
}
