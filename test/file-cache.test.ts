/**
 * `cache(filename)`: the conformance suite (writing in the first epoch, reading in the next),
 * a state that holds positions and never the contents, a cache cut short never read as whole,
 * another pipeline's file refused, and later iterations (in another dataset object) reading the file.
 */
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Dataset, FailedPreconditionError, type IteratorState } from "../src/index.js";
import { describeCheckpointing, drain, takeN } from "./harness.js";

const DIR = mkdtempSync(join(tmpdir(), "checkpipe-file-cache-"));
let n = 0;
const fresh = (): string => join(DIR, `cache-${n++}.bin`);
const rows = (count: number): Dataset<{ i: number; v: Float32Array; big: bigint }> =>
  Dataset.range(count).map((i) => ({ i, v: new Float32Array([i, i / 2]), big: BigInt(i) ** 2n }));

describe("cache(filename) conformance", () => {
  // One file per pipeline: the first iteration writes it (in its first epoch), every later one reads it.
  const first = fresh();
  describeCheckpointing("cache to a file, read in a second epoch", () => rows(25).cache(first).repeat(2), {
    expectOutput: (out) => expect(out).toHaveLength(50),
  });
  const second = fresh();
  describeCheckpointing("cache to a file after an async map, shuffled after", () =>
    Dataset.range(30)
      .map(async (x) => x * 3)
      .cache(second)
      .shuffle(7, { seed: 5 })
      .repeat(2),
  );
});

describe("cache(filename)", () => {
  it("writes the file once complete, then later iterations and other dataset objects read it", async () => {
    const file = fresh();
    const all = await rows(40).cache(file).toArray();
    expect(all.map((r) => r.i)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(existsSync(file)).toBe(true);
    let pulled = 0;
    const again = Dataset.range(40)
      .map((i) => {
        pulled++;
        return { i, v: new Float32Array([i, i / 2]), big: BigInt(i) ** 2n };
      })
      .cache(file);
    expect(await again.toArray()).toEqual(all);
    expect(pulled).toBe(0);
  });

  it("saves positions, not elements: the state stays small however much is cached", async () => {
    const file = fresh();
    const big = Dataset.range(2000)
      .map((i) => new Float32Array(256).fill(i))
      .cache(file)
      .repeat(2);
    const it = big.iterator();
    await takeN(it, 1500);
    const writing = JSON.stringify(await it.save());
    await takeN(it, 1000);
    const reading = JSON.stringify(await it.save());
    expect(writing.length).toBeLessThan(600);
    expect(reading.length).toBeLessThan(600);
    expect(statSync(file).size).toBeGreaterThan(2000 * 1024);
    const rest = await drain(big.iterator({ state: JSON.parse(reading) as IteratorState }));
    expect(rest.map((v) => v[0])).toEqual(Array.from({ length: 1500 }, (_, i) => i + 500));
    await it.close();
  });

  it("never reads a cache cut short as whole: a restored writer goes on from a copy of the temporary file", async () => {
    const file = fresh();
    const build = (): Dataset<number> => Dataset.range(100).cache(file);
    const it = build().iterator();
    await takeN(it, 60);
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    expect(existsSync(file)).toBe(false); // only a temporary file so far
    // Another iterator restores the writer's state while the first is still open (as a process would after a crash).
    const resumed = build().iterator({ state });
    expect(await drain(resumed)).toEqual(Array.from({ length: 40 }, (_, i) => i + 60));
    expect(await build().toArray()).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await it.close();
    expect(readdirSync(DIR).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("passes through without writing when the restored writer's temporary file is gone", async () => {
    const file = fresh();
    const build = (): Dataset<number> => Dataset.range(30).cache(file);
    const it = build().iterator();
    await takeN(it, 10);
    const state = await it.save();
    await it.close(); // deletes the unfinished temporary file
    expect(await drain(build().iterator({ state }))).toEqual(Array.from({ length: 20 }, (_, i) => i + 10));
    expect(existsSync(file)).toBe(false);
  });

  it("refuses a file that is not this pipeline's cache", async () => {
    const file = fresh();
    await Dataset.range(5).cache(file).toArray();
    expect(() =>
      Dataset.range(6)
        .map((x) => x)
        .cache(file)
        .iterator(),
    ).toThrow(FailedPreconditionError);
    const junk = fresh();
    writeFileSync(junk, "not a cache");
    expect(() => Dataset.range(5).cache(junk).iterator()).toThrow(/is not the cache of this pipeline/);
  });

  it("checks its filename", () => {
    expect(() => Dataset.range(3).cache("")).toThrow(/cache\(filename\) needs a file path/);
    expect(String(Dataset.range(3).cache("a.cache"))).toBe('Range -> Cache("a.cache")');
  });
});

describe("cache(filename) while writing", () => {
  it("resumes exactly from a break at every point of the writing pass, and the file it completes reads back whole", async () => {
    for (const at of [0, 1, 7, 33, 64, 65]) {
      const file = fresh();
      const build = (): Dataset<{ i: number; v: Float32Array; big: bigint }> => rows(65).cache(file).repeat(2);
      const it = build().iterator();
      const head = await takeN(it, at);
      const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
      await it.close();
      const tail = await drain(build().iterator({ state }));
      expect([...head, ...tail].map((r) => r.i)).toEqual([...Array.from({ length: 65 }, (_, i) => i), ...Array.from({ length: 65 }, (_, i) => i)]);
      // The resumed iterator completed the writing pass: the file is whole and is what later passes read.
      expect(existsSync(file)).toBe(true);
      const reread = await Dataset.range(65)
        .map((): never => {
          throw new Error("the input is read again");
        })
        .cache(file)
        .toArray();
      expect(reread.map((r) => (r as { i: number }).i)).toEqual(Array.from({ length: 65 }, (_, i) => i));
    }
  });
});
