/**
 * Elastic resume through CheckpointInputPipelineHook: the workers of a job each read
 * `range → globalShuffle → shard(n, i) → filter → batch` and save their own input checkpoints;
 * the job is stopped (some workers killed between saves, some having never saved), and started
 * again on another number of workers, several times in a row. Over the epoch every element is
 * trained on exactly once, counting what each job's workers trained on up to their last saves.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Dataset } from "../dataset/dataset.js";
import { getNext } from "../session/get-next.js";
import { getOrCreateGlobalStep } from "../session/global-step.js";
import { Graph } from "../session/graph.js";
import { silentLogger, type Logger } from "../session/logger.js";
import { MonitoredSession, withMonitoredSession } from "../session/monitored-session.js";
import { Operation } from "../session/operation.js";
import { assignAdd } from "../session/variable.js";
import { CheckpointInputPipelineHook } from "./checkpoint-input-pipeline-hook.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-elastic-input-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const N = 301;
const keep = (x: number): boolean => x % 4 !== 1;
const SAVE_EVERY = 3;

const pipeline = (workers: number, index: number): Dataset<number[]> =>
  Dataset.range(N).globalShuffle({ seed: 11 }).shard(workers, index).filter(keep).batch(2);

class Killed extends Error {}

/**
 * Worker `index` of a job of `workers`: trains until its input ends or, with `killAfter`, dies
 * after that many steps (no final save: its last input checkpoint is the one of its last
 * multiple of SAVE_EVERY steps). Returns the elements it trained on up to its last save.
 */
async function runWorker(workers: number, index: number, killAfter: number | null, logger: Logger = silentLogger): Promise<number[]> {
  const graph = new Graph();
  const trained: number[][] = [];
  const { train, hook } = graph.asDefault(() => {
    const step = getOrCreateGlobalStep();
    const batch = getNext(pipeline(workers, index).iterator());
    const increment = assignAdd(step);
    const hook = new CheckpointInputPipelineHook(
      { modelDir: dir, config: { saveCheckpointsSteps: SAVE_EVERY, saveCheckpointsSecs: null, numWorkerReplicas: workers, taskType: "worker", taskId: index } },
      { logger },
    );
    const train = new Operation("train", async (run) => {
      if (killAfter !== null && trained.length === killAfter) throw new Killed(`killed after ${killAfter} steps`);
      trained.push(await run.eval(batch));
      await run.eval(increment);
    });
    return { train, hook };
  });
  const sess = await MonitoredSession.create({ graph, hooks: [hook], logger: silentLogger });
  let killed = false;
  try {
    await withMonitoredSession(sess, async () => {
      while (!sess.shouldStop()) await sess.run(train);
    });
  } catch (error) {
    if (!(error instanceof Killed)) throw error;
    killed = true;
  }
  // A killed worker's input checkpoints hold its steps up to its last save.
  const saved = killed ? trained.slice(0, Math.floor(trained.length / SAVE_EVERY) * SAVE_EVERY) : trained;
  return saved.flat();
}

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const everyKept = (): number[] => Array.from({ length: N }, (_, i) => i).filter(keep);

describe("CheckpointInputPipelineHook, elastic", () => {
  it("resumes 4 workers' input on 3, then 2, then 5, then 3 workers: every element once over the epoch", async () => {
    const jobs: { workers: number; kills: (number | null)[] }[] = [
      { workers: 4, kills: [7, 13, null, 4] }, // worker 2 never runs: it saved nothing
      { workers: 3, kills: [5, 9, 2] },
      { workers: 2, kills: [10, null] },
      { workers: 5, kills: [4, 6, 3, 8, 2] },
      { workers: 3, kills: [null, null, null] },
    ];
    const trained: number[] = [];
    for (const [j, job] of jobs.entries()) {
      for (let i = 0; i < job.workers; i++) {
        const kill = job.kills[i];
        if (j === 0 && i === 2) continue;
        trained.push(...(await runWorker(job.workers, i, kill ?? null)));
      }
    }
    expect(sorted(trained)).toEqual(everyKept());
  });

  it("restarted on the same number of workers after an elastic resume, a worker that had not saved starts its shard of the new layout", async () => {
    const trained: number[] = [];
    for (const [i, kill] of [8, 5, 11, 6].entries()) trained.push(...(await runWorker(4, i, kill)));
    // Two workers now; worker 1 dies before it starts.
    trained.push(...(await runWorker(2, 0, 7)));
    // Restarted on two: worker 0 restores its own, worker 1 joins the job's layout afresh.
    const events: string[] = [];
    const logger: Logger = { info: (m) => void events.push(m), warn: (m) => void events.push(`WARN ${m}`) };
    trained.push(...(await runWorker(2, 0, null, logger)));
    trained.push(...(await runWorker(2, 1, null, logger)));
    expect(sorted(trained)).toEqual(everyKept());
    expect(events.filter((e) => e.startsWith("WARN"))).toEqual([]);
    expect(events.some((e) => /Resuming the input pipeline from the input checkpoints of \d worker/.test(e))).toBe(true);
    const files = (await readdir(dir)).filter((name) => name.startsWith("checkpoint_input_") && !name.endsWith(".lock"));
    expect(files.sort()).toEqual(["checkpoint_input_worker_0", "checkpoint_input_worker_1", "checkpoint_input_worker_2", "checkpoint_input_worker_3"]);
  });

  it("leaves a job whose worker count is unchanged as it was: each worker restores its own input checkpoint", async () => {
    const trained: number[] = [];
    for (const [i, kill] of [6, 9, 3].entries()) trained.push(...(await runWorker(3, i, kill)));
    const events: string[] = [];
    const logger: Logger = { info: (m) => void events.push(m), warn: (m) => void events.push(`WARN ${m}`) };
    for (let i = 0; i < 3; i++) trained.push(...(await runWorker(3, i, null, logger)));
    expect(sorted(trained)).toEqual(everyKept());
    expect(events.filter((e) => e.startsWith("Resuming"))).toEqual([]);
    expect(events.filter((e) => e.startsWith("Restoring the input pipeline from")).length).toBe(3);
  });
});
