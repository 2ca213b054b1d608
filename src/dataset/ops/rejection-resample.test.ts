import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../errors.js";
import { Dataset } from "../dataset.js";

/** `n` class labels drawn with probabilities `dist` (seeded), like tf.data's example's np.random.choice. */
async function labels(n: number, dist: readonly number[], seed: number): Promise<number[]> {
  return Dataset.random({ seed })
    .map((x) => {
      let u = x / 2 ** 32;
      for (let i = 0; i < dist.length - 1; i++) {
        if (u < (dist[i] as number)) return i;
        u -= dist[i] as number;
      }
      return dist.length - 1;
    })
    .take(n)
    .toArray();
}

const share = (xs: readonly number[], cls: number): number => xs.filter((x) => x === cls).length / xs.length;

describe("rejectionResample", () => {
  it("resamples [0.6, 0.4] to about [0.5, 0.5] given the initial distribution (tf.data's example)", async () => {
    const elems = await labels(1000, [0.6, 0.4], 1);
    expect(share(elems, 0)).toBeCloseTo(0.6, 1);
    const out = await Dataset.fromArray(elems)
      .rejectionResample((x) => x, { targetDist: [0.5, 0.5], initialDist: [0.6, 0.4], seed: 2 })
      .toArray();
    expect(Math.abs(share(out, 0) - 0.5)).toBeLessThan(0.05);
  });

  it("estimates the initial distribution online when it is not given", async () => {
    const elems = await labels(6000, [0.7, 0.2, 0.1], 3);
    const out = await Dataset.fromArray(elems)
      .rejectionResample((x) => x, { targetDist: [1, 1, 1], seed: 4 })
      .toArray();
    for (const cls of [0, 1, 2]) expect(Math.abs(share(out, cls) - 1 / 3)).toBeLessThan(0.04);
  });

  it("keeps the elements in input order, each at most once", async () => {
    const elems = (await labels(500, [0.5, 0.5], 5)).map((label, i) => ({ label, i }));
    const out = await Dataset.fromArray(elems)
      .rejectionResample((e) => e.label, { targetDist: [0.2, 0.8], seed: 6 })
      .toArray();
    const order = out.map((e) => e.i);
    expect(order).toEqual([...new Set(order)].sort((a, b) => a - b));
  });

  it("keeps everything when the target is the initial distribution, and drops a class of target 0", async () => {
    const elems = await labels(300, [0.3, 0.7], 7);
    expect(
      await Dataset.fromArray(elems)
        .rejectionResample((x) => x, { targetDist: [0.3, 0.7], initialDist: [0.3, 0.7], seed: 1 })
        .toArray(),
    ).toEqual(elems);
    const out = await Dataset.fromArray(elems)
      .rejectionResample((x) => x, { targetDist: [0, 1], seed: 1 })
      .toArray();
    expect(out.length).toBe(elems.filter((x) => x === 1).length);
  });

  it("reads 32 elements ahead for the estimate and saves them with the smoothed counts (10 per class)", async () => {
    const it = Dataset.range(100)
      .rejectionResample((x) => x % 2, { targetDist: [0.5, 0.5], seed: 8 })
      .iterator();
    await it.next();
    const { root } = await it.save();
    expect(root).toMatchObject({ kind: "RejectionResample", version: 1, seed: 8, counts: [26, 26], ready: true, inputEnded: false });
    expect((root?.["window"] as unknown[]).length).toBeLessThan(32);
    expect(root?.["input"]).toEqual({ kind: "Range", version: 1, index: 32 });
  });

  it("accepts an async classFn and an async input", async () => {
    const sync = await Dataset.range(200)
      .rejectionResample((x) => x % 3, { targetDist: [1, 1, 2], seed: 9 })
      .toArray();
    const viaPromises = await Dataset.range(200)
      .map(async (x) => x)
      .rejectionResample(async (x) => x % 3, { targetDist: [1, 1, 2], seed: 9 })
      .toArray();
    expect(viaPromises).toEqual(sync);
  });

  it("raises an InvalidArgumentError naming a class out of range and its element, then goes on", async () => {
    const it = Dataset.fromArray([0, 5, 1])
      .rejectionResample((x) => x, { targetDist: [1, 1], initialDist: [1, 1], seed: 1 })
      .iterator();
    expect(await it.next()).toEqual({ value: 0, done: false });
    await expect(it.next()).rejects.toThrow(
      "rejectionResample(classFn) needs classFn to return a class index, an integer from 0 to 1; got 5 for the element 5.",
    );
    expect(await it.next()).toEqual({ value: 1, done: false });
  });

  it("rejects bad distributions, a missing target, a bad seed and unknown options, listing the known ones", () => {
    const ds = Dataset.range(3);
    const cases: [() => unknown, string][] = [
      [
        () => ds.rejectionResample((x) => x, {} as never),
        "rejectionResample(classFn, { targetDist }) needs a non-empty array of numbers, one per class; got undefined.",
      ],
      [() => ds.rejectionResample((x) => x, { targetDist: [0.5, -0.5] }), "rejectionResample(classFn, { targetDist })[1] needs a finite number ≥ 0; got -0.5."],
      [() => ds.rejectionResample((x) => x, { targetDist: [0, 0] }), "rejectionResample(classFn, { targetDist }) needs at least one number above 0"],
      [
        () => ds.rejectionResample((x) => x, { targetDist: [1, 1], initialDist: [1] }),
        "rejectionResample(classFn, { initialDist }) needs 2 numbers, one per class of targetDist",
      ],
      [() => ds.rejectionResample((x) => x, { targetDist: [1], seed: "x" as never }), 'rejectionResample(classFn, { seed }) needs an integer; got "x".'],
      [() => ds.rejectionResample(1 as never, { targetDist: [1] }), "rejectionResample(classFn) needs a function; got 1."],
      [() => ds.rejectionResample((x) => x, undefined as never), "rejectionResample(classFn, options) needs options with a targetDist"],
      [
        () => ds.rejectionResample((x) => x, { targetDist: [1], target: [1] } as never),
        'rejectionResample(classFn, options) has no option "target"; its options are: targetDist, initialDist, seed.',
      ],
    ];
    for (const [call, message] of cases) {
      expect(call).toThrow(InvalidArgumentError);
      expect(call).toThrow(message);
    }
  });
});
