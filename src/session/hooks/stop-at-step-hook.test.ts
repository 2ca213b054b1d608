import { describe, expect, it } from "vitest";
import { InvalidArgumentError, RuntimeError, ValueError } from "../../errors.js";
import { Coordinator } from "../coordinator.js";
import { getOrCreateGlobalStep } from "../global-step.js";
import { Graph } from "../graph.js";
import { noOp } from "../operation.js";
import { SessionRunArgs, SessionRunContext, SessionRunValues } from "../session-run-hook.js";
import { assignAdd, type Variable } from "../variable.js";
import { startHooks, type HookedSession } from "./drive-hooks.test-helper.js";
import { StopAtStepHook } from "./stop-at-step-hook.js";

interface Model {
  graph: Graph;
  step: Variable<number>;
  idle: ReturnType<typeof noOp>;
  train: ReturnType<typeof noOp>;
  /** Sets the global step, runs `idle` once, and tells whether a hook asked to stop (an earlier request cleared). */
  stopsAt(sess: HookedSession, globalStep: number): Promise<boolean>;
}

function model(): Model {
  const graph = new Graph();
  return graph.asDefault(() => {
    const step = getOrCreateGlobalStep();
    const idle = noOp();
    const stopsAt = async (sess: HookedSession, globalStep: number): Promise<boolean> => {
      sess.shouldStop = false;
      step.assign(globalStep);
      await sess.run(idle);
      return sess.shouldStop;
    };
    return { graph, step, idle, train: assignAdd(step), stopsAt };
  });
}

describe("StopAtStepHook", () => {
  it("raises when neither num_steps nor last_step is given, in TensorFlow's words", () => {
    const make = (): StopAtStepHook => new StopAtStepHook({});
    expect(make).toThrow(ValueError);
    expect(make).toThrow(
      "One of num_steps or last_step must be specified. Pass { numSteps } (steps to run from the start) or { lastStep } (the global step to stop at).",
    );
    expect(() => new StopAtStepHook({ numSteps: null, lastStep: undefined })).toThrow(ValueError);
  });

  it("raises when both num_steps and last_step are given, in TensorFlow's words", () => {
    const make = (): StopAtStepHook => new StopAtStepHook({ numSteps: 10, lastStep: 20 });
    expect(make).toThrow(ValueError);
    expect(make).toThrow("Only one of num_steps or last_step can be specified. Pass only one of numSteps and lastStep.");
  });

  it("refuses a negative or fractional num_steps and a fractional last_step", () => {
    expect(() => new StopAtStepHook({ numSteps: -1 })).toThrow(InvalidArgumentError);
    expect(() => new StopAtStepHook({ numSteps: 1.5 })).toThrow("StopAtStepHook({ numSteps }) needs an integer ≥ 0; got 1.5.");
    expect(() => new StopAtStepHook({ lastStep: 2.5 })).toThrow("StopAtStepHook({ lastStep }) needs an integer; got 2.5.");
  });

  it("raises in begin() when the graph has no global step", async () => {
    const graph = new Graph();
    const begin = graph.asDefault(async () => new StopAtStepHook({ lastStep: 1 }).begin());
    await expect(begin).rejects.toThrow(RuntimeError);
    await expect(begin).rejects.toThrow(/^Global step should be created to use StopAtStepHook\. Create it with getOrCreateGlobalStep\(\)/);
  });

  it("last_step=10: does not stop at global steps 5 and 9, stops at 10 and again at 11", async () => {
    const { graph, step, stopsAt } = model();
    step.assign(5);
    const sess = await startHooks(graph, [new StopAtStepHook({ lastStep: 10 })]);
    expect(await stopsAt(sess, 5)).toBe(false);
    expect(await stopsAt(sess, 9)).toBe(false);
    expect(await stopsAt(sess, 10)).toBe(true);
    expect(await stopsAt(sess, 11)).toBe(true);
  });

  it("num_steps=10 from global step 5: does not stop at 13 and 14, stops at 15 and again at 16", async () => {
    const { graph, step, stopsAt } = model();
    step.assign(5);
    const sess = await startHooks(graph, [new StopAtStepHook({ numSteps: 10 })]);
    expect(await stopsAt(sess, 5)).toBe(false);
    expect(await stopsAt(sess, 13)).toBe(false);
    expect(await stopsAt(sess, 14)).toBe(false);
    expect(await stopsAt(sess, 15)).toBe(true);
    expect(await stopsAt(sess, 16)).toBe(true);
  });

  it("num_steps=10 from global step 5: stops when a run jumps past the last step", async () => {
    const { graph, step, stopsAt } = model();
    step.assign(5);
    const sess = await startHooks(graph, [new StopAtStepHook({ numSteps: 10 })]);
    expect(await stopsAt(sess, 5)).toBe(false);
    expect(await stopsAt(sess, 15)).toBe(true);
  });

  it("reads the global step itself when a run brought no fetched value", async () => {
    const { graph, step } = model();
    const hook = new StopAtStepHook({ lastStep: 3 });
    const sess = await startHooks(graph, [hook]);
    step.assign(3);
    const ctx = new SessionRunContext(new SessionRunArgs([]), sess.session);
    await hook.afterRun(ctx, new SessionRunValues(null));
    expect(ctx.stopRequested).toBe(true);
  });

  it("stops after exactly num_steps runs of a train op that increments the global step", async () => {
    const { graph, step, train } = model();
    const sess = await startHooks(graph, [new StopAtStepHook({ numSteps: 3 })]);
    let runs = 0;
    while (!sess.shouldStop) {
      await sess.run(train);
      runs += 1;
    }
    expect([runs, step.value]).toEqual([3, 3]);
  });

  it("keeps the last step computed from num_steps when a recovered session is created, and recomputes it after begin()", async () => {
    const { graph, step, stopsAt } = model();
    const hook = new StopAtStepHook({ numSteps: 10 });
    step.assign(5);
    const sess = await startHooks(graph, [hook]);
    step.assign(8); // a recovery restores an older checkpoint: the target stays 15
    await graph.asDefault(() => hook.afterCreateSession(sess.session, new Coordinator()));
    expect(await stopsAt(sess, 14)).toBe(false);
    expect(await stopsAt(sess, 15)).toBe(true);

    step.assign(20); // the hook used again in a new monitored session: 10 steps from 20
    const again = await startHooks(graph, [hook]);
    expect(await stopsAt(again, 29)).toBe(false);
    expect(await stopsAt(again, 30)).toBe(true);
  });
});
