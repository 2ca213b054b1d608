/**
 * `map(fn, { parallel: "auto" })` and `prefetch("auto")`: a bounded, adaptive choice that grows
 * when the consumer waits and never changes which elements come out or their order, so
 * resumes stay exact (the conformance suite), and the choice stays within its bounds.
 */
import { describe, expect, it } from "vitest";
import { Dataset } from "../src/index.js";
import { AUTO_PARALLEL } from "../src/dataset/ops/parallel-map.js";
import { AUTO_PREFETCH } from "../src/dataset/ops/prefetch.js";
import { describeCheckpointing, takeN } from "./harness.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const slow = async (x: number): Promise<number> => {
  await sleep(x % 3);
  return x * 10;
};

describeCheckpointing('map with parallel: "auto"', () => Dataset.range(50).map(slow, { parallel: "auto" }).batch(3));
describeCheckpointing('prefetch("auto") over slow input', () => Dataset.range(40).map(slow).prefetch("auto"), { beforeSave: () => sleep(2) });

describe('parallel: "auto"', () => {
  it("grows while the consumer waits, up to its bound, with the elements of a sequential map in order", async () => {
    let active = 0;
    let most = 0;
    const fn = async (x: number): Promise<number> => {
      most = Math.max(most, ++active);
      await sleep(1);
      active--;
      return x + 1;
    };
    const ds = Dataset.range(300).map(fn, { parallel: "auto" });
    expect(String(ds)).toBe("Range -> Map(parallel=auto)");
    expect(await ds.toArray()).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(most).toBeGreaterThan(AUTO_PARALLEL.start);
    expect(most).toBeLessThanOrEqual(AUTO_PARALLEL.max);
  });
});

describe('prefetch("auto")', () => {
  it("buffers more after the consumer found nothing ready, within its bound", async () => {
    const ds = Dataset.range(500).map(slow).prefetch("auto");
    expect(String(ds)).toBe("Range -> Map -> Prefetch(auto)");
    const it = ds.iterator();
    await takeN(it, 40); // each pull waits on the slow map: the buffer grows
    await sleep(150); // the producer fills it
    const state = await it.save();
    const buffered = (state.root as unknown as { buffer: unknown[] }).buffer.length;
    expect(buffered).toBeGreaterThan(AUTO_PREFETCH.start);
    expect(buffered).toBeLessThanOrEqual(AUTO_PREFETCH.max);
    const rest = await takeN(it, 460);
    expect(rest).toEqual(Array.from({ length: 460 }, (_, i) => (i + 40) * 10));
    await it.close();
  });

  it('refuses anything but an integer ≥ 1 or "auto"', () => {
    expect(() => Dataset.range(3).prefetch("AUTOTUNE" as never)).toThrow(/or "auto"/);
    expect(() => Dataset.range(3).map((x) => x, { parallel: "many" as never })).toThrow(/or "auto"/);
  });
});
