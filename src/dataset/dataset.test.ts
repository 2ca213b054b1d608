import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors.js";
import { Dataset } from "./dataset.js";

describe("argument checks", () => {
  const ds = Dataset.range(200);
  const cases: [string, () => unknown, string][] = [
    ["batch(0)", () => ds.batch(0), "batch(size) needs an integer ≥ 1; got 0. Pass how many elements to put in each batch, e.g. batch(32)."],
    ["shuffle(-1)", () => ds.shuffle(-1), "shuffle(bufferSize) needs an integer ≥ 1; got -1. Pass how many elements to sample from (the dataset has 200)."],
    ["take(1.5)", () => ds.take(1.5), "take(count) needs an integer ≥ 0; got 1.5. Pass how many elements to take, e.g. take(100)."],
    ["skip(-1)", () => ds.skip(-1), "skip(count) needs an integer ≥ 0; got -1. Pass how many elements to skip, e.g. skip(10)."],
    ["shard(2, 5)", () => ds.shard(2, 5), "shard(2, index) needs an integer from 0 to 1; got 5. Pass this worker's index, from 0 to 1."],
    ["shard(0, 0)", () => ds.shard(0, 0), "shard(numShards, index) needs an integer ≥ 1; got 0."],
    ["prefetch(0)", () => ds.prefetch(0), "prefetch(bufferSize) needs an integer ≥ 1; got 0."],
    ["repeat(-2)", () => ds.repeat(-2), "repeat(count) needs an integer ≥ 0, or -1 (or nothing) for forever; got -2."],
    ["map(fn, { parallel: 0 })", () => ds.map((x) => x, { parallel: 0 }), "map(fn, { parallel }) needs an integer ≥ 1; got 0."],
    ["map(42)", () => ds.map(42 as never), "map(fn) needs a function; got 42."],
    ["interleave without cycleLength", () => ds.interleave(() => ds, {} as never), "interleave(fn, { cycleLength }) needs an integer ≥ 1; got undefined."],
    [
      "interleave blockLength 0",
      () => ds.interleave(() => ds, { cycleLength: 2, blockLength: 0 }),
      "interleave(fn, { blockLength }) needs an integer ≥ 1; got 0.",
    ],
    ["range step 0", () => Dataset.range(0, 10, 0), "range(step) needs a finite non-zero number; got 0."],
    ["shuffle seed 1.5", () => ds.shuffle(10, { seed: 1.5 }), "shuffle(bufferSize, { seed }) needs an integer; got 1.5."],
    [
      "withOptions policy",
      () => ds.withOptions({ externalStatePolicy: "loud" as never }),
      'withOptions({ externalStatePolicy }) needs one of "warn", "ignore", "fail"; got "loud".',
    ],
    ["zip of a non-dataset", () => Dataset.zip([ds, [1, 2] as never]), "zip(datasets)[1] needs a Dataset; got an array of length 2."],
    ["fromArray of a string", () => Dataset.fromArray("abc" as never), 'fromArray(items) needs an array; got "abc".'],
  ];
  for (const [name, call, message] of cases) {
    it(`rejects ${name} saying what was expected, what was got, and the fix`, () => {
      expect(call).toThrow(InvalidArgumentError);
      expect(call).toThrow(message);
    });
  }

  it("reports an unbatch of non-arrays when iterating", async () => {
    await expect(Dataset.range(3).unbatch().toArray()).rejects.toThrow("unbatch() needs elements that are arrays or typed arrays; got 0.");
  });
});

