/**
 * The conformance suite: every source and every op, alone and in long compositions, through
 * the checkpoint harness (unused, fully used, exhausted, ten breaks single and sequential,
 * restore into a used iterator). Sync and async inputs take separate code paths in every op,
 * so most ops run over both.
 */
import { describe, expect, it } from "vitest";
import { Dataset, FailedPreconditionError, type IteratorState } from "../src/index.js";
import { describeCheckpointing, describeErrorPositions, drain, resumed, takeN, uninterrupted } from "./harness.js";
import { tick, hash, jitter, asyncRange, slowRange } from "./inputs.js";

// ---- helpers -----------------------------------------------------------------------------------

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const ints = (n: number): number[] => [...Array(n).keys()];

// ---- sources -----------------------------------------------------------------------------------

describe("range", () => {
  describeCheckpointing("range(stop)", () => Dataset.range(25), { expectOutput: (out) => expect(out).toEqual(ints(25)) });
  describeCheckpointing("range(0) (empty)", () => Dataset.range(0), { expectOutput: (out) => expect(out).toEqual([]) });
  describeCheckpointing("range(start, stop, step)", () => Dataset.range(5, 50, 3));
  describeCheckpointing("range with a negative step", () => Dataset.range(10, -10, -3), {
    expectOutput: (out) => expect(out).toEqual([10, 7, 4, 1, -2, -5, -8]),
  });
  describeCheckpointing("range with a fractional step", () => Dataset.range(0, 2, 0.1), {
    expectOutput: (out) => expect(out).toHaveLength(20),
  });
  describeCheckpointing("range with a negative fractional step", () => Dataset.range(1.5, -2, -0.25), {
    expectOutput: (out) => expect(out).toHaveLength(14),
  });
  describeCheckpointing("range read through an async map", () => asyncRange(30));
  describeCheckpointing("range without an end, then take", () => Dataset.range(5, Infinity, 2).take(30), {
    expectOutput: (out) => expect(out[29]).toBe(63),
  });
});

/** Values that JSON alone would not carry, and containers of them. */
function oddValues(): unknown[] {
  return [
    NaN,
    -0,
    0,
    Infinity,
    -Infinity,
    123n,
    -(2n ** 70n),
    undefined,
    null,
    "text",
    true,
    { nested: { deep: [1, { x: -0 }], u: undefined }, list: [NaN, null, Infinity], big: 7n },
    new Float32Array([1.5, NaN, -0, Infinity]),
    new Uint8Array([0, 255, 7]),
    new Float64Array([1, 2, -0, 4]).subarray(1, 3),
    new BigInt64Array([-1n, 2n ** 62n]),
    new Date(1_700_000_000_000),
    new Date(NaN),
    new Map<unknown, unknown>([
      ["a", 1],
      [2, { b: [3n, undefined] }],
    ]),
    new Set<unknown>([1, "x", -0.5]),
    [[], [NaN, [-0]]],
    { $type: "not a tag", value: -0 },
    {},
    JSON.parse('{"__proto__": {"polluted": true}, "a": 2}') as unknown,
    // Objects that look like the tags of a checkpoint's binary form, and a string long enough for one.
    { $type: "Float32Array", blob: 0, nested: { $type: "string", blob: 1, $bytes: [1] } },
    "a string long enough to go to a binary part of a checkpoint ".repeat(40),
  ];
}

describe("fromArray", () => {
  const values = oddValues();
  const expectOdd = (out: unknown[]): void => expect(out).toEqual(oddValues());
  describeCheckpointing("fromArray of NaN, -0, ±Infinity, bigint, undefined, null, nested objects, typed arrays, Date, Map", () => Dataset.fromArray(values), {
    expectOutput: expectOdd,
  });
  describeCheckpointing("fromArray of odd values held in a shuffle buffer", () => Dataset.fromArray(oddValues()).shuffle(6, { seed: 5 }), {
    expectOutput: (out) => expect(out).toHaveLength(values.length),
  });
  describeCheckpointing(
    "fromArray of odd values held in a prefetch buffer",
    () =>
      Dataset.fromArray(oddValues())
        .map(async (v) => {
          await tick();
          return v;
        })
        .prefetch(5),
    { expectOutput: expectOdd },
  );
  describeCheckpointing("fromArray of odd values held by a parallel map", () => Dataset.fromArray(oddValues()).map(async (v) => v, { parallel: 4 }), {
    expectOutput: expectOdd,
  });
  describeCheckpointing("fromArray of odd values held by a cache over two passes", () => Dataset.fromArray(oddValues()).cache().repeat(2), {
    expectOutput: (out) => expect(out).toEqual([...oddValues(), ...oddValues()]),
  });
  describeCheckpointing("fromArray of odd values held by unbatch", () => Dataset.fromArray(oddValues()).batch(5).unbatch(), {
    expectOutput: expectOdd,
  });
  describeCheckpointing("fromArray of odd values held in interleave slots", () => Dataset.fromArray(oddValues()).interleave((v) => [v, v], { cycleLength: 3 }));
  describeCheckpointing("fromArray of odd values held as a scan state", () =>
    Dataset.fromArray(oddValues()).scan<unknown, unknown>("start", (previous, v) => [v, previous]),
  );

  it("restores -0, NaN, bigint, typed arrays, Dates and an own __proto__ key from a saved buffer exactly, not merely equally", async () => {
    const build = (): Dataset<unknown> => Dataset.fromArray(oddValues()).batch(100).unbatch();
    const it = build().iterator();
    expect(Number.isNaN((await takeN(it, 1))[0])).toBe(true);
    const state = await it.save();
    expect(state.root?.["rest"]).toHaveLength(oddValues().length - 1);
    const [minusZero, zero, , , , huge, , , , , nested, f32, , f64, big64, date, invalidDate, , , , tagged, , ownProto] = await drain(resumed(build, state));
    expect(Object.is(minusZero, -0)).toBe(true);
    expect(Object.is(zero, 0)).toBe(true);
    expect(huge).toBe(-(2n ** 70n));
    expect(Object.is((nested as { nested: { deep: [number, { x: number }] } }).nested.deep[1].x, -0)).toBe(true);
    expect(f32).toBeInstanceOf(Float32Array);
    expect(Number.isNaN((f32 as Float32Array)[1])).toBe(true);
    expect(Object.is((f32 as Float32Array)[2], -0)).toBe(true);
    expect(f64).toBeInstanceOf(Float64Array);
    expect((f64 as Float64Array).length).toBe(2);
    expect(Object.is((f64 as Float64Array)[1], -0)).toBe(true);
    expect(big64).toEqual(new BigInt64Array([-1n, 2n ** 62n]));
    expect(date).toEqual(new Date(1_700_000_000_000));
    expect(invalidDate).toBeInstanceOf(Date);
    expect(Number.isNaN((invalidDate as Date).getTime())).toBe(true);
    expect(tagged).toEqual({ $type: "not a tag", value: -0 });
    expect(Object.is((tagged as { value: number }).value, -0)).toBe(true);
    expect(Object.getPrototypeOf(ownProto)).toBe(Object.prototype);
    expect(Object.keys(ownProto as object)).toEqual(["__proto__", "a"]);
    expect(Object.getOwnPropertyDescriptor(ownProto, "__proto__")?.value).toEqual({ polluted: true });
  });

  it("is not affected by later changes to the array it was made from", async () => {
    const items = [1, 2, 3];
    const ds = Dataset.fromArray(items);
    const it = ds.iterator();
    await takeN(it, 1);
    const state = await it.save();
    items.push(4);
    expect(await drain(ds.iterator({ state }))).toEqual([2, 3]);
  });
});

