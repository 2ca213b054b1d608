/**
 * `globalShuffle`: a permutation of the whole dataset by index (every epoch a permutation, the
 * state O(1) at any position), the conformance suite, the error naming the op that takes random
 * access away, and elastic resume: old workers' states resumed on 3, 6 and 1 workers, with and
 * without a filter after shard, into the next epoch — every element delivered exactly once.
 */
import { describe, expect, it } from "vitest";
import { Dataset, InvalidArgumentError, type IteratorState } from "../src/index.js";
import { describeCheckpointing, drain, takeN } from "./harness.js";

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const ints = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("globalShuffle", () => {
  it("yields a permutation of the input, the same for the same seed, a new one each epoch", async () => {
    const a = await Dataset.range(1000).globalShuffle({ seed: 1 }).toArray();
    expect(sorted(a)).toEqual(ints(1000));
    expect(a).not.toEqual(ints(1000));
    expect(await Dataset.range(1000).globalShuffle({ seed: 1 }).toArray()).toEqual(a);
    expect(await Dataset.range(1000).globalShuffle({ seed: 2 }).toArray()).not.toEqual(a);
    const twice = await Dataset.range(50).globalShuffle({ seed: 3 }).repeat(2).toArray();
    expect(sorted(twice.slice(0, 50))).toEqual(ints(50));
    expect(sorted(twice.slice(50))).toEqual(ints(50));
    expect(twice.slice(50)).not.toEqual(twice.slice(0, 50));
    const same = await Dataset.range(50).globalShuffle({ seed: 3, reshuffleEachIteration: false }).repeat(2).toArray();
    expect(same.slice(50)).toEqual(same.slice(0, 50));
  });

  it("works over element-wise ops with random access", async () => {
    const ds = Dataset.zip({ x: Dataset.range(30).map((x) => x * 2), y: Dataset.fromArray(ints(40).map(String)) })
      .skip(2)
      .take(25)
      .globalShuffle({ seed: 9 })
      .batch(4);
    const rows = (await ds.toArray()).flat();
    expect(rows.map((r) => r.x).sort((a, b) => a - b)).toEqual(ints(25).map((i) => (i + 2) * 2));
    expect(rows.every((r) => r.y === String(r.x / 2))).toBe(true);
  });

  it("names the op that takes random access away", () => {
    expect(() =>
      Dataset.range(10)
        .filter((x) => x > 2)
        .globalShuffle(),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      Dataset.range(10)
        .filter((x) => x > 2)
        .map((x) => x)
        .globalShuffle(),
    ).toThrow(/"Filter" in Range -> Filter -> Map takes it away/);
    expect(() => Dataset.range(10).shuffle(3).globalShuffle()).toThrow(/"Shuffle\(3\)"/);
    expect(() => Dataset.range(10).globalShuffle({ seed: 1.5 })).toThrow(/globalShuffle\(\{ seed \}\) needs an integer/);
  });

  it("keeps its state O(1) at any position, and restores at position 10^6 as at 10^3", async () => {
    const build = (): Dataset<number> => Dataset.range(1e9).globalShuffle({ seed: 5 });
    const it = build().iterator();
    await takeN(it, 1000);
    const early = await it.save();
    for (let i = 0; i < 999_000; i++) await it.next();
    const late = await it.save();
    expect(JSON.stringify(early).length).toBeLessThan(2048);
    expect(JSON.stringify(late).length).toBeLessThan(2048);
    const next = await takeN(it, 5);
    expect(await takeN(build().iterator({ state: JSON.parse(JSON.stringify(late)) as IteratorState }), 5)).toEqual(next);
    await it.close();
  });
});

describeCheckpointing("globalShuffle of a range", () => Dataset.range(60).globalShuffle({ seed: 11 }));
describeCheckpointing("globalShuffle over map and zip, batched, repeated", () =>
  Dataset.zip([Dataset.range(20), Dataset.fromArray(ints(20).map((i) => `s${i}`))])
    .map(([a, b]) => `${a}:${b}`)
    .globalShuffle({ seed: 4 })
    .batch(3)
    .repeat(2),
);
describe("globalShuffle without a seed", () => {
  it("takes the iterator's seed, saved with its state: a restored iterator continues the same order", async () => {
    const build = (): Dataset<number> => Dataset.range(30).globalShuffle();
    const it = build().iterator();
    const head = await takeN(it, 11);
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    const tail = await drain(it);
    expect(sorted([...head, ...tail])).toEqual(ints(30));
    expect(await drain(build().iterator({ state }))).toEqual(tail);
  });
});

// ---- elastic resume -------------------------------------------------------------------------

const N = 203;
const keep = (x: number): boolean => x % 3 !== 0;
function pipeline(workers: number, index: number, filtered: boolean, epochs = 1): Dataset<number> {
  const sharded = Dataset.range(N).globalShuffle({ seed: 21 }).shard(workers, index);
  return (filtered ? sharded.filter(keep) : sharded).repeat(epochs);
}

