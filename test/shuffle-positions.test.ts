/**
 * `shuffle(n, { saveBuffer: "positions" })`: the state holds where each buffered element came
 * from, not the element; restore gets them again by index. The same stream as elements mode,
 * a state of a few bytes per buffered element, the default by input, the fallback after an
 * input error, and the error for an input without random access.
 */
import { describe, expect, it } from "vitest";
import { Dataset, FailedPreconditionError, InvalidArgumentError, type IteratorState } from "../src/index.js";
import { describeCheckpointing, drain, takeN } from "./harness.js";

const vectors = (n: number, calls?: { count: number }): Dataset<Float32Array> =>
  Dataset.range(n).map((i) => {
    if (calls !== undefined) calls.count++;
    return new Float32Array(784).fill(i);
  });

describeCheckpointing('shuffle with saveBuffer: "positions" over map and batch', () =>
  Dataset.range(80)
    .map((x) => ({ x }))
    .batch(2)
    .shuffle(9, { seed: 3, saveBuffer: "positions" })
    .repeat(2),
);
describeCheckpointing('shuffle with saveBuffer: "elements" over the same input', () =>
  Dataset.range(80)
    .map((x) => ({ x }))
    .batch(2)
    .shuffle(9, { seed: 3, saveBuffer: "elements" })
    .repeat(2),
);

describe('saveBuffer: "positions"', () => {
  it("yields the stream elements mode yields, with a state of a few bytes per buffered element", async () => {
    const positions = vectors(3000).shuffle(1000, { seed: 1, saveBuffer: "positions" });
    const elements = vectors(3000).shuffle(1000, { seed: 1, saveBuffer: "elements" });
    const a = positions.iterator();
    const b = elements.iterator();
    expect((await takeN(a, 500)).map((v) => v[0])).toEqual((await takeN(b, 500)).map((v) => v[0]));
    const small = JSON.stringify(await a.save());
    const large = JSON.stringify(await b.save());
    expect(small.length).toBeLessThan(8 * 1000);
    expect(large.length).toBeGreaterThan(1000 * 784);
    const calls = { count: 0 };
    const resumed = vectors(3000, calls)
      .shuffle(1000, { seed: 1, saveBuffer: "positions" })
      .iterator({ state: JSON.parse(small) as IteratorState });
    const rest = (await drain(resumed, 3000)).map((v) => v[0]);
    expect(rest).toEqual((await drain(b, 3000)).map((v) => v[0]));
    expect(calls.count).toBe(2500); // the 1000 buffered made again, then the 1500 never read
    await a.close();
  });

  it("is the default over an input with random access, elements otherwise", async () => {
    const saved = async (ds: Dataset<number>): Promise<Record<string, unknown>> => {
      const it = ds.iterator();
      await takeN(it, 3);
      const state = await it.save();
      await it.close();
      return state.root as unknown as Record<string, unknown>;
    };
    const addressed = await saved(Dataset.range(100).shuffle(10, { seed: 1 }));
    expect(addressed["positions"]).toHaveLength(9);
    expect(addressed["buffer"]).toEqual([]);
    const filtered = await saved(
      Dataset.range(100)
        .filter((x) => x % 2 === 0)
        .shuffle(10, { seed: 1 }),
    );
    expect(filtered["positions"]).toHaveLength(9);
    expect(filtered["buffer"]).toEqual([]);
    const unaddressed = await saved(
      Dataset.fromGenerator(function* () {
        for (let i = 0; i < 100; i++) yield i;
      })
        .withOptions({ externalStatePolicy: "ignore" })
        .shuffle(10, { seed: 1 }),
    );
    expect(unaddressed["positions"]).toBeNull();
    expect(unaddressed["buffer"]).toHaveLength(9);
  });

  it("saves elements for the rest of a pass after an input error", async () => {
    const ds = Dataset.range(40)
      .map((x) => {
        if (x === 12) throw new Error("bad 12");
        return x;
      })
      .shuffle(8, { seed: 2 });
    const it = ds.iterator();
    const out: (number | string)[] = [];
    for (let i = 0; i < 20; i++)
      out.push(
        await it.next().then(
          (r) => r.value as number,
          (e: Error) => e.message,
        ),
      );
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    expect((state.root as unknown as { positions: unknown }).positions).toBeNull();
    const rest = await drain(ds.iterator({ state }));
    expect([...out.filter((o) => typeof o === "number"), ...rest].sort((x, y) => x - y)).toEqual(
      Array.from({ length: 40 }, (_, i) => i).filter((x) => x !== 12),
    );
  });

  it("is refused over an input that is not addressable, naming the op", () => {
    const generated = Dataset.fromGenerator(function* () {
      yield* [1, 2, 3];
    });
    expect(() => generated.filter(() => true).shuffle(3, { saveBuffer: "positions" })).toThrow(InvalidArgumentError);
    expect(() => generated.filter(() => true).shuffle(3, { saveBuffer: "positions" })).toThrow(/"FromGenerator" in FromGenerator -> Filter takes that away/);
    const filtered = Dataset.range(10).filter(() => true);
    expect(() => filtered.enumerate().shuffle(3, { saveBuffer: "positions" })).toThrow(/"Enumerate" in Range -> Filter -> Enumerate takes that away/);
    expect(() => filtered.map((x) => x, { parallel: 2 }).shuffle(3, { saveBuffer: "positions" })).toThrow(/"Map\(parallel=2\)" in .* takes that away/);
    expect(() =>
      Dataset.range(10)
        .globalShuffle({ seed: 1 })
        .filter(() => true)
        .shuffle(3, { saveBuffer: "positions" }),
    ).toThrow(/"GlobalShuffle"/);
    expect(() => Dataset.range(10).shuffle(3, { saveBuffer: "rows" as never })).toThrow(/"elements" or "positions"/);
  });
});