describe("fromGenerator", () => {
  // A generator's position cannot be saved: restored iterators restart it (see
  // external-state.test.ts). What is checked here is that the ops after it keep their state.
  it('under "ignore" restores the ops after it and restarts the generator from its beginning', async () => {
    const build = (): Dataset<number> =>
      Dataset.fromGenerator(function* () {
        for (let i = 0; i < 10; i++) yield i;
      })
        .enumerate(100)
        .map(([i, x]) => i * 1000 + x)
        .withOptions({ externalStatePolicy: "ignore" });
    const it = build().iterator();
    expect(await takeN(it, 3)).toEqual([100_000, 101_001, 102_002]);
    const rest = await drain(resumed(build, await it.save()));
    expect(rest).toEqual(ints(10).map((x) => (103 + x) * 1000 + x));
  });
});

describe("zip", () => {
  describeCheckpointing(
    "zip of an array of datasets of unequal lengths",
    () => Dataset.zip([Dataset.range(12), Dataset.fromArray(["a", "b", "c", "d", "e", "f", "g", "h"]), Dataset.range(100, 200)]),
    {
      expectOutput: (out) => expect(out).toHaveLength(8),
    },
  );
  describeCheckpointing(
    "zip of a record of datasets, the first being the longest",
    () => Dataset.zip({ x: Dataset.range(30).shuffle(7, { seed: 2 }), y: asyncRange(17), z: Dataset.fromArray([true, false]).repeat() }),
    {
      expectOutput: (out) => expect(out).toHaveLength(17),
    },
  );
  describeCheckpointing("zip of async inputs with prefetch", () => Dataset.zip([slowRange(15).prefetch(3), asyncRange(20).batch(2)]));
  describeCheckpointing("zip with an empty input", () => Dataset.zip([Dataset.range(5), Dataset.range(0)]), {
    expectOutput: (out) => expect(out).toEqual([]),
  });
});

// ---- element-wise ops --------------------------------------------------------------------------

describe("map", () => {
  describeCheckpointing("map with a sync function", () => Dataset.range(40).map((x) => ({ x, square: x * x })));
  describeCheckpointing(
    "map with an async function",
    () =>
      Dataset.range(40).map(async (x) => {
        await jitter(x);
        return x * 2;
      }),
    { expectOutput: (out) => expect(out).toEqual(ints(40).map((x) => x * 2)) },
  );
  describeCheckpointing(
    "map(parallel: 4) with uneven per-element delays",
    () =>
      Dataset.range(60).map(
        async (x) => {
          await jitter(x);
          return [x, x % 7];
        },
        { parallel: 4 },
      ),
    { expectOutput: (out) => expect(out.map((pair) => pair[0])).toEqual(ints(60)) },
  );
  describeCheckpointing("map(parallel: 4) with a sync function over an async input", () => asyncRange(30).map((x) => x + 0.5, { parallel: 4 }));
  describeCheckpointing("map(parallel: 16) over fewer elements than calls", () => slowRange(9).map(async (x) => -x, { parallel: 16 }));
  // Only native Promises are awaited; an async function turns any thenable into one.
  describeCheckpointing(
    "map returning thenables through an async function",
    () => Dataset.range(12).map(async (x) => ({ then: (resolve: (v: number) => void) => resolve(x * 3) }) as unknown as Promise<number>),
    { expectOutput: (out) => expect(out).toEqual(ints(12).map((x) => x * 3)) },
  );
});

describe("filter", () => {
  describeCheckpointing("filter with a sync predicate", () => Dataset.range(50).filter((x) => x % 3 !== 1));
  describeCheckpointing(
    "filter with an async predicate",
    () =>
      Dataset.range(50).filter(async (x) => {
        await jitter(x);
        return x % 4 === 0;
      }),
    { expectOutput: (out) => expect(out).toEqual(ints(13).map((x) => x * 4)) },
  );
  describeCheckpointing("filter over an async input", () => asyncRange(40).filter((x) => hash(x) % 3 === 0));
  describeCheckpointing("filter that keeps nothing", () => Dataset.range(20).filter(() => false), {
    expectOutput: (out) => expect(out).toEqual([]),
  });
});

