// A TensorFlow.js classifier trained on the Iris TFRecords through an Estimator with
// CheckpointInputPipelineHook, killed without warning part-way, and resumed.
//
//   npm run demo
//
// The training process is killed with SIGKILL. A new process restores the latest model
// checkpoint (weights and Adam state) and the latest input checkpoint (the shuffled, repeated,
// batched pipeline's exact position), and finishes. The demo checks that every batch the
// resumed run reads is exactly the batch an uninterrupted run reads at that step, then shows
// the loss and the final accuracy on the held-out TFRecords.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Dataset, Estimator, Graph, GraphKeys, RunConfig, SessionRunArgs, getGlobalStep, latestCheckpoint, parseExample, silentLogger } from "checkpipe";

const DATA = fileURLToPath(new URL("./data/iris/", import.meta.url));
const TOTAL_STEPS = 300;
const SAVE_EVERY = 10;
const KILL_AFTER = 137;
const BATCH = 16;

const float1 = { kind: "fixed", dtype: "float32", shape: [1] };
const classFeature = { kind: "fixed", dtype: "float32", shape: [1], default: 0 };
const IRIS = {
  sepal_length: float1,
  sepal_width: float1,
  petal_length: float1,
  petal_width: float1,
  class_name_Iris_setosa: classFeature,
  class_name_Iris_versicolor: classFeature,
  class_name_Iris_virginica: classFeature,
};

/** Iris records as [id, features, one-hot label]; ids number the records in file order. */
function records(split) {
  return Dataset.listFiles(join(DATA, split, "*.tfrecords"))
    .flatMap((file) => Dataset.tfrecord(file))
    .map((bytes) => {
      const r = parseExample(bytes, IRIS);
      const x = [r.sepal_length[0], r.sepal_width[0], r.petal_length[0], r.petal_width[0]];
      const y = [r.class_name_Iris_setosa[0], r.class_name_Iris_versicolor[0], r.class_name_Iris_virginica[0]];
      return { x, y };
    })
    .enumerate();
}

/** The training input: shuffled, repeated, batched; each element is [{ ids, x }, y]. */
function trainInput() {
  return records("train")
    .shuffle(64, { seed: 2026 })
    .repeat()
    .batch(BATCH)
    .map((batch) => [{ ids: batch.map(([id]) => id), x: batch.map(([, r]) => r.x) }, batch.map(([, r]) => r.y)]);
}

function evalInput() {
  return records("eval")
    .batch(50)
    .map((batch) => [{ ids: batch.map(([id]) => id), x: batch.map(([, r]) => r.x) }, batch.map(([, r]) => r.y)]);
}

// ---------------------------------------------------------------------------------------------
// The training process.

async function trainer(modelDir) {
  const tf = await import("@tensorflow/tfjs");
  const { setBackendQuietly, tfjsModelFn } = await import("checkpipe/tfjs");
  await setBackendQuietly("cpu");
  const say = (event) => process.stdout.write(JSON.stringify(event) + "\n");

  let training = false;
  let lastIds = [];
  const buildModel = () => {
    const init = (seed) => tf.initializers.glorotUniform({ seed });
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 16, activation: "relu", inputShape: [4], kernelInitializer: init(1) }),
        tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: init(2) }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: "categoricalCrossentropy" });
    return model;
  };
  const modelFn = tfjsModelFn({
    model: buildModel,
    toInput: (features) => {
      if (training) lastIds = features.ids;
      return tf.tensor2d(features.x);
    },
    toTarget: (labels) => tf.tensor2d(labels),
  });
  /** Reports every step: the global step, the loss, and the ids of the records it read. */
  const reporter = {
    begin() {
      const graph = Graph.getDefault();
      this.fetches = { step: getGlobalStep(graph), loss: graph.getCollection(GraphKeys.LOSSES)[0] };
    },
    beforeRun() {
      return new SessionRunArgs(this.fetches);
    },
    afterRun(_ctx, values) {
      say({ event: "step", step: values.results.step, loss: values.results.loss, ids: lastIds });
    },
  };

  const config = new RunConfig({ saveCheckpointsSteps: SAVE_EVERY, logStepCountSteps: null });
  const est = new Estimator({ modelFn, modelDir, config, logger: silentLogger });
  const { CheckpointInputPipelineHook } = await import("checkpipe");
  say({ event: "start", modelCheckpoint: await latestCheckpoint(modelDir), inputCheckpoint: await latestCheckpoint(modelDir, "checkpoint_input") });
  training = true;
  await est.train(trainInput, { hooks: [new CheckpointInputPipelineHook(est, { logger: silentLogger }), reporter], maxSteps: TOTAL_STEPS });
  training = false;
  const result = await est.evaluate(evalInput);
  say({ event: "eval", ...result });
}

