/**
 * The conformance suite of the batching and filtering ops that follow tf.data's (paddedBatch,
 * the stacking batch, window, rebatch, unique, takeWhile): each through the checkpoint harness
 * over sync, async and slow inputs, with a slow consumer, and in compositions.
 */
import { describe, expect } from "vitest";
import { Dataset } from "../src/index.js";
import { describeCheckpointing, describeErrorPositions } from "./harness.js";
import { hash, jitter, asyncRange, slowRange } from "./inputs.js";

// ---- helpers -----------------------------------------------------------------------------------

const ints = (n: number): number[] => [...Array(n).keys()];

/** Sequences of uneven lengths (0 to 4), each filled with its index. */
const sequences = (ds: Dataset<number>): Dataset<number[]> => ds.map((x) => Array<number>(hash(x) % 5).fill(x));

// ---- paddedBatch -------------------------------------------------------------------------------

describe("paddedBatch", () => {
  describeCheckpointing(
    "paddedBatch(2) of TensorFlow's example",
    () =>
      Dataset.range(1, 5)
        .map((x) => Array<number>(x).fill(x))
        .paddedBatch(2),
    {
      expectOutput: (out) =>
        expect(out).toEqual([
          [
            [1, 0],
            [2, 2],
          ],
          [
            [3, 3, 3, 0],
            [4, 4, 4, 4],
          ],
        ]),
    },
  );
  for (const size of [1, 3, 7]) {
    describeCheckpointing(`paddedBatch(${size}) of sequences of uneven lengths`, () => sequences(Dataset.range(23)).paddedBatch(size), {
      expectOutput: (out) => expect(out).toHaveLength(Math.ceil(23 / size)),
    });
  }
  describeCheckpointing(
    "paddedBatch(4, dropRemainder, paddedShapes [6], paddingValues -1)",
    () => sequences(Dataset.range(23)).paddedBatch(4, { dropRemainder: true, paddedShapes: [6], paddingValues: -1 }),
    {
      expectOutput: (out) => expect(out).toHaveLength(5),
    },
  );
  describeCheckpointing("paddedBatch of records of typed arrays, nested arrays and scalars", () =>
    Dataset.range(17)
      .map((x) => ({ x: Float32Array.from({ length: (x % 4) + 1 }, (_, i) => x + i / 8), grid: Array.from({ length: x % 3 }, () => [x, -x]), label: x }))
      .paddedBatch(5),
  );
  describeCheckpointing("paddedBatch over an async input", () => sequences(asyncRange(20)).paddedBatch(3));
  describeCheckpointing("paddedBatch over a slow input", () => sequences(slowRange(20)).paddedBatch(6));
});

// ---- batch(stack) ------------------------------------------------------------------------------

const features = (ds: Dataset<number>): Dataset<{ x: Float32Array; y: number; meta: { ok: boolean; id: bigint } }> =>
  ds.map((i) => ({ x: Float32Array.from({ length: 4 }, (_, k) => i + k / 4), y: i * 0.5, meta: { ok: i % 2 === 0, id: BigInt(i) } }));

describe("batch(stack)", () => {
  for (const size of [1, 3, 7]) {
    describeCheckpointing(
      `batch(${size}, stack) of records of typed arrays, numbers, booleans and bigints`,
      () => features(Dataset.range(23)).batch(size, { stack: true }),
      {
        expectOutput: (out) => expect(out).toHaveLength(Math.ceil(23 / size)),
      },
    );
  }
  describeCheckpointing("batch(5, stack, dropRemainder) of numbers", () => Dataset.range(23).batch(5, { stack: true, dropRemainder: true }), {
    expectOutput: (out) => expect(out.map((b) => Array.from(b.data))).toEqual([0, 1, 2, 3].map((k) => ints(5).map((i) => k * 5 + i))),
  });
  describeCheckpointing("batch(stack) over an async input", () => features(asyncRange(20)).batch(6, { stack: true }));
  describeCheckpointing("batch(stack) over a slow input", () => features(slowRange(20)).batch(4, { stack: true }));
});

// ---- window ------------------------------------------------------------------------------------

