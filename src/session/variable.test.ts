import { describe, expect, it } from "vitest";
import { InvalidArgumentError, RuntimeError } from "../errors.js";
import { getGlobalStep, getOrCreateGlobalStep } from "./global-step.js";
import { Graph, GraphKeys } from "./graph.js";
import { group, noOp } from "./operation.js";
import { Session } from "./session.js";
import { assignAdd, globalVariablesInitializer, Variable } from "./variable.js";

describe("Variable", () => {
  it("holds a value that assign replaces", () => {
    const w = new Variable("w", 1.5);
    expect(w.value).toBe(1.5);
    expect(w.assign(2)).toBe(2);
    expect(w.value).toBe(2);
    expect(w.initialValue).toBe(1.5);
  });

  it("joins the default graph's global and trainable variables, unless told otherwise", () => {
    const graph = new Graph();
    const [w, b] = graph.asDefault(() => [new Variable("w", 0), new Variable("b", 0, { trainable: false, collections: ["mine"] })]);
    expect(graph.getCollection(GraphKeys.GLOBAL_VARIABLES)).toEqual([w]);
    expect(graph.getCollection(GraphKeys.TRAINABLE_VARIABLES)).toEqual([w]);
    expect(graph.getCollection("mine")).toEqual([b]);
    expect(w?.graph).toBe(graph);
  });

  it("belongs to no graph when made outside one", () => {
    expect(new Variable("w", 0).graph).toBeNull();
  });

  it("is a saveable: save gives the value and restore assigns it", async () => {
    const w = new Variable("w", new Float32Array([1, 2]));
    expect(await w.save()).toEqual(new Float32Array([1, 2]));
    await w.restore(new Float32Array([3, 4]));
    expect(w.value).toEqual(new Float32Array([3, 4]));
  });

  it("refuses to restore a value of another kind than its initial value, naming both", async () => {
    const w = new Variable("w", 0);
    await expect(w.restore("abc")).rejects.toThrow(InvalidArgumentError);
    await expect(w.restore("abc")).rejects.toThrow(
      'Cannot restore variable "w": it holds a number; the checkpoint has "abc". Restore a checkpoint saved from this model, or give this variable another name.',
    );
    await expect(new Variable("v", new Float64Array(1)).restore(new Float32Array(1))).rejects.toThrow("it holds a Float64Array");
  });

  it("is reset to its initial value by its initializer and by the global initializer", async () => {
    const graph = new Graph();
    const [w, b] = graph.asDefault(() => [new Variable("w", 1), new Variable("b", 2)]);
    const session = new Session(graph);
    w?.assign(10);
    b?.assign(20);
    if (w === undefined || b === undefined) throw new Error("unreachable");
    await session.run(w.initializer);
    expect([w.value, b.value]).toEqual([1, 20]);
    const init = globalVariablesInitializer(graph);
    expect(init.name).toBe("init");
    await session.run(init);
    expect(b.value).toBe(2);
    expect(w.initializer.name).toBe("w/Assign");
  });

  it("needs an initial value", () => {
    expect(() => new Variable("w", undefined)).toThrow('new Variable("w", initialValue) needs an initial value; got undefined.');
  });
});

describe("global step", () => {
  it("is created once, named global_step, starting at 0, non-trainable, in GLOBAL_STEP and GLOBAL_VARIABLES", () => {
    const graph = new Graph();
    expect(getGlobalStep(graph)).toBeNull();
    const step = getOrCreateGlobalStep(graph);
    expect(getOrCreateGlobalStep(graph)).toBe(step);
    expect(graph.asDefault(() => getGlobalStep())).toBe(step);
    expect([step.name, step.value, step.trainable]).toEqual(["global_step", 0, false]);
    expect(graph.getCollection(GraphKeys.GLOBAL_STEP)).toEqual([step]);
    expect(graph.getCollection(GraphKeys.GLOBAL_VARIABLES)).toEqual([step]);
    expect(graph.getCollection(GraphKeys.TRAINABLE_VARIABLES)).toEqual([]);
  });

  it("is found by name when a variable called global_step was made by hand", () => {
    const graph = new Graph();
    const mine = graph.asDefault(() => new Variable("global_step", 5));
    expect(getOrCreateGlobalStep(graph)).toBe(mine);
    const bad = new Graph();
    bad.asDefault(() => new Variable("global_step", "x"));
    expect(() => getGlobalStep(bad)).toThrow('Existing "global_step" is not an integer: it holds "x".');
  });

  it("refuses a graph with two global steps", () => {
    const graph = new Graph();
    graph.addToCollection(GraphKeys.GLOBAL_STEP, new Variable("a", 0));
    graph.addToCollection(GraphKeys.GLOBAL_STEP, new Variable("b", 0));
    expect(() => getGlobalStep(graph)).toThrow('Multiple tensors in global_step collection: "a", "b".');
  });

  it("needs a graph: the default one, or one passed in", () => {
    expect(() => getOrCreateGlobalStep()).toThrow(RuntimeError);
  });

  it("is incremented by assignAdd in a train op, and a fetch of it sees the new value", async () => {
    const graph = new Graph();
    const { step, train } = graph.asDefault(() => {
      const step = getOrCreateGlobalStep();
      return { step, train: group(noOp("update"), assignAdd(step)) };
    });
    const session = new Session(graph);
    expect(await session.run([train, step])).toEqual([null, 1]);
    expect(await session.run({ train, step })).toEqual({ train: null, step: 2 });
    expect(graph.asDefault(() => assignAdd(step, 3)).name).toBe("global_step/AssignAdd_1");
  });
});
