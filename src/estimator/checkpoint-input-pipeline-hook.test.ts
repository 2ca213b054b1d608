/**
 * CheckpointInputPipelineHook end to end (TF_REFERENCE.md §1): training with the hook, closing,
 * building everything anew and training again reads exactly the batches of one uninterrupted
 * run; the files and state file it writes; per-worker names; a fresh restore after every
 * recovery from preemption; and its errors.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getCheckpointState, latestCheckpoint } from "../checkpoint/checkpoint-state.js";
import { Dataset } from "../dataset/dataset.js";
import { AbortedError, FailedPreconditionError, RuntimeError, ValueError } from "../errors.js";
import { getNext } from "../session/get-next.js";
import { getOrCreateGlobalStep } from "../session/global-step.js";
import { Graph } from "../session/graph.js";
import { CheckpointSaverHook, type CheckpointSaverListener } from "../session/hooks/checkpoint-saver-hook.js";
import { silentLogger, type Logger } from "../session/logger.js";
import { MonitoredSession, withMonitoredSession } from "../session/monitored-session.js";
import { MonitoredTrainingSession } from "../session/monitored-training-session.js";
import { Operation } from "../session/operation.js";
import { ChiefSessionCreator, Scaffold } from "../session/scaffold.js";
import type { SessionRunHook } from "../session/session-run-hook.js";
import { assignAdd } from "../session/variable.js";
import { CheckpointInputPipelineHook, type EstimatorLike } from "./checkpoint-input-pipeline-hook.js";
import { RunConfig, type RunConfigOptions } from "./run-config.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-input-hook-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The pipeline every model reads: 100 numbers, shuffled with a seed, in batches of 3. */
const pipeline = (): Dataset<number[]> => Dataset.range(100).shuffle(20, { seed: 7 }).batch(3);

/** The batches of one uninterrupted run. */
const uninterrupted = (n: number): Promise<number[][]> => pipeline().take(n).toArray();

interface Model {
  readonly graph: Graph;
  readonly train: Operation;
  /** Every batch a train step completed with, in order. */
  readonly seen: number[][];
}

/**
 * A model built from scratch, as a new process would: a global step, the pipeline's iterator
 * made under the graph (so it is in the `iterators` collection, and nowhere else), and a train
 * op that reads one batch and increments the global step. Attempts listed in `abortAttempts`
 * (counting every call of the train op, from 1) read their batch and then fail with
 * AbortedError, as a preempted worker would.
 */
function buildModel(abortAttempts: readonly number[] = []): Model {
  const graph = new Graph();
  const seen: number[][] = [];
  return graph.asDefault(() => {
    const step = getOrCreateGlobalStep();
    const batch = getNext(pipeline().iterator());
    const increment = assignAdd(step);
    let attempts = 0;
    const train = new Operation("train", async (run) => {
      const b = await run.eval(batch);
      attempts++;
      if (abortAttempts.includes(attempts)) throw new AbortedError(`preempted at attempt ${attempts}`);
      seen.push(b);
      await run.eval(increment);
    });
    return { graph, train, seen };
  });
}

/** An estimator-like object on `dir` with a RunConfig that ignores the environment's TF_CONFIG. */
function estimator(options: RunConfigOptions = { saveCheckpointsSteps: 3 }): EstimatorLike {
  return { modelDir: dir, config: new RunConfig({ tfConfig: {}, ...options }) };
}

function inputHook(est: EstimatorLike = estimator(), logger: Logger = silentLogger): CheckpointInputPipelineHook {
  return new CheckpointInputPipelineHook(est, { logger });
}

/**
 * Trains a new model for `steps` steps with a MonitoredTrainingSession on `dir` (which saves
 * the model — here only the global step — every 3 steps) and the given hooks.
 */
async function train(steps: number, hooks: readonly SessionRunHook[], model: Model = buildModel()): Promise<number[][]> {
  await withMonitoredSession(
    MonitoredTrainingSession.create({ graph: model.graph, checkpointDir: dir, saveCheckpointSteps: 3, logStepCountSteps: null, logger: silentLogger, hooks }),
    async (sess) => {
      for (let i = 0; i < steps && !sess.shouldStop(); i++) await sess.run(model.train);
    },
  );
  return model.seen;
}

