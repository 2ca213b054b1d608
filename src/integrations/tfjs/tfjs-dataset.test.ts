import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSaveableFromIterator } from "../../checkpoint/saveable.js";
import { Saver } from "../../checkpoint/saver.js";
import { Dataset } from "../../dataset/dataset.js";
import { InvalidArgumentError } from "../../errors.js";
import { CheckpointCallback, makeModelSaveables, setBackendQuietly, stackedToTensors, toTfjsDataset } from "./index.js";

let dir: string;
beforeAll(async () => {
  await setBackendQuietly("cpu");
  dir = await mkdtemp(join(tmpdir(), "checkpipe-tfjs-dataset-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Pulls `n` elements through one tfjs iteration of `ds`. */
async function take<T extends tf.TensorContainer>(ds: tf.data.Dataset<T>, n: number): Promise<T[]> {
  const it = await ds.iterator();
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

const pipeline = (): Dataset<number[]> => Dataset.range(20).shuffle(8, { seed: 5 }).batch(3);

describe("toTfjsDataset", () => {
  it("yields the pipeline's elements, in order", async () => {
    const expected: number[][] = [];
    for await (const b of pipeline()) expected.push(b);
    expect(await toTfjsDataset(pipeline()).toArray()).toEqual(expected);
  });

  it("continues the same checkpipe iterator in every tfjs iteration instead of restarting", async () => {
    const all = await toTfjsDataset(pipeline()).toArray();
    const ds = toTfjsDataset(pipeline());
    expect(await take(ds, 2)).toEqual(all.slice(0, 2));
    expect(await take(ds, 2)).toEqual(all.slice(2, 4));
    expect(await ds.toArray()).toEqual(all.slice(4));
    expect(await ds.toArray()).toEqual([]);
  });

  it("reads the iterator it is given, whose saved position a new iterator resumes from", async () => {
    const all = await toTfjsDataset(pipeline()).toArray();
    const it = pipeline().iterator();
    expect(await take(toTfjsDataset(pipeline(), { iterator: it }), 3)).toEqual(all.slice(0, 3));
    const state = JSON.parse(JSON.stringify(await it.save())) as Awaited<ReturnType<typeof it.save>>;
    const resumed = pipeline().iterator({ state });
    expect(await toTfjsDataset(pipeline(), { iterator: resumed }).toArray()).toEqual(all.slice(3));
  });

  it("converts each element with toTensors", async () => {
    const ds = toTfjsDataset(Dataset.range(4).batch(2), { toTensors: (b) => ({ xs: tf.tensor1d(b), ys: tf.tensor1d(b.map((x) => x * 10)) }) });
    const out = await ds.toArray();
    expect(await Promise.all(out.map(async (e) => [Array.from(await e.xs.data()), Array.from(await e.ys.data())]))).toEqual([
      [
        [0, 1],
        [0, 10],
      ],
      [
        [2, 3],
        [20, 30],
      ],
    ]);
    tf.dispose(out.flatMap((e) => [e.xs, e.ys]));
  });

  it("refuses what is not a Dataset, an iterator or a function", () => {
    expect(() => toTfjsDataset([1, 2] as unknown as Dataset<number>)).toThrow(InvalidArgumentError);
    expect(() => toTfjsDataset([1, 2] as unknown as Dataset<number>)).toThrow(
      "toTfjsDataset(ds) needs a checkpipe Dataset; got an array of length 2. Pass a pipeline, e.g. Dataset.range(10).batch(2).",
    );
    expect(() => toTfjsDataset(Dataset.range(2), { iterator: {} as never })).toThrow(/needs a DatasetIterator; got an object/);
    expect(() => toTfjsDataset(Dataset.range(2), { toTensors: 3 as never })).toThrow(/toTensors }\) needs a function; got 3\./);
  });
});

describe("CheckpointCallback", () => {
  it("saves model and pipeline every N batches of fitDataset, with the step as globalStep", async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })] });
    model.compile({ optimizer: tf.train.adam(0.01), loss: "meanSquaredError" });
    const ds = Dataset.range(100)
      .map((i) => [i % 7, i % 3])
      .repeat()
      .batch(4);
    const it = ds.iterator();
    const saver = new Saver([...makeModelSaveables(model), makeSaveableFromIterator(it)]);
    const cb = new CheckpointCallback({ saver, savePath: join(dir, "cb.ckpt"), everyNBatches: 3, initialStep: 10 });
    const data = toTfjsDataset(ds, { iterator: it, toTensors: (b) => ({ xs: tf.tensor2d(b), ys: tf.tensor2d(b.map(([a]) => [a ?? 0])) }) });
    await model.fitDataset(data, { epochs: 2, batchesPerEpoch: 4, callbacks: [cb], verbose: 0 });
    expect(cb.step).toBe(18);
    expect(cb.lastSaved).toEqual({ step: 18, path: join(dir, "cb.ckpt-18") });
    expect((await readdir(dir)).filter((f) => f.startsWith("cb.ckpt") && f.endsWith(".index")).sort()).toEqual([
      "cb.ckpt-12.index",
      "cb.ckpt-15.index",
      "cb.ckpt-18.index",
    ]);
    // The checkpoint at step 18 holds the pipeline after 8 batches: the next is the 9th.
    const fresh = ds.iterator();
    await new Saver([makeSaveableFromIterator(fresh)]).restore(join(dir, "cb.ckpt-18"));
    expect((await fresh.next()).value).toEqual([
      [4, 2],
      [5, 0],
      [6, 1],
      [0, 2],
    ]);
  });

  it("is a plain callback object whose onBatchEnd works detached, as tfjs calls it", async () => {
    const saver = new Saver([{ name: "x", save: async () => 1, restore: async () => undefined }]);
    const cb = new CheckpointCallback({ saver, savePath: join(dir, "detached.ckpt"), everyNBatches: 2 });
    const { onBatchEnd } = cb;
    await onBatchEnd(0);
    await onBatchEnd(1);
    expect(cb.lastSaved).toEqual({ step: 2, path: join(dir, "detached.ckpt-2") });
  });

  it("refuses bad options", () => {
    const saver = new Saver([{ name: "x", save: async () => 1, restore: async () => undefined }]);
    expect(() => new CheckpointCallback({ saver, savePath: "a", everyNBatches: 0 })).toThrow(
      "CheckpointCallback({ everyNBatches }) needs an integer ≥ 1; got 0. Pass how many batches to train between checkpoints.",
    );
    expect(() => new CheckpointCallback({ saver: {} as Saver, savePath: "a", everyNBatches: 1 })).toThrow(/needs a Saver/);
    expect(() => new CheckpointCallback({ saver, savePath: "", everyNBatches: 1 })).toThrow(/needs a non-empty path prefix/);
    expect(() => new CheckpointCallback({ saver, savePath: "a", everyNBatches: 1, initialStep: -1 })).toThrow(/needs an integer ≥ 0/);
  });
});

