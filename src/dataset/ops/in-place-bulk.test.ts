/**
 * map and filter answer a bulk pull in place: the input's elements are pulled straight into the
 * caller's array, then mapped or sieved there. These pipelines mix synchronous and asynchronous
 * results within one bulk pull, fail part-way (thrown and rejected), and pull into arrays that
 * already hold elements (a batch being filled), each checked against one-by-one pulls and
 * resumed after every batch.
 */
import { describe, expect, it } from "vitest";
import type { IteratorState } from "../../core/state.js";
import { Dataset } from "../dataset.js";
import { batchedWithResumes } from "./resume.test-helper.js";

/** Batches of `size` from one iterator, without resumes. */
async function batched<T>(ds: Dataset<T>, size: number): Promise<T[][]> {
  const out: T[][] = [];
  for await (const b of ds.batch(size)) out.push(b);
  return out;
}

/** Sync for most elements, a Promise for every `every`-th. */
const sometimesAsync =
  <T>(every: number, f: (x: number) => T) =>
  (x: number): T | Promise<T> =>
    x % every === 0 ? Promise.resolve().then(() => f(x)) : f(x);

const failing =
  (bad: (x: number) => boolean, asyncFailure: (x: number) => boolean) =>
  (x: number): number | Promise<number> => {
    if (!bad(x)) return x;
    const error = new Error(`bad ${x}`);
    if (asyncFailure(x)) return Promise.reject(error);
    throw error;
  };

describe("map and filter answer bulk pulls in place", () => {
  const pipelines: [string, () => Dataset<unknown>][] = [
    ["map, async every 5th", () => Dataset.range(90).map(sometimesAsync(5, (x) => ({ x, sq: x * x })))],
    ["filter, async every 4th", () => Dataset.range(90).filter(sometimesAsync(4, (x) => x % 3 !== 1))],
    [
      "map rejecting part-way, ignoreErrors",
      () =>
        Dataset.range(90)
          .map(
            failing(
              (x) => x % 13 === 5,
              () => true,
            ),
          )
          .ignoreErrors(),
    ],
    [
      "map throwing and rejecting, async every 3rd, ignoreErrors",
      () =>
        Dataset.range(90)
          .map(sometimesAsync(3, (x) => x))
          .map(
            failing(
              (x) => x % 7 === 2,
              (x) => x % 2 === 0,
            ),
          )
          .ignoreErrors(),
    ],
    [
      "filter rejecting part-way, ignoreErrors",
      () =>
        Dataset.range(90)
          .filter((x) => (x % 11 === 4 ? Promise.reject(new Error(`f ${x}`)) : x % 2 === 0))
          .ignoreErrors(),
    ],
    [
      "filter failing on the first element of a pull, ignoreErrors",
      () =>
        Dataset.range(90)
          .filter((x) => {
            if (x % 8 === 0) throw new Error(`f ${x}`);
            return true;
          })
          .ignoreErrors(),
    ],
    [
      "map → filter → map → filter, mixed sync and async, with failures",
      () =>
        Dataset.range(150)
          .map(sometimesAsync(6, (x) => x + 1))
          .filter((x) => x % 3 !== 0)
          .map(
            failing(
              (x) => x % 17 === 0,
              (x) => x % 2 === 0,
            ),
          )
          .filter(sometimesAsync(5, (x) => x % 4 !== 1))
          .ignoreErrors(),
    ],
    [
      "filter over a map that keeps nothing for a while",
      () =>
        Dataset.range(120)
          .map((x) => x * 2)
          .filter((x) => x < 20 || x > 200),
    ],
  ];
  for (const [name, build] of pipelines) {
    it(`yields the one-by-one sequence and resumes exactly after every batch: ${name}`, async () => {
      const expected = await build().toArray();
      for (const size of [1, 3, 8, 32]) {
        expect(await batchedWithResumes(build, size)).toEqual(expected);
        // One iterator: every batch but the last is full, and together they are the sequence.
        const batches = await batched(build(), size);
        expect(batches.flat()).toEqual(expected);
        for (const b of batches.slice(0, -1)) expect(b).toHaveLength(size);
      }
    });
  }

  it("raises a failure met part-way at its place (batch drops its partial batch, as before), then goes on", async () => {
    const it = Dataset.range(10)
      .map((x) => x * 10)
      .filter((x) => {
        if (x === 40) throw new Error("bad 40");
        return true;
      })
      .batch(8)
      .iterator();
    await expect(it.next()).rejects.toThrow("bad 40");
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    expect(state.root).toMatchObject({
      kind: "Batch",
      input: { kind: "Filter", held: [{ value: 50 }, { value: 60 }, { value: 70 }], input: { kind: "Map", input: { kind: "Range", index: 8 } } },
    });
    expect(await it.next()).toEqual({ value: [50, 60, 70, 80, 90], done: false });
    expect((await it.next()).done).toBe(true);
  });

  it("saves the input elements a failed in-place pull holds, in order, and resumes with them", async () => {
    const build = () =>
      Dataset.range(10)
        .filter((x) => {
          if (x === 2) throw new Error("bad 2");
          return x % 2 === 0;
        })
        .batch(4);
    const it = build().iterator();
    await expect(it.next()).rejects.toThrow("bad 2");
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    expect(state.root).toMatchObject({ kind: "Batch", input: { kind: "Filter", held: [{ value: 3 }], input: { kind: "Range", index: 4 } } });
    const resumed = build().iterator({ state });
    expect(await resumed.next()).toEqual({ value: [4, 6, 8], done: false });
    expect(await it.next()).toEqual({ value: [4, 6, 8], done: false });
  });
});