describe("window", () => {
  const configs = [
    { size: 3 },
    { size: 3, shift: 1 },
    { size: 3, shift: 2, dropRemainder: true },
    { size: 3, shift: 1, stride: 2, dropRemainder: true },
    { size: 3, shift: 2, stride: 2 },
    { size: 2, shift: 5 },
    { size: 4, shift: 3, stride: 3 },
    { size: 1, shift: 1 },
  ];
  for (const { size, ...options } of configs) {
    describeCheckpointing(`window(${size}, ${JSON.stringify(options)}) of range(23)`, () => Dataset.range(23).window(size, options), {
      expectOutput: (out) => expect(out).toHaveLength(Dataset.range(23).window(size, options).cardinality() as number),
    });
  }
  describeCheckpointing(
    "window of range(7): TensorFlow's example with shift 2, dropRemainder",
    () => Dataset.range(7).window(3, { shift: 2, dropRemainder: true }),
    {
      expectOutput: (out) =>
        expect(out).toEqual([
          [0, 1, 2],
          [2, 3, 4],
          [4, 5, 6],
        ]),
    },
  );
  describeCheckpointing("window(4, shift 1) over an async input", () => asyncRange(20).window(4, { shift: 1 }));
  describeCheckpointing("window(3, shift 5) over a slow input (skipping while waiting)", () => slowRange(24).window(3, { shift: 5 }));
  describeCheckpointing("window(3, shift 1, stride 2, dropRemainder) over a slow input", () =>
    slowRange(20).window(3, { shift: 1, stride: 2, dropRemainder: true }),
  );
  describeCheckpointing("window holding typed arrays", () =>
    Dataset.range(15)
      .map((x) => new Float64Array([x, -0, NaN]))
      .window(4, { shift: 2 }),
  );
  describeCheckpointing("window of an empty input", () => Dataset.range(0).window(3), { expectOutput: (out) => expect(out).toEqual([]) });
});

// ---- rebatch -----------------------------------------------------------------------------------

describe("rebatch", () => {
  describeCheckpointing("rebatch(2) of range(8).batch(4) (TensorFlow's example)", () => Dataset.range(8).batch(4).rebatch(2), {
    expectOutput: (out) =>
      expect(out).toEqual([
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7],
      ]),
  });
  for (const size of [1, 3, 7]) {
    describeCheckpointing(`rebatch(${size}) of batch(4)`, () => Dataset.range(30).batch(4).rebatch(size), {
      expectOutput: (out) => expect(out.flat()).toEqual(ints(30)),
    });
  }
  describeCheckpointing("rebatch([2, 1, 1]) of batch(4)", () => Dataset.range(30).batch(4).rebatch([2, 1, 1]));
  describeCheckpointing("rebatch(5) of uneven batches, some empty", () => sequences(Dataset.range(25)).rebatch(5));
  describeCheckpointing("rebatch over an async input", () => asyncRange(40).batch(6).rebatch(4));
  describeCheckpointing("rebatch over a slow input", () => slowRange(30).batch(7).rebatch([3, 5]));
});

// ---- unique ------------------------------------------------------------------------------------

describe("unique", () => {
  describeCheckpointing(
    "unique of numbers with many repeats",
    () =>
      Dataset.range(60)
        .map((x) => hash(x) % 17)
        .unique(),
    {
      expectOutput: (out) => expect(new Set(out).size).toBe(out.length),
    },
  );
  describeCheckpointing(
    "unique of strings, bigints, NaN, -0, null and undefined",
    () => Dataset.fromArray<unknown>(["a", 1n, NaN, "b", -0, 0, 1n, null, "a", undefined, NaN, 2n ** 70n, null, undefined, 2n ** 70n, "c"]).unique(),
    {
      expectOutput: (out) => expect(out).toEqual(["a", 1n, NaN, "b", -0, null, undefined, 2n ** 70n, "c"]),
    },
  );
  describeCheckpointing("unique over an async input", () =>
    asyncRange(50)
      .map((x) => `k${x % 13}`)
      .unique(),
  );
  describeCheckpointing("unique over a slow input, repeated", () => slowRange(10).repeat(3).unique(), {
    expectOutput: (out) => expect(out).toEqual(ints(10)),
  });
});

// ---- takeWhile ---------------------------------------------------------------------------------

describe("takeWhile", () => {
  describeCheckpointing("takeWhile with a sync predicate", () => Dataset.range(40).takeWhile((x) => x < 25), {
    expectOutput: (out) => expect(out).toEqual(ints(25)),
  });
  describeCheckpointing(
    "takeWhile with an async predicate",
    () =>
      Dataset.range(40).takeWhile(async (x) => {
        await jitter(x);
        return x < 17;
      }),
    { expectOutput: (out) => expect(out).toEqual(ints(17)) },
  );
  describeCheckpointing("takeWhile that never stops", () => asyncRange(20).takeWhile(() => true), { expectOutput: (out) => expect(out).toEqual(ints(20)) });
  describeCheckpointing("takeWhile that stops at once", () => Dataset.range(20).takeWhile(() => false), { expectOutput: (out) => expect(out).toEqual([]) });
  describeCheckpointing("takeWhile over a slow input", () => slowRange(30).takeWhile((x) => hash(x) % 11 !== 0));
  describeCheckpointing("takeWhile over an infinite input", () => Dataset.range(0, Infinity).takeWhile((x) => x < 30), {
    expectOutput: (out) => expect(out).toHaveLength(30),
  });
});

// ---- a slow consumer ---------------------------------------------------------------------------