describe("flatMap", () => {
  describeCheckpointing("flatMap returning datasets of different lengths", () => Dataset.range(10).flatMap((x) => Dataset.range(x % 4).map((y) => x * 10 + y)));
  describeCheckpointing("flatMap returning arrays, some empty", () => Dataset.range(12).flatMap((x) => (x % 3 === 0 ? [] : [x, -x, x * 100])));
  describeCheckpointing("flatMap returning async, shuffled datasets", () =>
    asyncRange(8).flatMap((x) =>
      slowRange(x + 1)
        .shuffle(3, { seed: x })
        .map((y) => `${x}:${y}`),
    ),
  );
});

describe("interleave", () => {
  for (let cycleLength = 1; cycleLength <= 4; cycleLength++) {
    for (let blockLength = 1; blockLength <= 3; blockLength++) {
      describeCheckpointing(`interleave(cycleLength: ${cycleLength}, blockLength: ${blockLength}) of nested datasets of different lengths`, () =>
        Dataset.range(7).interleave((x) => Dataset.range(x * 100, x * 100 + ((x * 5) % 7) + 1), { cycleLength, blockLength }),
      );
    }
  }
  describeCheckpointing("interleave of nested shuffles", () =>
    Dataset.range(9).interleave((x) => Dataset.range(x * 10, x * 10 + x + 2).shuffle(4, { seed: x }), { cycleLength: 3, blockLength: 2 }),
  );
  describeCheckpointing("interleave of a shuffled input into async nested datasets", () =>
    Dataset.range(8)
      .shuffle(5, { seed: 9 })
      .interleave((x) => slowRange(x % 5).map((y) => [x, y]), { cycleLength: 3 }),
  );
  describeCheckpointing("interleave of nested datasets with their own prefetch and repeat", () =>
    asyncRange(6).interleave((x) => Dataset.range(x).repeat(2).prefetch(2), { cycleLength: 2, blockLength: 3 }),
  );
  describeCheckpointing("interleave of nested interleaves", () =>
    Dataset.range(5).interleave((x) => Dataset.range(x + 1).interleave((y) => [x, y, x * y], { cycleLength: 2 }), { cycleLength: 2, blockLength: 2 }),
  );
  describeCheckpointing("interleave returning arrays, some empty", () =>
    Dataset.range(10).interleave((x) => ints(x % 4).map((y) => x + y / 10), { cycleLength: 4, blockLength: 2 }),
  );
});

// ---- batching ----------------------------------------------------------------------------------

describe("batch", () => {
  for (const size of [1, 3, 7]) {
    describeCheckpointing(`batch(${size})`, () => Dataset.range(23).batch(size), {
      expectOutput: (out) => expect(out).toHaveLength(Math.ceil(23 / size)),
    });
    describeCheckpointing(`batch(${size}, dropRemainder)`, () => Dataset.range(23).batch(size, { dropRemainder: true }), {
      expectOutput: (out) => expect(out).toHaveLength(Math.floor(23 / size)),
    });
  }
  describeCheckpointing("batch over an async input", () => slowRange(20).batch(6));
  describeCheckpointing("batch(dropRemainder) over an async input", () => asyncRange(20).batch(6, { dropRemainder: true }));
  describeCheckpointing("batch of batches", () => Dataset.range(30).batch(2).batch(4));
});

describe("unbatch", () => {
  describeCheckpointing(
    "unbatch of arrays of different lengths, some empty",
    () => Dataset.fromArray([[1, 2, 3], [], [4], [5, 6, 7, 8], [], [9, 10]]).unbatch(),
    {
      expectOutput: (out) => expect(out).toEqual(ints(11).slice(1)),
    },
  );
  describeCheckpointing("unbatch of typed arrays", () =>
    Dataset.fromArray<ArrayLike<number>>([new Float32Array([0.5, -0, NaN]), new Uint8Array([1, 2, 255]), new Int16Array([-5]), new Float64Array(0)]).unbatch(),
  );
  describeCheckpointing("unbatch after batch over an async input", () => slowRange(25).batch(4).unbatch(), {
    expectOutput: (out) => expect(out).toEqual(ints(25)),
  });
  describeCheckpointing("unbatch of typed arrays made by an async map", () =>
    asyncRange(10)
      .map(async (x) => Int32Array.from({ length: x % 4 }, (_, i) => x * 10 + i))
      .unbatch(),
  );
});

// ---- shuffle -----------------------------------------------------------------------------------

describe("shuffle", () => {
  describeCheckpointing("shuffle(1) (no reordering)", () => Dataset.range(15).shuffle(1, { seed: 4 }), {
    expectOutput: (out) => expect(out).toEqual(ints(15)),
  });
  describeCheckpointing("shuffle with a seed and a small buffer", () => Dataset.range(60).shuffle(5, { seed: 42 }), {
    expectOutput: (out) => {
      expect(sorted(out)).toEqual(ints(60));
      expect(out).not.toEqual(ints(60));
    },
  });
  describeCheckpointing("shuffle with a buffer larger than the dataset", () => Dataset.range(30).shuffle(1000, { seed: 7 }));
  describeCheckpointing("shuffle over an async input", () => slowRange(30).shuffle(8, { seed: 1 }));
  describeCheckpointing("shuffle(reshuffleEachIteration: true) under repeat(3)", () => Dataset.range(12).shuffle(12, { seed: 3 }).repeat(3), {
    expectOutput: (out) => {
      expect(out.slice(0, 12)).not.toEqual(out.slice(12, 24));
      expect(sorted(out.slice(24))).toEqual(ints(12));
    },
  });
  describeCheckpointing(
    "shuffle(reshuffleEachIteration: false) under repeat(3)",
    () => Dataset.range(12).shuffle(5, { seed: 3, reshuffleEachIteration: false }).repeat(3),
    {
      expectOutput: (out) => {
        expect(out.slice(0, 12)).toEqual(out.slice(12, 24));
        expect(out.slice(0, 12)).toEqual(out.slice(24));
      },
    },
  );
  describeCheckpointing("shuffle under repeat over an async input", () => asyncRange(10).shuffle(4, { seed: 8 }).repeat(3));

  // Without a seed, each iterator draws its own order from its own seed, which its state carries:
  // a restored iterator continues the order of the iterator that saved, in any dataset object.
  describe("without a seed", () => {
    const pipelines: [string, () => Dataset<number>][] = [
      ["shuffle", () => Dataset.range(40).shuffle(10)],
      ["shuffle under repeat", () => Dataset.range(10).shuffle(6).repeat(3)],
      ["shuffle that starts after the save (second part of a concatenate)", () => Dataset.range(5).concatenate(Dataset.range(30).shuffle(8))],
      ["two identical shuffles zipped", () => Dataset.zip([Dataset.range(20).shuffle(20), Dataset.range(20).shuffle(20)]).map(([a, b]) => a * 100 + b)],
    ];
    for (const [name, build] of pipelines) {
      it(`gives each iterator its own order, and a restored one continues the saver's order at every point: ${name}`, async () => {
        const all = await drain(build().iterator());
        const n = all.length;
        for (const k of [0, 1, 3, Math.floor(n / 2), n - 1, n]) {
          const it = build().iterator();
          await takeN(it, k);
          const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
          const rest = await drain(it);
          expect(await drain(resumed(build, state))).toEqual(rest);
        }
      });
    }

    it("shuffles differently in different iterators and leaves identical shuffles uncorrelated", async () => {
      const ds = Dataset.range(50).shuffle(50);
      const a = await drain(ds.iterator());
      const b = await drain(ds.iterator());
      expect(a).not.toEqual(b);
      expect([...a].sort((x, y) => x - y)).toEqual(ints(50));
      const pairs = await drain(Dataset.zip([Dataset.range(50).shuffle(50), Dataset.range(50).shuffle(50)]).iterator());
      expect(pairs.some(([x, y]) => x !== y)).toBe(true);
    });
  });
});

