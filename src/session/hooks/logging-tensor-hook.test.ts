import { describe, expect, it } from "vitest";
import { InvalidArgumentError, ValueError } from "../../errors.js";
import { Graph } from "../graph.js";
import { constant, type Tensor } from "../tensor.js";
import { capturingLogger, endHooks, fakeClock, startHooks, type HookedSession } from "./drive-hooks.test-helper.js";
import { LoggingTensorHook, type LoggingTensorHookOptions } from "./logging-tensor-hook.js";

/** A graph with the tensor `foo` = 42 and a train "op" (TensorFlow's tests use constant(3)). */
function model(): { graph: Graph; foo: Tensor<number>; train: Tensor<number> } {
  const graph = new Graph();
  return graph.asDefault(() => ({ graph, foo: constant(42, "foo"), train: constant(3, "train") }));
}

async function hooked(options: LoggingTensorHookOptions, tensors?: (foo: Tensor<number>) => ConstructorParameters<typeof LoggingTensorHook>[0]) {
  const { graph, foo, train } = model();
  const logger = capturingLogger();
  const hook = new LoggingTensorHook(tensors?.(foo) ?? [foo], { ...options, logger });
  const sess: HookedSession = await startHooks(graph, [hook]);
  return { graph, sess, train, logger, end: () => endHooks(graph, sess) };
}