/** Old workers take different amounts (as a filter or uneven speed makes them), then save. */
async function oldJob(workers: number, filtered: boolean, takes: readonly number[], epochs = 1): Promise<{ delivered: number[]; states: IteratorState[] }> {
  const delivered: number[] = [];
  const states: IteratorState[] = [];
  for (let i = 0; i < workers; i++) {
    const it = pipeline(workers, i, filtered, epochs).iterator();
    delivered.push(...(await takeN(it, takes[i] as number)));
    states.push(JSON.parse(JSON.stringify(await it.save())) as IteratorState);
    await it.close();
  }
  return { delivered, states };
}

describe("elastic resume", () => {
  for (const filtered of [false, true]) {
    for (const m of [3, 6, 1]) {
      it(`resumes 4 workers' states on ${m} worker(s)${filtered ? ", with a filter after shard" : ""}: every element once over the epoch`, async () => {
        const { delivered, states } = await oldJob(4, filtered, [5, 17, 0, 26], 1);
        const rest: number[] = [];
        for (let j = 0; j < m; j++) rest.push(...(await drain(pipeline(m, j, filtered).iterator({ state: [...states].reverse() }))));
        const expected = ints(N).filter((x) => !filtered || keep(x));
        expect(sorted([...delivered, ...rest])).toEqual(expected);
      });
    }
  }

  it("goes on into the next epoch sharded by the new count, each element once per epoch", async () => {
    const { delivered, states } = await oldJob(4, true, [9, 30, 2, 21], 2);
    const expected = ints(N).filter(keep);
    const epoch1Rest: number[] = [];
    const epoch2: number[] = [];
    for (let j = 0; j < 3; j++) {
      const out = await drain(pipeline(3, j, true, 2).iterator({ state: states }));
      // The second epoch of a fresh worker j: its whole run less its first epoch.
      const share = (await pipeline(3, j, true, 2).toArray()).length - (await pipeline(3, j, true, 1).toArray()).length;
      epoch1Rest.push(...out.slice(0, out.length - share));
      epoch2.push(...out.slice(out.length - share));
    }
    expect(sorted([...delivered, ...epoch1Rest])).toEqual(expected);
    expect(sorted(epoch2)).toEqual(expected);
  });

  it("resumes twice in a row (4 → 3 → 2) with each element once", async () => {
    const first = await oldJob(4, true, [3, 11, 25, 7], 1);
    const delivered = [...first.delivered];
    const middle: IteratorState[] = [];
    for (let j = 0; j < 3; j++) {
      const it = pipeline(3, j, true).iterator({ state: first.states });
      delivered.push(...(await takeN(it, [4, 13, 1][j] as number)));
      middle.push(JSON.parse(JSON.stringify(await it.save())) as IteratorState);
      await it.close();
    }
    for (let j = 0; j < 2; j++) delivered.push(...(await drain(pipeline(2, j, true).iterator({ state: middle }))));
    expect(sorted(delivered)).toEqual(ints(N).filter(keep));
  });

  it("refuses states that are not every old worker's, and ops after shard that hold elements", async () => {
    const { states } = await oldJob(4, false, [1, 1, 1, 1]);
    await expect(
      pipeline(3, 0, false)
        .iterator({ state: states.slice(1) })
        .next(),
    ).rejects.toThrow(/expected one state of each of Shard\(3, 0\) to Shard\(3, 2\)/);
    await expect(
      Dataset.range(N)
        .globalShuffle({ seed: 21 })
        .shard(2, 0)
        .map((x) => x)
        .iterator({ state: states })
        .next(),
    ).rejects.toThrow(/an old worker read/);
    const prefetched: IteratorState[] = [];
    for (let i = 0; i < 2; i++) {
      const it = Dataset.range(N)
        .globalShuffle({ seed: 21 })
        .shard(2, i)
        .map(async (x) => x)
        .prefetch(8)
        .iterator();
      await takeN(it, 3);
      await new Promise((resolve) => setTimeout(resolve, 10));
      prefetched.push(await it.save());
      await it.close();
    }
    const it = Dataset.range(N)
      .globalShuffle({ seed: 21 })
      .shard(3, 0)
      .map(async (x) => x)
      .prefetch(8)
      .iterator({ state: prefetched });
    await expect(it.next()).rejects.toThrow(/Prefetch after shard holds \d+ element\(s\) in its buffer/);
  });
});

describe("globalShuffle over fromTensorSlices", () => {
  it("shuffles the rows of columns by index", async () => {
    const rows = await Dataset.fromTensorSlices({ x: Float32Array.from({ length: 20 }, (_, i) => i), y: Array.from({ length: 20 }, (_, i) => `r${i}`) })
      .globalShuffle({ seed: 6 })
      .toArray();
    expect(rows.map((r) => (r as { x: number }).x).sort((a, b) => a - b)).toEqual(ints(20));
    expect(rows.every((r) => (r as { y: string }).y === `r${(r as { x: number }).x}`)).toBe(true);
  });
});
