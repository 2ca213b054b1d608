import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../errors.js";
import { Dataset } from "../dataset.js";

describe("reduce", () => {
  it("sums (tf.data: range(5).reduce(0, lambda state, value: state + value) → 10)", async () => {
    expect(await Dataset.range(5).reduce(0, (s, x) => s + x)).toBe(10);
  });

  it("counts (tf.data: range(5).reduce(0, lambda x, _: x + 1) → 5)", async () => {
    expect(await Dataset.range(5).reduce(0, (count) => count + 1)).toBe(5);
  });

  it("resolves to the initial state for an empty dataset", async () => {
    expect(await Dataset.range(0).reduce("none", (s) => `${s}!`)).toBe("none");
  });

  it("awaits an async fn, one element at a time, in order", async () => {
    const out = await Dataset.range(4)
      .map(async (x) => x)
      .reduce([] as number[], async (acc, x) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return [...acc, x];
      });
    expect(out).toEqual([0, 1, 2, 3]);
  });

  it("rejects with the error of fn or of an element", async () => {
    await expect(Dataset.range(3).reduce(0, (_, x) => (x === 1 ? Promise.reject(new Error("bad")) : x))).rejects.toThrow("bad");
    await expect(
      Dataset.range(3)
        .map((x) => {
          if (x === 2) throw new RangeError("no 2");
          return x;
        })
        .reduce(0, (s, x) => s + x),
    ).rejects.toThrow(RangeError);
  });

  it("rejects a fn that is not a function", () => {
    expect(() => Dataset.range(3).reduce(0, 5 as never)).toThrow(InvalidArgumentError);
    expect(() => Dataset.range(3).reduce(0, 5 as never)).toThrow("reduce(initial, fn) needs a function; got 5.");
  });
});
