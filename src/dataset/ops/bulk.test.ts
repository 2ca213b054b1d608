import { describe, expect, it } from "vitest";
import type { IteratorState } from "../../core/state.js";
import { Dataset } from "../dataset.js";
import { batchedWithResumes } from "./resume.test-helper.js";

/** Elements of the dataset pulled one by one (no bulk pulls anywhere downstream). */
async function oneByOne<T>(ds: Dataset<T>): Promise<T[]> {
  return ds.toArray();
}

const throwsOn = (bad: (x: number) => boolean) => (x: number) => {
  if (bad(x)) throw new Error(`bad ${x}`);
  return x;
};

describe("bulk pulls (what batch uses)", () => {
  const pipelines: [string, () => Dataset<number>][] = [
    ["map", () => Dataset.range(100).map((x) => x * 3)],
    ["async map", () => Dataset.range(60).map(async (x) => x * 3)],
    ["filter", () => Dataset.range(100).filter((x) => x % 3 !== 0)],
    ["async filter", () => Dataset.range(60).filter(async (x) => x % 3 !== 0)],
    [
      "map that throws, then ignoreErrors",
      () =>
        Dataset.range(100)
          .map(throwsOn((x) => x % 7 === 3 || x % 11 === 0))
          .ignoreErrors(),
    ],
    [
      "async map that throws, then ignoreErrors",
      () =>
        Dataset.range(60)
          .map(async (x) => throwsOn((v) => v % 5 === 1)(x))
          .ignoreErrors(),
    ],
    [
      "filter that throws, then ignoreErrors",
      () =>
        Dataset.range(100)
          .filter((x) => {
            if (x % 6 === 2) throw new Error("f");
            return x % 4 !== 0;
          })
          .ignoreErrors(),
    ],
    [
      "map, filter, map that throws, ignoreErrors, take",
      () =>
        Dataset.range(200)
          .map((x) => x + 1)
          .filter((x) => x % 2 === 0)
          .map(throwsOn((x) => x % 10 === 0))
          .ignoreErrors()
          .take(70),
    ],
    [
      "prefetch",
      () =>
        Dataset.range(100)
          .map(async (x) => x)
          .prefetch(7),
    ],
    [
      "prefetch over errors",
      () =>
        Dataset.range(100)
          .map(throwsOn((x) => x % 9 === 4))
          .prefetch(5)
          .ignoreErrors(),
    ],
    [
      "repeat, enumerate, unbatch",
      () =>
        Dataset.range(10)
          .repeat(3)
          .enumerate()
          .map(([i, x]) => i * 100 + x)
          .batch(4)
          .unbatch(),
    ],
    [
      "skip, take",
      () =>
        Dataset.fromArray([...Array(50).keys()])
          .skip(5)
          .take(33),
    ],
    ["shuffle", () => Dataset.range(100).shuffle(9, { seed: 4 })],
    [
      "shuffle over an async input",
      () =>
        Dataset.range(60)
          .map(async (x) => x)
          .shuffle(9, { seed: 4 }),
    ],
    [
      "shuffle over input errors, then ignoreErrors",
      () =>
        Dataset.range(100)
          .map(throwsOn((x) => x % 9 === 4))
          .shuffle(7, { seed: 1 })
          .ignoreErrors(),
    ],
  ];
  for (const [name, build] of pipelines) {
    for (const size of [1, 3, 8, 32]) {
      it(`yields the same sequence as one-by-one pulls, and resumes exactly after every batch of ${size}: ${name}`, async () => {
        const expected = await oneByOne(build());
        expect(await batchedWithResumes(build, size)).toEqual(expected);
      });
    }
  }

  it("raises an error that a bulk pull met after some elements on the next call, at its place", async () => {
    const ds = Dataset.range(10)
      .map(throwsOn((x) => x === 5))
      .batch(4);
    const it = ds.iterator();
    expect(await it.next()).toEqual({ value: [0, 1, 2, 3], done: false });
    await expect(it.next()).rejects.toThrow("bad 5");
    expect(await it.next()).toEqual({ value: [6, 7, 8, 9], done: false });
  });

  it("restores the leftover of a failed bulk pull from a version 1 state (pending and failure), as version 2 holds it", async () => {
    const build = () =>
      Dataset.range(10)
        .map(throwsOn((x) => x === 1))
        .batch(3);
    const v1: IteratorState = {
      format: "checkpipe.iterator",
      version: 1,
      pipeline: "Range -> Map -> Batch(3)",
      ended: false,
      root: {
        kind: "Batch",
        version: 1,
        input: {
          kind: "Map",
          version: 1,
          pending: [2, 3],
          failure: { name: "Error", message: "bad 1", code: null },
          input: { kind: "Range", version: 1, index: 4 },
        },
      },
    };
    const it = build().iterator({ state: v1 });
    await expect(it.next()).rejects.toThrow("bad 1");
    expect(await it.next()).toEqual({ value: [2, 3, 4], done: false });
    const v2 = (await build().iterator({ state: v1 }).save()).root as unknown as { input: unknown };
    expect(v2.input).toMatchObject({ kind: "Map", version: 2, held: [{ error: { name: "Error", message: "bad 1" } }, { value: 2 }, { value: 3 }] });
  });

  it("saves the input elements a failed bulk pull holds, and resumes with them", async () => {
    const build = () =>
      Dataset.range(10)
        .map(throwsOn((x) => x === 1))
        .batch(3);
    const it = build().iterator();
    await expect(it.next()).rejects.toThrow("bad 1");
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    expect(state.root).toMatchObject({ kind: "Batch", input: { kind: "Map", held: [{ value: 2 }] } });
    const rest = await build().iterator({ state }).next();
    expect(rest).toEqual({ value: [2, 3, 4], done: false });
    expect(await it.next()).toEqual(rest);
  });
});
