/**
 * The conformance suite for the combinators and sources of tf.data parity: sampleFromDatasets,
 * chooseFromDatasets, rejectionResample, fromTensorSlices, counter and random, alone and in
 * compositions, over sync and async inputs and with a slow consumer, through the checkpoint
 * harness (unused, fully used, exhausted, ten breaks single and sequential, restore into a
 * used iterator).
 */
import { describe, expect, it } from "vitest";
import { Dataset, type IteratorState } from "../src/index.js";
import { describeCheckpointing, drain, resumed } from "./harness.js";

// ---- helpers -----------------------------------------------------------------------------------

/** One turn of the event loop. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A slow consumer: saves while background work (prefetch refills) is under way or done. */
const slowConsumer = { beforeSave: (): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, 2)) };

/** `Dataset.range` whose elements arrive through a Promise. */
function asyncRange(start: number, stop: number): Dataset<number> {
  return Dataset.range(start, stop).map(async (x) => x);
}

/** `Dataset.range` whose elements each wait one to three event-loop turns. */
function slowRange(start: number, stop: number): Dataset<number> {
  return Dataset.range(start, stop).map(async (x) => {
    for (let i = 0; i < (x % 3) + 1; i++) await tick();
    return x;
  });
}

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const span = (start: number, stop: number): number[] => [...Array(stop - start).keys()].map((i) => start + i);

/** For unseeded ops: each iterator draws its own sequence; a restored one continues the saver's at every point. */
function describeUnseeded(name: string, build: () => Dataset<number>): void {
  it(`without a seed, gives each iterator its own sequence, and a restored one continues the saver's: ${name}`, async () => {
    const a = await drain(build().iterator());
    const b = await drain(build().iterator());
    expect(a).not.toEqual(b);
    const n = a.length;
    for (const k of [0, 1, Math.floor(n / 2), n - 1, n]) {
      // Up to k elements: another iterator's sequence may be shorter (rejectionResample).
      const it = build().iterator();
      for (let i = 0; i < k && (await it.next()).done !== true; i++);
      const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
      const rest = await drain(it);
      expect(await drain(resumed(build, state))).toEqual(rest);
    }
  });
}

// ---- sampleFromDatasets ------------------------------------------------------------------------

describe("sampleFromDatasets", () => {
  const all = [...span(0, 20), ...span(100, 130), ...span(200, 205)];
  describeCheckpointing(
    "sampleFromDatasets of three ranges with weights",
    () => Dataset.sampleFromDatasets([Dataset.range(20), Dataset.range(100, 130), Dataset.range(200, 205)], { weights: [0.2, 0.5, 0.3], seed: 7 }),
    { expectOutput: (out) => expect(sorted(out)).toEqual(all) },
  );
  describeCheckpointing(
    "sampleFromDatasets of async and slow inputs",
    () => Dataset.sampleFromDatasets([asyncRange(0, 20), slowRange(100, 130), Dataset.range(200, 205)], { seed: 3 }),
    {
      expectOutput: (out) => expect(sorted(out)).toEqual(all),
    },
  );
  describeCheckpointing(
    "sampleFromDatasets of prefetched slow inputs, with a slow consumer",
    () => Dataset.sampleFromDatasets([slowRange(0, 20).prefetch(3), slowRange(100, 130).prefetch(2)], { weights: [1, 2], seed: 5 }).prefetch(2),
    { ...slowConsumer, expectOutput: (out) => expect(sorted(out)).toEqual([...span(0, 20), ...span(100, 130)]) },
  );
  describeCheckpointing(
    "sampleFromDatasets with stopOnEmptyDataset",
    () => Dataset.sampleFromDatasets([Dataset.range(8), asyncRange(100, 140)], { seed: 2, stopOnEmptyDataset: true }),
    { expectOutput: (out) => expect(out.filter((x) => x < 100)).toEqual(span(0, 8)) },
  );
  describeCheckpointing(
    "sampleFromDatasets with an empty input and one of weight 0",
    () => Dataset.sampleFromDatasets([Dataset.range(0), Dataset.range(10), Dataset.range(50, 60)], { weights: [1, 1, 0], seed: 4 }),
    {
      expectOutput: (out) => expect(out).toEqual(span(0, 10)),
    },
  );
  describeCheckpointing(
    "sampleFromDatasets of shuffled inputs under repeat(3)",
    () => Dataset.sampleFromDatasets([Dataset.range(6).shuffle(6, { seed: 1 }), Dataset.range(10, 14)], { seed: 9 }).repeat(3),
    {
      expectOutput: (out) => expect(out).toHaveLength(30),
    },
  );
  describeCheckpointing("sampleFromDatasets rerandomized in each epoch of a repeat", () =>
    Dataset.sampleFromDatasets([Dataset.range(6), Dataset.range(10, 16)], { seed: 9, rerandomizeEachIteration: true }).repeat(3),
  );
  describeCheckpointing("sampleFromDatasets of infinite inputs, then batch and take", () =>
    Dataset.sampleFromDatasets([Dataset.counter(), Dataset.counter(1000), Dataset.random({ seed: 1 })], { seed: 1 })
      .batch(4)
      .take(25),
  );
  describeCheckpointing("sampleFromDatasets nested in flatMap", () =>
    Dataset.range(4).flatMap((k) => Dataset.sampleFromDatasets([Dataset.range(k * 10, k * 10 + 3), Dataset.range(k * 10 + 5, k * 10 + 5 + k)], { seed: k })),
  );
  describeUnseeded("sampleFromDatasets", () => Dataset.sampleFromDatasets([Dataset.range(20), Dataset.range(100, 120)]));
  describeUnseeded("sampleFromDatasets under repeat", () => Dataset.sampleFromDatasets([Dataset.range(5), Dataset.range(100, 105)]).repeat(3));
});

