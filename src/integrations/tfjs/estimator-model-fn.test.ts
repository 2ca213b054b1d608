/**
 * tfjsModelFn: an Estimator over a tfjs model trains, checkpoints weights and optimizer state,
 * and a training split into several `train` calls ends bit-identical to one uninterrupted call.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Dataset } from "../../dataset/dataset.js";
import { CheckpointInputPipelineHook } from "../../estimator/checkpoint-input-pipeline-hook.js";
import { Estimator } from "../../estimator/estimator.js";
import { RunConfig } from "../../estimator/run-config.js";
import { silentLogger } from "../../session/logger.js";
import { setBackendQuietly, tfjsModelFn } from "./index.js";

beforeAll(async () => {
  await setBackendQuietly("cpu");
});
let dirs: string[] = [];
beforeEach(() => {
  dirs = [];
});
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type Features = number[][];
type Labels = number[][];

/** 3 separable classes of points in 4 dimensions, batched by 8, shuffled with a seed, repeated. */
function input(): Dataset<{ features: Features; labels: Labels }> {
  return Dataset.range(96)
    .map((n): [number[], number[]] => {
      const c = n % 3;
      return [[c + Math.sin(n) * 0.3, -c + Math.cos(n) * 0.3, c * 0.5, 1], [0, 1, 2].map((k) => (k === c ? 1 : 0))];
    })
    .shuffle(32, { seed: 4 })
    .repeat()
    .batch(8)
    .map((rows) => ({ features: rows.map(([x]) => x), labels: rows.map(([, y]) => y) }));
}

let modelsBuilt: tf.LayersModel[] = [];
function buildModel(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [4], activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.02), loss: "categoricalCrossentropy" });
  modelsBuilt.push(model);
  return model;
}

async function estimator(): Promise<Estimator<Features, Labels>> {
  const modelDir = await mkdtemp(join(tmpdir(), "checkpipe-tfjs-estimator-"));
  dirs.push(modelDir);
  const modelFn = tfjsModelFn<Features, Labels>({ model: buildModel, toInput: (x) => tf.tensor2d(x), toTarget: (y) => tf.tensor2d(y) });
  return new Estimator({ modelFn, modelDir, config: new RunConfig({ saveCheckpointsSteps: 5, logStepCountSteps: null }), logger: silentLogger });
}

/** The bytes of the last built model's weights. */
function lastWeights(): number[][] {
  return (modelsBuilt.at(-1) as tf.LayersModel).getWeights().map((w) => Array.from(w.dataSync()));
}

describe("tfjsModelFn", () => {
  it("trains in three train calls, with the input hook, to the very weights of one uninterrupted call", async () => {
    modelsBuilt = [];
    const whole = await estimator();
    await whole.train(input, { hooks: [new CheckpointInputPipelineHook(whole, { logger: silentLogger })], steps: 24 });
    const uninterrupted = lastWeights();

    const split = await estimator();
    for (const steps of [7, 9, 8]) await split.train(input, { hooks: [new CheckpointInputPipelineHook(split, { logger: silentLogger })], steps });
    expect(lastWeights()).toEqual(uninterrupted);
    expect(await split.latestCheckpoint()).toMatch(/model\.ckpt-24$/);
  });

  it("evaluates the accuracy and loss of the latest checkpoint, and predicts class probabilities", async () => {
    const est = await estimator();
    await est.train(input, { steps: 60 });
    const result = await est.evaluate(() => input().take(4));
    expect(result["global_step"]).toBe(60);
    expect(result["accuracy"]).toBeGreaterThan(0.9);
    expect(result["loss"]).toBeLessThan(0.5);
    const predictions: unknown[] = [];
    for await (const p of est.predict(() =>
      input()
        .take(1)
        .map(({ features }) => features),
    ))
      predictions.push(p);
    expect(predictions).toHaveLength(1);
    const rows = predictions[0] as number[][];
    expect(rows).toHaveLength(8);
    for (const row of rows) expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
  });

  it("refuses a model that is not compiled", async () => {
    const est = new Estimator<Features, Labels>({
      modelFn: tfjsModelFn({ model: () => tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [4] })] }) }),
      modelDir: await mkdtemp(join(tmpdir(), "checkpipe-tfjs-estimator-")),
      logger: silentLogger,
    });
    dirs.push(est.modelDir);
    await expect(est.train(input, { steps: 1 })).rejects.toThrow(
      /^tfjsModelFn needs a compiled tf\.LayersModel from options\.model\(\); got .* \(not compiled\)\.$/,
    );
  });
});
