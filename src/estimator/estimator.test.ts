/**
 * The Estimator: train restores and saves in the model directory, stops after steps, at
 * maxSteps or at the end of the input; evaluate and predict use a checkpoint's model.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Dataset } from "../dataset/dataset.js";
import { ValueError } from "../errors.js";
import { getOrCreateGlobalStep } from "../session/global-step.js";
import { CheckpointSaverHook } from "../session/hooks/checkpoint-saver-hook.js";
import { silentLogger } from "../session/logger.js";
import { Operation } from "../session/operation.js";
import type { SessionRunHook } from "../session/session-run-hook.js";
import { computed } from "../session/tensor.js";
import { assignAdd, Variable } from "../session/variable.js";
import { Estimator, type ModelFn } from "./estimator.js";
import { EstimatorSpec, ModeKeys } from "./estimator-spec.js";
import { metrics } from "./metrics.js";
import { CheckpointInputPipelineHook } from "./checkpoint-input-pipeline-hook.js";
import { RunConfig } from "./run-config.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-estimator-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** y = 3x learned by one weight with SGD; records the features each training run saw. */
function linearModel(seen: number[] = []): ModelFn<number, number, { lr: number }> {
  return ({ features, labels, mode, params }) => {
    const w = new Variable("w", 0);
    const predictions = computed("predictions", async (run) => w.value * (await run.eval(features)));
    if (mode === ModeKeys.PREDICT) return new EstimatorSpec({ mode, predictions });
    const loss = computed("loss", async (run) => ((await run.eval(labels)) - (await run.eval(predictions))) ** 2);
    const increment = assignAdd(getOrCreateGlobalStep());
    const trainOp = new Operation("train", async (run) => {
      const x = await run.eval(features);
      seen.push(x);
      const error = (await run.eval(labels)) - w.value * x;
      w.assign(w.value + params.lr * error * x);
      await run.eval(increment);
    });
    const rounded = computed("rounded", async (run) => Math.round(await run.eval(predictions)));
    return new EstimatorSpec({
      mode,
      loss,
      trainOp,
      predictions,
      evalMetricOps: {
        accuracy: metrics.accuracy(labels, rounded),
        mae: metrics.mean(computed("ae", async (run) => Math.abs((await run.eval(labels)) - (await run.eval(predictions))))),
      },
    });
  };
}

const data = (): Dataset<{ features: number; labels: number }> =>
  Dataset.range(1, 21)
    .map((i) => ({ features: i / 10, labels: (3 * i) / 10 }))
    .repeat();

function estimator(seen: number[] = [], config: RunConfig = new RunConfig({ saveCheckpointsSteps: 10 })): Estimator<number, number, { lr: number }> {
  return new Estimator({ modelFn: linearModel(seen), modelDir: dir, config, params: { lr: 0.5 }, logger: silentLogger });
}

