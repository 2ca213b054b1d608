/**
 * Exactly once under repeated preemption, in one process: an Estimator with a
 * CheckpointInputPipelineHook is "killed" (its training ends with an error after a chosen step,
 * so no final save happens, as when the process dies) several times in a row, its checkpoints
 * damaged, its disk full at the restart; a model that records every batch it trains ends with
 * exactly the batches of an uninterrupted run. The SIGKILL version of the same is
 * test/torture.test.ts.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DATA_SUFFIX } from "../checkpoint/bundle.js";
import { latestCheckpoint } from "../checkpoint/checkpoint-state.js";
import { makeSaveable } from "../checkpoint/saveable.js";
import { Saver } from "../checkpoint/saver.js";
import { Dataset } from "../dataset/dataset.js";
import type * as FilePlans from "../io/file-plan.js";
import { getGlobalStep, getOrCreateGlobalStep } from "../session/global-step.js";
import type { Logger } from "../session/logger.js";
import { Operation } from "../session/operation.js";
import type { SessionRunHook } from "../session/session-run-hook.js";
import { constant } from "../session/tensor.js";
import { assignAdd, Variable } from "../session/variable.js";
import { CheckpointInputPipelineHook } from "./checkpoint-input-pipeline-hook.js";
import { Estimator, type ModelFn } from "./estimator.js";
import { EstimatorSpec } from "./estimator-spec.js";
import { RunConfig } from "./run-config.js";

/** While set, every file plan fails as on a full disk: deletions go through, the first write fails. */
const fullDisk = vi.hoisted(() => ({ on: false }));

vi.mock("../io/file-plan.js", async (importOriginal) => {
  const original = await importOriginal<typeof FilePlans>();
  return {
    ...original,
    runFilePlan: async (plan: FilePlans.FilePlan): Promise<void> => {
      if (!fullDisk.on) return original.runFilePlan(plan);
      for (const phase of plan) {
        if (phase.kind === "write" && phase.files.length > 0) {
          throw Object.assign(new Error(`ENOSPC: no space left on device, write '${phase.files[0]?.temporary}'`), { code: "ENOSPC" });
        }
        await original.runFilePlan([phase]);
      }
    },
  };
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-exactly-once-"));
  fullDisk.on = false;
});
afterEach(async () => {
  fullDisk.on = false;
  await rm(dir, { recursive: true, force: true });
});

/** Batches of 3 of 0..59, shuffled with a seed, reshuffled each epoch, forever. */
const input = (): Dataset<number[]> => Dataset.range(60).shuffle(16, { seed: 3 }).batch(3).repeat();

/** The first `n` batches of an uninterrupted run. */
const uninterrupted = (n: number): Promise<number[][]> => input().take(n).toArray();

/** A model whose only weight is the list of every batch it trained on, in order. */
const recordingModel: ModelFn<number[], undefined, Record<string, never>> = ({ features, mode }) => {
  const trained = new Variable<number[][]>("trained", []);
  const increment = assignAdd(getOrCreateGlobalStep());
  const trainOp = new Operation("train", async (run) => {
    trained.assign([...trained.value, await run.eval(features)]);
    await run.eval(increment);
  });
  return new EstimatorSpec({ mode, loss: constant(0), trainOp });
};

/** Ends training with an error once the global step reaches `step`, after every hook before it ran: a kill. */
function killAt(step: number): SessionRunHook {
  return {
    afterRun: (ctx) => {
      if (getGlobalStep(ctx.session.graph)?.value === step) throw new Error(`killed at step ${step}`);
    },
  };
}

function estimator(options: { keepCheckpointMax?: number } = {}): Estimator<number[], undefined, Record<string, never>> {
  const config = new RunConfig({ saveCheckpointsSteps: 5, keepCheckpointMax: options.keepCheckpointMax ?? 5, logStepCountSteps: null, tfConfig: {} });
  return new Estimator({ modelFn: recordingModel, modelDir: dir, config, logger: quiet });
}

const quiet: Logger = { info: () => undefined, warn: () => undefined };

function recordingLogger(lines: string[]): Logger {
  return { info: () => undefined, warn: (message) => void lines.push(message) };
}

/** Trains a new Estimator (a new process) on `dir` until `maxSteps`, or until a kill hook ends it. */
async function train(maxSteps: number, options: { kill?: number; logger?: Logger } = {}): Promise<void> {
  const hooks: SessionRunHook[] = [new CheckpointInputPipelineHook({ modelDir: dir, config: estimator().config }, { logger: options.logger ?? quiet })];
  if (options.kill !== undefined) hooks.push(killAt(options.kill));
  const run = estimator().train(input, { maxSteps, hooks });
  if (options.kill === undefined) await run;
  else await expect(run).rejects.toThrow(`killed at step ${options.kill}`);
}

