/**
 * The state tree `checkpipe inspect` shows: read from the saved state alone (ops it does not
 * know included), each op given its parameters from the pipeline description where the two
 * agree, and said in words.
 */
import { describe, expect, it } from "vitest";
import { describedOps, splitTopLevel } from "./pipeline-description.js";
import { opReport } from "./state-tree.js";
import { fieldInWords, opLine, treeLines } from "./state-words.js";

const range = (index: number) => ({ kind: "Range", version: 1, index });

describe("describedOps", () => {
  it("splits a description into ops, the source first, keeping nested parentheses whole", () => {
    expect(describedOps("Zip(Range, Range -> Take(3)) -> Batch(4, stack)")).toEqual([
      { name: "Zip", params: "Range, Range -> Take(3)", args: ["Range", "Range -> Take(3)"] },
      { name: "Batch", params: "4, stack", args: ["4", "stack"] },
    ]);
    expect(splitTopLevel("a, [b, c], (d, e)", ",")).toEqual(["a", "[b, c]", "(d, e)"]);
  });

  it("returns null for a description that does not read as ops", () => {
    expect(describedOps("1: Range")).toBeNull();
  });
});

describe("opReport", () => {
  it("gives each op of the input chain its parameters when the description has as many ops", () => {
    const state = { kind: "Take", version: 1, taken: 2, input: { kind: "StackBatch", version: 1, batches: 2, input: range(8) } };
    const tree = opReport(state, "Range -> Batch(4, stack) -> Take(3)");
    expect([tree.params, tree.inputs[0]?.params, tree.inputs[0]?.inputs[0]?.params]).toEqual(["3", "4, stack", null]);
    expect(tree.inputs[0]?.inputs[0]?.at).toBe("root.input.input");
  });

  it("gives no parameters when the description and the state disagree on the ops", () => {
    const tree = opReport({ kind: "Take", version: 1, taken: 2, input: range(2) }, "Range -> Map -> Take(3)");
    expect(tree.params).toBeNull();
  });

  it("shows an op it does not know, with its scalars, the fill of its lists and its nested inputs", () => {
    const state = {
      kind: "MyOp",
      version: 7,
      cursorPosition: 5,
      done: false,
      note: null,
      held: [1, 2, 3],
      parts: [{ inner: range(1) }, null, { inner: range(4) }],
    };
    const tree = opReport(state);
    expect(tree.fields).toEqual({ cursorPosition: 5, done: false, note: null });
    expect(tree.sizes).toEqual({ held: 3 });
    expect(tree.inputs.map((op) => op.at)).toEqual(["root.parts[0].inner", "root.parts[2].inner"]);
    expect(treeLines(tree)).toEqual([
      "MyOp v7: cursor position 5, done no, note none; held 3 items",
      "  parts[0].inner: Range v1: index 1",
      "  parts[2].inner: Range v1: index 4",
    ]);
  });

  it("reports a root that is not an op state as an op of kind ?", () => {
    expect(opLine(opReport([1, 2]))).toBe('? v0: state "a list of 2"');
  });
});

describe("fieldInWords", () => {
  it("splits camelCase field names into words", () => {
    expect([fieldInWords("inputEnded"), fieldInWords("fileIndex"), fieldInWords("numWorkers"), fieldInWords("index")]).toEqual([
      "input ended",
      "file index",
      "num workers",
      "index",
    ]);
  });
});
