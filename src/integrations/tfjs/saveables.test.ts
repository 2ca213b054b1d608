import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Saver } from "../../checkpoint/saver.js";
import { InvalidArgumentError, ValueError } from "../../errors.js";
import { makeModelSaveables, makeOptimizerSaveable, makeVariableSaveable, setBackendQuietly } from "./index.js";

let dir: string;
beforeAll(async () => {
  await setBackendQuietly("cpu");
  dir = await mkdtemp(join(tmpdir(), "checkpipe-tfjs-saveables-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A small classifier, 4 → 8 relu → 3 softmax, with seeded initializers. */
function buildModel(optimizer: tf.Optimizer | string = tf.train.adam(0.01), hidden = 8): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: hidden, inputShape: [4], activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  model.compile({ optimizer, loss: "categoricalCrossentropy" });
  return model;
}

/** The batch of step `step`: 8 deterministic samples. */
function batch(step: number): { xs: tf.Tensor; ys: tf.Tensor } {
  const xs: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < 8; i++) {
    const n = step * 8 + i;
    xs.push([Math.sin(n), Math.cos(n * 0.7), Math.sin(n * 0.3) * 2, (n % 5) / 5]);
    labels.push(n % 3);
  }
  return { xs: tf.tensor2d(xs), ys: tf.oneHot(tf.tensor1d(labels, "int32"), 3) };
}

async function train(model: tf.LayersModel, from: number, steps: number): Promise<void> {
  for (let s = from; s < from + steps; s++) {
    const { xs, ys } = batch(s);
    await model.trainOnBatch(xs, ys);
    tf.dispose([xs, ys]);
  }
}

/** A digest of every byte of the model's weights and its optimizer's whole state. */
async function stateDigest(model: tf.LayersModel): Promise<{ weights: string; optimizer: string }> {
  const digest = async (tensors: tf.Tensor[]): Promise<string> => {
    const hash = createHash("sha256");
    for (const t of tensors) hash.update(new Uint8Array(((await t.data()) as Float32Array).slice().buffer));
    return hash.digest("hex");
  };
  const opt = model.optimizer as unknown as { accBeta1?: tf.Tensor; accBeta2?: tf.Tensor };
  const named = await model.optimizer.getWeights();
  const extra = [opt.accBeta1, opt.accBeta2].filter((t): t is tf.Tensor => t !== undefined);
  return { weights: await digest(model.getWeights()), optimizer: await digest([...named.map((w) => w.tensor), ...extra]) };
}

describe("makeVariableSaveable", () => {
  it("restores every bit of a float32 variable, NaN payloads and -0 included", async () => {
    const bits = new Uint32Array([0x7fc00001, 0x80000000, 0x3f800001, 0xff800000]);
    const v = tf.variable(tf.tensor(new Float32Array(bits.buffer), [2, 2]), true, "bits");
    const saver = new Saver([makeVariableSaveable(v, "w")]);
    const prefix = await saver.save(join(dir, "var.ckpt"), { globalStep: 1 });
    v.assign(tf.zeros([2, 2]));
    await saver.restore(prefix);
    expect(new Uint32Array(((await v.data()) as Float32Array).slice().buffer)).toEqual(bits);
  });

  it("restores int32 and bool variables with their dtype", async () => {
    const i = tf.variable(tf.tensor1d([1, -2, 2147483647], "int32"), false);
    const b = tf.variable(tf.tensor1d([true, false, true], "bool"), false);
    const saver = new Saver([makeVariableSaveable(i, "i"), makeVariableSaveable(b, "b")]);
    const prefix = await saver.save(join(dir, "ints.ckpt"));
    i.assign(tf.zeros([3], "int32"));
    b.assign(tf.zeros([3], "bool"));
    await saver.restore(prefix);
    expect([i.dtype, Array.from(await i.data())]).toEqual(["int32", [1, -2, 2147483647]]);
    expect([b.dtype, Array.from(await b.data())]).toEqual(["bool", [1, 0, 1]]);
  });

  it("names the saveable after the variable unless given a name", () => {
    const v = tf.variable(tf.zeros([1]), true, "my_var");
    expect(makeVariableSaveable(v).name).toBe("my_var");
    expect(makeVariableSaveable(v, "other").name).toBe("other");
  });

  it("refuses a checkpoint of another shape, saying both", async () => {
    const saveable = makeVariableSaveable(tf.variable(tf.zeros([2, 3])), "w");
    const saved = await makeVariableSaveable(tf.variable(tf.zeros([3, 2])), "w").save();
    const error = await saveable.restore(saved).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe(
      'Cannot restore "w": the checkpoint holds a float32 [3, 2] tensor where the variable is float32 [2, 3]. ' +
        "Restore a checkpoint saved by the same model, or build the model with the shapes the checkpoint has.",
    );
  });

  it("refuses a checkpoint of another dtype", async () => {
    const saveable = makeVariableSaveable(tf.variable(tf.zeros([2], "float32")), "w");
    const saved = await makeVariableSaveable(tf.variable(tf.zeros([2], "int32")), "w").save();
    await expect(saveable.restore(saved)).rejects.toThrow("the checkpoint holds a int32 [2] tensor where the variable is float32 [2]");
  });

  it("refuses what is not a saved tensor, and what is not a variable", async () => {
    const saveable = makeVariableSaveable(tf.variable(tf.zeros([2])), "w");
    await expect(saveable.restore(new Float32Array(2))).rejects.toThrow(/expected a tensor saved by checkpipe\/tfjs/);
    expect(() => makeVariableSaveable(tf.zeros([2]) as tf.Variable)).toThrow(ValueError);
  });
});

describe("makeModelSaveables", () => {
  it("names weights by position and adds the optimizer", () => {
    const model = buildModel();
    expect(makeModelSaveables(model).map((s) => s.name)).toEqual([
      "model/weights/0",
      "model/weights/1",
      "model/weights/2",
      "model/weights/3",
      "model/optimizer",
    ]);
    expect(makeModelSaveables(model, { prefix: "clf", optimizer: false }).map((s) => s.name)).toEqual([
      "clf/weights/0",
      "clf/weights/1",
      "clf/weights/2",
      "clf/weights/3",
    ]);
  });

  it("resumes Adam training bit-exactly: N more steps after a restore give the bytes of an uninterrupted run", async () => {
    const original = buildModel();
    await train(original, 0, 30);
    const saver = new Saver(makeModelSaveables(original));
    const prefix = await saver.save(join(dir, "adam.ckpt"), { globalStep: 30 });
    await train(original, 30, 20);

    buildModel(); // shifts tfjs's automatic names: the copy below has other weight names
    const copy = buildModel();
    expect(copy.weights.map((w) => w.name)).not.toEqual(original.weights.map((w) => w.name));
    await new Saver(makeModelSaveables(copy)).restore(prefix);
    expect(copy.optimizer.iterations).toBe(30);
    await train(copy, 30, 20);

    const fresh = buildModel();
    await train(fresh, 30, 20);
    const [a, b, c] = await Promise.all([stateDigest(original), stateDigest(copy), stateDigest(fresh)]);
    expect(b).toEqual(a);
    expect(c.weights).not.toBe(a.weights);
  });

  it("keeps Adam's accBeta2 bit-exact where setWeights alone recomputes it one ULP off (after 100 steps)", async () => {
    const original = buildModel();
    await train(original, 0, 100);
    const state = await makeModelSaveables(original)[4]!.save();
    const accBeta2 = async (m: tf.LayersModel): Promise<number> =>
      ((await (m.optimizer as unknown as { accBeta2: tf.Tensor }).accBeta2.data()) as Float32Array)[0]!;

    const restored = buildModel();
    await makeModelSaveables(restored)[4]!.restore(state);
    expect(await accBeta2(restored)).toBe(await accBeta2(original));

    const plain = buildModel(); // what tfjs's own setWeights gives
    await plain.optimizer.setWeights(await original.optimizer.getWeights());
    expect(await accBeta2(plain)).not.toBe(await accBeta2(original));
  });

  it("saves only the iteration count before the first step, and restoring it drops the optimizer's slots", async () => {
    const untrained = buildModel();
    const saveables = makeModelSaveables(untrained);
    const saved = (await saveables[4]!.save()) as { weights: unknown[] };
    expect(saved.weights).toHaveLength(1);

    const trained = buildModel();
    await train(trained, 0, 3);
    const restoring = makeModelSaveables(trained);
    for (const [i, s] of restoring.entries()) await s.restore(await saveables[i]!.save());
    expect(trained.optimizer.iterations).toBe(0);
    expect(await trained.optimizer.getWeights()).toHaveLength(1);
    await train(trained, 0, 5);
    await train(untrained, 0, 5);
    expect(await stateDigest(trained)).toEqual(await stateDigest(untrained));
  });

  it("restores RMSProp (centered) and momentum state too", async () => {
    for (const make of [() => tf.train.rmsprop(0.01, 0.9, 0.1, 1e-7, true), () => tf.train.momentum(0.05, 0.9)]) {
      const original = buildModel(make());
      await train(original, 0, 5);
      const state = await Promise.all(makeModelSaveables(original).map((s) => s.save()));
      await train(original, 5, 5);
      const copy = buildModel(make());
      for (const [i, s] of makeModelSaveables(copy).entries()) await s.restore(state[i]);
      await train(copy, 5, 5);
      expect(await stateDigest(copy)).toEqual(await stateDigest(original));
    }
  });

  it("refuses weights of another shape, naming the entry and the weight", async () => {
    const saved = await makeModelSaveables(buildModel(undefined, 8))[0]!.save();
    const other = makeModelSaveables(buildModel(undefined, 5));
    await expect(other[0]!.restore(saved)).rejects.toThrow(
      /^Cannot restore "model\/weights\/0": the checkpoint holds a float32 \[4, 8\] tensor where the model's weight 0 \("dense_Dense\d+\/kernel"\) is float32 \[4, 5\]\./,
    );
  });

  it("refuses optimizer slots of another shape, and another kind of optimizer", async () => {
    const trained = buildModel(undefined, 8);
    await train(trained, 0, 1);
    const saved = await makeModelSaveables(trained)[4]!.save();
    const narrow = makeModelSaveables(buildModel(undefined, 5));
    await expect(narrow[4]!.restore(saved)).rejects.toThrow(
      /^Cannot restore "model\/optimizer": the checkpoint holds a float32 \[4, 8\] tensor where slot 0 of the optimizer is float32 \[4, 5\]/,
    );
    const sgd = makeModelSaveables(buildModel(tf.train.sgd(0.1)));
    await expect(sgd[4]!.restore(saved)).rejects.toThrow(
      'Cannot restore "model/optimizer": the checkpoint holds the state of a Adam optimizer, and this one is SGD. Compile the model with the optimizer the checkpoint was saved with.',
    );
  });

  it("refuses what it cannot checkpoint: no model, no weights, no optimizer, Adamax", () => {
    expect(() => makeModelSaveables({} as tf.LayersModel)).toThrow(/needs a tf.LayersModel; got an object/);
    const unbuilt = tf.sequential();
    expect(() => makeModelSaveables(unbuilt)).toThrow(/it has no weights yet/);
    const uncompiled = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
    expect(makeModelSaveables(uncompiled)).toHaveLength(2);
    expect(() => makeModelSaveables(uncompiled, { optimizer: true })).toThrow(/is not compiled, so it has no optimizer/);
    expect(() => makeModelSaveables(buildModel(tf.train.adamax(0.01)))).toThrow(
      "Cannot checkpoint a Adamax optimizer: tfjs does not implement getWeights()/setWeights() for it.",
    );
    expect(() => makeOptimizerSaveable("adam" as unknown as tf.Optimizer)).toThrow(/needs a tf.Optimizer; got "adam"/);
  });
});