describe("LoggingTensorHook", () => {
  it("refuses every_n_iter ≤ 0", () => {
    const { foo } = model();
    expect(() => new LoggingTensorHook([foo], { everyNIter: 0 })).toThrow(ValueError);
    expect(() => new LoggingTensorHook([foo], { everyNIter: 0 })).toThrow(
      "invalid every_n_iter=0. Pass how many runs between lines, an integer ≥ 1, e.g. { everyNIter: 100 }.",
    );
    expect(() => new LoggingTensorHook([foo], { everyNIter: -10 })).toThrow(/^invalid every_n_iter=-10\./);
    expect(() => new LoggingTensorHook([foo], { everyNIter: 1.5 })).toThrow(/^invalid every_n_iter=1\.5\./);
    expect(() => new LoggingTensorHook([foo], { everyNSecs: -1 })).toThrow("LoggingTensorHook({ everyNSecs }) needs a finite number ≥ 0; got -1.");
  });

  it("refuses both intervals, and no interval without at_end", () => {
    const { foo } = model();
    expect(() => new LoggingTensorHook([foo], { everyNIter: 5, everyNSecs: 5 })).toThrow(
      "Exactly one of every_n_iter and every_n_secs must be provided. Pass { everyNIter: 100 } or { everyNSecs: 60 }, and/or { atEnd: true }.",
    );
    expect(() => new LoggingTensorHook([foo], { everyNIter: 5, everyNSecs: 5, atEnd: true })).toThrow(ValueError);
    expect(() => new LoggingTensorHook([foo])).toThrow(ValueError);
    expect(() => new LoggingTensorHook([foo], { atEnd: false })).toThrow(/^Either every_n_iter, every_n_secs or at_end should be set\. Pass/);
  });

  it("refuses tensors that are not a record or array of Tensors", () => {
    expect(() => new LoggingTensorHook([3 as never], { atEnd: true })).toThrow(InvalidArgumentError);
    expect(() => new LoggingTensorHook({ loss: "loss" as never }, { atEnd: true })).toThrow('new LoggingTensorHook(tensors).loss needs a Tensor; got "loss".');
  });

  it("at_end only: logs nothing while running, then the tensors in end()", async () => {
    const { sess, train, logger, end } = await hooked({ atEnd: true });
    for (let i = 0; i < 3; i++) await sess.run(train);
    expect(logger.infos).toEqual([]);
    await end();
    expect(logger.infos).toEqual(["foo = 42"]);
  });

  for (const atEnd of [false, true]) {
    it(`every_n_iter=10${atEnd ? " and at_end" : ""}: logs on the 1st run, then every 10th run${atEnd ? ", and in end()" : ", not in end()"}`, async () => {
      const { sess, train, logger, end } = await hooked({ everyNIter: 10, atEnd });
      await sess.run(train);
      expect(logger.infos).toEqual(["foo = 42"]);
      for (let round = 0; round < 3; round++) {
        logger.infos.length = 0;
        for (let i = 0; i < 9; i++) await sess.run(train);
        expect(logger.infos).toEqual([]);
        await sess.run(train);
        expect(logger.infos).toHaveLength(1);
        expect(logger.infos[0]).toMatch(/^foo = 42 \(\d+\.\d{3} sec\)$/);
      }
      logger.infos.length = 0;
      await sess.run(train);
      expect(logger.infos).toEqual([]);
      await end();
      expect(logger.infos.length).toBe(atEnd ? 1 : 0);
    });
  }

  it("every_n_iter=1: the first line has no seconds", async () => {
    const { sess, train, logger } = await hooked({ everyNIter: 1 }, (foo) => ({ foo }));
    await sess.run(train);
    expect(logger.infos).toEqual(["foo = 42"]);
  });

  for (const atEnd of [false, true]) {
    it(`every_n_secs=1${atEnd ? " and at_end" : ""}: logs on the 1st run, not again within a second, then once a second passed`, async () => {
      const { graph, foo, train } = model();
      const clock = fakeClock();
      const logger = capturingLogger();
      const sess = await startHooks(graph, [new LoggingTensorHook([foo], { everyNSecs: 1, atEnd, logger, clock: clock.now })]);
      await sess.run(train);
      expect(logger.infos).toEqual(["foo = 42"]);
      await sess.run(train);
      expect(logger.infos).toHaveLength(1);
      clock.advance(1);
      await sess.run(train);
      expect(logger.infos).toEqual(["foo = 42", "foo = 42 (1.000 sec)"]);
      await endHooks(graph, sess);
      expect(logger.infos).toHaveLength(atEnd ? 3 : 2);
    });
  }

  it("passes the values, by tag, to a formatter whose string replaces the line", async () => {
    const { sess, train, logger } = await hooked({ everyNIter: 10, formatter: (values) => `qqq=${String(values["foo"])}` });
    await sess.run(train);
    expect(logger.infos).toEqual(["qqq=42"]);
  });

  it("logs a record's tags sorted and an array's tensors in their order, under their names", async () => {
    const graph = new Graph();
    const { b, a, v } = graph.asDefault(() => ({ b: constant(2, "b"), a: constant("x", "a"), v: constant([1, 2.5], "v") }));
    const train = graph.asDefault(() => constant(0, "train"));
    const clock = fakeClock();
    const logger = capturingLogger();
    const record = new LoggingTensorHook({ zeta: b, alpha: a, mid: v }, { everyNIter: 2, logger, clock: clock.now });
    const array = new LoggingTensorHook([b, a, v], { everyNIter: 2, logger, clock: clock.now });
    const sess = await startHooks(graph, [record, array]);
    await sess.run(train);
    clock.advance(0.1234);
    await sess.run(train);
    await sess.run(train);
    expect(logger.infos).toEqual([
      "alpha = x, mid = [1, 2.5], zeta = 2",
      "b = 2, a = x, v = [1, 2.5]",
      "alpha = x, mid = [1, 2.5], zeta = 2 (0.123 sec)",
      "b = 2, a = x, v = [1, 2.5] (0.123 sec)",
    ]);
  });

  it("counts its own runs: begin() starts again from the first run", async () => {
    const { graph, foo, train } = model();
    const logger = capturingLogger();
    const hook = new LoggingTensorHook({ foo }, { everyNIter: 3, logger });
    let sess = await startHooks(graph, [hook]);
    await sess.run(train);
    await sess.run(train);
    sess = await startHooks(graph, [hook]);
    await sess.run(train);
    expect(logger.infos).toEqual(["foo = 42", "foo = 42"]);
  });
});