describe("description and cardinality", () => {
  it("describes the pipeline op by op", () => {
    expect(String(Dataset.range(1000).shuffle(100).batch(32))).toBe("Range -> Shuffle(100) -> Batch(32)");
    expect(String(Dataset.zip({ a: Dataset.range(3), b: Dataset.fromArray([1]).map((x) => x) }).take(2))).toBe("Zip(a: Range, b: FromArray -> Map) -> Take(2)");
    expect(
      String(
        Dataset.range(3)
          .map((x) => x, { parallel: 4 })
          .interleave(() => [1], { cycleLength: 2, blockLength: 3 })
          .repeat(),
      ),
    ).toBe("Range -> Map(parallel=4) -> Interleave(cycleLength=2, blockLength=3) -> Repeat");
    expect(String(Dataset.range(3).concatenate(Dataset.range(2)).withOptions({ externalStatePolicy: "warn" }))).toBe("Range -> Concatenate(Range)");
  });

  it("counts elements where it can", () => {
    expect(Dataset.range(10).batch(3).cardinality()).toBe(4);
    expect(Dataset.range(10).batch(3, { dropRemainder: true }).cardinality()).toBe(3);
    expect(Dataset.range(10).repeat().cardinality()).toBe(Infinity);
    expect(Dataset.range(10).repeat(3).skip(5).take(100).cardinality()).toBe(25);
    expect(
      Dataset.range(10)
        .filter(() => true)
        .cardinality(),
    ).toBeNull();
    expect(Dataset.range(10).shard(3, 0).cardinality()).toBe(4);
    expect(Dataset.range(10).shard(3, 2).cardinality()).toBe(3);
    expect(Dataset.zip([Dataset.range(4), Dataset.range(9)]).cardinality()).toBe(4);
    expect(Dataset.range(0, 1, 0.25).cardinality()).toBe(4);
  });
});

describe("iteration", () => {
  it("yields the same elements from each fresh loop over a dataset", async () => {
    const ds = Dataset.range(20).shuffle(8, { seed: 3 });
    expect(await ds.toArray()).toEqual(await ds.toArray());
  });

  it("gives each repeat epoch its own reproducible order", async () => {
    const epochs = await Dataset.range(10).shuffle(10, { seed: 3 }).batch(10).repeat(3).toArray();
    expect(epochs[0]).not.toEqual(epochs[1]);
    expect(epochs.map((e) => [...e].sort((a, b) => a - b))).toEqual([0, 1, 2].map(() => [...Array(10).keys()]));
    const fixed = await Dataset.range(10).shuffle(10, { seed: 3, reshuffleEachIteration: false }).batch(10).repeat(2).toArray();
    expect(fixed[0]).toEqual(fixed[1]);
  });

  it("delivers parallel map results in input order", async () => {
    const out = await Dataset.range(20)
      .map(
        async (x) => {
          await new Promise((resolve) => setTimeout(resolve, (20 - x) % 7));
          return x;
        },
        { parallel: 6 },
      )
      .toArray();
    expect(out).toEqual([...Array(20).keys()]);
  });

  it("runs up to `parallel` calls at once, and no more", async () => {
    let running = 0;
    let peak = 0;
    await Dataset.range(30)
      .map(
        async (x) => {
          peak = Math.max(peak, ++running);
          await new Promise((resolve) => setTimeout(resolve, 2));
          running--;
          return x;
        },
        { parallel: 5 },
      )
      .toArray();
    expect(peak).toBe(5);
  });

  it("prefetches ahead of the consumer", async () => {
    let pulled = 0;
    const ds = Dataset.range(100)
      .map(async (x) => {
        pulled++;
        await new Promise((resolve) => setImmediate(resolve));
        return x;
      })
      .prefetch(10);
    const it = ds.iterator();
    await it.next();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pulled).toBe(11);
    await it.close();
  });

  it("ends a loop with break by closing the iterator", async () => {
    const it = Dataset.range(10).iterator();
    for await (const x of it) if (x === 2) break;
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it("serves calls in the order they are made", async () => {
    const it = Dataset.range(5)
      .map(async (x) => x)
      .iterator();
    const [a, b, state, c] = await Promise.all([it.next(), it.next(), it.save(), it.next()]);
    expect([a.value, b.value, c.value]).toEqual([0, 1, 2]);
    expect(
      await Dataset.range(5)
        .map(async (x) => x)
        .iterator({ state })
        .next(),
    ).toEqual({ value: 2, done: false });
  });
});
