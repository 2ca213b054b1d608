/**
 * The training process the torture harness kills (test/torture/harness.ts). It trains, in one
 * of three ways, on a shuffled, mapped, batched, prefetched, repeated pipeline, resuming from
 * whatever checkpoints `<dir>` holds, until the global step reaches `<steps>`:
 *
 *   node --import tsx test/torture/trainer.ts <mode> <dir> <steps>
 *
 * - `estimator-hook`: an Estimator with a CheckpointInputPipelineHook (input and model saved
 *   apart, paired by step);
 * - `estimator-saveable`: an Estimator whose input iterator is in `SAVEABLE_OBJECTS` (saved
 *   inside the model's checkpoints);
 * - `fit`: `fitDatasetResumable` training a small TensorFlow.js model.
 *
 * Its "model" records every batch it trains on: a running hash of the element ids in training
 * order and how often each id was trained, saved in its checkpoints, so that the finished model
 * says whether any batch was lost, doubled or taken out of order. It prints a line per event,
 * each before the next thing happens:
 *
 * - `start <model step|none>`: the latest model checkpoint, before anything is restored;
 * - `saving <step>`: a checkpoint of that step is being taken (the kill may land in it);
 * - `step <n>`: a batch was trained (the global step in the Estimator modes, the batches of this
 *   run in `fit`);
 * - `warning <text>`: a checkpoint could not be read, or the input resumes elsewhere than the model;
 * - `final <global step> <hash> <counts> [<weights hash>]`: training is over; what the latest
 *   checkpoint holds.
 */
import { pathToFileURL } from "node:url";
import {
  CheckpointInputPipelineHook,
  Dataset,
  Estimator,
  EstimatorSpec,
  GraphKeys,
  Graph,
  Operation,
  RunConfig,
  Saver,
  Variable,
  assignAdd,
  constant,
  getOrCreateGlobalStep,
  latestCheckpoint,
  makeSaveable,
  makeSaveableFromIterator,
  type CheckpointSaverListener,
  type Logger,
  type ModelFn,
} from "../../src/index.js";
import { printLine } from "../fixtures/child-io.js";

/** The ways of training the harness tortures. */
export const MODES = ["estimator-hook", "estimator-saveable", "fit"] as const;
export type Mode = (typeof MODES)[number];

/** Elements in an epoch, and their batches. */
export const ELEMENTS = 96;
export const BATCH_SIZE = 4;
export const BATCHES_PER_EPOCH = ELEMENTS / BATCH_SIZE;
/** How often, in steps, checkpoints are saved; how many are kept. */
export const SAVE_STEPS = 5;
export const KEEP = 3;

/** One element: an id, its features and its class. */
export interface Example {
  readonly id: number;
  readonly x: readonly [number, number, number, number];
  readonly y: number;
}

/**
 * The pipeline: ids 0..95 shuffled with a fixed seed (reshuffled each epoch), mapped to
 * examples by an async function with two calls in flight, in batches of 4, with 2 batches
 * prefetched, repeated for `epochs` epochs.
 */
export function buildPipeline(epochs: number): Dataset<Example[]> {
  return Dataset.range(ELEMENTS)
    .shuffle(32, { seed: 11 })
    .map(async (id): Promise<Example> => ({ id, x: [(id % 7) / 7, (id % 5) / 5, (id % 3) / 3, id / ELEMENTS], y: id % 3 }), { parallel: 2 })
    .batch(BATCH_SIZE)
    .prefetch(2)
    .repeat(epochs);
}

/** The record a model keeps of what it trained on. */
export interface TrainedRecord {
  /** FNV-1a over the ids of every batch in training order, each batch closed by a separator. */
  hash: number;
  /** How many times each id was trained. */
  counts: Int32Array;
}

export function emptyRecord(): TrainedRecord {
  return { hash: 0x811c9dc5, counts: new Int32Array(ELEMENTS) };
}

/** The record after training `batch`. */
export function recordBatch(record: TrainedRecord, batch: readonly Example[]): TrainedRecord {
  let hash = record.hash;
  const counts = record.counts.slice();
  for (const value of [...batch.map((e) => e.id), 0xffff]) {
    hash = Math.imul(hash ^ value, 0x01000193) >>> 0;
    if (value < ELEMENTS) counts[value] = (counts[value] ?? 0) + 1;
  }
  return { hash, counts };
}

/** The counts as text: each id's count, joined. */
export function countsText(counts: Int32Array): string {
  return Array.from(counts).join(",");
}

const printingLogger: Logger = { info: () => undefined, warn: (message) => printLine(`warning ${message.replaceAll("\n", " ")}`) };

/**
 * Reports each `saving` and every process warning about checkpoints, but the takeover of the
 * writer lock a killed run left behind (`CHECKPIPE_CHECKPOINT_LOCK`): every run after a kill
 * takes it over, as it should.
 */
function reportWarnings(): void {
  process.on("warning", (warning) => {
    const code = String((warning as { code?: unknown }).code ?? "");
    if (code.startsWith("CHECKPIPE_") && code !== "CHECKPIPE_CHECKPOINT_LOCK") printLine(`warning ${warning.message.replaceAll("\n", " ")}`);
  });
}

