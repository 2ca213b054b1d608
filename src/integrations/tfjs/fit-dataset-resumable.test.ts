import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { latestCheckpoint } from "../../checkpoint/checkpoint-state.js";
import { Dataset } from "../../dataset/dataset.js";
import { InvalidArgumentError } from "../../errors.js";
import { fitDatasetResumable, setBackendQuietly, toTfjsDataset, type FitElement } from "./index.js";

let root: string;
beforeAll(async () => {
  await setBackendQuietly("cpu");
  root = await mkdtemp(join(tmpdir(), "checkpipe-tfjs-fit-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Row {
  readonly x: number[];
  readonly y: number;
}

const ROWS: Row[] = Array.from({ length: 40 }, (_, n) => ({
  x: [Math.sin(n), Math.cos(n * 0.7), Math.sin(n * 0.3) * 2, (n % 5) / 5],
  y: n % 3,
}));

/** 40 rows, reshuffled (seeded) on every pass, batches of 8: 5 batches a pass. */
const pipeline = (repeat = true): Dataset<Row[]> => {
  const shuffled = Dataset.fromArray(ROWS).shuffle(16, { seed: 3 });
  return (repeat ? shuffled.repeat() : shuffled).batch(8);
};

const toTensors = (rows: Row[]): FitElement => ({
  xs: tf.tensor2d(rows.map((r) => r.x)),
  ys: tf.oneHot(
    tf.tensor1d(
      rows.map((r) => r.y),
      "int32",
    ),
    3,
  ),
});

function buildModel(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [4], activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: "categoricalCrossentropy" });
  return model;
}

/** A digest of every byte of the weights and of the optimizer's state (accBeta1/2 included). */
async function digest(model: tf.LayersModel): Promise<string> {
  const opt = model.optimizer as unknown as { accBeta1: tf.Tensor; accBeta2: tf.Tensor };
  const tensors = [...model.getWeights(), ...(await model.optimizer.getWeights()).map((w) => w.tensor), opt.accBeta1, opt.accBeta2];
  const hash = createHash("sha256");
  for (const t of tensors) hash.update(new Uint8Array(((await t.data()) as Float32Array).slice().buffer));
  return hash.digest("hex");
}

/** Stops training after the `k`-th batch of the run it is given to. */
const stopAfter = (model: tf.LayersModel, k: number): tf.CustomCallbackArgs => {
  let seen = 0;
  return {
    onBatchEnd: () => {
      if (++seen === k) model.stopTraining = true;
    },
  };
};

const EPOCHS = 3;
const BATCHES = 5;

/** The reference: plain tfjs fitDataset over the same pipeline, never interrupted. */
let uninterrupted: Promise<string> | undefined;
function reference(): Promise<string> {
  uninterrupted ??= (async () => {
    const model = buildModel();
    await model.fitDataset(toTfjsDataset(pipeline(), { toTensors }), { epochs: EPOCHS, batchesPerEpoch: BATCHES, verbose: 0 });
    return digest(model);
  })();
  return uninterrupted;
}

describe("fitDatasetResumable", () => {
  it.each([
    { stopAt: 8, every: 3, saveAtEnd: false, resumeAt: 6, partial: true },
    { stopAt: 7, every: 3, saveAtEnd: true, resumeAt: 7, partial: true },
    { stopAt: 5, every: 5, saveAtEnd: false, resumeAt: 5, partial: false },
  ])(
    "stopped after $stopAt batches (checkpoints every $every, saveAtEnd $saveAtEnd), rebuilt from scratch and resumed at step $resumeAt, ends bit-identical to an uninterrupted run",
    async ({ stopAt, every, saveAtEnd, resumeAt, partial }) => {
      const dir = join(root, `stop-${stopAt}-${every}`);
      const options = { epochs: EPOCHS, batchesPerEpoch: BATCHES, checkpointDir: dir, everyNBatches: every, toTensors, saveAtEnd };

      const first = buildModel();
      const stopped = await fitDatasetResumable(first, pipeline(), { ...options, callbacks: [stopAfter(first, stopAt)] });
      expect(stopped).toMatchObject({ status: "stopped", step: stopAt, resumedFrom: null, lastCheckpoint: join(dir, `model.ckpt-${resumeAt}`) });
      expect(await latestCheckpoint(dir)).toBe(join(dir, `model.ckpt-${resumeAt}`));

      // Everything anew, as a restarted process would: model, pipeline, saver.
      const second = buildModel();
      const resumed = await fitDatasetResumable(second, pipeline(), options);
      expect(resumed).toMatchObject({ status: "completed", step: EPOCHS * BATCHES, resumedFrom: join(dir, `model.ckpt-${resumeAt}`) });
      expect(resumed.lastCheckpoint).toBe(join(dir, `model.ckpt-${EPOCHS * BATCHES}`));
      const epochRuns = resumed.histories.map((h) => h.epoch);
      const firstEpoch = Math.floor(resumeAt / BATCHES);
      expect(epochRuns).toEqual(
        partial
          ? [[firstEpoch], Array.from({ length: EPOCHS - firstEpoch - 1 }, (_, i) => firstEpoch + 1 + i)]
          : [Array.from({ length: EPOCHS - firstEpoch }, (_, i) => firstEpoch + i)],
      );
      expect(await digest(second)).toBe(await reference());
    },
  );

  it("an uninterrupted run saves every N batches, keeps maxToKeep, calls every kind of callback, and matches plain fitDataset", async () => {
    const dir = join(root, "uninterrupted");
    const model = buildModel();
    let batches = 0;
    let epochs = 0;
    const result = await fitDatasetResumable(model, pipeline(), {
      epochs: EPOCHS,
      batchesPerEpoch: BATCHES,
      checkpointDir: dir,
      everyNBatches: 4,
      maxToKeep: 2,
      toTensors,
      callbacks: [
        { onBatchEnd: () => void batches++ },
        new tf.CustomCallback({ onEpochEnd: () => void epochs++ }),
        tf.callbacks.earlyStopping({ monitor: "loss", patience: 100 }),
      ],
    });
    expect([batches, epochs]).toEqual([15, 3]);
    expect(result).toMatchObject({ status: "completed", step: 15, resumedFrom: null });
    expect(result.histories.map((h) => h.epoch)).toEqual([[0, 1, 2]]);
    expect((await readdir(dir)).filter((f) => f.endsWith(".index")).sort()).toEqual(["model.ckpt-12.index", "model.ckpt-15.index"]);
    expect(await digest(model)).toBe(await reference());

    // Started again once done, it restores and has nothing left to do.
    const again = await fitDatasetResumable(buildModel(), pipeline(), {
      epochs: EPOCHS,
      batchesPerEpoch: BATCHES,
      checkpointDir: dir,
      everyNBatches: 4,
      toTensors,
    });
    expect(again).toMatchObject({ status: "completed", step: 15, resumedFrom: join(dir, "model.ckpt-15"), lastCheckpoint: null, histories: [] });
  });

  it("reports the end of the input when the pipeline runs out before the epochs do", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      const dir = join(root, "short");
      const result = await fitDatasetResumable(buildModel(), pipeline(false), {
        epochs: 2,
        batchesPerEpoch: 3,
        checkpointDir: dir,
        everyNBatches: 10,
        toTensors,
      });
      expect(result).toMatchObject({ status: "endOfInput", step: 5, lastCheckpoint: join(dir, "model.ckpt-5") });
    } finally {
      warn.mockRestore();
    }
  });

  it("refuses to resume a checkpoint saved with another batchesPerEpoch", async () => {
    const dir = join(root, "bpe");
    const model = buildModel();
    await fitDatasetResumable(model, pipeline(), {
      epochs: 1,
      batchesPerEpoch: 4,
      checkpointDir: dir,
      everyNBatches: 2,
      toTensors,
      callbacks: stopAfter(model, 2),
    });
    const error = await fitDatasetResumable(buildModel(), pipeline(), { epochs: 1, batchesPerEpoch: 5, checkpointDir: dir, everyNBatches: 2, toTensors }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe(
      `Cannot resume from ${join(dir, "model.ckpt-2")}: it was saved with batchesPerEpoch 4, and this run has 5. ` +
        "Pass batchesPerEpoch: 4 to resume it, or use another checkpointDir to start afresh.",
    );
  });

  it("refuses bad arguments before training", async () => {
    const model = buildModel();
    const ok = { epochs: 1, batchesPerEpoch: 1, checkpointDir: join(root, "bad"), everyNBatches: 1 };
    await expect(fitDatasetResumable(model, pipeline(), { ...ok, everyNBatches: 0 })).rejects.toThrow(
      "fitDatasetResumable(model, ds, { everyNBatches }) needs an integer ≥ 1; got 0. Pass everyNBatches as a whole number of batches.",
    );
    await expect(fitDatasetResumable(model, [] as unknown as Dataset<Row[]>, ok)).rejects.toThrow(/needs a checkpipe Dataset; got an array/);
    const uncompiled = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
    await expect(fitDatasetResumable(uncompiled, pipeline(), ok)).rejects.toThrow(/is not compiled/);
  });
});