// ---- counting ops ------------------------------------------------------------------------------

describe("repeat", () => {
  describeCheckpointing("repeat(3)", () => Dataset.range(7).repeat(3), {
    expectOutput: (out) => expect(out).toEqual([...ints(7), ...ints(7), ...ints(7)]),
  });
  describeCheckpointing("repeat(1)", () => Dataset.range(7).repeat(1));
  describeCheckpointing("repeat(0)", () => Dataset.range(7).repeat(0), { expectOutput: (out) => expect(out).toEqual([]) });
  describeCheckpointing("repeat() forever, then take", () => Dataset.range(6).repeat().take(40), {
    expectOutput: (out) => expect(out).toEqual(ints(40).map((x) => x % 6)),
  });
  describeCheckpointing("repeat(-1) forever over an async input, then take", () => asyncRange(4).repeat(-1).take(19));
  describeCheckpointing("repeat() of an empty dataset (ends at once)", () => Dataset.range(0).repeat(), {
    expectOutput: (out) => expect(out).toEqual([]),
  });
  describeCheckpointing("repeat(3) of an empty async dataset", () => asyncRange(0).repeat(3));
  describeCheckpointing("repeat of repeat", () => Dataset.range(3).repeat(2).repeat(3), {
    expectOutput: (out) => expect(out).toHaveLength(18),
  });
});

describe("take", () => {
  describeCheckpointing("take(0)", () => Dataset.range(10).take(0), { expectOutput: (out) => expect(out).toEqual([]) });
  describeCheckpointing("take(5)", () => Dataset.range(10).take(5), { expectOutput: (out) => expect(out).toEqual(ints(5)) });
  describeCheckpointing("take more than there are", () => Dataset.range(10).take(50), { expectOutput: (out) => expect(out).toEqual(ints(10)) });
  describeCheckpointing("take over an async input", () => slowRange(30).take(17));
});

describe("skip", () => {
  describeCheckpointing("skip(0)", () => Dataset.range(10).skip(0));
  describeCheckpointing("skip(4)", () => Dataset.range(10).skip(4), { expectOutput: (out) => expect(out).toEqual([4, 5, 6, 7, 8, 9]) });
  describeCheckpointing("skip more than there are", () => Dataset.range(10).skip(50), { expectOutput: (out) => expect(out).toEqual([]) });
  describeCheckpointing("skip over an async input", () => slowRange(30).skip(11));
  describeCheckpointing("skip across repeat epochs", () => Dataset.range(5).repeat(4).skip(7));
});

describe("shard", () => {
  describeCheckpointing("shard(3, 0)", () => Dataset.range(20).shard(3, 0), {
    expectOutput: (out) => expect(out).toEqual([0, 3, 6, 9, 12, 15, 18]),
  });
  describeCheckpointing("shard(3, 2)", () => Dataset.range(20).shard(3, 2));
  describeCheckpointing("shard(1, 0)", () => Dataset.range(9).shard(1, 0));
  describeCheckpointing("shard over an async input", () => slowRange(30).shard(4, 1));
});

// ---- buffering ---------------------------------------------------------------------------------