describe("toTfjsDataset of stacked batches (stackedToTensors)", () => {
  const rows = (): Dataset<{ xs: Float32Array; ys: number }> => Dataset.range(10).map((i) => ({ xs: new Float32Array([i, i + 0.5, -i]), ys: i % 2 }));

  it("makes one tensor per component of each batch, with the batch's shape", async () => {
    const [first] = await take(toTfjsDataset(rows().batch(4, { stack: true }), { toTensors: stackedToTensors }), 1);
    const { xs, ys } = first as { xs: tf.Tensor; ys: tf.Tensor };
    expect(xs.shape).toEqual([4, 3]);
    expect(xs.dtype).toBe("float32");
    expect(Array.from(xs.dataSync())).toEqual([0, 0.5, -0, 1, 1.5, -1, 2, 2.5, -2, 3, 3.5, -3]);
    expect(ys.shape).toEqual([4]);
    expect(ys.dtype).toBe("float32");
    expect(Array.from(ys.dataSync())).toEqual([0, 1, 0, 1]);
  });

  it("trains a model with fitDataset on stacked batches", async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [3] })] });
    model.compile({ optimizer: "sgd", loss: "meanSquaredError" });
    const ds = rows()
      .map((r) => ({ xs: r.xs, ys: new Float32Array([r.ys]) }))
      .batch(5, { stack: true });
    const history = await model.fitDataset(toTfjsDataset(ds, { toTensors: stackedToTensors }), { epochs: 1, verbose: 0 });
    expect(history.history["loss"]).toHaveLength(1);
  });

  it("converts typed arrays tfjs does not take, and refuses 64-bit integers", () => {
    const t = stackedToTensors({ data: new Int16Array([1, -2]), shape: [2] });
    expect(t.dtype).toBe("int32");
    expect(() => stackedToTensors({ data: new BigInt64Array(1), shape: [1] })).toThrow(/tfjs has no 64-bit integers/);
    expect(() => stackedToTensors({ x: [1, 2] })).toThrow(InvalidArgumentError);
  });
});