/** An Estimator whose model is the record of what it trained; the trained record in variables. */
function recordingModel(): ModelFn<Example[], undefined, Record<string, never>> {
  return ({ features, mode }) => {
    const hash = new Variable("trained_hash", emptyRecord().hash);
    const counts = new Variable("trained_counts", emptyRecord().counts);
    const increment = assignAdd(getOrCreateGlobalStep());
    const trainOp = new Operation("train", async (run) => {
      const next = recordBatch({ hash: hash.value, counts: counts.value }, await run.eval(features));
      hash.assign(next.hash);
      counts.assign(next.counts);
      printLine(`step ${await run.eval(increment)}`);
    });
    return new EstimatorSpec({ mode, loss: constant(0), trainOp });
  };
}

async function trainEstimator(mode: "estimator-hook" | "estimator-saveable", dir: string, steps: number): Promise<void> {
  const config = new RunConfig({ saveCheckpointsSteps: SAVE_STEPS, keepCheckpointMax: KEEP, logStepCountSteps: null, saveSummarySteps: null, tfConfig: {} });
  const est = new Estimator({ modelFn: recordingModel(), modelDir: dir, config, logger: printingLogger });
  const epochs = Math.ceil(steps / BATCHES_PER_EPOCH);
  const saving: CheckpointSaverListener = { beforeSave: (_session, step) => printLine(`saving ${step}`) };
  if (mode === "estimator-hook") {
    const hook = new CheckpointInputPipelineHook(est, { logger: printingLogger });
    await est.train(() => buildPipeline(epochs), { maxSteps: steps, hooks: [hook], savingListeners: [saving] });
  } else {
    const inputFn = (): ReturnType<Dataset<Example[]>["iterator"]> => {
      const it = buildPipeline(epochs).iterator();
      Graph.getDefault().addToCollection(GraphKeys.SAVEABLE_OBJECTS, makeSaveableFromIterator(it));
      return it;
    };
    await est.train(inputFn, { maxSteps: steps, savingListeners: [saving] });
  }
  // What the latest model checkpoint holds.
  const latest = await latestCheckpoint(dir);
  if (latest === null) throw new Error(`no model checkpoint in ${dir} after training`);
  let record = emptyRecord();
  let step = -1;
  const saver = new Saver([
    makeSaveable(
      "global_step",
      () => step,
      (value: number) => void (step = value),
    ),
    makeSaveable(
      "trained_hash",
      () => record.hash,
      (value: number) => void (record = { ...record, hash: value }),
    ),
    makeSaveable(
      "trained_counts",
      () => record.counts,
      (value: Int32Array) => void (record = { ...record, counts: value }),
    ),
  ]);
  await saver.restore(latest);
  printLine(`final ${step} ${record.hash} ${countsText(record.counts)}`);
}

async function trainFit(dir: string, steps: number): Promise<void> {
  const tf = await import("@tensorflow/tfjs");
  const { fitDatasetResumable, setBackendQuietly } = await import("../../src/integrations/tfjs/index.js");
  await setBackendQuietly("cpu");
  const seeded = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [4], activation: "relu", kernelInitializer: seeded(1) }),
      tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: seeded(2) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: "categoricalCrossentropy" });
  let record = emptyRecord();
  let trained = 0;
  const saveables = [
    makeSaveable(
      "trained_hash",
      () => {
        printLine(`saving ${trained}`);
        return record.hash;
      },
      (value: number) => void (record = { ...record, hash: value }),
    ),
    makeSaveable(
      "trained_counts",
      () => record.counts,
      (value: Int32Array) => void (record = { ...record, counts: value }),
    ),
  ];
  const epochs = Math.ceil(steps / BATCHES_PER_EPOCH);
  const result = await fitDatasetResumable(model, buildPipeline(epochs), {
    epochs,
    batchesPerEpoch: BATCHES_PER_EPOCH,
    checkpointDir: dir,
    everyNBatches: SAVE_STEPS,
    maxToKeep: KEEP,
    saveables,
    toTensors: (batch: Example[]) => {
      record = recordBatch(record, batch);
      return {
        xs: tf.tensor2d(batch.map((e) => [...e.x])),
        ys: tf.oneHot(
          tf.tensor1d(
            batch.map((e) => e.y),
            "int32",
          ),
          3,
        ),
      };
    },
    callbacks: {
      onBatchEnd: () => {
        printLine(`step ${++trained}`);
      },
    },
  });
  const weights = model
    .getWeights()
    .map((w) => Buffer.from((w.dataSync() as Float32Array).buffer).toString("base64"))
    .join("|");
  let weightsHash = 0x811c9dc5;
  for (let i = 0; i < weights.length; i++) weightsHash = Math.imul(weightsHash ^ weights.charCodeAt(i), 0x01000193) >>> 0;
  printLine(`final ${result.step} ${record.hash} ${countsText(record.counts)} ${weightsHash}`);
}

async function main(): Promise<void> {
  const [mode, dir, steps] = process.argv.slice(2);
  if (!MODES.includes(mode as Mode) || dir === undefined || !Number.isSafeInteger(Number(steps))) {
    throw new Error(`usage: trainer.ts <${MODES.join("|")}> <dir> <steps>`);
  }
  reportWarnings();
  printLine(`start ${(await latestCheckpoint(dir))?.replace(/^.*-/, "") ?? "none"}`);
  if (mode === "fit") await trainFit(dir, Number(steps));
  else await trainEstimator(mode as "estimator-hook" | "estimator-saveable", dir, Number(steps));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