describe("prefetch", () => {
  describeCheckpointing("prefetch(1) over a sync input", () => Dataset.range(30).prefetch(1));
  describeCheckpointing("prefetch(5) over a sync input", () =>
    Dataset.range(30)
      .map((x) => x * 3)
      .prefetch(5),
  );
  describeCheckpointing("prefetch(3) over a slow async input", () => slowRange(40).prefetch(3), {
    expectOutput: (out) => expect(out).toEqual(ints(40)),
  });
  describeCheckpointing("prefetch larger than the dataset over a slow async input", () => slowRange(12).prefetch(100));
  describeCheckpointing("prefetch of prefetch over a slow parallel map", () =>
    slowRange(30)
      .map(
        async (x) => {
          await jitter(x + 1);
          return x;
        },
        { parallel: 3 },
      )
      .prefetch(2)
      .prefetch(4),
  );

  it("saves, while the consumer is slow, the elements it prepared ahead, so none is lost or repeated", async () => {
    const build = (): Dataset<number> => slowRange(30).prefetch(8);
    const expected = await uninterrupted(build);
    const it = build().iterator();
    await takeN(it, 5);
    // Dawdle until the producer has run ahead (saving does not stop it for good).
    let state = await it.save();
    const buffered = (): boolean => {
      const buffer = state.root?.["buffer"];
      return Array.isArray(buffer) && buffer.length > 0;
    };
    for (let i = 0; i < 200 && !buffered(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      state = await it.save();
    }
    expect(buffered(), "the prefetch buffer holds elements").toBe(true);
    expect(await drain(resumed(build, state))).toEqual(expected.slice(5));
    expect(await drain(it)).toEqual(expected.slice(5));
  });
});

describe("concatenate", () => {
  describeCheckpointing("concatenate of two datasets", () => Dataset.range(8).concatenate(Dataset.fromArray([-1, -2, -3])), {
    expectOutput: (out) => expect(out).toEqual([...ints(8), -1, -2, -3]),
  });
  describeCheckpointing("concatenate with an empty first part", () => Dataset.range(0).concatenate(Dataset.range(5)));
  describeCheckpointing("concatenate with an empty second part", () => Dataset.range(5).concatenate(Dataset.range(0)));
  describeCheckpointing("concatenate of async, shuffled parts", () =>
    slowRange(10)
      .shuffle(4, { seed: 1 })
      .concatenate(asyncRange(20, 30).shuffle(3, { seed: 2 })),
  );
  describeCheckpointing("concatenate under repeat", () => Dataset.range(3).concatenate(Dataset.range(10, 12)).repeat(3));
});

describe("enumerate", () => {
  describeCheckpointing("enumerate()", () => Dataset.range(10, 20).enumerate(), {
    expectOutput: (out) => expect(out[3]).toEqual([3, 13]),
  });
  describeCheckpointing("enumerate(start) over an async input", () => slowRange(15).enumerate(-5));
  describeCheckpointing("enumerate after filter under repeat", () =>
    Dataset.range(9)
      .filter((x) => x % 2 === 0)
      .repeat(2)
      .enumerate(100),
  );
});

describe("scan", () => {
  describeCheckpointing("scan with a running sum", () => Dataset.range(20).scan(0, (sum, x) => [sum + x, sum + x]), {
    expectOutput: (out) => expect(out[19]).toBe(190),
  });
  describeCheckpointing("scan with an object state and an async function", () =>
    asyncRange(20).scan({ count: 0, seen: [] as number[], big: 1n }, async (s, x) => {
      await jitter(x);
      const next = { count: s.count + 1, seen: [...s.seen.slice(-3), x], big: s.big * 3n };
      return [next, { x, count: next.count, last: next.seen, big: next.big }] as const;
    }),
  );
});

// ---- cache -------------------------------------------------------------------------------------

describe("cache", () => {
  describeCheckpointing("cache, first pass only", () =>
    Dataset.range(15)
      .map((x) => x * 2)
      .cache(),
  );
  describeCheckpointing("cache, later passes via repeat", () => Dataset.range(10).cache().repeat(3), {
    expectOutput: (out) => expect(out).toEqual([...ints(10), ...ints(10), ...ints(10)]),
  });
  describeCheckpointing(
    "cache of a reshuffled input (later passes repeat the first pass's order)",
    () => Dataset.range(12).shuffle(12, { seed: 3 }).cache().repeat(3),
    {
      expectOutput: (out) => {
        expect(out.slice(12, 24)).toEqual(out.slice(0, 12));
        expect(out.slice(24)).toEqual(out.slice(0, 12));
      },
    },
  );
  describeCheckpointing("cache of an async input under repeat", () => slowRange(9).cache().repeat(3));
  describeCheckpointing(
    "cache read to its end by a parallel map ahead of the consumer, under repeat of a reshuffled input",
    () =>
      Dataset.range(6)
        .shuffle(6, { seed: 1 })
        .cache()
        .map(async (x) => x, { parallel: 2 })
        .repeat(3),
    {
      expectOutput: (out) => expect(out.slice(12)).toEqual(out.slice(0, 6)),
    },
  );
  const cachedOnce = Dataset.range(10)
    .map((x) => x * 3)
    .cache()
    .repeat(2);
  describeCheckpointing("cache restored within the same dataset object, whose cache an earlier run completed", () => cachedOnce);
  describeCheckpointing("cache of a partial pass (take before the end never completes it)", () => Dataset.range(10).cache().take(4).repeat(3));

  it("restores a state saved in read mode in a new dataset object, and its later passes read the cache, not the input", async () => {
    let calls = 0;
    const build = (): Dataset<number> =>
      Dataset.range(8)
        .map((x) => {
          calls++;
          return (x * hash(x)) % 97;
        })
        .shuffle(8, { seed: 5 })
        .cache()
        .repeat(4);
    const expected = await uninterrupted(build);
    expect(expected.slice(8, 16)).toEqual(expected.slice(0, 8));
    const it = build().iterator();
    await takeN(it, 11); // in the second pass: reading the cache
    const state = await it.save();
    expect(JSON.stringify(state)).toContain('"mode":"read"');
    calls = 0;
    expect(await drain(resumed(build, state))).toEqual(expected.slice(11));
    expect(calls).toBe(0);
  });

  it("restores a state saved in write mode in a new dataset object, and completes the cache from it", async () => {
    let calls = 0;
    const build = (): Dataset<number> =>
      Dataset.range(8)
        .map((x) => {
          calls++;
          return x * 11;
        })
        .cache()
        .repeat(3);
    const it = build().iterator();
    await takeN(it, 3);
    const state = await it.save();
    expect(JSON.stringify(state)).toContain('"mode":"write"');
    calls = 0;
    expect(await drain(resumed(build, state))).toEqual([...ints(8).slice(3), ...ints(8), ...ints(8)].map((x) => x * 11));
    expect(calls).toBe(5);
  });
});

// ---- errors ------------------------------------------------------------------------------------

/** Throws for every element `x` with `x % 5 === 1`. */
function failsOnSome(x: number): number {
  if (x % 5 === 1) throw new Error(`element ${x} is bad`);
  return x;
}

describe("ignoreErrors", () => {
  describeCheckpointing("ignoreErrors after a map that throws on some elements", () => Dataset.range(30).map(failsOnSome).ignoreErrors(), {
    expectOutput: (out) => expect(out).toEqual(ints(30).filter((x) => x % 5 !== 1)),
  });
  describeCheckpointing(
    "ignoreErrors after an async map that rejects on some elements",
    () =>
      Dataset.range(30)
        .map(async (x) => {
          await jitter(x);
          return failsOnSome(x);
        })
        .ignoreErrors(),
    { expectOutput: (out) => expect(out).toEqual(ints(30).filter((x) => x % 5 !== 1)) },
  );
  describeCheckpointing(
    "ignoreErrors after a parallel map that throws and rejects on some elements",
    () =>
      Dataset.range(40)
        .map(
          (x) => {
            if (x % 7 === 3) throw new RangeError(`sync ${x}`);
            return jitter(x).then(() => failsOnSome(x));
          },
          { parallel: 4 },
        )
        .ignoreErrors(),
    {
      expectOutput: (out) => expect(out).toEqual(ints(40).filter((x) => x % 5 !== 1 && x % 7 !== 3)),
    },
  );
  describeCheckpointing("ignoreErrors after a prefetch holding errors", () => Dataset.range(30).map(failsOnSome).prefetch(4).ignoreErrors(), {
    expectOutput: (out) => expect(out).toEqual(ints(30).filter((x) => x % 5 !== 1)),
  });
  describeCheckpointing(
    "ignoreErrors after a prefetch of a slow parallel map that fails on some elements",
    () =>
      slowRange(40)
        .map(async (x) => failsOnSome(x), { parallel: 3 })
        .prefetch(6)
        .ignoreErrors(),
    { expectOutput: (out) => expect(out).toEqual(ints(40).filter((x) => x % 5 !== 1)) },
  );
  describeCheckpointing("ignoreErrors after a filter and a batch that fail on some elements", () =>
    Dataset.range(30)
      .filter((x) => failsOnSome(x) % 2 === 0)
      .map(failsOnSome)
      .batch(3)
      .ignoreErrors(),
  );
  describeCheckpointing("ignoreErrors over an interleave of failing nested datasets", () =>
    Dataset.range(8)
      .interleave((x) => Dataset.range(x * 10, x * 10 + 4).map(failsOnSome), { cycleLength: 3 })
      .ignoreErrors(),
  );

  it("re-raises, after restore, an error that a parallel map had computed but not yet delivered", async () => {
    const build = (): Dataset<number> => Dataset.range(10).map(async (x) => failsOnSome(x), { parallel: 4 });
    const it = build().iterator();
    await takeN(it, 1);
    const restored = resumed(build, await it.save());
    await expect(restored.next()).rejects.toThrow("element 1 is bad");
    expect(await restored.next()).toEqual({ value: 2, done: false });
  });
});

describe("withOptions", () => {
  describeCheckpointing("withOptions in the middle of a pipeline (adds nothing to the state)", () =>
    Dataset.range(20).withOptions({ externalStatePolicy: "warn" }).shuffle(5, { seed: 1 }).withOptions({ externalStatePolicy: "ignore" }),
  );

  it("saves the same state as the pipeline without it", async () => {
    const plain = Dataset.range(20)
      .map((x) => x + 1)
      .iterator();
    const withOptions = Dataset.range(20)
      .map((x) => x + 1)
      .withOptions({ externalStatePolicy: "warn" })
      .iterator();
    await takeN(plain, 4);
    await takeN(withOptions, 4);
    expect((await withOptions.save()).root).toEqual((await plain.save()).root);
  });
});

// ---- bulk pulls ------------------------------------------------------------------------------------

// `batch` pulls its input in runs (`nextMany`), a path of its own in map, filter, enumerate,
// take, repeat, prefetch, parallel map, unbatch and ignoreErrors: in runs or one by one, the
// sequence and the saved positions must be the same.
describe("bulk pulls", () => {
  const evenly = (x: number): boolean => x % 2 === 0;
  const pipelines: [string, () => Dataset<unknown>][] = [
    ["map that throws → filter → ignoreErrors", () => Dataset.range(40).map(failsOnSome).filter(evenly).ignoreErrors()],
    ["map that throws → filter → enumerate → ignoreErrors", () => Dataset.range(40).map(failsOnSome).filter(evenly).enumerate().ignoreErrors()],
    [
      "async map that rejects → async filter → take → ignoreErrors",
      () =>
        Dataset.range(40)
          .map(async (x) => failsOnSome(x))
          .filter(async (x) => x % 3 !== 0)
          .take(15)
          .ignoreErrors(),
    ],
    [
      "filter that throws → map → ignoreErrors → repeat(2)",
      () =>
        Dataset.range(25)
          .filter((x) => failsOnSome(x) % 4 !== 0)
          .map((x) => x * 2)
          .ignoreErrors()
          .repeat(2),
    ],
    [
      "parallel map that fails → prefetch → ignoreErrors → repeat(2)",
      () =>
        slowRange(20)
          .map(async (x) => failsOnSome(x), { parallel: 3 })
          .prefetch(4)
          .ignoreErrors()
          .repeat(2),
    ],
    ["slow input → prefetch → map that throws → filter → ignoreErrors", () => slowRange(30).prefetch(5).map(failsOnSome).filter(evenly).ignoreErrors()],
    ["repeat(3) → enumerate → take", () => Dataset.range(10).repeat(3).enumerate().take(25)],
    [
      "unbatch → filter → map",
      () =>
        Dataset.fromArray([[1, 2, 3], [], [4, 5], [6, 7, 8, 9]])
          .unbatch()
          .filter((x) => x !== 5)
          .map((x) => x * 10),
    ],
  ];
  for (const [name, build] of pipelines) {
    for (const size of [1, 3, 8]) {
      it(`yields in batches of ${size} exactly the sequence it yields one by one: ${name}`, async () => {
        const oneByOne = await uninterrupted(build);
        expect(oneByOne.length).toBeGreaterThan(0);
        const batches = await uninterrupted(() => build().batch(size));
        expect(batches.flat(), "flattened batches").toEqual(oneByOne);
        expect(
          batches.slice(0, -1).every((b) => b.length === size),
          "all batches but the last are full",
        ).toBe(true);
      });
    }
    describeCheckpointing(`${name} → batch(3)`, () => build().batch(3));
  }
});

// ---- a slow consumer ---------------------------------------------------------------------------

// The consumer dawdles before each save, so that prefetch has refilled in the background (or
// has a pull in flight) and parallel calls have run ahead when the state is taken.
describe("a slow consumer", () => {
  const sleep = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 3));
  const slowly = { beforeSave: sleep };
  describeCheckpointing("prefetch(5) over a sync input, refilled in the background", () => Dataset.range(30).prefetch(5), slowly);
  describeCheckpointing("prefetch(4) over a slow async input", () => slowRange(30).prefetch(4), slowly);
  describeCheckpointing("prefetch holding errors, then ignoreErrors", () => Dataset.range(30).map(failsOnSome).prefetch(4).ignoreErrors(), slowly);
  describeCheckpointing(
    "parallel map → prefetch → batch over a slow input",
    () =>
      slowRange(40)
        .map(
          async (x) => {
            await jitter(x + 3);
            return x * 2;
          },
          { parallel: 4 },
        )
        .prefetch(3)
        .batch(4),
    slowly,
  );
  describeCheckpointing("shuffle → prefetch → repeat(2)", () => Dataset.range(20).shuffle(6, { seed: 21 }).prefetch(3).repeat(2), slowly);
  describeCheckpointing(
    "interleave of nested prefetches",
    () =>
      Dataset.range(6).interleave(
        (x) =>
          slowRange(x + 2)
            .map((y) => x * 10 + y)
            .prefetch(2),
        { cycleLength: 3, blockLength: 2 },
      ),
    slowly,
  );
  describeCheckpointing("zip of two prefetched inputs", () => Dataset.zip([slowRange(20).prefetch(3), Dataset.range(25).prefetch(6)]), slowly);
  describeCheckpointing(
    "filter → prefetch → batch (bulk pulls from a refilled buffer)",
    () =>
      Dataset.range(60)
        .map(failsOnSome)
        .filter((x) => x % 3 !== 0)
        .ignoreErrors()
        .prefetch(8)
        .batch(5),
    slowly,
  );
});