/** The batches the model in `dir`'s latest checkpoint trained on. */
async function trainedBatches(): Promise<number[][]> {
  const prefix = await latestCheckpoint(dir);
  if (prefix === null) throw new Error(`no checkpoint in ${dir}`);
  let trained: unknown = null;
  await new Saver([
    makeSaveable(
      "trained",
      () => trained,
      (value) => void (trained = value),
    ),
  ]).restore(prefix);
  return trained as number[][];
}

/** Flips one byte in the middle of a checkpoint's data file. */
async function damage(prefix: string): Promise<void> {
  const path = prefix + DATA_SUFFIX;
  const bytes = await readFile(path);
  const at = bytes.length >> 1;
  bytes[at] = (bytes[at] as number) ^ 0xff;
  await writeFile(path, bytes);
}

describe("an Estimator with CheckpointInputPipelineHook, killed again and again", () => {
  it("trains exactly the batches of an uninterrupted run after two kills (TensorFlow's hook drifts here)", async () => {
    await train(20, { kill: 7 });
    await train(20, { kill: 13 });
    await train(20);
    expect(await trainedBatches()).toEqual(await uninterrupted(20));
  });

  it("trains exactly the batches of an uninterrupted run after ten kills at steps that are and are not save steps", async () => {
    for (const kill of [1, 2, 5, 6, 9, 10, 11, 15, 16, 21]) await train(25, { kill });
    await train(25);
    expect(await trainedBatches()).toEqual(await uninterrupted(25));
  });

  it("takes the input checkpoint of the model step it restored: a damaged model.ckpt-12 falls back to 10, and so does the input", async () => {
    await train(12);
    await damage(join(dir, "model.ckpt-12"));
    await train(15);
    expect(await trainedBatches()).toEqual(await uninterrupted(15));
  });

  it("when that input checkpoint is damaged too, warns naming both and takes an older one: batches are seen again, none skipped", async () => {
    await train(12);
    await damage(join(dir, "model.ckpt-12"));
    await damage(join(dir, "input.ckpt-10"));
    const warnings: string[] = [];
    await train(15, { logger: recordingLogger(warnings) });
    const all = await uninterrupted(15);
    // The model holds batches 1–10; the input resumes after batch 5, so batches 6–10 are trained again.
    expect(await trainedBatches()).toEqual([...all.slice(0, 10), ...all.slice(5, 10)]);
    expect(warnings.join("\n")).toContain(join(dir, "input.ckpt-10"));
    expect(warnings.join("\n")).toContain(join(dir, "model.ckpt-10"));
    expect(warnings.join("\n")).toContain(join(dir, "input.ckpt-5"));
  });
});

describe("a restart never destroys a checkpoint", () => {
  it("a full disk at the restart leaves the only checkpoint whole, and training resumes from it once space is freed", async () => {
    await train(5, {});
    fullDisk.on = true;
    await expect(estimator({ keepCheckpointMax: 1 }).train(input, { maxSteps: 10 })).rejects.toThrow(/ENOSPC/);
    fullDisk.on = false;
    expect(await latestCheckpoint(dir)).toBe(join(dir, "model.ckpt-5"));
    await train(10);
    expect(await trainedBatches()).toEqual(await uninterrupted(10));
  });

  it("a restart writes nothing over the checkpoints it restored: model and input files keep their bytes", async () => {
    await train(5);
    const before = await Promise.all(["model.ckpt-5", "input.ckpt-5"].map((name) => readFile(join(dir, name + ".index"))));
    fullDisk.on = true;
    // Killed in its first step: the session started (both restored), then the process died.
    const killed: SessionRunHook = {
      beforeRun: () => {
        throw new Error("killed in the first step");
      },
    };
    const hooks = [new CheckpointInputPipelineHook({ modelDir: dir, config: estimator().config }, { logger: quiet }), killed];
    await expect(estimator().train(input, { maxSteps: 10, hooks })).rejects.toThrow("killed in the first step");
    fullDisk.on = false;
    const after = await Promise.all(["model.ckpt-5", "input.ckpt-5"].map((name) => readFile(join(dir, name + ".index"))));
    expect(after).toEqual(before);
  });
});