// ---- chooseFromDatasets ------------------------------------------------------------------------

describe("chooseFromDatasets", () => {
  const words = (): Dataset<string>[] => [Dataset.fromArray(["foo"]).repeat(), Dataset.fromArray(["bar"]).repeat(), Dataset.fromArray(["baz"]).repeat()];
  describeCheckpointing("chooseFromDatasets, tf.data's example", () => Dataset.chooseFromDatasets(words(), Dataset.range(3).repeat(3)), {
    expectOutput: (out) => expect(out).toEqual(["foo", "bar", "baz", "foo", "bar", "baz", "foo", "bar", "baz"]),
  });
  describeCheckpointing(
    "chooseFromDatasets with random choices over async inputs",
    () =>
      Dataset.chooseFromDatasets(
        [asyncRange(0, 40), slowRange(100, 140)],
        Dataset.random({ seed: 3 })
          .map((x) => x % 2)
          .take(45),
      ),
    {
      expectOutput: (out) => expect(out).toHaveLength(45),
    },
  );
  describeCheckpointing(
    "chooseFromDatasets with an async, prefetched choice and a slow consumer",
    () =>
      Dataset.chooseFromDatasets(
        [Dataset.range(30), slowRange(100, 130)],
        slowRange(0, 40)
          .map((x) => (x * 7) % 2)
          .prefetch(3),
      ),
    slowConsumer,
  );
  describeCheckpointing(
    "chooseFromDatasets stopping at an empty dataset",
    () => Dataset.chooseFromDatasets([Dataset.range(3), Dataset.range(100, 110)], Dataset.fromArray([0, 1, 1, 0, 0, 1, 0, 1])),
    {
      expectOutput: (out) => expect(out).toEqual([0, 100, 101, 1, 2, 102]),
    },
  );
  describeCheckpointing(
    "chooseFromDatasets skipping an empty dataset",
    () =>
      Dataset.chooseFromDatasets([asyncRange(0, 3), Dataset.range(100, 110)], Dataset.fromArray([0, 1, 1, 0, 0, 1, 0, 1, 0, 1]), { stopOnEmptyDataset: false }),
    {
      expectOutput: (out) => expect(out).toEqual([0, 100, 101, 1, 2, 102, 103, 104]),
    },
  );
  describeCheckpointing("chooseFromDatasets under repeat(2)", () =>
    Dataset.chooseFromDatasets([Dataset.range(4), Dataset.range(10, 14)], Dataset.fromArray([1, 0, 0, 1, 1, 0])).repeat(2),
  );
});

// ---- rejectionResample -------------------------------------------------------------------------

