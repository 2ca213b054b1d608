import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../errors.js";
import type { IteratorState } from "../../core/state.js";
import { Dataset } from "../dataset.js";

describe("Dataset.counter", () => {
  it("counts from 0 by 1 by default (tf.data: counter().take(5) → 0, 1, 2, 3, 4)", async () => {
    expect(await Dataset.counter().take(5).toArray()).toEqual([0, 1, 2, 3, 4]);
  });

  it("counts from start by step (tf.data: counter(start=2, step=5).take(5) → 2, 7, 12, 17, 22)", async () => {
    expect(await Dataset.counter(2, 5).take(5).toArray()).toEqual([2, 7, 12, 17, 22]);
  });

  it("counts down with a negative step and by fractions without drift", async () => {
    expect(await Dataset.counter(0, -1).take(3).toArray()).toEqual([0, -1, -2]);
    const tenths = await Dataset.counter(1, 0.1).skip(100).take(1).toArray();
    expect(tenths).toEqual([1 + 0.1 * 100]);
  });

  it("is infinite", () => {
    expect(Dataset.counter().cardinality()).toBe(Infinity);
    expect(Dataset.counter().take(7).cardinality()).toBe(7);
    expect(String(Dataset.counter(3, 2))).toBe("Counter(start=3, step=2)");
  });

  it("saves how many values it handed out, and resumes there without replay", async () => {
    const it = Dataset.counter(10, 3).iterator();
    for (let i = 0; i < 1000; i++) await it.next();
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    expect(state.root).toEqual({ kind: "Counter", version: 1, count: 1000 });
    const resumed = Dataset.counter(10, 3).iterator({ state });
    expect(await resumed.next()).toEqual({ value: 10 + 3 * 1000, done: false });
  });

  it("rejects a non-finite start or step", () => {
    expect(() => Dataset.counter(Infinity)).toThrow(InvalidArgumentError);
    expect(() => Dataset.counter(0, NaN)).toThrow("Dataset.counter(start, step) needs a finite number; got NaN.");
  });
});