// ---------------------------------------------------------------------------------------------
// The demo: run, kill, resume, check.

/** Runs the trainer; calls onEvent for each line; kills it with SIGKILL when killWhen says so. */
function runTrainer(modelDir, onEvent, killWhen = () => false) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--train", modelDir], { stdio: ["ignore", "pipe", "inherit"] });
    let buffer = "";
    child.stdout.on("data", (chunk) => {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const event = JSON.parse(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        onEvent(event);
        if (killWhen(event) && child.exitCode === null) child.kill("SIGKILL");
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ pid: child.pid, code, signal }));
  });
}

const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;

async function main() {
  const started = performance.now();
  console.log(`checkpipe demo: a TensorFlow.js classifier on the Iris TFRecords, trained by an Estimator`);
  console.log(`with CheckpointInputPipelineHook (model and input saved every ${SAVE_EVERY} steps), killed, and resumed.\n`);
  console.log(`input: ${trainInput()}`);

  // What an uninterrupted run reads at each step (no training needed: the input alone).
  const expected = [];
  const it = trainInput().iterator();
  for (let step = 1; step <= TOTAL_STEPS; step++) expected[step] = (await it.next()).value[0].ids;
  await it.close();

  const modelDir = mkdtempSync(join(tmpdir(), "checkpipe-iris-"));
  const steps = new Map();
  try {
    console.log(`\n1. training in process A, to be killed with SIGKILL after step ${KILL_AFTER}`);
    const first = await runTrainer(
      modelDir,
      (e) => {
        if (e.event !== "step") return;
        steps.set(e.step, e);
        if (e.step % 25 === 0) console.log(`   A  step ${String(e.step).padStart(3)}  loss ${e.loss.toFixed(4)}`);
      },
      (e) => e.event === "step" && e.step >= KILL_AFTER,
    );
    const lastA = Math.max(...steps.keys());
    console.log(`   A was killed (${first.signal}) after step ${lastA}; its last checkpoints are at step ${lastA - (lastA % SAVE_EVERY)}`);

    console.log(`\n2. starting again in process B`);
    let start = null;
    let evaluation = null;
    const resumed = [];
    const second = await runTrainer(modelDir, (e) => {
      if (e.event === "start") {
        start = e;
        console.log(`   B restores ${e.modelCheckpoint.split("/").pop()} (weights, Adam state) and ${e.inputCheckpoint.split("/").pop()} (input position)`);
      } else if (e.event === "step") {
        resumed.push(e);
        steps.set(e.step, e);
        if (e.step % 25 === 0) console.log(`   B  step ${String(e.step).padStart(3)}  loss ${e.loss.toFixed(4)}`);
      } else if (e.event === "eval") evaluation = e;
    });
    if (second.code !== 0) throw new Error(`process B failed (exit ${second.code})`);

    const inputStep = Number(/-(\d+)$/.exec(start.inputCheckpoint)[1]);
    const firstB = resumed[0];
    console.log(`\n3. checking the input of the resumed run`);
    console.log(`   B resumed at step ${firstB.step} (input checkpoint of step ${inputStep}); steps ${inputStep + 1}–${lastA} are trained again`);
    console.log(`   B's first batch: records ${firstB.ids.join(", ")}`);
    console.log(`   an uninterrupted run's batch at step ${firstB.step}: records ${expected[firstB.step].join(", ")}`);
    const mismatches = resumed.filter((e) => JSON.stringify(e.ids) !== JSON.stringify(expected[e.step]));
    if (firstB.step !== inputStep + 1 || mismatches.length > 0) {
      throw new Error(`the resumed input differs from an uninterrupted run at steps ${mismatches.map((e) => e.step).join(", ")}`);
    }
    console.log(`   all ${resumed.length} batches B read (steps ${firstB.step}–${resumed.at(-1).step}) are exactly those of an uninterrupted run: no record skipped, none repeated`);

    const lossAt = (from, to) => mean([...steps.values()].filter((e) => e.step >= from && e.step <= to).map((e) => e.loss));
    console.log(`\n4. the model`);
    console.log(`   mean training loss: steps 1–10 ${lossAt(1, 10).toFixed(4)}, steps ${lastA - 9}–${lastA} ${lossAt(lastA - 9, lastA).toFixed(4)}, steps ${TOTAL_STEPS - 9}–${TOTAL_STEPS} ${lossAt(TOTAL_STEPS - 9, TOTAL_STEPS).toFixed(4)}`);
    console.log(`   held-out accuracy at step ${evaluation.global_step}: ${(evaluation.accuracy * 100).toFixed(1)}% (eval loss ${evaluation.loss.toFixed(4)})`);
    console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(modelDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--train") await trainer(process.argv[3]);
else await main();
