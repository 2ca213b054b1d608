import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors.js";
import { arrayOf, integer, misfit, nullable, olderVersion, opState, optional, pathTo, record, stateSchema, string } from "./schema.js";

const TAKE = stateSchema(
  "Take",
  2,
  { taken: integer(0), input: opState },
  {
    older: [olderVersion(1, { count: integer(0), input: opState }, ({ count, input }) => ({ taken: count, input }))],
    check: ({ taken }, path) => {
      if (taken > 100) misfit(pathTo(path, "taken"), "at most 100", taken);
    },
  },
);
const input = { kind: "Range", version: 1, index: 3 };

describe("a state schema", () => {
  it("reads the fields of its current version", () => {
    expect(TAKE.read({ kind: "Take", version: 2, taken: 4, input })).toEqual({ taken: 4, input });
  });

  it("reads an older version through its upgrade", () => {
    expect(TAKE.read({ kind: "Take", version: 1, count: 4, input })).toEqual({ taken: 4, input });
  });

  it("names the expected op and the one found", () => {
    expect(() => TAKE.read({ kind: "Range", version: 1, index: 3 })).toThrow(
      "Cannot restore Take: the saved state at this place in the pipeline (root) is of Range, not Take.",
    );
  });

  it("names the versions it reads when the version is unknown", () => {
    expect(() => TAKE.read({ kind: "Take", version: 7, taken: 1, input })).toThrow(
      "Cannot restore Take: its saved state (root) has version 7, and this version of checkpipe reads versions 1, 2.",
    );
  });

  it("names the path of a bad field, what was expected and what was got", () => {
    const read = (): unknown => TAKE.read({ kind: "Take", version: 2, taken: -1, input });
    expect(read).toThrow(InvalidArgumentError);
    expect(read).toThrow(
      "Cannot restore Take: root.taken should be an integer ≥ 0; got -1. The state is damaged or was not written by checkpipe; restore an intact state.",
    );
  });

  it("refuses fields its version does not have, and missing ones", () => {
    expect(() => TAKE.read({ kind: "Take", version: 2, taken: 1, input, extra: true })).toThrow(
      "root.extra should be absent (not a field of this state); got true",
    );
    expect(() => TAKE.read({ kind: "Take", version: 2, input })).toThrow("root.taken should be an integer ≥ 0; got undefined");
  });

  it("runs its check across fields", () => {
    expect(() => TAKE.read({ kind: "Take", version: 2, taken: 101, input })).toThrow("root.taken should be at most 100; got 101");
  });

  it("gives a nested op state its path, for the errors its own op raises", () => {
    const outer = stateSchema("Outer", 1, { input: opState });
    const inner = { kind: "Take", version: 2, taken: "x", input };
    const { input: child } = outer.read({ kind: "Outer", version: 1, input: inner });
    expect(() => TAKE.read(child)).toThrow('Cannot restore Take: root.input.taken should be an integer ≥ 0; got "x"');
    const twice = outer.read({ kind: "Outer", version: 1, input: { kind: "Take", version: 2, taken: 1, input: { kind: "Range", version: 1, index: 0 } } });
    expect(() => TAKE.read(TAKE.read(twice.input).input)).toThrow(/Take: the saved state at this place in the pipeline \(root\.input\.input\) is of Range/);
  });
});

describe("fields", () => {
  it("read arrays, records, nullable and optional values, with each item's path", () => {
    const slots = arrayOf(nullable(record({ name: string, size: optional(integer(1)) })));
    expect(slots([null, { name: "a" }, { name: "b", size: 2 }], "root.slots")).toEqual([null, { name: "a", size: undefined }, { name: "b", size: 2 }]);
    expect(() => slots([null, { name: 1 }], "root.slots")).toThrow("root.slots[1].name should be a string; got 1");
    expect(() => slots([{ name: "a", size: 0 }], "root.slots")).toThrow("root.slots[0].size should be an integer ≥ 1; got 0");
  });
});
