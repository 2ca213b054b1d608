/**
 * `shuffle(n, { saveBuffer: "positions" })`: the state holds where each buffered element came
 * from, not the element; restore gets them again by index. The same stream as elements mode,
 * a state of a few bytes per buffered element, the default by input, the fallback after an
 * input error, and the error for an input without random access.
 */
import { describe, expect, it } from "vitest";
import { Dataset, InvalidArgumentError, type IteratorState } from "../src/index.js";
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
    const unaddressed = await saved(
      Dataset.range(100)
        .filter((x) => x % 2 === 0)
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

  it("is refused over an input without random access, naming the op", () => {
    expect(() =>
      Dataset.range(10)
        .filter(() => true)
        .shuffle(3, { saveBuffer: "positions" }),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      Dataset.range(10)
        .filter(() => true)
        .shuffle(3, { saveBuffer: "positions" }),
    ).toThrow(/"Filter" in Range -> Filter takes that away/);
    expect(() => Dataset.range(10).shuffle(3, { saveBuffer: "rows" as never })).toThrow(/"elements" or "positions"/);
  });
});
