import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../errors.js";
import { Dataset } from "../dataset.js";

describe("unique", () => {
  it("TensorFlow's documented example: [1, 37, 2, 37, 2, 1] → 1, 37, 2", async () => {
    expect(await Dataset.fromArray([1, 37, 2, 37, 2, 1]).unique().toArray()).toEqual([1, 37, 2]);
  });
  it("TensorFlow's documented example with strings: ['hello', 'world', 'hello'] → 'hello', 'world'", async () => {
    expect(await Dataset.fromArray(["hello", "world", "hello"]).unique().toArray()).toEqual(["hello", "world"]);
  });

  it("compares primitives by value: bigints, NaN, 0 and -0, null, undefined, booleans", async () => {
    const ds = Dataset.fromArray<unknown>([3n, 3n, 2n ** 70n, 2n ** 70n, NaN, NaN, 0, -0, null, null, undefined, undefined, true, true, "3", 3]).unique();
    expect(await ds.toArray()).toEqual([3n, 2n ** 70n, NaN, 0, null, undefined, true, "3", 3]);
  });

  it("saves every distinct element seen so far, and resumes dropping them", async () => {
    const ds = (): Dataset<unknown> => Dataset.fromArray<unknown>([1n, "a", NaN, 1n, "b", "a", NaN, 2]).unique();
    const it1 = ds().iterator();
    for (let i = 0; i < 3; i++) await it1.next();
    const state = JSON.parse(JSON.stringify(await it1.save()));
    expect(state.root).toMatchObject({ kind: "Unique", version: 1, seen: [{ $type: "bigint", value: "1" }, "a", { $type: "number", value: "NaN" }] });
    const rest: unknown[] = [];
    for await (const x of { [Symbol.asyncIterator]: () => ds().iterator({ state }) }) rest.push(x);
    expect(rest).toEqual(["b", 2]);
  });

  it("refuses elements that are not primitives", async () => {
    for (const bad of [{ a: 1 }, [1], new Float32Array(1)]) {
      const error = await Dataset.fromArray<unknown>([1, bad])
        .unique()
        .toArray()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(/^unique\(\) needs elements that are numbers, strings, bigints, booleans, null or undefined/);
    }
  });
});