// ---- errors as positions ----------------------------------------------------------------------------

// Without ignoreErrors, an error is handed to the consumer in its place; iteration may go on
// after it. Saving after a failed next() must resume after the failing element.
describe("errors handed to the consumer", () => {
  const pipelines: [string, () => Dataset<unknown>][] = [
    ["a map that throws", () => Dataset.range(20).map(failsOnSome)],
    ["an async map that rejects", () => slowRange(20).map(async (x) => failsOnSome(x))],
    ["a parallel map that fails", () => slowRange(20).map(async (x) => failsOnSome(x), { parallel: 3 })],
    ["a prefetch holding errors", () => slowRange(20).map(failsOnSome).prefetch(3)],
    ["a filter that throws", () => Dataset.range(20).filter((x) => failsOnSome(x) % 2 === 0)],
    ["a batch over a map that throws", () => Dataset.range(30).map(failsOnSome).batch(4)],
    ["a shuffle over a map that throws", () => Dataset.range(20).map(failsOnSome).shuffle(4, { seed: 3 })],
    ["take, skip, shard and enumerate over a map that throws", () => Dataset.range(40).map(failsOnSome).skip(3).take(25).shard(2, 1).enumerate()],
    [
      "an interleave of nested datasets that throw",
      () => Dataset.range(5).interleave((x) => Dataset.range(x * 10, x * 10 + 4).map(failsOnSome), { cycleLength: 2 }),
    ],
    [
      "a scan over an async map that rejects",
      () =>
        asyncRange(15)
          .map(failsOnSome)
          .scan(0, (n, x) => [n + x, n]),
    ],
    ["a repeat of a map that throws", () => Dataset.range(6).map(failsOnSome).repeat(3)],
  ];
  describeErrorPositions(pipelines);
});

