/**
 * MonitoredTrainingSession end to end: a training loop over a checkpointable iterator saves
 * checkpoints, is closed, is created again on the same directory, and continues from the
 * saved global step and input position; the chief's default hooks come in TensorFlow's order.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { latestCheckpoint } from "../checkpoint/checkpoint-state.js";
import { makeSaveableFromIterator } from "../checkpoint/saveable.js";
import { Dataset } from "../dataset/dataset.js";
import { ValueError } from "../errors.js";
import { getNext } from "./get-next.js";
import { getOrCreateGlobalStep } from "./global-step.js";
import { Graph, GraphKeys } from "./graph.js";
import { CheckpointSaverHook } from "./hooks/checkpoint-saver-hook.js";
import { StepCounterHook } from "./hooks/step-counter-hook.js";
import { SummarySaverHook } from "./hooks/summary-saver-hook.js";
import { silentLogger } from "./logger.js";
import { withMonitoredSession, type MonitoredSession } from "./monitored-session.js";
import { MonitoredTrainingSession } from "./monitored-training-session.js";
import { Operation } from "./operation.js";
import type { SessionRunHook } from "./session-run-hook.js";
import { readEvents, scalarsOf } from "./summary/read-events.js";
import { scalarSummary } from "./summary/scalar-summary.js";
import { computed } from "./tensor.js";
import { assignAdd, Variable } from "./variable.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-mts-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A model: each step reads one batch from a shuffled pipeline, adds its sum to `total`, and
 * increments the global step. The iterator is in `saveable_objects`, so the model saver keeps
 * the input position with the variables.
 */
function buildModel(): { graph: Graph; train: Operation; total: Variable<number>; seen: number[][] } {
  const graph = new Graph();
  const seen: number[][] = [];
  return graph.asDefault(() => {
    const step = getOrCreateGlobalStep();
    const total = new Variable("total", 0);
    const iterator = Dataset.range(200).shuffle(50, { seed: 9 }).batch(4).iterator();
    graph.addToCollection(GraphKeys.SAVEABLE_OBJECTS, makeSaveableFromIterator(iterator));
    const batch = getNext(iterator);
    const increment = assignAdd(step);
    const train = new Operation("train", async (run) => {
      const b = await run.eval(batch);
      seen.push(b);
      total.assign(total.value + b.reduce((s, x) => s + x, 0));
      await run.eval(increment);
    });
    scalarSummary(
      "total",
      computed("read_total", () => total.value),
    );
    return { graph, train, total, seen };
  });
}

async function trainSteps(steps: number, options: { saveCheckpointSteps: number }): Promise<{ seen: number[][]; total: number }> {
  const { graph, train, total, seen } = buildModel();
  await withMonitoredSession(MonitoredTrainingSession.create({ graph, checkpointDir: dir, logger: silentLogger, ...options }), async (sess) => {
    for (let i = 0; i < steps && !sess.shouldStop(); i++) await sess.run(train);
  });
  return { seen, total: total.value };
}

describe("MonitoredTrainingSession", () => {
  it("saves, closes, and continues from the saved global step and input position when created again", async () => {
    const first = await trainSteps(7, { saveCheckpointSteps: 3 });
    expect(await latestCheckpoint(dir)).toBe(join(dir, "model.ckpt-7")); // end() saves the last step
    const second = await trainSteps(5, { saveCheckpointSteps: 3 });
    expect(await latestCheckpoint(dir)).toBe(join(dir, "model.ckpt-12"));

    const all = await Dataset.range(200).shuffle(50, { seed: 9 }).batch(4).take(12).toArray();
    expect(first.seen).toEqual(all.slice(0, 7));
    expect(second.seen).toEqual(all.slice(7, 12));
    expect(second.total).toBe(all.flat().reduce((s, x) => s + x, 0));
  });

  it("ends cleanly when the input runs out, saving the last step", async () => {
    const { seen } = await trainSteps(1000, { saveCheckpointSteps: 100 });
    expect(seen).toHaveLength(50);
    expect(await latestCheckpoint(dir)).toBe(join(dir, "model.ckpt-50"));
  });

  it("writes the step rate and the scalar summaries as TensorBoard event files in the checkpoint directory", async () => {
    const { graph, train } = buildModel();
    await withMonitoredSession(
      MonitoredTrainingSession.create({ graph, checkpointDir: dir, logger: silentLogger, saveSummariesSteps: 2, logStepCountSteps: 2 }),
      async (sess) => {
        for (let i = 0; i < 6; i++) await sess.run(train);
      },
    );
    const files = (await readdir(dir)).filter((f) => f.startsWith("events.out.tfevents."));
    expect(files.length).toBeGreaterThan(0);
    const scalars = (await Promise.all(files.map((f) => readEvents(join(dir, f))))).flatMap((events) => scalarsOf(events));
    expect(scalars.filter((s) => s.tag === "total").map((s) => s.step)).toEqual([1, 3, 5]);
    expect(scalars.some((s) => s.tag === "global_step/sec")).toBe(true);
  });

  it("puts the chief's hooks in TensorFlow's order: chief-only, step counter, summary saver, checkpoint saver, then the caller's", async () => {
    const { graph } = buildModel();
    const order: string[] = [];
    const record = (name: string): SessionRunHook => ({ begin: () => void order.push(name) });
    const sess: MonitoredSession = await MonitoredTrainingSession.create({
      graph,
      checkpointDir: dir,
      logger: silentLogger,
      chiefOnlyHooks: [record("chief-only")],
      hooks: [record("user")],
    });
    const hooks = (sess as unknown as { hooks: SessionRunHook[] }).hooks;
    expect(
      hooks.map((h) =>
        h instanceof StepCounterHook
          ? "step counter"
          : h instanceof SummarySaverHook
            ? "summary saver"
            : h instanceof CheckpointSaverHook
              ? "checkpoint saver"
              : "other",
      ),
    ).toEqual(["other", "step counter", "summary saver", "checkpoint saver", "other"]);
    expect(order).toEqual(["chief-only", "user"]);
    await sess.close();
  });

  it("runs only the caller's hooks on a non-chief, and saves nothing", async () => {
    const { graph, train } = buildModel();
    await withMonitoredSession(MonitoredTrainingSession.create({ graph, checkpointDir: dir, isChief: false, logger: silentLogger }), async (sess) => {
      await sess.run(train);
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses a negative interval", async () => {
    await expect(MonitoredTrainingSession.create({ graph: new Graph(), saveCheckpointSteps: -1 })).rejects.toBeInstanceOf(ValueError);
  });
});