/** The Shuffle states in a saved iterator state, outermost first. */
function shuffleStates(state: IteratorState): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  const visit = (value: unknown): void => {
    if (typeof value !== "object" || value === null) return;
    if (Array.isArray(value)) return value.forEach(visit);
    const record = value as Record<string, unknown>;
    if (record["kind"] === "Shuffle") found.push(record);
    Object.values(record).forEach(visit);
  };
  visit(state.root);
  return found;
}

const keepNotThirds = ({ x }: { x: number }): boolean => x % 3 !== 0;

describeCheckpointing("shuffle saving positions over map -> filter, mid-epoch with repeat", () =>
  Dataset.range(90)
    .map((x) => ({ x }))
    .filter(keepNotThirds)
    .shuffle(9, { seed: 3, saveBuffer: "positions" })
    .repeat(3),
);
describeCheckpointing("shuffle saving positions over filter -> map, by default", () =>
  Dataset.range(90)
    .filter((x) => x % 4 !== 1)
    .map((x) => ({ x }))
    .shuffle(7, { seed: 5 })
    .repeat(2),
);
describeCheckpointing("shuffle saving positions over an async predicate and a filter over a filter", () =>
  Dataset.range(120)
    .filter(async (x) => {
      await Promise.resolve();
      return x % 2 === 0;
    })
    .map((x) => x * 10)
    .filter((x) => x % 3 !== 0)
    .shuffle(6, { seed: 8 })
    .repeat(2),
);

