import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, RuntimeError, ValueError } from "../../errors.js";
import { getOrCreateGlobalStep } from "../global-step.js";
import { Graph, GraphKeys } from "../graph.js";
import type { Operation } from "../operation.js";
import { readEvents, scalarsOf, type ScalarEvent } from "../summary/read-events.js";
import { SummaryWriter } from "../summary/summary-writer.js";
import { assignAdd, Variable } from "../variable.js";
import { capturingLogger, endHooks, fakeClock, startHooks } from "./drive-hooks.test-helper.js";
import { StepCounterHook, formatG } from "./step-counter-hook.js";

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "step-counter-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function model(delta = 1): { graph: Graph; train: Operation } {
  const graph = new Graph();
  return { graph, train: graph.asDefault(() => assignAdd(getOrCreateGlobalStep(), delta)) };
}

/** The scalars of every event file in `logdir`. */
async function scalarsIn(logdir: string): Promise<ScalarEvent[]> {
  const files = (await readdir(logdir)).filter((f) => f.startsWith("events.out.tfevents.")).sort();
  const all = await Promise.all(files.map(async (f) => scalarsOf(await readEvents(join(logdir, f)))));
  return all.flat();
}

describe("StepCounterHook", () => {
  it("raises when both every_n_steps and every_n_secs are given, or every_n_steps is null without every_n_secs", () => {
    const both = (): StepCounterHook => new StepCounterHook({ everyNSteps: 10, everyNSecs: 1 });
    expect(both).toThrow(ValueError);
    expect(both).toThrow(
      "Exactly one of every_n_steps and every_n_secs should be provided. Pass { everyNSteps } or { everyNSecs }, not both " +
        "(everyNSteps defaults to 100 when everyNSecs is not given).",
    );
    expect(() => new StepCounterHook({ everyNSteps: null })).toThrow(/^Exactly one of every_n_steps and every_n_secs should be provided\./);
  });

  it("counts every 100 steps by default, and every N seconds when only every_n_secs is given", () => {
    expect(() => new StepCounterHook()).not.toThrow();
    expect(() => new StepCounterHook({ everyNSecs: 0.5 })).not.toThrow();
    expect(() => new StepCounterHook({ everyNSteps: 0 })).toThrow(InvalidArgumentError);
    expect(() => new StepCounterHook({ everyNSteps: 2.5 })).toThrow(
      "StepCounterHook({ everyNSteps }) needs an integer ≥ 1; got 2.5. Pass a number of steps, e.g. 100.",
    );
    expect(() => new StepCounterHook({ everyNSecs: -1 })).toThrow("StepCounterHook({ everyNSecs }) needs a finite number ≥ 0; got -1. Pass seconds, e.g. 30.");
  });

  it("raises in begin() when the graph has no global step", async () => {
    const graph = new Graph();
    await expect(graph.asDefault(() => new StepCounterHook().begin())).rejects.toThrow(RuntimeError);
    await expect(graph.asDefault(() => new StepCounterHook().begin())).rejects.toThrow(/^Global step should be created to use StepCounterHook\./);
  });

  it("every_n_steps=10 over 30 runs 0.01 s apart: writes global_step/sec = 100 at steps 11 and 21, and warns of nothing", async () => {
    const { graph, train } = model();
    const clock = fakeClock(0);
    const logger = capturingLogger();
    const hook = new StepCounterHook({ everyNSteps: 10, outputDir: dir, logger, clock: clock.now });
    const sess = await startHooks(graph, [hook]);
    for (let i = 0; i < 30; i++) {
      clock.advance(0.01);
      await sess.run(train);
    }
    await endHooks(graph, sess);
    const scalars = await scalarsIn(dir);
    expect(scalars.map((s) => [s.tag, s.step])).toEqual([
      ["global_step/sec", 11],
      ["global_step/sec", 21],
    ]);
    for (const s of scalars) expect(s.value).toBeCloseTo(100, 3);
    expect(logger.infos).toEqual(["global_step/sec: 100", "global_step/sec: 100"]);
    expect(logger.warnings).toEqual([]);
  });

  it("every_n_secs=0.1 with runs 0.2 s apart: writes 5 steps/sec at steps 2 and 3, nothing at the first trigger", async () => {
    const { graph, train } = model();
    const clock = fakeClock(0);
    const logger = capturingLogger();
    const sess = await startHooks(graph, [new StepCounterHook({ everyNSecs: 0.1, outputDir: dir, logger, clock: clock.now })]);
    await sess.run(train);
    expect(logger.infos).toEqual([]);
    clock.advance(0.2);
    await sess.run(train);
    clock.advance(0.2);
    await sess.run(train);
    await endHooks(graph, sess);
    const scalars = await scalarsIn(dir);
    expect(scalars.map((s) => s.step)).toEqual([2, 3]);
    for (const s of scalars) expect(s.value).toBeCloseTo(5, 3);
    expect(logger.infos).toEqual(["global_step/sec: 5", "global_step/sec: 5"]);
  });

  it("tags the rate with the global step variable's name", async () => {
    const graph = new Graph();
    const train = graph.asDefault(() => {
      const step = new Variable("bar/foo", 0, { trainable: false, collections: [GraphKeys.GLOBAL_STEP, GraphKeys.GLOBAL_VARIABLES] });
      return assignAdd(step);
    });
    const clock = fakeClock();
    const sess = await startHooks(graph, [new StepCounterHook({ everyNSteps: 1, outputDir: dir, logger: capturingLogger(), clock: clock.now })]);
    clock.advance(1);
    await sess.run(train);
    clock.advance(1);
    await sess.run(train);
    await endHooks(graph, sess);
    expect((await scalarsIn(dir)).map((s) => [s.tag, s.step, s.value])).toEqual([["bar/foo/sec", 2, 1]]);
  });

  it("warns, the first 5 times, when a run did not increase the global step", async () => {
    const { graph, train } = model(0);
    const logger = capturingLogger();
    const sess = await startHooks(graph, [new StepCounterHook({ everyNSteps: 1, logger })]);
    await sess.run(train);
    expect(logger.warnings).toEqual([]);
    for (let i = 0; i < 30; i++) await sess.run(train);
    expect(logger.warnings).toHaveLength(5);
    expect(logger.warnings[0]).toBe(
      "It seems that global step (getGlobalStep()) has not been increased. Current value (could be stable): 0 vs previous value: 0. " +
        "You could increase the global step by running assignAdd(getGlobalStep()) in the train op, " +
        "e.g. group(update, assignAdd(getOrCreateGlobalStep())).",
    );
  });

  it("only logs when given neither outputDir nor summaryWriter", async () => {
    const { graph, train } = model();
    const clock = fakeClock();
    const logger = capturingLogger();
    const sess = await startHooks(graph, [new StepCounterHook({ everyNSteps: 2, logger, clock: clock.now })]);
    for (let i = 0; i < 5; i++) {
      clock.advance(0.5);
      await sess.run(train);
    }
    await endHooks(graph, sess);
    expect(logger.infos).toEqual(["global_step/sec: 2", "global_step/sec: 2"]);
    expect(await readdir(dir)).toEqual([]);
  });

  it("writes through a given summaryWriter, flushes it at the end and leaves it open", async () => {
    const { graph, train } = model();
    const writer = await SummaryWriter.open(dir);
    const clock = fakeClock();
    const sess = await startHooks(graph, [
      new StepCounterHook({ everyNSteps: 1, summaryWriter: writer, outputDir: join(dir, "unused"), logger: capturingLogger(), clock: clock.now }),
    ]);
    clock.advance(0.25);
    await sess.run(train);
    clock.advance(0.25);
    await sess.run(train);
    await endHooks(graph, sess);
    expect(scalarsOf(await readEvents(writer.path)).map((s) => [s.tag, s.step, s.value])).toEqual([["global_step/sec", 2, 4]]);
    await writer.addScalar("still/open", 1, 3);
    await writer.close();
    expect(await readdir(dir)).toEqual([writer.path.slice(dir.length + 1)]);
  });

  it("opens its event file in begin() and closes it in end(); used again, it opens a new file", async () => {
    const { graph, train } = model();
    const hook = new StepCounterHook({ everyNSteps: 1, outputDir: dir, logger: capturingLogger() });
    for (let round = 0; round < 2; round++) {
      const sess = await startHooks(graph, [hook]);
      await sess.run(train);
      await endHooks(graph, sess);
    }
    const files = await readdir(dir);
    expect(files).toHaveLength(2);
    for (const f of files) expect((await readEvents(join(dir, f)))[0]?.fileVersion).toBe("brain.Event:2");
  });
});

describe("formatG (C's %g)", () => {
  it("prints 6 significant digits without trailing zeros, in exponent form below 1e-4 and from 1e6", () => {
    expect([12.5, 100, 0.1 + 0.2, 1 / 3, 123456.7, 1234567, 0.0001, 0.00001234, 0, -2.5].map(formatG)).toEqual([
      "12.5",
      "100",
      "0.3",
      "0.333333",
      "123457",
      "1.23457e+06",
      "0.0001",
      "1.234e-05",
      "0",
      "-2.5",
    ]);
    expect([Infinity, -Infinity, NaN].map(formatG)).toEqual(["inf", "-inf", "nan"]);
  });
});
