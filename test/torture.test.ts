/**
 * The short preemption torture (the long one is `npm run torture`): in each way of training —
 * an Estimator with CheckpointInputPipelineHook, an Estimator with its iterator among the
 * model's saveables, fitDatasetResumable on a TensorFlow.js model — a trainer is killed with
 * SIGKILL at seeded random instants (start-up, restore, saves, steps) ten times in a row in
 * one directory, then left to finish. Each finished model must equal an uninterrupted run's:
 * every batch trained once, in the uninterrupted order; no run may fail or find a checkpoint
 * it cannot read.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { describeReport, torture, type ModeReport } from "./torture/harness.js";
import { BATCHES_PER_EPOCH, MODES } from "./torture/trainer.js";

const KILLS_PER_MODE = 10;
let reports: ModeReport[] = [];

beforeAll(async () => {
  reports = await torture({ modes: MODES, steps: 6 * BATCHES_PER_EPOCH, chainsPerMode: 1, killsPerChain: KILLS_PER_MODE, seed: 0x7047, parallel: 2 });
  if (process.env["CHECKPIPE_CRASH_REPORT"] === "1") console.info(reports.map(describeReport).join("\n"));
}, 180_000);

describe.each(MODES)("%s, killed with SIGKILL again and again", (mode) => {
  const report = (): ModeReport => reports.find((r) => r.mode === mode) as ModeReport;

  it(`is killed ${KILLS_PER_MODE} times, at start-up, in restores, saves and steps, and every run but the killed ones ends by itself`, () => {
    expect(report().failures).toEqual([]);
    expect(report().kills).toBe(KILLS_PER_MODE);
    expect(report().resumes).toBeGreaterThan(KILLS_PER_MODE / 2);
  });

  it("ends with the model of an uninterrupted run: no batch lost, doubled or out of order", () => {
    expect({ drifted: report().drifted, lost: report().lost, doubled: report().doubled }).toEqual({ drifted: 0, lost: 0, doubled: 0 });
  });

  it("never finds a checkpoint it cannot read, nor an input checkpoint that does not match the model's", () => {
    expect(report().warnings).toEqual([]);
  });
});
