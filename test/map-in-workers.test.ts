/**
 * `mapInWorkers`: the conformance suite (sync and async functions, a slow consumer, batches in
 * flight at every break), results equal to the same function on the main thread, errors of
 * the same class at their element's place, a module that cannot load, a thread that dies, the
 * buffers of results moved, and a process that ends by itself with an iterator left open.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { Dataset, InvalidArgumentError, NotFoundError } from "../src/index.js";
import * as fns from "./fixtures/workers/square.mjs";
import { describeCheckpointing, drain, outcomes } from "./harness.js";

const MODULE = fileURLToPath(new URL("./fixtures/workers/square.mjs", import.meta.url));
const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("mapInWorkers conformance", () => {
  describeCheckpointing("mapInWorkers with a sync function on 2 threads", () => Dataset.range(60).mapInWorkers<number>(MODULE, { workers: 2 }));
  describeCheckpointing("mapInWorkers with an async function, after a shuffle, before a batch", () =>
    Dataset.range(45).shuffle(9, { seed: 4 }).mapInWorkers<number>(MODULE, { workers: 3, export: "later" }).batch(4),
  );
  describeCheckpointing(
    "mapInWorkers with a slow consumer (batches done or under way at each save)",
    () => Dataset.range(30).mapInWorkers<{ x: number; out: Float32Array }>(MODULE, { workers: 2, export: "vector", parallel: 5 }),
    {
      beforeSave: () => sleep(3),
    },
  );
  describeCheckpointing(
    "mapInWorkers with errors skipped by ignoreErrors",
    () => Dataset.range(40).mapInWorkers<number>(MODULE, { workers: 2, export: "failOnSeven" }).ignoreErrors(),
    {
      expectOutput: (out) => expect(out).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((x) => x % 7 !== 0)),
    },
  );
});

describe("mapInWorkers", () => {
  it("yields what the same function yields on the main thread, in input order", async () => {
    const input = Dataset.range(300).map((x) => (x * 7919) % 1000);
    expect(await input.mapInWorkers(MODULE, { workers: 2, export: "later" }).toArray()).toEqual(await input.map(fns.later).toArray());
    expect(await input.mapInWorkers(MODULE, { workers: 4 }).toArray()).toEqual(await input.map(fns.default).toArray());
  });

  it("raises an error thrown for one element at its place, of its class and with the worker's stack, and goes on", async () => {
    const out = await outcomes(Dataset.range(16).mapInWorkers<number>(MODULE, { workers: 2, export: "failOnSeven" }));
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((x) => (x % 7 === 0 ? `!TypeError: seven divides ${x}` : x)));
    const it = Dataset.range(3).mapInWorkers(MODULE, { workers: 1, export: "failOnSeven" }).iterator();
    const error = await it.next().catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).stack).toContain("square.mjs");
    await it.close();
  });

  it("moves the buffers of results, and refuses an array handed out before", async () => {
    const vectors = await Dataset.range(5).mapInWorkers<{ x: number; out: Float32Array }>(MODULE, { workers: 2, export: "vector" }).toArray();
    expect(vectors.map((v) => Array.from(v.out))).toEqual([0, 1, 2, 3, 4].map((x) => [x, x, x, x]));
    const out = await outcomes(Dataset.range(3).mapInWorkers(MODULE, { workers: 1, export: "sameArray", parallel: 1 }));
    expect(out[0]).toEqual(new Float32Array(8192));
    expect(out.slice(1)).toEqual([
      expect.stringMatching(/^!FailedPreconditionError: .*handed to the main thread before/),
      expect.stringMatching(/^!FailedPreconditionError/),
    ]);
    // Copied, the array a function keeps stays whole in its thread.
    const copied = await Dataset.range(3).mapInWorkers(MODULE, { workers: 1, export: "keptArray", parallel: 1, transfer: false }).toArray();
    expect(copied).toEqual([0, 1, 2].map((x) => new Float32Array([x, 0])));
  });

  it("fails every pull, consuming nothing, when the export is not a function", async () => {
    const it = Dataset.range(5).mapInWorkers(MODULE, { workers: 1, export: "nothing" }).iterator();
    for (let i = 0; i < 3; i++) await expect(it.next()).rejects.toThrow(/no function exported as "nothing"; its function exports are \[.*"default".*\]/);
    await it.close();
  });

  it("checks its arguments when the dataset is built", () => {
    const ds = Dataset.range(3);
    expect(() => ds.mapInWorkers("test/fixtures/workers/missing.mjs")).toThrow(NotFoundError);
    expect(() => ds.mapInWorkers(MODULE, { workers: 0 })).toThrow(/mapInWorkers\(module, \{ workers \}\) needs an integer from 1 to 256/);
    expect(() => ds.mapInWorkers(MODULE, { export: "" })).toThrow(InvalidArgumentError);
    expect(() => ds.mapInWorkers(MODULE, { parallel: 0 })).toThrow(InvalidArgumentError);
    expect(() => ds.mapInWorkers(MODULE, { wrokers: 2 } as never)).toThrow(/one of the options export, workers, parallel, transfer/);
    expect(() => ds.mapInWorkers(new URL("https://example.com/x.mjs"))).toThrow(/a file: or data: URL/);
    expect(() => ds.mapInWorkers(42 as never)).toThrow(InvalidArgumentError);
    expect(String(ds.mapInWorkers(MODULE, { workers: 3 }))).toBe("Range -> MapInWorkers(workers=3)");
  });

  it("takes a data: URL", async () => {
    const url = `data:text/javascript,${encodeURIComponent("export default (x) => ({ twice: x * 2 });")}`;
    expect(await Dataset.range(3).mapInWorkers(url, { workers: 1 }).toArray()).toEqual([{ twice: 0 }, { twice: 2 }, { twice: 4 }]);
  });

  it("fails the elements of a thread that dies with an UnavailableError naming the module and the elements, then goes on", async () => {
    const out = await outcomes(Dataset.range(12).mapInWorkers<number>(MODULE, { workers: 2, export: "exitOn", parallel: 4 }));
    const failures = out.filter((o): o is string => typeof o === "string");
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures)
      expect(failure).toMatch(
        /^!UnavailableError: mapInWorkers\(".*square\.mjs"\): the worker thread mapping elements \d+ to \d+ died \(it exited with code 3/,
      );
    expect(out.filter((o) => typeof o === "number")).toEqual(out.filter((o) => typeof o === "number").sort((a, b) => a - b));
    expect(out).toHaveLength(12);
    expect(out.at(-1)).toBe(11);
  });

  it("leaves a process free to end with an iterator never closed", async () => {
    const index = fileURLToPath(new URL("../src/index.ts", import.meta.url));
    const script = `import { Dataset } from ${JSON.stringify(index)}; const it = Dataset.range(1000).mapInWorkers(${JSON.stringify(MODULE)}, { workers: 2 }).iterator(); console.log((await it.next()).value, (await it.next()).value);`;
    const started = Date.now();
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { timeout: 20_000 });
    expect(stdout.trim()).toBe("0 1");
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("restores a state saved with batches under way into a fresh iterator", async () => {
    const build = (): Dataset<number> => Dataset.range(100).mapInWorkers<number>(MODULE, { workers: 2, export: "later" });
    const it = build().iterator();
    for (let i = 0; i < 37; i++) await it.next();
    const state = await it.save();
    await it.close();
    expect(await drain(build().iterator({ state }))).toEqual(Array.from({ length: 63 }, (_, i) => i + 37 + 1000));
  });
});
