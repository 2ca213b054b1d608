import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { Saver } from "../../checkpoint/saver.js";
import { makeModelSaveables, makeVariableSaveable, setBackendQuietly } from "./index.js";

// A checkpoint written by format version 1 of the tfjs saveables (tensor and optimizer), kept
// so that later versions still read it. CHECKPIPE_WRITE_GOLDEN=1 writes it anew: only do that
// for a new version, in a new directory, keeping the old ones.
const dir = join(fileURLToPath(new URL(".", import.meta.url)), "golden", "v1");
const prefix = join(dir, "tfjs.ckpt-3");

function buildModel(seed: number): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 2, inputShape: [3], activation: "tanh", kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.1), loss: "meanSquaredError" });
  return model;
}

/** Every tensor of the model, its optimizer and the counter, as hex of their bytes. */
async function snapshot(model: tf.LayersModel, counter: tf.Variable): Promise<Record<string, string>> {
  const hex = async (t: tf.Tensor): Promise<string> => Buffer.from(((await t.data()) as Float32Array).slice().buffer).toString("hex");
  const opt = model.optimizer as unknown as { accBeta1: tf.Tensor; accBeta2: tf.Tensor };
  const out: Record<string, string> = {};
  for (const [i, w] of [...model.weights].sort((a, b) => a.id - b.id).entries()) out[`weights/${i}`] = await hex(w.read());
  for (const [i, w] of (await model.optimizer.getWeights()).entries()) out[`optimizer/${i}`] = await hex(w.tensor);
  out["optimizer/accBeta1"] = await hex(opt.accBeta1);
  out["optimizer/accBeta2"] = await hex(opt.accBeta2);
  out["counter"] = await hex(counter);
  return out;
}

beforeAll(async () => {
  await setBackendQuietly("cpu");
  if (process.env["CHECKPIPE_WRITE_GOLDEN"] !== "1") return;
  const model = buildModel(1);
  const xs = tf.tensor2d([
    [0.1, -0.2, 0.3],
    [0.5, 0.4, -0.6],
  ]);
  const ys = tf.tensor2d([[1], [-1]]);
  for (let i = 0; i < 3; i++) await model.trainOnBatch(xs, ys);
  const counter = tf.variable(tf.tensor1d([3, -7], "int32"), false);
  await mkdir(dir, { recursive: true });
  await new Saver([...makeModelSaveables(model), makeVariableSaveable(counter, "counter")]).save(join(dir, "tfjs.ckpt"), { globalStep: 3 });
  await writeFile(join(dir, "expected.json"), JSON.stringify(await snapshot(model, counter), null, 2) + "\n");
});

describe("golden tfjs checkpoint, format v1", () => {
  it("restores every weight, the Adam state and an int32 variable bit for bit", async () => {
    const expected = JSON.parse(await readFile(join(dir, "expected.json"), "utf8")) as Record<string, string>;
    const model = buildModel(7);
    await model.trainOnBatch(tf.ones([1, 3]), tf.ones([1, 1])); // slots exist, with other values
    const counter = tf.variable(tf.tensor1d([0, 0], "int32"), false);
    expect(await snapshot(model, counter)).not.toEqual(expected);
    await new Saver([...makeModelSaveables(model), makeVariableSaveable(counter, "counter")]).restore(prefix);
    expect(await snapshot(model, counter)).toEqual(expected);
    expect(model.optimizer.iterations).toBe(3);
  });
});
