/**
 * The checkpoint test harness (src/testing/checkpointing.ts, the one users writing ops get as
 * `checkpipe/testing`) with vitest's comparisons, and the checks declared as tests of their own.
 */
import { describe, expect, it } from "vitest";
import type { Dataset } from "../src/index.js";
import * as kit from "../src/testing/checkpointing.js";
import { DEFAULT_CAP, resumed, uninterrupted, type Build, type CheckpointOptions } from "../src/testing/checkpointing.js";

export {
  DEFAULT_CAP,
  binaryRoundTrip,
  breakPoints,
  drain,
  resumed,
  roundTrip,
  takeN,
  uninterrupted,
  type Build,
  type CheckpointOptions,
} from "../src/testing/checkpointing.js";

/** vitest's `toEqual`, so that failures show its diff. */
const withExpect = (options: CheckpointOptions = {}): CheckpointOptions => ({
  assertEqual: (actual, expected, message) => expect(actual, message).toEqual(expected),
  ...options,
});

type Check = <T>(build: Build<T>, expected: readonly T[], options?: CheckpointOptions) => Promise<void>;
const bound =
  (check: Check): Check =>
  (build, expected, options) =>
    check(build, expected, withExpect(options));

export const checkUnused = bound(kit.checkUnused);
export const checkFullyUsed = bound(kit.checkFullyUsed);
export const checkExhausted = bound(kit.checkExhausted);
export const checkSingleBreaks = bound(kit.checkSingleBreaks);
export const checkSequentialBreaks = bound(kit.checkSequentialBreaks);
export const checkRestoreIntoUsed = bound(kit.checkRestoreIntoUsed);

/** Runs every check of the harness on `build` (for use inside one test, e.g. a property). */
export function checkCheckpointing<T>(build: Build<T>, options: CheckpointOptions = {}): Promise<T[]> {
  return kit.checkCheckpointing(build, withExpect(options));
}

/**
 * Declares the harness's checks as tests of their own, in a `describe(name)` block. The
 * uninterrupted output is computed once per block. `expectOutput`, when given, pins what the
 * uninterrupted run must yield (so the harness cannot pass on a dataset that yields nothing).
 */
export function describeCheckpointing<T>(
  name: string,
  build: Build<T>,
  options: CheckpointOptions & { readonly expectOutput?: (output: T[]) => void } = {},
): void {
  const cap = options.cap ?? DEFAULT_CAP;
  describe(name, () => {
    let output: Promise<T[]> | null = null;
    const expected = (): Promise<T[]> => (output ??= uninterrupted(build, cap));

    it("yields the same elements on every uninterrupted run", async () => {
      const first = await expected();
      expect(await uninterrupted(build, cap)).toEqual(first);
      options.expectOutput?.(first);
    });
    it("restores an unused iterator (saved before the first element) to yield every element", async () => {
      await checkUnused(build, await expected(), options);
    });
    it("restores a fully used iterator (saved after the last element) to yield nothing", async () => {
      await checkFullyUsed(build, await expected(), options);
    });
    it("restores an exhausted iterator (saved after the end) to yield nothing", async () => {
      await checkExhausted(build, await expected(), options);
    });
    it("resumes after a break at each of ten points with exactly the remaining elements of an uninterrupted run", async () => {
      await checkSingleBreaks(build, await expected(), options);
    });
    it("yields the uninterrupted output through ten sequential breaks, each resumed in a fresh iterator", async () => {
      await checkSequentialBreaks(build, await expected(), options);
    });
    it("replaces the whole state of an already used iterator on restore()", async () => {
      await checkRestoreIntoUsed(build, await expected(), options);
    });
  });
}

/** Every outcome of one full iteration, in order, going on after errors; the iterator is closed at the end. */
export async function settleAll<T>(dataset: Dataset<T>): Promise<({ readonly value: T } | { readonly error: Error })[]> {
  const it = dataset.iterator();
  const out: ({ readonly value: T } | { readonly error: Error })[] = [];
  try {
    for (;;) {
      try {
        const r = await it.next();
        if (r.done === true) return out;
        out.push({ value: r.value });
      } catch (error) {
        out.push({ error: error as Error });
      }
    }
  } finally {
    await it.close();
  }
}

/** {@link settleAll}, with each error as `"!<Class>: <message>"`. */
export async function outcomes<T>(dataset: Dataset<T>): Promise<(T | string)[]> {
  return (await settleAll(dataset)).map((o) => ("value" in o ? o.value : `!${o.error.constructor.name}: ${o.error.message}`));
}

/** Each next() of a run: the element, or the name and message of the error it raised. */
type Outcome = { readonly value: unknown } | { readonly error: string };

async function nextOutcomes(it: AsyncIterator<unknown>, limit = 500): Promise<Outcome[]> {
  const out: Outcome[] = [];
  while (out.length < limit) {
    try {
      const result = await it.next();
      if (result.done === true) return out;
      out.push({ value: result.value });
    } catch (error) {
      out.push({ error: `${(error as Error).name}: ${(error as Error).message}` });
    }
  }
  throw new Error(`more than ${limit} outcomes`);
}

/**
 * For pipelines whose errors are handed to the consumer in their place: a break at every
 * position, failed ones included, resumes with exactly the remaining outcomes.
 */
export function describeErrorPositions(pipelines: readonly (readonly [string, Build<unknown>])[]): void {
  for (const [name, build] of pipelines) {
    it(`resumes after a break at every position, failed ones included, with exactly the remaining outcomes: ${name}`, async () => {
      const expected = await nextOutcomes(build().iterator());
      expect(expected.some((o) => "error" in o)).toBe(true);
      for (let p = 0; p <= expected.length; p++) {
        const it = build().iterator();
        for (let i = 0; i < p; i++) await it.next().catch(() => undefined);
        const state = await it.save();
        expect(await nextOutcomes(resumed(build, state)), `after a break at ${p}`).toEqual(expected.slice(p));
      }
    });
  }
}
