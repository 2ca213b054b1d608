/**
 * `Dataset.fromWorkers`: the conformance suite (shards of equal and unequal lengths, unseeded
 * shuffles inside the workers, typed arrays, TFRecord files parsed in the workers, a slow
 * consumer), the round-robin order, errors at their place, a thread that dies, an export that
 * returns no Dataset, and a state restored into a dataset of another worker count.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Dataset, InvalidArgumentError, UnavailableError, type IteratorState } from "../src/index.js";
import { describeCheckpointing, drain, outcomes, takeN } from "./harness.js";

const MODULE = fileURLToPath(new URL("./fixtures/workers/shards.mjs", import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("fromWorkers conformance", () => {
  describeCheckpointing("fromWorkers of 2 shards with seeded shuffles in the workers", () => Dataset.fromWorkers<number>(MODULE, { workers: 2 }), {
    expectOutput: (out) => expect([...out].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i * 2)),
  });
  describeCheckpointing("fromWorkers of 3 shards of unequal lengths, batched", () =>
    Dataset.fromWorkers<string>(MODULE, { workers: 3, export: "unequal" }).batch(2),
  );
  describeCheckpointing(
    "fromWorkers of typed arrays with a slow consumer",
    () => Dataset.fromWorkers<Float64Array>(MODULE, { workers: 2, export: "vectors" }),
    {
      beforeSave: () => sleep(2),
    },
  );
  describeCheckpointing(
    "fromWorkers reading and parsing TFRecord shards, with an async export",
    () => Dataset.fromWorkers<number[]>(MODULE, { workers: 2, export: "iris" }).batch(8),
    {
      expectOutput: (out) => expect(out.flat()).toHaveLength(150),
    },
  );
  describeCheckpointing("fromWorkers with errors skipped", () => Dataset.fromWorkers<number>(MODULE, { workers: 2, export: "failing" }).ignoreErrors(), {
    expectOutput: (out) => expect(out).toHaveLength(18),
  });
});

describe("fromWorkers", () => {
  it("yields the workers' elements in turn, skipping workers that ended", async () => {
    expect(await Dataset.fromWorkers(MODULE, { workers: 3, export: "unequal" }).toArray()).toEqual([
      "w0:0",
      "w1:0",
      "w2:0",
      "w1:1",
      "w2:1",
      "w1:2",
      "w2:2",
      "w1:3",
      "w2:3",
      "w2:4",
      "w2:5",
      "w2:6",
    ]);
  });

  it("raises an element's error at its place, of its class, and goes on", async () => {
    const out = await outcomes(Dataset.fromWorkers<number>(MODULE, { workers: 2, export: "failing" }));
    expect(out.slice(0, 10)).toEqual([0, 100, 1, 101, 2, 102, 3, 103, "!RangeError: bad 4", 104]);
    expect(out).toHaveLength(20);
  });

  it("fails every pull with an UnavailableError naming the module and the worker when a worker's thread dies", async () => {
    const it = Dataset.fromWorkers(MODULE, { workers: 2, export: "dying" }).iterator();
    const error = await (async () => {
      for (;;) await it.next();
    })().catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toMatch(/^Dataset\.fromWorkers\(".*shards\.mjs"\): the thread of worker 1 died \(it exited with code 7/);
    await expect(it.next()).rejects.toBe(error);
    await it.close();
  });

  it("fails every pull when the export returns no Dataset, and checks its options when built", async () => {
    await expect(Dataset.fromWorkers(MODULE, { workers: 1, export: "notADataset" }).toArray()).rejects.toThrow(/must return a Dataset for worker 0; got 42/);
    expect(() => Dataset.fromWorkers(MODULE, { workers: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => Dataset.fromWorkers(MODULE, { export: 3 } as never)).toThrow(InvalidArgumentError);
    expect(() => Dataset.fromWorkers(MODULE, { shards: 2 } as never)).toThrow(/one of the options export, workers, transfer/);
    expect(String(Dataset.fromWorkers(MODULE, { workers: 2 }).batch(3))).toBe("FromWorkers(workers=2) -> Batch(3)");
  });

  it("saves each worker's own position even before the first pull (an unseeded shuffle's seed)", async () => {
    const build = (): Dataset<number> => Dataset.fromWorkers<number>(MODULE, { workers: 2, export: "unseeded" });
    const it = build().iterator();
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    const all = await drain(it);
    expect(await drain(build().iterator({ state }))).toEqual(all);
  });

  it("refuses a state saved with another number of workers, naming both", async () => {
    const it = Dataset.fromWorkers(MODULE, { workers: 2 }).iterator();
    await takeN(it, 5);
    const state = await it.save();
    await it.close();
    const other = Dataset.fromWorkers(MODULE, { workers: 3 }).iterator({ state });
    await expect(other.next()).rejects.toThrow(/saved state is of 2 worker\(s\).*this dataset has 3/);
    await other.close();
  });

  it("saves the elements received and not yet handed out, and each worker's own position (an unseeded shuffle's seed too)", async () => {
    const build = (): Dataset<number> => Dataset.fromWorkers<number>(MODULE, { workers: 2, export: "unseeded" });
    const it = build().iterator();
    const head = await takeN(it, 7);
    await sleep(20); // the workers' pulls land: their buffers hold more than was handed out
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    const tail = await drain(it);
    expect(await drain(build().iterator({ state }))).toEqual(tail);
    expect(head.length + tail.length).toBe(40);
  });
});
