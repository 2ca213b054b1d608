// A TensorFlow.js classifier trained on the Iris TFRecords through an Estimator with
// CheckpointInputPipelineHook, killed without warning twice, and resumed each time.
//
//   npm run demo
//
// The training process is killed with SIGKILL in the middle of a save interval, and the next one
// while it is saving a checkpoint. Each new process restores the latest model checkpoint
// (weights and Adam state) and the input checkpoint of the same step (the shuffled, repeated,
// batched pipeline's exact position), and goes on. The demo checks that every batch each
// process reads is exactly the batch an uninterrupted run reads at that step, and that the
// final weights are bit for bit those of an uninterrupted run (trained beside it), then shows
// the loss and the accuracy on the held-out TFRecords.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Dataset, Estimator, Graph, GraphKeys, RunConfig, SessionRunArgs, getGlobalStep, latestCheckpoint, parseExample, silentLogger } from "checkpipe";

const DATA = fileURLToPath(new URL("./data/iris/", import.meta.url));
const TOTAL_STEPS = 300;
const SAVE_EVERY = 10;
/** Process A is killed after this step; process B while it saves the checkpoint of KILL_IN_SAVE. */
const KILL_AFTER = 137;
const KILL_IN_SAVE = 210;
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
    .map((batch) => ({ features: { ids: batch.map(([id]) => id), x: batch.map(([, r]) => r.x) }, labels: batch.map(([, r]) => r.y) }));
}