// ---- the iterator ---------------------------------------------------------------------------------

describe("the iterator", () => {
  const build = (): Dataset<number> => slowRange(20).shuffle(5, { seed: 30 }).prefetch(3);

  it("serves calls in the order they are made: a save() issued while next() is pending captures the position after it", async () => {
    const expected = await uninterrupted(build);
    const it = build().iterator();
    const pending = [it.next(), it.next(), it.next()];
    const saving = it.save();
    const after = it.next();
    expect((await Promise.all(pending)).map((r) => r.value)).toEqual(expected.slice(0, 3));
    expect((await after).value).toBe(expected[3]);
    expect(await drain(resumed(build, await saving))).toEqual(expected.slice(3));
  });

  it("restores through iterator({ state }) before any next() that follows", async () => {
    const expected = await uninterrupted(build);
    const it = build().iterator();
    await takeN(it, 7);
    const restored = build().iterator({ state: await it.save() });
    const [a, b] = await Promise.all([restored.next(), restored.next()]);
    expect([a.value, b.value]).toEqual(expected.slice(7, 9));
  });

  it("refuses to save after close(), and a restore() makes it usable again", async () => {
    const expected = await uninterrupted(build);
    const it = build().iterator();
    await takeN(it, 4);
    const state = await it.save();
    await it.close();
    expect(await it.next()).toEqual({ value: undefined, done: true });
    await expect(it.save()).rejects.toThrow(FailedPreconditionError);
    await expect(it.save()).rejects.toThrow(/it is closed/);
    await it.restore(state);
    expect(await drain(it)).toEqual(expected.slice(4));
  });

  it("resumes after a for-await loop that saved and broke out", async () => {
    const expected = await uninterrupted(build);
    const it = build().iterator();
    const head: number[] = [];
    let state = await it.save();
    for await (const x of it) {
      head.push(x);
      if (head.length === 6) {
        state = await it.save();
        break;
      }
    }
    expect(head).toEqual(expected.slice(0, 6));
    expect(await drain(resumed(build, state))).toEqual(expected.slice(6));
  });
});

