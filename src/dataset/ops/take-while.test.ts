import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../errors.js";
import { Dataset } from "../dataset.js";

describe("takeWhile", () => {
  it("TensorFlow's documented example: range(10).takeWhile(x < 5) → 0..4", async () => {
    expect(
      await Dataset.range(10)
        .takeWhile((x) => x < 5)
        .toArray(),
    ).toEqual([0, 1, 2, 3, 4]);
  });
  it("takes an async predicate", async () => {
    expect(
      await Dataset.range(10)
        .takeWhile(async (x) => x * x < 20)
        .toArray(),
    ).toEqual([0, 1, 2, 3, 4]);
  });
  it("ends at the first falsy answer, even if later elements would pass", async () => {
    expect(
      await Dataset.fromArray([1, 2, 9, 1, 2])
        .takeWhile((x) => x < 5)
        .toArray(),
    ).toEqual([1, 2]);
  });
  it("saves that it stopped: a restored iterator ends at once, reading nothing more", async () => {
    const ds = (): Dataset<number> => Dataset.range(10).takeWhile((x) => x < 3);
    const it1 = ds().iterator();
    for (let i = 0; i < 4; i++) await it1.next();
    const state = JSON.parse(JSON.stringify(await it1.save()));
    expect(state.ended).toBe(true);
    const it2 = ds().iterator();
    await it2.next();
    await it2.next();
    await it2.next();
    const before = JSON.parse(JSON.stringify(await it2.save()));
    expect(before.root).toMatchObject({ kind: "TakeWhile", version: 1, stopped: false });
    expect(await it2.next()).toEqual({ done: true, value: undefined });
  });
  it("refuses a predicate that is not a function", () => {
    expect(() => Dataset.range(3).takeWhile(3 as never)).toThrow(InvalidArgumentError);
  });
});
