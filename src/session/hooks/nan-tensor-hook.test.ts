import { describe, expect, it } from "vitest";
import { InvalidArgumentError, NanLossDuringTrainingError } from "../../errors.js";
import { getOrCreateGlobalStep } from "../global-step.js";
import { Graph } from "../graph.js";
import type { Operation } from "../operation.js";
import { constant, type Tensor } from "../tensor.js";
import { assignAdd } from "../variable.js";
import { capturingLogger, startHooks } from "./drive-hooks.test-helper.js";
import { NanTensorHook } from "./nan-tensor-hook.js";

function model(lossValue: number): { graph: Graph; train: Operation; loss: Tensor<number> } {
  const graph = new Graph();
  return graph.asDefault(() => ({ graph, train: assignAdd(getOrCreateGlobalStep()), loss: constant(lossValue, "loss") }));
}

describe("NanTensorHook", () => {
  it("throws NanLossDuringTrainingError when the loss is NaN, after logging that the model diverged", async () => {
    const { graph, train, loss } = model(NaN);
    const logger = capturingLogger();
    const sess = await startHooks(graph, [new NanTensorHook(loss, true, { logger })]);
    const run = sess.run(train);
    await expect(run).rejects.toThrow(NanLossDuringTrainingError);
    await expect(run).rejects.toThrow(
      'NaN loss during training. Tensor "loss" is NaN: the model diverged. Lower the learning rate, clip gradients, or check the ' +
        "input for NaN and Infinity; pass failOnNanLoss = false to stop training cleanly instead.",
    );
    await expect(run).rejects.toMatchObject({ code: "NAN_LOSS", received: "NaN" });
    expect(logger.warnings).toEqual(["Model diverged with loss = NaN."]);
    expect(sess.shouldStop).toBe(false);
  });

  it("fails on NaN by default", async () => {
    const { graph, train, loss } = model(NaN);
    const sess = await startHooks(graph, [new NanTensorHook(loss, undefined, { logger: capturingLogger() })]);
    await expect(sess.run(train)).rejects.toThrow(/^NaN loss during training\./);
  });

  it("with fail_on_nan_loss=false: does not throw, logs that the model diverged and requests a stop", async () => {
    const { graph, train, loss } = model(NaN);
    const logger = capturingLogger();
    const sess = await startHooks(graph, [new NanTensorHook(loss, false, { logger })]);
    await sess.run(train);
    expect(sess.shouldStop).toBe(true);
    expect(logger.warnings).toEqual(["Model diverged with loss = NaN."]);
  });

  it("lets runs with a finite (or infinite) loss go on", async () => {
    for (const value of [0, Infinity]) {
      const { graph, train, loss } = model(value);
      const logger = capturingLogger();
      const sess = await startHooks(graph, [new NanTensorHook(loss, true, { logger })]);
      await sess.run(train);
      expect(sess.shouldStop).toBe(false);
      expect(logger.warnings).toEqual([]);
    }
  });

  it("refuses a loss that is not a Tensor", () => {
    expect(() => new NanTensorHook(0.5 as never)).toThrow(InvalidArgumentError);
    expect(() => new NanTensorHook(0.5 as never)).toThrow("new NanTensorHook(loss) needs a Tensor; got 0.5.");
  });
});
