/**
 * The checkpoint test harness, after TensorFlow's (`DatasetSerializationTestBase`, see
 * TF_REFERENCE.md §6): every dataset is compared with an uninterrupted run of all its outputs
 * plus the end, through an unused iterator, a fully used one, an exhausted one, breaks at ten
 * points (single and sequential), and a restore into an iterator that was already used.
 *
 * `build` must return a freshly built, identical dataset on every call, so that each restore
 * happens in a dataset object other than the one that saved (as after a restart). Return the
 * same object each time only where the contract is per object (an unseeded shuffle).
 *
 * For people writing their own ops: run `checkCheckpointing(() => myDataset())` in a test of
 * any runner; it throws (an `AssertionError` of `node:assert`, or the runner's own with
 * `assertEqual`) at the first difference. The suite of this package runs every op through it.
 *
 * @module
 */
import { deepStrictEqual } from "node:assert/strict";
import type { DatasetIterator } from "../core/dataset-iterator.js";
import type { IteratorState, JsonValue } from "../core/state.js";
import { EncodedState } from "../core/value-codec.js";
import type { Dataset } from "../dataset/dataset.js";

/** Reads at most this many elements unless told otherwise: wrap infinite datasets in `take()`. */
export const DEFAULT_CAP = 2_000;

/** Options of the harness. */
export interface CheckpointOptions {
  /** The most elements the dataset may yield before its end (default {@link DEFAULT_CAP}). */
  readonly cap?: number;
  /** How many break points, spread from 0 to the number of elements (default 10). */
  readonly breaks?: number;
  /**
   * Awaited before each save at a break, e.g. a short sleep: a slow consumer, so that
   * background work (prefetch refills, parallel calls) is under way or done when it saves.
   */
  readonly beforeSave?: () => Promise<void>;
  /**
   * Compares what a check got with what it expected, throwing when they differ (default:
   * `node:assert`'s `deepStrictEqual`). Pass your test runner's, e.g.
   * `(actual, expected, message) => expect(actual, message).toEqual(expected)`.
   */
  readonly assertEqual?: (actual: unknown, expected: unknown, message?: string) => void;
}

function equal(options: CheckpointOptions, actual: unknown, expected: unknown, message?: string): void {
  if (options.assertEqual !== undefined) options.assertEqual(actual, expected, message);
  else deepStrictEqual(actual, expected, message);
}

/** A dataset factory: a fresh, identically built dataset on each call. */
export type Build<T> = () => Dataset<T>;

/** What `JSON.stringify` then `JSON.parse` make of a state: how it travels to disk and back. */
export function roundTrip(state: IteratorState): IteratorState {
  return JSON.parse(JSON.stringify(state)) as IteratorState;
}

/**
 * What a checkpoint file makes of a state in binary form: the tree through JSON, each binary
 * part copied to an odd offset of a buffer of its own (as read back from a file, unaligned).
 */
export function binaryRoundTrip(state: EncodedState): EncodedState {
  const blobs = state.blobs.map((blob) => {
    const buffer = new Uint8Array(blob.byteLength + 1);
    buffer.set(blob, 1);
    return buffer.subarray(1);
  });
  return new EncodedState(JSON.parse(JSON.stringify(state.tree)) as JsonValue, blobs);
}

/** Exactly `count` elements from `it`; fails if it ends sooner. */
export async function takeN<T>(it: DatasetIterator<T>, count: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < count) {
    const result = await it.next();
    if (result.done === true) {
      throw new Error(`expected ${count} elements from ${it.pipeline}, but it ended after ${out.length}`);
    }
    out.push(result.value);
  }
  return out;
}

/** Every element up to the end; fails if there are more than `cap`. */
export async function drain<T>(it: DatasetIterator<T>, cap: number = DEFAULT_CAP): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const result = await it.next();
    if (result.done === true) return out;
    if (out.length === cap) {
      await it.close();
      throw new Error(`${it.pipeline} yields more than ${cap} elements; wrap an infinite dataset in take()`);
    }
    out.push(result.value);
  }
}

/** Every element of one uninterrupted run. */
export async function uninterrupted<T>(build: Build<T>, cap: number = DEFAULT_CAP): Promise<T[]> {
  return drain(build().iterator(), cap);
}

/** A fresh iterator of a freshly built dataset, put at `state` after a JSON round trip. */
export function resumed<T>(build: Build<T>, state: IteratorState): DatasetIterator<T> {
  return build().iterator({ state: roundTrip(state) });
}

/** `count` positions spread evenly from 0 to `n`, both included, without duplicates. */
export function breakPoints(n: number, count = 10): number[] {
  if (count < 2 || n === 0) return [0];
  const points = new Set<number>();
  for (let i = 0; i < count; i++) points.add(Math.round((i * n) / (count - 1)));
  return [...points].sort((a, b) => a - b);
}

/**
 * Saves a fresh iterator before its first element; a restored iterator must yield every
 * element, then end.
 */
export async function checkUnused<T>(build: Build<T>, expected: readonly T[], options: CheckpointOptions = {}): Promise<void> {
  const cap = options.cap ?? DEFAULT_CAP;
  const it = build().iterator();
  await options.beforeSave?.();
  const state = await it.save();
  equal(options, state.ended, false);
  await it.close();
  equal(options, await drain(resumed(build, state), cap), expected);
}