function evalInput() {
  return records("eval")
    .batch(50)
    .map((batch) => ({ features: { ids: batch.map(([id]) => id), x: batch.map(([, r]) => r.x) }, labels: batch.map(([, r]) => r.y) }));
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
  let built = null;
  const modelFn = tfjsModelFn({
    model: () => (built = buildModel()),
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
  const saving = { beforeSave: (_session, step) => say({ event: "saving", step }) };
  training = true;
  await est.train(trainInput, {
    hooks: [new CheckpointInputPipelineHook(est, { logger: silentLogger }), reporter],
    maxSteps: TOTAL_STEPS,
    savingListeners: [saving],
  });
  training = false;
  // The trained weights, bit for bit.
  const weights = Buffer.concat(built.getWeights().map((w) => Buffer.from(w.dataSync().buffer)));
  say({ event: "weights", sha256: createHash("sha256").update(weights).digest("hex") });
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

/** The step of a checkpoint prefix `.../model.ckpt-130`. */
const stepOf = (prefix) => Number(/-(\d+)$/.exec(prefix)[1]);
const name = (prefix) => prefix.split("/").pop();

async function main() {
  const started = performance.now();
  console.log(`checkpipe demo: a TensorFlow.js classifier on the Iris TFRecords, trained by an Estimator`);
  console.log(`with CheckpointInputPipelineHook (model and input saved every ${SAVE_EVERY} steps), killed twice, and resumed.\n`);
  console.log(`input: ${trainInput()}`);

  // What an uninterrupted run reads at each step (no training needed: the input alone).
  const expected = [];
  const it = trainInput().iterator();
  for (let step = 1; step <= TOTAL_STEPS; step++) expected[step] = (await it.next()).value.features.ids;
  await it.close();

  const modelDir = mkdtempSync(join(tmpdir(), "checkpipe-iris-"));
  const referenceDir = mkdtempSync(join(tmpdir(), "checkpipe-iris-uninterrupted-"));
  try {
    // An uninterrupted run beside the others, for its final weights.
    let referenceWeights = null;
    const reference = runTrainer(referenceDir, (e) => {
      if (e.event === "weights") referenceWeights = e.sha256;
    });

    /** Runs one process; reports every 25th step; checks each batch against the uninterrupted run. */
    const processes = [];
    const run = async (label, killWhen, note) => {
      const p = { label, start: null, steps: [], weights: null, evaluation: null, killedAt: null, lastTrained: 0 };
      processes.push(p);
      console.log(`\n${processes.length}. process ${label}${note}`);
      const exit = await runTrainer(
        modelDir,
        (e) => {
          if (e.event === "start" && e.modelCheckpoint !== null) {
            console.log(`   ${label} restores ${name(e.modelCheckpoint)} (weights, Adam state) and ${name(e.inputCheckpoint)} (input position)`);
          }
          if (e.event === "start") p.start = e;
          else if (e.event === "step") {
            p.steps.push(e);
            p.lastTrained = e.step;
            if (e.step % 25 === 0) console.log(`   ${label}  step ${String(e.step).padStart(3)}  loss ${e.loss.toFixed(4)}`);
          } else if (e.event === "saving") {
            // The checkpoints of a step are saved once it is trained (and before it is reported).
            p.lastTrained = Math.max(p.lastTrained, e.step);
            if (killWhen(e)) p.killedAt = `while saving the checkpoints of step ${e.step}`;
          } else if (e.event === "weights") p.weights = e.sha256;
          else if (e.event === "eval") p.evaluation = e;
        },
        (e) => killWhen(e),
      );
      const last = p.steps.at(-1)?.step ?? null;
      if (exit.signal === "SIGKILL") console.log(`   ${label} was killed (SIGKILL) ${p.killedAt ?? `after step ${last}`}`);
      else if (exit.code !== 0) throw new Error(`process ${label} failed (exit ${exit.code})`);
      const wrong = p.steps.filter((e) => JSON.stringify(e.ids) !== JSON.stringify(expected[e.step]));
      if (wrong.length > 0) throw new Error(`process ${label} read other batches than an uninterrupted run at steps ${wrong.map((e) => e.step).join(", ")}`);
      return p;
    };

    await run("A", (e) => e.event === "step" && e.step >= KILL_AFTER, `, to be killed with SIGKILL after step ${KILL_AFTER}`);
    await run("B", (e) => e.event === "saving" && e.step === KILL_IN_SAVE, `, to be killed with SIGKILL while it saves step ${KILL_IN_SAVE}`);
    const c = await run("C", () => false, ", left to finish");
    await reference;

    console.log(`\n${processes.length + 1}. checking what the final model trained on`);
    for (const p of processes.slice(1)) {
      const model = stepOf(p.start.modelCheckpoint);
      const input = stepOf(p.start.inputCheckpoint);
      if (model !== input || p.steps[0].step !== model + 1)
        throw new Error(`process ${p.label} restored model ${model} and input ${input}, then trained step ${p.steps[0].step}`);
      const before = processes[processes.indexOf(p) - 1];
      const again =
        before.lastTrained > model ? ` (${before.label}'s steps ${model + 1}–${before.lastTrained}, after its last whole checkpoint, are trained again)` : "";
      console.log(`   ${p.label} restored model and input at step ${model} and trained on from step ${model + 1}${again}`);
    }
    const read = processes.reduce((n, p) => n + p.steps.length, 0);
    console.log(`   all ${read} batches the three processes read are, step by step, those of an uninterrupted run`);
    const segments = processes.map((p, i) => {
      const from = i === 0 ? 1 : stepOf(p.start.modelCheckpoint) + 1;
      const next = processes[i + 1];
      const to = next === undefined ? TOTAL_STEPS : stepOf(next.start.modelCheckpoint);
      return `steps ${from}–${to} by ${p.label}`;
    });
    console.log(`   the final model holds ${segments.join(", ")}: each of the ${TOTAL_STEPS} batches once, in order`);
    if (c.weights !== referenceWeights) throw new Error(`the final weights differ from an uninterrupted run's (${c.weights} vs ${referenceWeights})`);
    console.log(`   final weights, SHA-256 ${c.weights.slice(0, 16)}…: bit for bit those of an uninterrupted run`);

    const all = new Map();
    for (const p of processes) for (const e of p.steps) all.set(e.step, e);
    const lossAt = (from, to) => mean([...all.values()].filter((e) => e.step >= from && e.step <= to).map((e) => e.loss));
    console.log(`\n${processes.length + 2}. the model`);
    console.log(
      `   mean training loss: steps 1–10 ${lossAt(1, 10).toFixed(4)}, steps ${TOTAL_STEPS - 9}–${TOTAL_STEPS} ${lossAt(TOTAL_STEPS - 9, TOTAL_STEPS).toFixed(4)}`,
    );
    console.log(
      `   held-out accuracy at step ${c.evaluation.global_step}: ${(c.evaluation.accuracy * 100).toFixed(1)}% (eval loss ${c.evaluation.loss.toFixed(4)})`,
    );
    console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(modelDir, { recursive: true, force: true });
    rmSync(referenceDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--train") await trainer(process.argv[3]);
else await main();
