import { describe, expect, it } from "vitest";
import { Dataset } from "../../index.js";
import { describeCheckpointing } from "../../../test/harness.js";

describe("groupByWindow", () => {
  it("gives TensorFlow's documented result: windows of 5 evens and 5 odds, batched", async () => {
    const ds = Dataset.range(10).groupByWindow(
      (x) => x % 2,
      (_key, window) => window.batch(5),
      { windowSize: 5 },
    );
    expect(await ds.toArray()).toEqual([
      [0, 2, 4, 6, 8],
      [1, 3, 5, 7, 9],
    ]);
  });

  it("reduces full windows as they fill, then the partial ones in ascending key order", async () => {
    const ds = Dataset.fromArray([5, 3, 9, 1, 7, 30, 11, 2]).groupByWindow(
      (x) => x % 3,
      (key, window) => window.map((x) => `${key}:${x}`),
      { windowSize: 2 },
    );
    // keys: 5→2, 3→0, 9→0 (window of key 0 full), 1→1, 7→1 (key 1 full), 30→0, 11→2 (key 2 full), 2→2; end: key 0 [30], key 2 [2]
    expect(await ds.toArray()).toEqual(["0:3", "0:9", "1:1", "1:7", "2:5", "2:11", "0:30", "2:2"]);
  });

  it("passes the key to reduceFn, and checks its arguments", async () => {
    const keys: unknown[] = [];
    await Dataset.range(6)
      .groupByWindow(
        (x) => (x < 3 ? "low" : "high"),
        (key, window) => {
          keys.push(key);
          return window;
        },
        { windowSize: 3 },
      )
      .toArray();
    expect(keys).toEqual(["low", "high"]);
    expect(() =>
      Dataset.range(3).groupByWindow(
        (x) => x,
        (_k, w) => w,
        { windowSize: 0 },
      ),
    ).toThrow(/windowSize.*an integer ≥ 1/);
    expect(() =>
      Dataset.range(3).groupByWindow(
        (x) => x,
        (_k, w) => w,
        { window_size: 2 } as never,
      ),
    ).toThrow(/has no option "window_size"/);
    await expect(
      Dataset.range(3)
        .groupByWindow(
          () => ({}) as never,
          (_k, w) => w,
          { windowSize: 2 },
        )
        .toArray(),
    ).rejects.toThrow(/a finite number, a bigint or a string/);
  });
});

describeCheckpointing("groupByWindow with windows reduced by batch", () =>
  Dataset.range(40).groupByWindow(
    (x) => x % 3,
    (_key, window) => window.batch(4),
    { windowSize: 6 },
  ),
);
describeCheckpointing("groupByWindow over async input, a window reduced by a shuffle", () =>
  Dataset.range(30)
    .map(async (x) => x * 7)
    .groupByWindow(
      (x) => x % 4,
      (key, window) => window.shuffle(5, { seed: Number(key) }).map((x) => [key, x]),
      { windowSize: 5 },
    ),
);
