/**
 * `dataset.groupByWindow(keyFn, reduceFn, { windowSize })`, tf.data's `group_by_window`:
 * elements are grouped by key; when a group holds `windowSize` elements, `reduceFn(key,
 * window)` turns that window (a Dataset) into a dataset whose elements are yielded. At the end
 * of the input the groups left are reduced in ascending key order, as TensorFlow does.
 *
 * @module
 */
import {
  BackgroundCloser,
  END,
  UnaryIterator,
  UnaryNode,
  type DatasetNode,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import { arrayOf, boolean, nullable, opState, record, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { element, elements, encodeValue, encodeValues } from "../../core/value-codec.js";
import { invalidArgument } from "../../errors.js";
import { requireFunction, requireInteger } from "../validate.js";

const KIND = "GroupByWindow";
const VERSION = 1;

/** A group key: what `keyFn` returns (tf.data's is an int64). */
export type GroupKey = number | bigint | string;

interface Window<T> {
  readonly key: GroupKey;
  readonly elements: T[];
}

/** The groups filling (in the order first seen), the window being reduced and its iterator's state, and the input. */
const STATE = stateSchema(KIND, VERSION, {
  inputEnded: boolean,
  groups: arrayOf(record({ key: element, elements }, "a group ({ key, elements })")),
  current: nullable(record({ key: element, window: elements, state: opState }, "the window being reduced ({ key, window, state })")),
  input: opState,
});

/** `dataset.groupByWindow(keyFn, reduceFn, { windowSize })`. */
export class GroupByWindowNode<T, U> extends UnaryNode<T, U> {
  readonly label: string;

  constructor(
    input: DatasetNode<T>,
    private readonly keyFn: (value: T) => GroupKey,
    private readonly reduceFn: (key: GroupKey, window: readonly T[]) => DatasetNode<U>,
    private readonly windowSize: number | ((key: GroupKey) => number),
  ) {
    super(input);
    requireFunction("groupByWindow(keyFn)", keyFn, "Pass a function from an element to its group key, e.g. (x) => x % 2.");
    requireFunction("groupByWindow(keyFn, reduceFn)", reduceFn, "Pass a function from (key, window) to a Dataset, e.g. (key, window) => window.batch(4).");
    if (typeof windowSize !== "function")
      requireInteger("groupByWindow(keyFn, reduceFn, { windowSize })", windowSize, 1, "Pass how many elements of a key make a window, e.g. { windowSize: 4 }.");
    this.label = `${KIND}(${typeof windowSize === "function" ? "windowSizeFunc" : windowSize})`;
  }

  override cardinality(): null {
    return null;
  }

  makeIterator(ctx: IteratorContext): OpIterator<U> {
    return new GroupByWindowIterator(this.input.makeIterator(ctx), this.keyFn, (key, window) => this.reduceFn(key, window).makeIterator(ctx), this.windowSize);
  }
}

class GroupByWindowIterator<T, U> extends UnaryIterator<T, U> {
  /** Groups by canonical key, in the order first seen. */
  private groups = new Map<string, Window<T>>();
  private current: (Window<T> & { readonly iterator: OpIterator<U> }) | null = null;
  private inputEnded = false;
  private readonly closer = new BackgroundCloser();

  constructor(
    input: OpIterator<T>,
    private readonly keyFn: (value: T) => GroupKey,
    private readonly open: (key: GroupKey, window: readonly T[]) => OpIterator<U>,
    private readonly windowSize: number | ((key: GroupKey) => number),
  ) {
    super(input);
  }

  /** Synchronous while the input and the windows' datasets are; a Promise only where one waits. */
  next(): Pull<U> {
    for (;;) {
      const current = this.current;
      if (current !== null) {
        const value = current.iterator.next();
        if (value instanceof Promise) return value.then((v) => this.fromWindow(v));
        if (value !== END) return value;
        this.windowDone();
        continue;
      }
      if (this.inputEnded) {
        const smallest = this.smallestGroup();
        if (smallest === null) return END;
        this.reduce(smallest);
        continue;
      }
      const value = this.input.next();
      if (value instanceof Promise) return value.then((v) => (this.accept(v), this.next()));
      this.accept(value);
    }
  }

  private fromWindow(value: U | typeof END): Pull<U> {
    if (value !== END) return value;
    this.windowDone();
    return this.next();
  }

  /** The window's dataset ended: its iterator closes in the background (close() waits for it). */
  private windowDone(): void {
    const done = this.current?.iterator;
    this.current = null;
    if (done !== undefined) this.closer.close(done);
  }

  /** An input element joins its key's group; a group that fills is reduced. */
  private accept(value: T | typeof END): void {
    if (value === END) {
      this.inputEnded = true;
      return;
    }
    const key = this.keyOf(value);
    const id = canonical(key);
    let group = this.groups.get(id);
    if (group === undefined) this.groups.set(id, (group = { key, elements: [] }));
    group.elements.push(value);
    if (group.elements.length >= this.sizeOf(key)) this.reduce(group);
  }

  /** The window size of `key`: fixed, or from `windowSizeFunc` (an integer ≥ 1). */
  private sizeOf(key: GroupKey): number {
    if (typeof this.windowSize === "number") return this.windowSize;
    return requireInteger(`groupByWindow windowSizeFunc(${String(key)})`, this.windowSize(key), 1, "Return how many elements of that key make a window.");
  }

  private keyOf(value: T): GroupKey {
    const key = this.keyFn(value);
    if (typeof key === "bigint" || typeof key === "string" || (typeof key === "number" && Number.isFinite(key))) return key;
    throw invalidArgument("groupByWindow(keyFn)", "a key that is a finite number, a bigint or a string", key, "Return the element's group, e.g. (x) => x % 2.");
  }

  /** Starts reducing a window (the group leaves the map). */
  private reduce(group: Window<T>): void {
    this.groups.delete(canonical(group.key));
    this.current = { ...group, iterator: this.open(group.key, group.elements) };
  }

  /** The group of the smallest key (numbers and bigints by value, then strings), as TensorFlow flushes them. */
  private smallestGroup(): Window<T> | null {
    let best: Window<T> | null = null;
    for (const group of this.groups.values()) if (best === null || before(group.key, best.key)) best = group;
    return best;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    const groups = [...this.groups.values()].map((g, i) => ({
      key: encodeValue(g.key, `group ${i} key`, ctx.sink),
      elements: encodeValues(g.elements, `group ${i} element`, ctx.sink),
    }));
    const current =
      this.current === null
        ? null
        : {
            key: encodeValue(this.current.key, "window key", ctx.sink),
            window: encodeValues(this.current.elements, "window element", ctx.sink),
            state: await this.current.iterator.save(ctx),
          };
    return { kind: KIND, version: VERSION, inputEnded: this.inputEnded, groups, current, input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const { inputEnded, groups, current, input } = STATE.read(state);
    this.windowDone();
    await this.closer.drain();
    this.inputEnded = inputEnded;
    this.groups = new Map(groups.map((g) => [canonical(g.key as GroupKey), { key: g.key as GroupKey, elements: g.elements as T[] }]));
    this.current = null;
    if (current !== null) {
      const iterator = this.open(current.key as GroupKey, current.window as T[]);
      await iterator.restore(current.state);
      this.current = { key: current.key as GroupKey, elements: current.window as T[], iterator };
    }
    await this.input.restore(input);
  }

  override async close(): Promise<void> {
    this.windowDone();
    await this.closer.drain();
    await this.input.close();
  }
}

function canonical(key: GroupKey): string {
  return typeof key === "string" ? `s${key}` : typeof key === "bigint" ? `n${key}` : Number.isInteger(key) ? `n${key}` : `f${key}`;
}

function before(a: GroupKey, b: GroupKey): boolean {
  const numeric = (k: GroupKey): boolean => typeof k !== "string";
  if (numeric(a) !== numeric(b)) return numeric(a);
  return a < b;
}
