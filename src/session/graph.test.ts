import { describe, expect, it } from "vitest";
import { Dataset } from "../dataset/dataset.js";
import { RuntimeError } from "../errors.js";
import { Graph, GraphKeys } from "./graph.js";
import { Operation } from "./operation.js";
import { constant } from "./tensor.js";
import { Variable } from "./variable.js";

describe("Graph collections", () => {
  it("keeps each collection in insertion order and hands out copies", () => {
    const graph = new Graph();
    graph.addToCollection("losses", 1);
    graph.addToCollection("losses", 2);
    const copy = graph.getCollection("losses");
    copy.push(3);
    expect(graph.getCollection("losses")).toEqual([1, 2]);
  });

  it("gives an empty list for a collection nothing was added to", () => {
    expect(new Graph().getCollection(GraphKeys.SAVERS)).toEqual([]);
  });

  it("lists the keys of its collections in the order they were first used", () => {
    const graph = new Graph();
    graph.addToCollection("b", 1);
    graph.addToCollection("a", 1);
    graph.addToCollection("b", 2);
    expect(graph.getAllCollectionKeys()).toEqual(["b", "a"]);
  });

  it("names the standard collections as TensorFlow does, in a frozen object", () => {
    expect(GraphKeys.ITERATORS).toBe("iterators");
    expect(GraphKeys.SAVEABLE_OBJECTS).toBe("saveable_objects");
    expect(GraphKeys.SAVERS).toBe("savers");
    expect(GraphKeys.GLOBAL_STEP).toBe("global_step");
    expect(GraphKeys.GLOBAL_VARIABLES).toBe("variables");
    expect(Object.isFrozen(GraphKeys)).toBe(true);
  });
});

describe("Graph unique names", () => {
  it("gives x, x_1, x_2 for the same name, as TensorFlow does", () => {
    const graph = new Graph();
    expect([graph.uniqueName("x"), graph.uniqueName("x"), graph.uniqueName("x")]).toEqual(["x", "x_1", "x_2"]);
  });

  it("skips suffixed names already taken and compares case-insensitively", () => {
    const graph = new Graph();
    expect(graph.uniqueName("x_1")).toBe("x_1");
    expect(graph.uniqueName("x")).toBe("x");
    expect(graph.uniqueName("x")).toBe("x_2");
    expect(graph.uniqueName("X")).toBe("X_3");
  });

  it("makes the names of tensors, variables and operations unique within their graph only", () => {
    const [a, b] = [new Graph(), new Graph()];
    const names = a.asDefault(() => [constant(1, "c").name, constant(2, "c").name, new Variable("c", 0).name]);
    expect(names).toEqual(["c", "c_1", "c_2"]);
    expect(b.asDefault(() => new Operation("c", () => undefined).name)).toBe("c");
  });
});

describe("the default graph", () => {
  it("is the graph of the enclosing asDefault, and asDefault returns what fn returns", () => {
    const graph = new Graph();
    expect(graph.asDefault(() => Graph.getDefault())).toBe(graph);
    expect(graph.asDefault(() => 42)).toBe(42);
  });

  it("stays the default across awaits and in tasks started inside the scope", async () => {
    const graph = new Graph();
    const seen = await graph.asDefault(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const inTimer = await new Promise<Graph>((resolve) => setTimeout(() => resolve(Graph.getDefault()), 1));
      return [Graph.getDefault(), inTimer];
    });
    expect(seen).toEqual([graph, graph]);
  });

  it("is the inner graph inside a nested asDefault and the outer one again after it", async () => {
    const [outer, inner] = [new Graph(), new Graph()];
    const seen = await outer.asDefault(async () => {
      const during = await inner.asDefault(async () => {
        await Promise.resolve();
        return Graph.getDefault();
      });
      return [during, Graph.getDefault()];
    });
    expect(seen[0]).toBe(inner);
    expect(seen[1]).toBe(outer);
  });

  it("keeps concurrent scopes apart", async () => {
    const [a, b] = [new Graph(), new Graph()];
    const read = async (): Promise<Graph> => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      return Graph.getDefault();
    };
    expect(await Promise.all([a.asDefault(read), b.asDefault(read)])).toEqual([a, b]);
  });

  it("does not exist outside asDefault: getDefault says to wrap the code, current() gives null", () => {
    expect(Graph.current()).toBeNull();
    expect(() => Graph.getDefault()).toThrow(RuntimeError);
    expect(() => Graph.getDefault()).toThrow(/^No default graph: .* Wrap the code in graph\.asDefault\(\(\) => \.\.\.\)/);
  });
});

describe("iterator registration", () => {
  it("adds iterators made under asDefault to the iterators collection with unique names", () => {
    const graph = new Graph();
    const [first, second] = graph.asDefault(() => [Dataset.range(5).iterator(), Dataset.range(5).iterator()]);
    expect(graph.getCollection(GraphKeys.ITERATORS)).toEqual([first, second]);
    expect([first?.name, second?.name]).toEqual(["Iterator", "Iterator_1"]);
  });

  it("leaves iterators made outside any graph unregistered, with the name asked for", () => {
    const graph = new Graph();
    const it = Dataset.range(5).iterator({ name: "train" });
    expect(it.name).toBe("train");
    expect(graph.getCollection(GraphKeys.ITERATORS)).toEqual([]);
  });

  it("registers iterators made in async code inside the scope", async () => {
    const graph = new Graph();
    await graph.asDefault(async () => {
      await Promise.resolve();
      Dataset.range(3).iterator();
    });
    expect(graph.getCollection(GraphKeys.ITERATORS)).toHaveLength(1);
  });
});

describe("loops over a dataset", () => {
  it("do not register their iterators: for await and toArray run even in a finalized graph", async () => {
    const graph = new Graph();
    await graph.asDefault(async () => {
      graph.finalize();
      const seen: number[] = [];
      for await (const x of Dataset.range(3)) seen.push(x);
      expect(seen).toEqual([0, 1, 2]);
      expect(await Dataset.range(2).toArray()).toEqual([0, 1]);
    });
    expect(graph.getCollection(GraphKeys.ITERATORS)).toEqual([]);
  });
});

describe("finalize", () => {
  const finalized = "Graph is finalized and cannot be modified.";

  it("makes the graph read-only: collections, names, nodes and iterators are refused", () => {
    const graph = new Graph();
    expect(graph.finalized).toBe(false);
    graph.finalize();
    expect(graph.finalized).toBe(true);
    expect(() => graph.addToCollection("losses", 1)).toThrow(RuntimeError);
    expect(() => graph.addToCollection("losses", 1)).toThrow(finalized);
    expect(() => graph.uniqueName("x")).toThrow(finalized);
    expect(() => graph.asDefault(() => new Variable("w", 0))).toThrow(finalized);
    expect(() => graph.asDefault(() => Dataset.range(5).iterator())).toThrow(finalized);
  });

  it("still lets a finalized graph be read", () => {
    const graph = new Graph();
    graph.addToCollection("losses", 1);
    graph.finalize();
    expect(graph.getCollection("losses")).toEqual([1]);
  });
});