// The consumer dawdles before each save, so that prefetch has refilled in the background and
// parallel calls have run ahead when the state is taken.
describe("a slow consumer", () => {
  const sleep = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 3));
  const slowly = { beforeSave: sleep };
  describeCheckpointing("window → prefetch over a slow input", () => slowRange(25).window(4, { shift: 3 }).prefetch(3), slowly);
  describeCheckpointing(
    "parallel map → paddedBatch → prefetch",
    () =>
      sequences(
        slowRange(30).map(
          async (x) => {
            await jitter(x + 1);
            return x;
          },
          { parallel: 4 },
        ),
      )
        .paddedBatch(4)
        .prefetch(2),
    slowly,
  );
  describeCheckpointing("prefetch → batch(stack)", () => features(slowRange(25)).prefetch(5).batch(4, { stack: true }), slowly);
  describeCheckpointing("prefetch → rebatch → prefetch", () => slowRange(30).batch(4).prefetch(3).rebatch(3).prefetch(2), slowly);
  describeCheckpointing(
    "prefetch → unique",
    () =>
      slowRange(40)
        .map((x) => x % 9)
        .prefetch(6)
        .unique(),
    slowly,
  );
  describeCheckpointing(
    "prefetch → takeWhile with an async predicate",
    () =>
      slowRange(40)
        .prefetch(4)
        .takeWhile(async (x) => x < 23),
    slowly,
  );
});

// ---- compositions ------------------------------------------------------------------------------

describe("compositions", () => {
  describeCheckpointing(
    "shuffle → window → unbatch → unique → batch → rebatch",
    () => Dataset.range(30).shuffle(7, { seed: 3 }).window(3, { shift: 2 }).unbatch().unique().batch(3).rebatch(4),
    {
      expectOutput: (out) => expect([...out.flat()].sort((a, b) => a - b)).toEqual(ints(30)),
    },
  );
  describeCheckpointing("interleave of windows → takeWhile → paddedBatch", () =>
    Dataset.range(6)
      .interleave((x) => Dataset.range(x * 10, x * 10 + 7).window((x % 3) + 1, { shift: 2 }), { cycleLength: 3 })
      .takeWhile((w) => w.length > 0)
      .paddedBatch(3),
  );
  describeCheckpointing("repeat of takeWhile → window", () =>
    Dataset.range(12)
      .takeWhile((x) => x < 8)
      .window(3, { shift: 2 })
      .repeat(3),
  );
  describeCheckpointing("window → map to records → batch(stack) → unbatch of a column", () =>
    asyncRange(26)
      .window(4, { shift: 1, dropRemainder: true })
      .map((w) => ({ w: Int32Array.from(w), sum: w.reduce((a, b) => a + b, 0) }))
      .batch(5, { stack: true })
      .map((b) => b.w.data)
      .unbatch(),
  );
});

// ---- errors handed to the consumer -------------------------------------------------------------

function failsOnSome(x: number): number {
  if (x % 5 === 1) throw new Error(`element ${x} is bad`);
  return x;
}

// An error met while an op fills a window or a batch is handed to the consumer in that pull's
// place; what the op had taken in stays held (window, rebatch) or goes with the failed pull
// (paddedBatch and the stacking batch, as batch). Saving after it resumes after it.
describe("errors handed to the consumer", () => {
  const pipelines: [string, () => Dataset<unknown>][] = [
    ["a window over a map that throws", () => Dataset.range(30).map(failsOnSome).window(3, { shift: 2 })],
    ["a window that skips over an async map that rejects", () => asyncRange(30).map(failsOnSome).window(2, { shift: 4 })],
    ["a rebatch over batches of a map that throws", () => Dataset.range(30).map(failsOnSome).batch(3).rebatch(4)],
    ["a paddedBatch over a map that throws", () => sequences(Dataset.range(30).map(failsOnSome)).paddedBatch(4)],
    [
      "a paddedBatch of elements some of which cannot be padded",
      () =>
        Dataset.range(20)
          .map((x) => (x % 7 === 3 ? [[x]] : [x]))
          .paddedBatch(3),
    ],
    [
      "a stacking batch of elements some of which do not fit",
      () =>
        Dataset.range(20)
          .map((x) => (x % 7 === 3 ? "x" : x))
          .batch(3, { stack: true }),
    ],
    [
      "a unique over a map that throws",
      () =>
        slowRange(30)
          .map((x) => failsOnSome(x) % 7)
          .unique(),
    ],
    [
      "a unique of elements some of which are not primitive",
      () =>
        Dataset.range(20)
          .map((x) => (x % 6 === 2 ? [x] : x % 4))
          .unique(),
    ],
    ["a takeWhile whose predicate throws", () => Dataset.range(30).takeWhile((x) => failsOnSome(x) < 22)],
    ["a takeWhile whose async predicate rejects", () => slowRange(30).takeWhile(async (x) => failsOnSome(x) < 17)],
  ];
  describeErrorPositions(pipelines);
  describeCheckpointing("ignoreErrors after a window over a map that throws", () => Dataset.range(30).map(failsOnSome).window(4, { shift: 3 }).ignoreErrors());
  describeCheckpointing("ignoreErrors after a paddedBatch of elements some of which cannot be padded", () =>
    Dataset.range(20)
      .map((x) => (x % 7 === 3 ? [[x]] : [x]))
      .paddedBatch(3)
      .ignoreErrors(),
  );
});