describe("Estimator.train", () => {
  it("trains the given steps, saves at the end, and the next train continues from the saved global step", async () => {
    const est = estimator();
    await est.train(data, { steps: 25 });
    expect(await est.latestCheckpoint()).toBe(join(dir, "model.ckpt-25"));
    await est.train(data, { steps: 5 });
    expect(await est.latestCheckpoint()).toBe(join(dir, "model.ckpt-30"));
    const files = await readdir(dir);
    expect(files).toContain("checkpoint");
    expect(files.some((f) => f.startsWith("events.out.tfevents."))).toBe(true);
  });

  it("stops at maxSteps, and skips training when that step is already saved", async () => {
    const seen: number[] = [];
    const est = estimator(seen);
    await est.train(data, { maxSteps: 12 });
    expect(await est.latestCheckpoint()).toBe(join(dir, "model.ckpt-12"));
    await est.train(data, { maxSteps: 12 });
    expect(seen).toHaveLength(12);
  });

  it("without an input checkpoint, a new train reads its data from the start again", async () => {
    const seen: number[] = [];
    const est = estimator(seen);
    await est.train(data, { steps: 3 });
    await est.train(data, { steps: 3 });
    expect(seen).toEqual([0.1, 0.2, 0.3, 0.1, 0.2, 0.3]);
  });

  it("takes an iterator the input function made itself, under the default graph", async () => {
    const seen: number[] = [];
    const est = estimator(seen);
    await est.train(() => data().skip(5).iterator({ name: "mine" }), { steps: 2 });
    expect(seen).toEqual([0.6, 0.7]);
  });

  it("ends cleanly when the input is exhausted, and saves that step", async () => {
    const est = estimator();
    await est.train(() => Dataset.range(1, 8).map((i) => ({ features: i / 10, labels: (3 * i) / 10 })));
    expect(await est.latestCheckpoint()).toBe(join(dir, "model.ckpt-7"));
  });

  it("uses a CheckpointSaverHook given to it instead of its own", async () => {
    const est = estimator();
    await est.train(data, { steps: 6, hooks: [new CheckpointSaverHook(dir, { saveSteps: 2, checkpointBasename: "mine.ckpt", logger: silentLogger })] });
    const files = await readdir(dir);
    expect(files.filter((f) => f.startsWith("model.ckpt"))).toEqual([]);
    expect(files).toContain("mine.ckpt-6.index");
  });

  it("runs the model's training hooks and the caller's", async () => {
    const calls: string[] = [];
    const hook = (name: string): SessionRunHook => ({ end: () => void calls.push(name) });
    const modelFn = linearModel();
    const est = new Estimator<number, number, { lr: number }>({
      modelFn: async (args) => {
        const spec = await modelFn(args);
        if (spec.loss === null || spec.trainOp === null) throw new Error("the linear model trains");
        return new EstimatorSpec({ mode: args.mode, loss: spec.loss, trainOp: spec.trainOp, trainingHooks: [hook("model")] });
      },
      modelDir: dir,
      params: { lr: 0.5 },
      logger: silentLogger,
    });
    await est.train(data, { steps: 2, hooks: [hook("caller")] });
    expect(calls).toEqual(["caller", "model"]);
  });

  it("refuses steps with maxSteps, and steps that are not ≥ 1", async () => {
    const est = estimator();
    await expect(est.train(data, { steps: 1, maxSteps: 2 })).rejects.toThrow("Can not provide both steps and maxSteps.");
    await expect(est.train(data, { steps: 0 })).rejects.toThrow("Must specify steps > 0, given: 0");
  });
});

describe("Estimator.evaluate", () => {
  it("reports each metric, the mean loss and the global step of the latest checkpoint", async () => {
    const est = estimator();
    await est.train(data, { steps: 200 });
    const result = await est.evaluate(() => Dataset.range(1, 11).map((i) => ({ features: i, labels: 3 * i })));
    expect(result["global_step"]).toBe(200);
    expect(result["accuracy"]).toBe(1);
    expect(result["loss"]).toBeLessThan(1e-6);
    expect(result["mae"]).toBeLessThan(1e-3);
  });

  it("evaluates `steps` runs only", async () => {
    const est = estimator();
    await est.train(data, { steps: 5 });
    const seen: number[] = [];
    await est.evaluate(
      () =>
        Dataset.range(100).map((i) => {
          seen.push(i);
          return { features: i, labels: 3 * i };
        }),
      { steps: 4 },
    );
    expect(seen.slice(0, 4)).toEqual([0, 1, 2, 3]);
  });

  it("needs a trained model", async () => {
    await expect(estimator().evaluate(data)).rejects.toThrow(new RegExp(`^Could not find trained model in modelDir: ${dir}\\.$`));
    await expect(estimator().evaluate(data)).rejects.toBeInstanceOf(ValueError);
  });
});