describe('saveBuffer: "positions" over a filtered input', () => {
  /** Every `every`-th save point of `build()`: the state holds positions only, and resumes exactly. */
  async function checkEverySavePoint(build: () => Dataset<number>, every: number): Promise<number> {
    const expected = await drain(build().iterator());
    let checked = 0;
    for (let at = 0; at <= expected.length; at += every) {
      const it = build().iterator();
      const before = await takeN(it, at);
      const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
      await it.close();
      const shuffles = shuffleStates(state);
      expect(shuffles.length).toBeGreaterThan(0);
      for (const shuffle of shuffles) {
        expect(shuffle["buffer"]).toEqual([]);
        expect(Array.isArray(shuffle["positions"])).toBe(true);
      }
      expect([...before, ...(await drain(build().iterator({ state })))]).toEqual(expected);
      checked++;
    }
    return checked;
  }

  it("resumes exactly at many save points, mid-epoch with repeat, saving only positions", async () => {
    const build = (): Dataset<number> =>
      Dataset.range(150)
        .map((x) => x * 7)
        .filter((x) => x % 3 !== 0)
        .shuffle(16, { seed: 21 })
        .repeat(3);
    expect(await checkEverySavePoint(build, 11)).toBeGreaterThan(25);
  });

  it("resumes exactly with an async predicate, filter -> map and map -> filter", async () => {
    const asyncFilterMap = (): Dataset<number> =>
      Dataset.range(100)
        .filter((x) => Promise.resolve(x % 5 !== 2))
        .map((x) => x + 1000)
        .shuffle(12, { seed: 2 })
        .repeat(2);
    const mapFilter = (): Dataset<number> =>
      Dataset.range(100)
        .map(async (x) => x * 2)
        .filter((x) => x % 6 !== 0)
        .shuffle(12, { seed: 4, saveBuffer: "positions" });
    expect(await checkEverySavePoint(asyncFilterMap, 9)).toBeGreaterThan(15);
    expect(await checkEverySavePoint(mapFilter, 5)).toBeGreaterThan(10);
  });

  it("yields the stream elements mode yields, with a state of a few bytes per buffered element", async () => {
    const filtered = (mode: "positions" | "elements", calls?: { count: number }): Dataset<Float32Array> =>
      vectors(6000, calls)
        .filter((v) => (v[0] as number) % 2 === 1)
        .shuffle(1000, { seed: 1, saveBuffer: mode });
    const a = filtered("positions").iterator();
    const b = filtered("elements").iterator();
    expect((await takeN(a, 500)).map((v) => v[0])).toEqual((await takeN(b, 500)).map((v) => v[0]));
    const small = JSON.stringify(await a.save());
    const large = JSON.stringify(await b.save());
    expect(small.length).toBeLessThan(8 * 1000);
    expect(large.length).toBeGreaterThan(1000 * 784);
    const saved = shuffleStates(JSON.parse(small) as IteratorState)[0] as { positions: number[]; input: { pulled: number } };
    expect(saved.positions).toHaveLength(999); // one slot frees as each element is handed out, refilled by the next pull
    expect(saved.positions.every((p) => p % 2 === 1)).toBe(true); // positions in the unfiltered input
    const calls = { count: 0 };
    const resumed = filtered("positions", calls).iterator({ state: JSON.parse(small) as IteratorState });
    const rest = (await drain(resumed, 6000)).map((v) => v[0]);
    expect(rest).toEqual((await drain(b, 6000)).map((v) => v[0]));
    expect(saved.input.pulled).toBe(2 * 1499); // the filter took 1499 kept and 1499 dropped elements
    expect(calls.count).toBe(999 + (6000 - 2 * 1499)); // the 999 buffered made again, then the input after them
    await a.close();
  });

  it("fails to restore, naming filter, when the predicate no longer keeps a buffered element", async () => {
    let threshold = 0;
    const build = (): Dataset<number> =>
      Dataset.range(50)
        .filter((x) => x >= threshold)
        .shuffle(5, { seed: 1 });
    const it = build().iterator();
    await takeN(it, 3);
    const state = await it.save();
    await it.close();
    threshold = 40;
    const resumed = build().iterator({ state });
    await expect(resumed.next()).rejects.toThrow(FailedPreconditionError);
    await expect(build().iterator({ state }).next()).rejects.toThrow(/filter\(predicate\) dropped the element at position \d+/);
  });

  it("saves elements for the rest of a pass after an error below or in the filter", async () => {
    for (const ds of [
      Dataset.range(40)
        .map((x) => {
          if (x === 9) throw new Error("bad 9");
          return x;
        })
        .filter((x) => x % 2 === 1)
        .shuffle(6, { seed: 2 }),
      Dataset.range(40)
        .filter((x) => {
          if (x === 9) throw new Error("bad 9");
          return x % 2 === 1;
        })
        .map((x) => x)
        .shuffle(6, { seed: 2 }),
    ]) {
      const it = ds.iterator();
      const out: number[] = [];
      let errors = 0;
      for (let i = 0; i < 12; i++) {
        await it.next().then(
          (r) => out.push(r.value as number),
          () => errors++,
        );
      }
      expect(errors).toBe(1);
      const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
      expect(shuffleStates(state)[0]?.["positions"]).toBeNull();
      const rest = await drain(ds.iterator({ state }));
      expect([...out, ...rest].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i + 1).filter((x) => x !== 9));
    }
  });
});