// ---- long compositions ---------------------------------------------------------------------------

describe("compositions", () => {
  describeCheckpointing(
    "range → shuffle → map(parallel) → filter → batch → prefetch → repeat(3)",
    () =>
      Dataset.range(60)
        .shuffle(10, { seed: 1 })
        .map(
          async (x) => {
            await jitter(x);
            return x * 3;
          },
          { parallel: 4 },
        )
        .filter((x) => x % 2 === 0)
        .batch(4)
        .prefetch(2)
        .repeat(3),
    { expectOutput: (out) => expect(out.flat()).toHaveLength(90) },
  );

  describeCheckpointing("interleave of shuffled ranges → batch → unbatch → shard", () =>
    Dataset.range(6)
      .interleave((x) => Dataset.range(x * 20, x * 20 + 5 + x).shuffle(4, { seed: x }), { cycleLength: 3, blockLength: 2 })
      .batch(5)
      .unbatch()
      .shard(2, 1),
  );

  describeCheckpointing(
    "zip of two pipelines → cache → repeat → take",
    () =>
      Dataset.zip([
        Dataset.range(20)
          .shuffle(6, { seed: 4 })
          .map((x) => x * 2),
        slowRange(25)
          .filter((x) => x % 3 !== 0)
          .batch(2),
      ])
        .cache()
        .repeat()
        .take(50),
    { expectOutput: (out) => expect(out).toHaveLength(50) },
  );

  describeCheckpointing("fromArray of records → flatMap → enumerate → scan → skip → take → prefetch", () =>
    Dataset.fromArray(ints(12).map((i) => ({ id: i, tags: ints(i % 4).map((t) => `t${t}`) })))
      .flatMap((r) => r.tags.map((tag) => ({ id: r.id, tag })))
      .enumerate(1)
      .scan("", (acc, [i, r]) => [`${acc}${r.tag}`.slice(-6), `${i}:${r.id}:${acc}`])
      .skip(2)
      .take(12)
      .prefetch(3),
  );

  describeCheckpointing("async map → interleave(nested prefetch) → map that fails → ignoreErrors → batch(dropRemainder) → repeat(2)", () =>
    Dataset.range(10)
      .map(async (x) => {
        await tick();
        return x;
      })
      .interleave(
        (x) =>
          slowRange((x % 4) + 1)
            .map((y) => x * 10 + y)
            .prefetch(2),
        { cycleLength: 3, blockLength: 2 },
      )
      .map(failsOnSome)
      .ignoreErrors()
      .batch(3, { dropRemainder: true })
      .repeat(2),
  );

  describeCheckpointing("concatenate of two shuffled pipelines → shuffle → repeat(2) → batch → unbatch → async filter", () =>
    Dataset.range(15)
      .shuffle(4, { seed: 10 })
      .concatenate(
        slowRange(10)
          .map((x) => x + 100)
          .shuffle(3, { seed: 11 }),
      )
      .shuffle(6, { seed: 12 })
      .repeat(2)
      .batch(4)
      .unbatch()
      .filter(async (x) => {
        await jitter(x);
        return x % 3 !== 2;
      }),
  );

  describeCheckpointing(
    "repeat(3) → reshuffle → failing parallel map → ignoreErrors → prefetch → take",
    () =>
      Dataset.range(20)
        .repeat(3)
        .shuffle(7, { seed: 13 })
        .map(
          async (x) => {
            await jitter(x);
            return failsOnSome(x);
          },
          { parallel: 3 },
        )
        .ignoreErrors()
        .prefetch(4)
        .take(40),
    { expectOutput: (out) => expect(out).toHaveLength(40) },
  );

  describeCheckpointing("zip of record pipelines (reshuffled repeat, cached repeat) → map → shard → enumerate → prefetch", () =>
    Dataset.zip({
      a: Dataset.range(9).shuffle(9, { seed: 14 }).repeat(4),
      b: Dataset.fromArray(["p", "q", "r", "s"]).cache().repeat(),
      c: asyncRange(100).skip(3),
    })
      .map(({ a, b, c }) => `${a}${b}${c}`)
      .shard(3, 0)
      .enumerate()
      .prefetch(5),
  );

  describeCheckpointing("flatMap → cache → shuffle(not reshuffled) → repeat(2) → slow map → prefetch", () =>
    Dataset.range(7)
      .flatMap((x) => Dataset.range(x).map((y): [number, number] => [x, y]))
      .cache()
      .shuffle(5, { seed: 15, reshuffleEachIteration: false })
      .repeat(2)
      .map(async ([x, y]) => {
        await jitter(x * 7 + y);
        return x * 100 + y;
      })
      .prefetch(3),
  );

  describeCheckpointing("interleave of interleaves of repeated shuffles → scan → batch → parallel map → unbatch", () =>
    Dataset.range(4)
      .interleave(
        (x) =>
          Dataset.range(3).interleave(
            (y) =>
              Dataset.range(y + 2)
                .shuffle(3, { seed: x * 10 + y })
                .repeat(2),
            { cycleLength: 2, blockLength: 3 },
          ),
        { cycleLength: 2 },
      )
      .scan(0, (n, v) => [n + 1, n * 10 + v])
      .batch(4)
      .map(async (b) => b.map((v) => -v), { parallel: 2 })
      .unbatch(),
  );

  describeCheckpointing("shuffle → repeat (forever) → take → enumerate → concatenate → batch → prefetch over slow input", () =>
    slowRange(8)
      .shuffle(8, { seed: 16 })
      .repeat()
      .take(30)
      .enumerate()
      .map(([i, x]) => i * 8 + x)
      .concatenate(slowRange(5).map((x) => -x))
      .batch(4)
      .prefetch(2),
  );
});
