import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../errors.js";
import type { IteratorState } from "../../core/state.js";
import type { DatasetIterator } from "../../core/dataset-iterator.js";
import { Dataset } from "../dataset.js";

async function drain<T>(it: DatasetIterator<T>): Promise<T[]> {
  const out: T[] = [];
  for (let r = await it.next(); r.done !== true; r = await it.next()) out.push(r.value);
  return out;
}

const sorted = (xs: readonly unknown[]): unknown[] => [...xs].sort((a, b) => String(a).localeCompare(String(b)));

const roundTrip = (state: IteratorState): IteratorState => JSON.parse(JSON.stringify(state)) as IteratorState;

/** The elements of `out` that came from the input of index `k` (inputs are numbered k * 1000 + i). */
const from = (out: readonly number[], k: number): number[] => out.filter((x) => Math.floor(x / 1000) === k);

describe("Dataset.sampleFromDatasets", () => {
  it("interleaves its inputs at random, each in order (tf.data: sample_from_datasets([range(0, 3), range(100, 103)], weights=[0.5, 0.5]))", async () => {
    const out = await Dataset.sampleFromDatasets([Dataset.range(0, 3), Dataset.range(100, 103)], { weights: [0.5, 0.5], seed: 1 }).toArray();
    expect([...out].sort((a, b) => a - b)).toEqual([0, 1, 2, 100, 101, 102]);
    expect(out.filter((x) => x < 100)).toEqual([0, 1, 2]);
    expect(out.filter((x) => x >= 100)).toEqual([100, 101, 102]);
  });

  it("yields the union of its inputs' element types", async () => {
    const mixed: Dataset<number | string> = Dataset.sampleFromDatasets([Dataset.range(2), Dataset.fromArray(["a"])], { seed: 1 });
    expect(sorted(await mixed.toArray())).toEqual([0, 1, "a"]);
  });

  it("draws from each input in proportion to its weight", async () => {
    const out = await Dataset.sampleFromDatasets([Dataset.fromArray([0]).repeat(), Dataset.fromArray([1]).repeat()], { weights: [3, 1], seed: 7 })
      .take(8000)
      .toArray();
    const ones = out.filter((x) => x === 1).length / out.length;
    expect(ones).toBeGreaterThan(0.23);
    expect(ones).toBeLessThan(0.27);
  });

  it("makes the same choices for the same seed", async () => {
    const build = (seed: number): Dataset<number> => Dataset.sampleFromDatasets([Dataset.range(20), Dataset.range(1000, 1020)], { seed });
    expect(await build(3).toArray()).toEqual(await build(3).toArray());
    expect(await build(3).toArray()).not.toEqual(await build(4).toArray());
  });

  it("drops an input that ended and goes on with the others, renormalized", async () => {
    const out = await Dataset.sampleFromDatasets([Dataset.range(2), Dataset.range(1000, 1050)], { weights: [0.99, 0.01], seed: 2 }).toArray();
    expect(out).toHaveLength(52);
    expect(out.slice(-10).every((x) => x >= 1000)).toBe(true);
  });

  it("with stopOnEmptyDataset, ends at the first choice of an input that ended", async () => {
    const out = await Dataset.sampleFromDatasets([Dataset.range(2), Dataset.range(1000, 1050)], {
      weights: [0.5, 0.5],
      seed: 2,
      stopOnEmptyDataset: true,
    }).toArray();
    expect(from(out, 0)).toEqual([0, 1]);
    expect(out.length).toBeLessThan(52);
  });

  it("never reads an input of weight 0", async () => {
    let opened = 0;
    const never = Dataset.fromGenerator(function* () {
      opened++;
      yield -1;
    });
    expect(await Dataset.sampleFromDatasets([Dataset.range(5), never], { weights: [1, 0], seed: 1 }).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(opened).toBe(0);
  });

  it("counts elements where it can", () => {
    expect(Dataset.sampleFromDatasets([Dataset.range(3), Dataset.range(4)]).cardinality()).toBe(7);
    expect(Dataset.sampleFromDatasets([Dataset.range(3), Dataset.range(4).repeat()]).cardinality()).toBe(Infinity);
    expect(Dataset.sampleFromDatasets([Dataset.range(3), Dataset.range(4)], { stopOnEmptyDataset: true }).cardinality()).toBeNull();
    expect(Dataset.sampleFromDatasets([Dataset.range(3), Dataset.range(4).filter(() => true)]).cardinality()).toBeNull();
    expect(Dataset.sampleFromDatasets([Dataset.range(3), Dataset.range(4).repeat()], { weights: [1, 0] }).cardinality()).toBe(3);
  });

  it("saves the generator's position and every input's state", async () => {
    const it = Dataset.sampleFromDatasets([Dataset.range(3), Dataset.range(5)], { seed: 11 }).iterator();
    await it.next();
    const { root } = await it.save();
    expect(root).toMatchObject({ kind: "SampleFromDatasets", version: 1, seed: 11, ended: false });
    expect(root?.["inputs"]).toHaveLength(2);
  });

  it("rejects bad weights, a bad seed, non-datasets and unknown options, listing the known ones", () => {
    const two = [Dataset.range(2), Dataset.range(2)];
    const cases: [() => unknown, string][] = [
      [
        () => Dataset.sampleFromDatasets(two, { weights: [1] }),
        "Dataset.sampleFromDatasets(datasets, { weights }) needs an array of 2 weights, one per dataset; got an array of length 1.",
      ],
      [() => Dataset.sampleFromDatasets(two, { weights: [1, -1] }), "Dataset.sampleFromDatasets(datasets, { weights })[1] needs a finite number ≥ 0; got -1."],
      [() => Dataset.sampleFromDatasets(two, { weights: [0, 0] }), "Dataset.sampleFromDatasets(datasets, { weights }) needs at least one weight above 0"],
      [() => Dataset.sampleFromDatasets(two, { seed: 0.5 }), "Dataset.sampleFromDatasets(datasets, { seed }) needs an integer; got 0.5."],
      [() => Dataset.sampleFromDatasets([]), "Dataset.sampleFromDatasets(datasets) needs at least one dataset"],
      [() => Dataset.sampleFromDatasets([Dataset.range(1), [1] as never]), "Dataset.sampleFromDatasets(datasets)[1] needs a Dataset"],
      [
        () => Dataset.sampleFromDatasets(two, { weight: [1, 1] } as never),
        'Dataset.sampleFromDatasets(datasets, options) has no option "weight"; its options are: weights, seed, stopOnEmptyDataset, rerandomizeEachIteration.',
      ],
    ];
    for (const [call, message] of cases) {
      expect(call).toThrow(InvalidArgumentError);
      expect(call).toThrow(message);
    }
  });

  it("yields every element of every input exactly once (each input in order, a prefix of each when stopping early), and resumes at any split with exactly the rest (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ length: fc.integer({ min: 0, max: 25 }), weight: fc.double({ min: 0.01, max: 10, noNaN: true }), async: fc.boolean() }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.integer(),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        fc.boolean(),
        async (inputs, seed, at, stopOnEmptyDataset) => {
          const build = (): Dataset<number> =>
            Dataset.sampleFromDatasets(
              inputs.map(({ length, async }, k) => {
                const ds = Dataset.range(k * 1000, k * 1000 + length);
                return async ? ds.map(async (x) => x) : ds;
              }),
              { weights: inputs.map((i) => i.weight), seed, stopOnEmptyDataset },
            );
          const all = await drain(build().iterator());
          if (!stopOnEmptyDataset) expect(all).toHaveLength(inputs.reduce((n, i) => n + i.length, 0));
          inputs.forEach(({ length }, k) => {
            const mine = from(all, k);
            // Each input's elements in order; all of them unless the sequence stopped early.
            expect(mine).toEqual([...Array(stopOnEmptyDataset ? mine.length : length).keys()].map((i) => k * 1000 + i));
          });
          const split = Math.floor(at * (all.length + 1));
          const it = build().iterator();
          for (let i = 0; i < split; i++) await it.next();
          const state = roundTrip(await it.save());
          expect(await drain(build().iterator({ state }))).toEqual(all.slice(split));
        },
      ),
      { seed: 20_261_203, numRuns: 120 },
    );
  });
});
