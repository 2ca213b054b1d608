import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../errors.js";
import type { IteratorState } from "../../core/state.js";
import { Dataset } from "../dataset.js";

describe("Dataset.random", () => {
  it("yields the same sequence for the same seed, and another for another seed", async () => {
    const a = await Dataset.random({ seed: 42 }).take(50).toArray();
    expect(await Dataset.random({ seed: 42 }).take(50).toArray()).toEqual(a);
    expect(await Dataset.random({ seed: 43 }).take(50).toArray()).not.toEqual(a);
  });

  it("yields uniform 32-bit unsigned integers", async () => {
    const xs = await Dataset.random({ seed: 1 }).take(20_000).toArray();
    expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff_ffff)).toBe(true);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length / 2 ** 32;
    expect(mean).toBeCloseTo(0.5, 1);
    const high = xs.filter((x) => x >= 2 ** 31).length / xs.length;
    expect(high).toBeGreaterThan(0.48);
    expect(high).toBeLessThan(0.52);
  });

  it("is infinite", () => {
    expect(Dataset.random({ seed: 1 }).cardinality()).toBe(Infinity);
  });

  it("repeats its sequence in each epoch of a repeat unless rerandomizeEachIteration", async () => {
    const same = await Dataset.random({ seed: 5 }).take(4).repeat(2).toArray();
    expect(same.slice(0, 4)).toEqual(same.slice(4));
    const fresh = await Dataset.random({ seed: 5, rerandomizeEachIteration: true }).take(4).repeat(2).toArray();
    expect(fresh.slice(0, 4)).not.toEqual(fresh.slice(4));
  });

  it("without a seed, gives each iterator its own sequence, and a restored one continues the saver's", async () => {
    const ds = Dataset.random().take(30);
    const a = await ds.toArray();
    expect(await ds.toArray()).not.toEqual(a);
    const it = ds.iterator();
    for (let i = 0; i < 10; i++) await it.next();
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    const rest = Dataset.random().take(30).iterator({ state });
    const expected: number[] = [];
    for (let r = await it.next(); r.done !== true; r = await it.next()) expected.push(r.value);
    const got: number[] = [];
    for (let r = await rest.next(); r.done !== true; r = await rest.next()) got.push(r.value);
    expect(got).toEqual(expected);
  });

  it("saves the generator's position, not a count to replay", async () => {
    const it = Dataset.random({ seed: 9 }).iterator();
    await it.next();
    const { root } = await it.save();
    expect(root).toMatchObject({ kind: "Random", version: 1, seed: 9 });
    expect(root?.["rng"]).toHaveLength(4);
  });

  it("rejects a non-integer seed and unknown options, listing the known ones", () => {
    expect(() => Dataset.random({ seed: 1.5 })).toThrow("Dataset.random({ seed }) needs an integer; got 1.5.");
    expect(() => Dataset.random({ sead: 1 } as never)).toThrow(InvalidArgumentError);
    expect(() => Dataset.random({ sead: 1 } as never)).toThrow(
      'Dataset.random(options) has no option "sead"; its options are: seed, rerandomizeEachIteration.',
    );
  });
});