describe("Estimator.predict", () => {
  it("yields the predictions of each element with the model of the latest checkpoint", async () => {
    const est = estimator();
    await est.train(data, { steps: 200 });
    const out: number[] = [];
    for await (const p of est.predict(() => Dataset.fromArray([1, 2, 4]))) out.push(Math.round(p as number));
    expect(out).toEqual([3, 6, 12]);
  });
});

describe("the seed's loop: train with CheckpointInputPipelineHook, evaluate without it", () => {
  it("continues the training input where the last train stopped, while evaluation reads its own input from the start", async () => {
    const seen: number[] = [];
    const est = estimator(seen, new RunConfig({ saveCheckpointsSteps: 4 }));
    const train = () =>
      Dataset.range(1, 21)
        .map((i) => ({ features: i / 10, labels: (3 * i) / 10 }))
        .shuffle(8, { seed: 3 })
        .repeat();
    const evalSeen: number[] = [];
    for (let round = 0; round < 3; round++) {
      await est.train(train, { hooks: [new CheckpointInputPipelineHook(est, { logger: silentLogger })], steps: 5 });
      await est.evaluate(() =>
        Dataset.range(3).map((i) => {
          evalSeen.push(i);
          return { features: i, labels: 3 * i };
        }),
      );
    }
    const uninterrupted = (await train().take(15).toArray()).map(({ features }) => features);
    expect(seen).toEqual(uninterrupted);
    expect(evalSeen).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const files = await readdir(dir);
    expect(files).toContain("checkpoint_input");
    expect(files).toContain("input.ckpt-15.index");
    expect(await est.latestCheckpoint()).toBe(join(dir, "model.ckpt-15"));
  });
});

describe("CheckpointInputPipelineHook after a crash damaged the input checkpoint of the model's step", () => {
  it("restores the newest whole input checkpoint before it, with a warning, and reads on from its position", async () => {
    const seen: number[] = [];
    const est = estimator(seen, new RunConfig({ saveCheckpointsSteps: 4 }));
    const train = () => Dataset.range(1, 200).map((i) => ({ features: i, labels: 3 * i }));
    const hook = () => new CheckpointInputPipelineHook(est, { logger: silentLogger });
    await est.train(train, { hooks: [hook()], steps: 8 }); // input checkpoints at 0, 4, 8
    const { truncate } = await import("node:fs/promises");
    await truncate(join(dir, "input.ckpt-8.data-00000-of-00001"), 10);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      seen.length = 0;
      await est.train(train, { hooks: [hook()], steps: 2 });
    } finally {
      process.off("warning", onWarning);
    }
    // The model is at step 8, the input after batch 4: batches 5–8 are read again.
    expect(seen).toEqual([5, 6]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.some((w) => w.startsWith(`Skipped checkpoint ${join(dir, "input.ckpt-8")}:`))).toBe(true);
  });
});

describe("the input contract", () => {
  it("splits { features, labels } records only; arrays are never split (a batch of two is a batch)", async () => {
    const seen: unknown[] = [];
    const est = new Estimator<unknown, unknown, undefined>({
      modelDir: dir,
      logger: silentLogger,
      modelFn: ({ features, labels, mode }) => {
        const step = getOrCreateGlobalStep();
        const trainOp = new Operation("train", async (run) => {
          seen.push([await run.eval(features), await run.eval(labels)]);
          await run.eval(assignAdd(step, 1));
        });
        return new EstimatorSpec({ mode, loss: computed("loss", () => 0), trainOp });
      },
    });
    await est.train(() => Dataset.range(6).batch(2), { steps: 2 });
    expect(seen).toEqual([
      [[0, 1], undefined],
      [[2, 3], undefined],
    ]);
    seen.length = 0;
    await est.train(() => Dataset.fromArray([{ features: [1, 2], labels: 3 }, { features: { x: 1 } }, { features: 5, extra: 6 }]), { steps: 3 });
    expect(seen).toEqual([
      [[1, 2], 3],
      [{ x: 1 }, undefined],
      [{ features: 5, extra: 6 }, undefined],
    ]);
  });
});