/**
 * Saves after the last element but before the iterator has seen the end; a restored iterator
 * must end at once.
 */
export async function checkFullyUsed<T>(build: Build<T>, expected: readonly T[], options: CheckpointOptions = {}): Promise<void> {
  const it = build().iterator();
  equal(options, await takeN(it, expected.length), expected);
  await options.beforeSave?.();
  const state = await it.save();
  const restored = resumed(build, state);
  equal(options, await restored.next(), { value: undefined, done: true });
  equal(options, await restored.next(), { value: undefined, done: true });
  equal(options, await it.next(), { value: undefined, done: true });
}

/** Saves after the end; the state says so, and a restored iterator yields nothing. */
export async function checkExhausted<T>(build: Build<T>, expected: readonly T[], options: CheckpointOptions = {}): Promise<void> {
  const cap = options.cap ?? DEFAULT_CAP;
  const it = build().iterator();
  equal(options, await drain(it, cap), expected);
  const state = await it.save();
  equal(options, state.ended, true);
  equal(options, await resumed(build, state).next(), { value: undefined, done: true });
  const again = build().iterator();
  await takeN(again, Math.min(1, expected.length));
  await again.restore(roundTrip(state));
  equal(options, await again.next(), { value: undefined, done: true });
}

/**
 * For each break point `p`: reads `p` elements, saves, restores into a fresh iterator of a
 * fresh dataset, which must yield exactly the rest; the iterator that saved must go on as if
 * it had not (saving disturbs nothing).
 */
export async function checkSingleBreaks<T>(build: Build<T>, expected: readonly T[], options: CheckpointOptions = {}): Promise<void> {
  const cap = options.cap ?? DEFAULT_CAP;
  for (const p of breakPoints(expected.length, options.breaks)) {
    const it = build().iterator();
    equal(options, await takeN(it, p), expected.slice(0, p));
    await options.beforeSave?.();
    const state = await it.save();
    equal(options, await drain(resumed(build, state), cap), expected.slice(p), `after a break at ${p} of ${expected.length}`);
    equal(options, await drain(it, cap), expected.slice(p), `the saving iterator, after saving at ${p}`);
  }
}

/**
 * Breaks at every break point in turn through one chain: each segment runs in a fresh
 * iterator restored from the state the previous one saved (JSON round trip in between). The
 * concatenated segments must be the uninterrupted output.
 */
export async function checkSequentialBreaks<T>(build: Build<T>, expected: readonly T[], options: CheckpointOptions = {}): Promise<void> {
  const cap = options.cap ?? DEFAULT_CAP;
  let it = build().iterator();
  let position = 0;
  const seen: T[] = [];
  for (const [i, p] of breakPoints(expected.length, options.breaks).entries()) {
    seen.push(...(await takeN(it, p - position)));
    position = p;
    await options.beforeSave?.();
    // Every other break goes through the binary form checkpoint files use.
    if (i % 2 === 1) {
      const encoded = await it.saveEncoded();
      await it.close();
      it = build().iterator();
      await it.restoreEncoded(binaryRoundTrip(encoded));
      continue;
    }
    const state = await it.save();
    await it.close();
    it = resumed(build, state);
  }
  seen.push(...(await drain(it, cap)));
  equal(options, seen, expected);
}

/**
 * `restore()` into an iterator that has already been used replaces its whole state: it then
 * yields exactly what the saving iterator had left, whether it was behind, ahead or exhausted.
 */
export async function checkRestoreIntoUsed<T>(build: Build<T>, expected: readonly T[], options: CheckpointOptions = {}): Promise<void> {
  const cap = options.cap ?? DEFAULT_CAP;
  const n = expected.length;
  const p = Math.floor(n / 3);
  const saver = build().iterator();
  await takeN(saver, p);
  await options.beforeSave?.();
  const state = await saver.save();
  await saver.close();

  const ahead = build().iterator();
  await takeN(ahead, Math.min(n, p + 2 + Math.floor(n / 3)));
  await options.beforeSave?.();
  await ahead.restore(roundTrip(state));
  equal(options, await drain(ahead, cap), expected.slice(p), "restored over an iterator that was ahead");

  const exhausted = build().iterator();
  await drain(exhausted, cap);
  await exhausted.restore(roundTrip(state));
  equal(options, await drain(exhausted, cap), expected.slice(p), "restored over an exhausted iterator");

  const fresh = build().iterator();
  const start = await fresh.save();
  await fresh.close();
  const behind = build().iterator();
  await takeN(behind, Math.min(n, p + 1));
  await behind.restore(roundTrip(start));
  equal(options, await drain(behind, cap), expected, "restored to the start over a used iterator");
}

/** Runs every check of the harness on `build` (for use inside one test, e.g. a property). */
export async function checkCheckpointing<T>(build: Build<T>, options: CheckpointOptions = {}): Promise<T[]> {
  const cap = options.cap ?? DEFAULT_CAP;
  const expected = await uninterrupted(build, cap);
  equal(options, await uninterrupted(build, cap), expected, "a second uninterrupted run");
  await checkUnused(build, expected, options);
  await checkFullyUsed(build, expected, options);
  await checkExhausted(build, expected, options);
  await checkSingleBreaks(build, expected, options);
  await checkSequentialBreaks(build, expected, options);
  await checkRestoreIntoUsed(build, expected, options);
  return expected;
}
