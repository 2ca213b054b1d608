import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, RuntimeError, ValueError } from "../../errors.js";
import { getOrCreateGlobalStep } from "../global-step.js";
import { Graph } from "../graph.js";
import type { Operation } from "../operation.js";
import { readEvents, scalarsOf } from "../summary/read-events.js";
import { SummaryWriter } from "../summary/summary-writer.js";
import { computed, constant, type Tensor } from "../tensor.js";
import { assignAdd, Variable } from "../variable.js";
import { capturingLogger, endHooks, fakeClock, startHooks } from "./drive-hooks.test-helper.js";
import { StepCounterHook } from "./step-counter-hook.js";
import { SummarySaverHook } from "./summary-saver-hook.js";

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "summary-saver-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * TensorFlow's test model: `my_summary` adds 1 to a variable each time it is evaluated (so its
 * value counts the writes), `my_summary2` is twice it; the train op increments the global step.
 */
function model(): { graph: Graph; train: Operation; mySummary: Tensor<number>; mySummary2: Tensor<number> } {
  const graph = new Graph();
  return graph.asDefault(() => {
    const count = new Variable("count", 0);
    const mySummary = computed("my_summary", () => count.assign(count.value + 1));
    const mySummary2 = computed("my_summary2", async (run) => (await run.eval(mySummary)) * 2);
    return { graph, train: assignAdd(getOrCreateGlobalStep()), mySummary, mySummary2 };
  });
}

/** Step → tag → value, from every event file of `logdir`. */
async function summariesIn(logdir: string): Promise<Record<number, Record<string, number>>> {
  const byStep: Record<number, Record<string, number>> = {};
  for (const f of (await readdir(logdir)).filter((name) => name.startsWith("events.out.tfevents."))) {
    for (const { step, tag, value } of scalarsOf(await readEvents(join(logdir, f)))) (byStep[step] ??= {})[tag] = value;
  }
  return byStep;
}