/** The steps of the `<basename>-<step>.index` files in `dir`, ascending. */
async function savedSteps(basename: string): Promise<number[]> {
  const pattern = new RegExp(`^${basename.replace(/\./g, "\\.")}-(\\d+)\\.index$`);
  return (await readdir(dir))
    .map((name) => pattern.exec(name)?.[1])
    .filter((step): step is string => step !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

function recordingLogger(events: string[]): Logger {
  return { info: (message) => void events.push(message), warn: (message) => void events.push(`WARN ${message}`) };
}

describe("CheckpointInputPipelineHook resumes the input", () => {
  it("continues exactly: 7 steps, a new process, 5 more steps read the 12 batches of one uninterrupted run", async () => {
    const first = await train(7, [inputHook()]);
    const second = await train(5, [inputHook()]);
    const all = await uninterrupted(12);
    expect(first).toEqual(all.slice(0, 7));
    expect(second).toEqual(all.slice(7, 12));
    expect(await latestCheckpoint(dir, "checkpoint_input")).toBe(join(dir, "input.ckpt-12"));
  });

  it("without the hook a new run starts the data over, though the global step continues", async () => {
    await train(7, []);
    const second = await train(5, []);
    expect(second).toEqual(await uninterrupted(5));
    expect(await latestCheckpoint(dir)).toBe(join(dir, "model.ckpt-12"));
    expect(await latestCheckpoint(dir, "checkpoint_input")).toBeNull();
  });

  it("continues across three runs, including one closed before its first step", async () => {
    await train(4, [inputHook()]);
    const idle = await train(0, [inputHook()]);
    const third = await train(3, [inputHook()]);
    expect(idle).toEqual([]);
    expect(third).toEqual((await uninterrupted(7)).slice(4, 7));
  });

  it("restores at session start, when the model saver keeps the checkpoint of the step it restored, and writes neither again", async () => {
    await train(2, [inputHook()]);
    const events: string[] = [];
    const later: SessionRunHook = { afterCreateSession: () => void events.push("a later hook's afterCreateSession") };
    await train(1, [inputHook(estimator(), recordingLogger(events)), later]);
    expect(events.filter((e) => !e.startsWith("Calling"))).toEqual([
      `Restoring the input pipeline from ${join(dir, "input.ckpt-2")}.`,
      "a later hook's afterCreateSession",
    ]);
  });

  it("without a model saver, restores in the first run's beforeRun, after every hook's afterCreateSession (TensorFlow's order)", async () => {
    const first = buildModel();
    await withMonitoredSession(MonitoredSession.create({ graph: first.graph, hooks: [inputHook()], logger: silentLogger }), async (sess) => {
      for (let i = 0; i < 2; i++) await sess.run(first.train);
    });
    const events: string[] = [];
    const later: SessionRunHook = { afterCreateSession: () => void events.push("a later hook's afterCreateSession") };
    const second = buildModel();
    await withMonitoredSession(
      MonitoredSession.create({ graph: second.graph, hooks: [inputHook(estimator(), recordingLogger(events)), later], logger: silentLogger }),
      async (sess) => {
        await sess.run(second.train);
      },
    );
    expect(events.filter((e) => !e.startsWith("Saving") && !e.startsWith("Calling"))).toEqual([
      "a later hook's afterCreateSession",
      `Restoring the input pipeline from ${join(dir, "input.ckpt-2")}.`,
    ]);
    expect(second.seen).toEqual((await uninterrupted(3)).slice(2, 3));
  });
});

describe("CheckpointInputPipelineHook files", () => {
  it("writes input.ckpt-<step>.index and .data-00000-of-00001 at the first run, every saveCheckpointsSteps and at the end, with the state file checkpoint_input", async () => {
    await train(7, [inputHook()]);
    const files = await readdir(dir);
    for (const step of [0, 3, 6, 7]) {
      expect(files).toContain(`input.ckpt-${step}.index`);
      expect(files).toContain(`input.ckpt-${step}.data-00000-of-00001`);
    }
    expect(await savedSteps("input.ckpt")).toEqual([0, 3, 6, 7]);
    expect(files).toContain("checkpoint_input");
    const state = await getCheckpointState(dir, "checkpoint_input");
    expect(state?.allModelCheckpointPaths).toEqual([0, 3, 6, 7].map((s) => join(dir, `input.ckpt-${s}`)));
  });

  it("saves only the iterators, apart from the model's checkpoints and state file", async () => {
    await train(4, [inputHook()]);
    expect(await savedSteps("model.ckpt")).toEqual([0, 3, 4]);
    expect(await latestCheckpoint(dir)).toBe(join(dir, "model.ckpt-4"));
    expect(await latestCheckpoint(dir, "checkpoint_input")).toBe(join(dir, "input.ckpt-4"));
  });

  it("saves the input for exactly the model's steps, across runs, and keeps those whose model checkpoints are kept", async () => {
    await train(7, [inputHook()]); // model and input at 0, 3, 6, 7
    await train(5, [inputHook()]); // restores both at 7; saves both at 10 and 12; the model's retention (5) drops 0
    expect(await savedSteps("model.ckpt")).toEqual([3, 6, 7, 10, 12]);
    expect(await savedSteps("input.ckpt")).toEqual([3, 6, 7, 10, 12]);
    const state = await getCheckpointState(dir, "checkpoint_input");
    expect(state?.allModelCheckpointPaths).toEqual([3, 6, 7, 10, 12].map((s) => join(dir, `input.ckpt-${s}`)));
  });

  it("with a model saver that saves every saveSecs seconds, saves the input for exactly the model's steps", async () => {
    let now = 0;
    const clock = (): number => now;
    const scaffold = new Scaffold();
    const modelSaver = new CheckpointSaverHook(dir, { saveSecs: 10, scaffold, clock, logger: silentLogger });
    const model = buildModel();
    const creator = new ChiefSessionCreator({ scaffold, checkpointDir: dir, logger: silentLogger });
    await withMonitoredSession(
      MonitoredSession.create({
        graph: model.graph,
        sessionCreator: creator,
        hooks: [modelSaver, inputHook(estimator({ saveCheckpointsSecs: 10 }))],
        logger: silentLogger,
      }),
      async (sess) => {
        for (const t of [1, 5, 11, 12, 25, 26]) {
          now = t;
          await sess.run(model.train); // saves at 0 (session start), then in the runs at t = 11 (step 3) and t = 25 (step 5), and at the end (step 6)
        }
      },
    );
    expect(await savedSteps("model.ckpt")).toEqual([0, 3, 5, 6]);
    expect(await savedSteps("input.ckpt")).toEqual([0, 3, 5, 6]);
  });

  it("without a model saver, saves every saveCheckpointsSecs seconds by its own clock, as TensorFlow does", async () => {
    let now = 0;
    const hook = new CheckpointInputPipelineHook(estimator({ saveCheckpointsSecs: 10 }), { logger: silentLogger, clock: () => now });
    const model = buildModel();
    await withMonitoredSession(MonitoredSession.create({ graph: model.graph, hooks: [hook], logger: silentLogger }), async (sess) => {
      await sess.run(model.train); // t = 0: the initial save at step 0
      now = 5;
      await sess.run(model.train); // 5 s later: no save
      now = 11;
      await sess.run(model.train); // 11 s after the last save: saves at step 3
      now = 12;
      await sess.run(model.train); // no save; the end saves step 4
    });
    expect(await savedSteps("input.ckpt")).toEqual([0, 3, 4]);
  });

  it("with a model saver that writes in the background (async: true), leaves the same input checkpoints, each on disk before the model's of its step", async () => {
    const order: string[] = [];
    const scaffold = new Scaffold();
    const listener: CheckpointSaverListener = {
      afterSave: async (_session, step) => {
        // The model's checkpoint of `step` is on disk; its input checkpoint was before it was taken.
        const listed = (await getCheckpointState(dir, "checkpoint_input"))?.allModelCheckpointPaths ?? [];
        order.push(`model ${step}: input ${listed.includes(join(dir, `input.ckpt-${step}`)) ? "saved" : "missing"}`);
      },
    };
    const modelSaver = new CheckpointSaverHook(dir, { saveSteps: 3, scaffold, async: true, listeners: [listener], logger: silentLogger });
    const model = buildModel();
    const creator = new ChiefSessionCreator({ scaffold, checkpointDir: dir, logger: silentLogger });
    await withMonitoredSession(
      MonitoredSession.create({ graph: model.graph, sessionCreator: creator, hooks: [modelSaver, inputHook()], logger: silentLogger }),
      async (sess) => {
        for (let i = 0; i < 7; i++) await sess.run(model.train);
      },
    );
    expect(await savedSteps("input.ckpt")).toEqual([0, 3, 6, 7]);
    expect(await savedSteps("model.ckpt")).toEqual([0, 3, 6, 7]);
    expect(order).toEqual(["model 0: input saved", "model 3: input saved", "model 6: input saved", "model 7: input saved"]);
    expect(await train(2, [inputHook()])).toEqual((await uninterrupted(9)).slice(7, 9));
  });

  it("a chief under a multi-worker TF_CONFIG pairs its per-worker input checkpoints (input_chief_0.ckpt-*) with the model's", async () => {
    const config = new RunConfig({
      saveCheckpointsSteps: 3,
      tfConfig: { cluster: { chief: ["host0:2222"], worker: ["host1:2222", "host2:2222"] }, task: { type: "chief", index: 0 } },
    });
    expect(config.isChief).toBe(true);
    await train(7, [inputHook({ modelDir: dir, config })]);
    expect(await savedSteps("model.ckpt")).toEqual([0, 3, 6, 7]);
    expect(await savedSteps("input_chief_0.ckpt")).toEqual([0, 3, 6, 7]);
    expect(await latestCheckpoint(dir, "checkpoint_input_chief_0")).toBe(join(dir, "input_chief_0.ckpt-7"));
    const second = buildModel();
    expect(await train(3, [inputHook({ modelDir: dir, config })], second)).toEqual((await uninterrupted(10)).slice(7, 10));
  });

  it("uses per-worker names under a multi-worker TF_CONFIG: input_worker_1.ckpt-* and checkpoint_input_worker_1", async () => {
    const config = new RunConfig({
      saveCheckpointsSteps: 2,
      tfConfig: { cluster: { chief: ["host0:2222"], worker: ["host1:2222", "host2:2222"] }, task: { type: "worker", index: 1 } },
    });
    const model = buildModel();
    await withMonitoredSession(
      MonitoredTrainingSession.create({
        graph: model.graph,
        checkpointDir: dir,
        isChief: config.isChief,
        logger: silentLogger,
        hooks: [inputHook({ modelDir: dir, config })],
      }),
      async (sess) => {
        for (let i = 0; i < 3; i++) await sess.run(model.train);
      },
    );
    expect(await savedSteps("input_worker_1.ckpt")).toEqual([0, 2, 3]);
    const files = await readdir(dir);
    expect(files).toContain("input_worker_1.ckpt-3.data-00000-of-00001");
    expect(files).toContain("checkpoint_input_worker_1");
    expect(files).not.toContain("checkpoint_input");
    expect(await savedSteps("input.ckpt")).toEqual([]);
    expect(await latestCheckpoint(dir, "checkpoint_input_worker_1")).toBe(join(dir, "input_worker_1.ckpt-3"));
  });

  it("keeps the plain names when the cluster trains with one worker (an evaluator counts none)", async () => {
    const config = new RunConfig({
      saveCheckpointsSteps: 2,
      tfConfig: { cluster: { chief: ["h0:1"], worker: ["h1:1"] }, task: { type: "evaluator", index: 0 } },
    });
    expect(config.numWorkerReplicas).toBe(0);
    await train(1, [inputHook({ modelDir: dir, config })]);
    expect(await latestCheckpoint(dir, "checkpoint_input")).toBe(join(dir, "input.ckpt-1"));
  });
});

describe("CheckpointInputPipelineHook recovery from preemption", () => {
  it("restores the input checkpoint afresh after every recovery, so each step reads the batch of the uninterrupted run", async () => {
    // Model and input are both saved every 2 steps. Attempt 6 (step 6) and attempt 10 fail after reading their batch.
    const events: string[] = [];
    const hook = new CheckpointInputPipelineHook(estimator({ saveCheckpointsSteps: 2 }), { logger: recordingLogger(events) });
    const model = buildModel([6, 10]);
    await withMonitoredSession(
      MonitoredTrainingSession.create({
        graph: model.graph,
        checkpointDir: dir,
        saveCheckpointSteps: 2,
        logStepCountSteps: null,
        logger: silentLogger,
        hooks: [hook],
      }),
      async (sess) => {
        for (let i = 0; i < 11; i++) await sess.run(model.train); // 11 runs complete; two of them are retried
      },
    );
    const all = await uninterrupted(9);
    // Steps 1–5; preempted in step 6 → model and input back at step 4: steps 5, 6, 7; preempted in step 8 → back at 6: steps 7, 8, 9.
    // Each step reads the batch an uninterrupted run reads at that step.
    expect(model.seen).toEqual([...all.slice(0, 5), ...all.slice(4, 7), ...all.slice(6, 9)]);
    expect(events.filter((e) => e.startsWith("Restoring"))).toEqual([
      `Restoring the input pipeline from ${join(dir, "input.ckpt-4")}.`,
      `Restoring the input pipeline from ${join(dir, "input.ckpt-6")}.`,
    ]);
    expect(await latestCheckpoint(dir, "checkpoint_input")).toBe(join(dir, "input.ckpt-9"));
    // A new process continues from step 9.
    expect(await train(2, [inputHook()])).toEqual((await uninterrupted(11)).slice(9, 11));
  });
});

describe("CheckpointInputPipelineHook composition", () => {
  it("is not a CheckpointSaverHook, so an Estimator still adds its model saver next to it", () => {
    expect(inputHook()).not.toBeInstanceOf(CheckpointSaverHook);
  });
});

describe("CheckpointInputPipelineHook errors", () => {
  it("raises ValueError for an unknown externalStatePolicy, listing the supported ones and what it got", () => {
    const make = (): CheckpointInputPipelineHook => new CheckpointInputPipelineHook(estimator(), { externalStatePolicy: "strict" as "fail" });
    expect(make).toThrow(ValueError);
    expect(make).toThrow(
      'CheckpointInputPipelineHook externalStatePolicy must be one of "warn", "ignore", "fail"; got "strict". Pass "fail" (the default) to refuse saving state that cannot be captured, "warn" or "ignore" to save what can be.',
    );
  });

  it('accepts null and undefined as the default policy, "fail"', () => {
    expect(() => new CheckpointInputPipelineHook(estimator(), { externalStatePolicy: null })).not.toThrow();
    expect(() => new CheckpointInputPipelineHook(estimator(), {})).not.toThrow();
  });

  it("raises ValueError when estimator.modelDir is not a non-empty path", () => {
    const make = (): CheckpointInputPipelineHook => inputHook({ modelDir: "", config: new RunConfig({ tfConfig: {} }) });
    expect(make).toThrow(ValueError);
    expect(make).toThrow(/^CheckpointInputPipelineHook needs estimator\.modelDir, a non-empty path; got ""\. /);
  });

  it("raises the timer's ValueError when the config saves neither by steps nor by seconds", () => {
    const make = (): CheckpointInputPipelineHook => inputHook(estimator({ saveCheckpointsSteps: null, saveCheckpointsSecs: null }));
    expect(make).toThrow(ValueError);
    expect(make).toThrow(/^Either everySecs or everySteps should be provided\. /);
  });

  it("raises the timer's ValueError when the config saves both by steps and by seconds", () => {
    const config = { saveCheckpointsSteps: 10, saveCheckpointsSecs: 60, numWorkerReplicas: 1, taskType: "worker", taskId: 0 };
    const make = (): CheckpointInputPipelineHook => inputHook({ modelDir: dir, config });
    expect(make).toThrow(ValueError);
    expect(make).toThrow(/^Can not provide both everySecs and everySteps\. /);
  });

  it('raises ValueError in begin() when the graph\'s iterators collection is empty (TensorFlow: "No variables to save")', async () => {
    const graph = new Graph();
    graph.asDefault(() => getOrCreateGlobalStep());
    const begin = graph.asDefault(() => inputHook().begin());
    await expect(begin).rejects.toThrow(ValueError);
    await expect(graph.asDefault(() => inputHook().begin())).rejects.toThrow(
      "No variables to save: CheckpointInputPipelineHook found no iterator in the graph's \"iterators\" collection. Create the input's iterator while the graph is the default, e.g. graph.asDefault(() => dataset.iterator()), before the session is created.",
    );
  });

  it("raises RuntimeError in begin() when the graph has no global step", async () => {
    const graph = new Graph();
    graph.asDefault(() => pipeline().iterator());
    await expect(graph.asDefault(() => inputHook().begin())).rejects.toThrow(RuntimeError);
    await expect(graph.asDefault(() => inputHook().begin())).rejects.toThrow(/^Global step should be created to use CheckpointSaverHook\./);
  });

  it('passes externalStatePolicy to the iterators\' saveables: a generator fails to save under "fail", saves under "ignore"', async () => {
    const generatorModel = (): Model => {
      const graph = new Graph();
      return graph.asDefault(() => {
        const step = getOrCreateGlobalStep();
        const next = getNext(
          Dataset.fromGenerator(function* () {
            for (let i = 0; ; i++) yield i;
          }).iterator(),
        );
        const increment = assignAdd(step);
        const seen: number[][] = [];
        const train = new Operation("train", async (run) => {
          seen.push([await run.eval(next)]);
          await run.eval(increment);
        });
        return { graph, train, seen };
      });
    };
    await expect(train(2, [inputHook()], generatorModel())).rejects.toThrow(FailedPreconditionError);
    const ignoring = new CheckpointInputPipelineHook(estimator(), { externalStatePolicy: "ignore", logger: silentLogger });
    expect(await train(2, [ignoring], generatorModel())).toEqual([[0], [1]]);
    expect(await latestCheckpoint(dir, "checkpoint_input")).toBe(join(dir, "input.ckpt-2"));
  });
});