describe("rejectionResample", () => {
  const label = (x: number): number => (x % 10 < 6 ? 0 : x % 10 < 9 ? 1 : 2);
  describeCheckpointing("rejectionResample with an initial distribution", () =>
    Dataset.range(120).rejectionResample(label, { targetDist: [1, 1, 1], initialDist: [0.6, 0.3, 0.1], seed: 3 }),
  );
  describeCheckpointing(
    "rejectionResample estimating the distribution online",
    () => Dataset.range(200).rejectionResample(label, { targetDist: [1, 1, 1], seed: 4 }),
    {
      expectOutput: (out) => expect(out.length).toBeGreaterThan(20),
    },
  );
  describeCheckpointing("rejectionResample of an async input with an async classFn", () =>
    asyncRange(0, 150).rejectionResample(async (x) => label(x), { targetDist: [0.2, 0.3, 0.5], seed: 5 }),
  );
  describeCheckpointing(
    "rejectionResample of a slow input, prefetched, with a slow consumer",
    () =>
      slowRange(0, 100)
        .rejectionResample(label, { targetDist: [1, 2, 1], seed: 6 })
        .prefetch(2),
    slowConsumer,
  );
  describeCheckpointing("rejectionResample of records with typed arrays held in its window", () =>
    Dataset.fromTensorSlices({ x: Float32Array.from({ length: 80 }, (_, i) => i / 2), y: [...Array(80).keys()].map(label) })
      .map(({ x, y }) => ({ x: Float32Array.of(x, -x), y }))
      .rejectionResample((e) => e.y, { targetDist: [1, 1, 1], seed: 7 }),
  );
  describeCheckpointing("rejectionResample under repeat(2)", () =>
    Dataset.range(70)
      .rejectionResample(label, { targetDist: [1, 1, 1], seed: 8 })
      .repeat(2),
  );
  describeUnseeded("rejectionResample", () => Dataset.range(200).rejectionResample(label, { targetDist: [1, 1, 1] }));
});

// ---- fromTensorSlices, counter, random ---------------------------------------------------------

describe("fromTensorSlices", () => {
  describeCheckpointing(
    "fromTensorSlices of a record of columns",
    () =>
      Dataset.fromTensorSlices({
        a: [...Array(30).keys()],
        b: Float64Array.from({ length: 30 }, (_, i) => i * 1.5),
        c: BigInt64Array.from({ length: 30 }, (_, i) => BigInt(-i)),
      }),
    {
      expectOutput: (out) => expect(out[29]).toEqual({ a: 29, b: 43.5, c: -29n }),
    },
  );
  describeCheckpointing("fromTensorSlices of a tuple of columns, arrays of arrays included", () =>
    Dataset.fromTensorSlices([[...Array(25).keys()].map((i) => [i, -i]), Uint8Array.from({ length: 25 }, (_, i) => i * 3)]),
  );
  describeCheckpointing("fromTensorSlices of a 2-D tensor, shuffled and batched", () =>
    Dataset.fromTensorSlices({ data: Float32Array.from({ length: 60 }, (_, i) => i), shape: [20, 3] })
      .shuffle(5, { seed: 1 })
      .batch(3),
  );
  describeCheckpointing("fromTensorSlices through an async map", () =>
    Dataset.fromTensorSlices(Int32Array.from({ length: 20 }, (_, i) => i * i)).map(async (x) => x + 1),
  );
});

describe("counter", () => {
  describeCheckpointing("counter(), then take", () => Dataset.counter().take(40), { expectOutput: (out) => expect(out).toEqual(span(0, 40)) });
  describeCheckpointing("counter(start, step) through batch, then take", () => Dataset.counter(5, -0.5).batch(3).take(12));
  describeCheckpointing("counter zipped with an async range (enumerating it)", () => Dataset.zip([Dataset.counter(100), asyncRange(0, 17)]));
  describeCheckpointing("counter under prefetch, with a slow consumer", () => Dataset.counter(1, 2).prefetch(4).take(30), slowConsumer);
});

describe("random", () => {
  describeCheckpointing("random with a seed, then take", () => Dataset.random({ seed: 12 }).take(50), {
    expectOutput: (out) => expect(out.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true),
  });
  describeCheckpointing(
    "random with a seed, under prefetch and batch, with a slow consumer",
    () => Dataset.random({ seed: 1 }).batch(4).prefetch(3).take(20),
    slowConsumer,
  );
  describeCheckpointing("random in each epoch of a repeat, rerandomized", () => Dataset.random({ seed: 2, rerandomizeEachIteration: true }).take(7).repeat(3));
  describeUnseeded("random", () => Dataset.random().take(40));
  describeUnseeded("random under repeat", () => Dataset.random().take(6).repeat(3));
});