describe("SummarySaverHook", () => {
  const scalars = { loss: constant(1) };

  it("raises the timer's errors when neither or both of save_steps and save_secs are given", () => {
    const neither = (): SummarySaverHook => new SummarySaverHook({ outputDir: "x", scalars });
    expect(neither).toThrow(ValueError);
    expect(neither).toThrow("Either everySecs or everySteps should be provided. Pass { saveSteps: 100 } or { saveSecs: 60 }.");
    const both = (): SummarySaverHook => new SummarySaverHook({ saveSteps: 20, saveSecs: 10, outputDir: "x", scalars });
    expect(both).toThrow("Can not provide both everySecs and everySteps. Pass only one of saveSteps and saveSecs.");
    expect(() => new SummarySaverHook({ saveSteps: null, saveSecs: null, outputDir: "x", scalars })).toThrow(ValueError);
  });

  it("raises when given neither outputDir nor summaryWriter", () => {
    const make = (): SummarySaverHook => new SummarySaverHook({ saveSteps: 10, scalars });
    expect(make).toThrow(ValueError);
    expect(make).toThrow(
      "SummarySaverHook needs outputDir or summaryWriter: where to write the summaries; got neither. " +
        'Pass { outputDir: "runs/a" } (a directory for the event file) or { summaryWriter } (an open SummaryWriter).',
    );
  });

  it("refuses save_steps that is not an integer ≥ 1 and save_secs that is negative", () => {
    expect(() => new SummarySaverHook({ saveSteps: 0, outputDir: dir, scalars })).toThrow(InvalidArgumentError);
    expect(() => new SummarySaverHook({ saveSteps: 0, outputDir: dir, scalars })).toThrow("SummarySaverHook({ saveSteps }) needs an integer ≥ 1; got 0.");
    expect(() => new SummarySaverHook({ saveSecs: -5, outputDir: dir, scalars })).toThrow("SummarySaverHook({ saveSecs }) needs a finite number ≥ 0; got -5.");
  });

  it("refuses scalars that are not a record of Tensors", () => {
    expect(() => new SummarySaverHook({ saveSteps: 1, outputDir: dir, scalars: [] as never })).toThrow(InvalidArgumentError);
    expect(() => new SummarySaverHook({ saveSteps: 1, outputDir: dir, scalars: { loss: 0.5 as never } })).toThrow(
      "SummarySaverHook({ scalars }).loss needs a Tensor; got 0.5.",
    );
  });

  it("raises in begin() when the graph has no global step", async () => {
    const graph = new Graph();
    const begin = graph.asDefault(() => new SummarySaverHook({ saveSteps: 1, outputDir: dir, scalars }).begin());
    await expect(begin).rejects.toThrow(RuntimeError);
    await expect(begin).rejects.toThrow(/^Global step should be created to use SummarySaverHook\./);
  });

  it("save_steps=8 over 30 runs: writes at global steps 1, 9, 17 and 25, evaluating the scalars only then", async () => {
    const { graph, train, mySummary } = model();
    const sess = await startHooks(graph, [new SummarySaverHook({ saveSteps: 8, outputDir: dir, scalars: { my_summary: mySummary } })]);
    for (let i = 0; i < 30; i++) await sess.run(train);
    await endHooks(graph, sess);
    expect(await summariesIn(dir)).toEqual({
      1: { my_summary: 1 },
      9: { my_summary: 2 },
      17: { my_summary: 3 },
      25: { my_summary: 4 },
    });
  });

  it("save_steps=8 over 10 runs with two scalars: writes both, in one event, at steps 1 and 9", async () => {
    const { graph, train, mySummary, mySummary2 } = model();
    const hook = new SummarySaverHook({ saveSteps: 8, outputDir: dir, scalars: { my_summary: mySummary, my_summary2: mySummary2 } });
    const sess = await startHooks(graph, [hook]);
    for (let i = 0; i < 10; i++) await sess.run(train);
    await endHooks(graph, sess);
    expect(await summariesIn(dir)).toEqual({ 1: { my_summary: 1, my_summary2: 2 }, 9: { my_summary: 2, my_summary2: 4 } });
    const [file] = await readdir(dir);
    const events = await readEvents(join(dir, file ?? ""));
    expect(events.filter((e) => e.summary !== undefined).map((e) => e.summary?.value.map((v) => v.tag))).toEqual([
      ["my_summary", "my_summary2"],
      ["my_summary", "my_summary2"],
    ]);
  });

  it("save_secs=0.5 with runs 0.5 s apart: writes at every step", async () => {
    const { graph, train, mySummary } = model();
    const clock = fakeClock();
    const sess = await startHooks(graph, [new SummarySaverHook({ saveSecs: 0.5, outputDir: dir, scalars: { my_summary: mySummary }, clock: clock.now })]);
    for (let i = 0; i < 4; i++) {
      await sess.run(train);
      clock.advance(0.5);
    }
    await endHooks(graph, sess);
    expect(await summariesIn(dir)).toEqual({ 1: { my_summary: 1 }, 2: { my_summary: 2 }, 3: { my_summary: 3 }, 4: { my_summary: 4 } });
  });

  it("save_secs=9 with runs 3.1 s apart: writes at steps 1, 4 and 7", async () => {
    const { graph, train, mySummary } = model();
    const clock = fakeClock();
    const sess = await startHooks(graph, [new SummarySaverHook({ saveSecs: 9, outputDir: dir, scalars: { my_summary: mySummary }, clock: clock.now })]);
    for (let i = 0; i < 8; i++) {
      await sess.run(train);
      clock.advance(3.1);
    }
    await endHooks(graph, sess);
    expect(await summariesIn(dir)).toEqual({ 1: { my_summary: 1 }, 4: { my_summary: 2 }, 7: { my_summary: 3 } });
  });

  it("writes through a given summaryWriter, flushes it at the end and leaves it open", async () => {
    const { graph, train, mySummary } = model();
    const writer = await SummaryWriter.open(dir);
    const sess = await startHooks(graph, [new SummarySaverHook({ saveSteps: 2, summaryWriter: writer, scalars: { my_summary: mySummary } })]);
    for (let i = 0; i < 3; i++) await sess.run(train);
    await endHooks(graph, sess);
    expect(scalarsOf(await readEvents(writer.path)).map((s) => [s.step, s.value])).toEqual([
      [1, 1],
      [3, 2],
    ]);
    await writer.addScalar("after", 0, 4);
    await writer.close();
  });

  it("shares a directory with a StepCounterHook started at the same moment: each writes its own intact file", async () => {
    const { graph, train, mySummary } = model();
    const clock = fakeClock();
    const hooks = [
      new StepCounterHook({ everyNSteps: 1, outputDir: dir, logger: capturingLogger(), clock: clock.now }),
      new SummarySaverHook({ saveSteps: 1, outputDir: dir, scalars: { my_summary: mySummary } }),
    ];
    const sess = await startHooks(graph, hooks);
    for (let i = 0; i < 3; i++) {
      clock.advance(0.5);
      await sess.run(train);
    }
    await endHooks(graph, sess);
    expect(await readdir(dir)).toHaveLength(2);
    expect(await summariesIn(dir)).toEqual({
      1: { my_summary: 1 },
      2: { my_summary: 2, "global_step/sec": 2 },
      3: { my_summary: 3, "global_step/sec": 2 },
    });
  });

  it("fails the run, naming the tag, when a scalar is not a number", async () => {
    const { graph, train } = model();
    const text = graph.asDefault(() => constant("high" as unknown as number, "text"));
    const sess = await startHooks(graph, [new SummarySaverHook({ saveSteps: 1, outputDir: dir, scalars: { mood: text } })]);
    await expect(sess.run(train)).rejects.toThrow(InvalidArgumentError);
    await expect(sess.run(train)).rejects.toThrow(/the value of "mood" needs a number; got "high"/);
    await endHooks(graph, sess);
  });
});
