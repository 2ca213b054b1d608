/**
 * The conformance kit on its own, as a user's test runner meets it (node:assert, no vitest
 * comparisons): it passes a correct pipeline and throws at a broken one.
 */
import { AssertionError } from "node:assert";
import { describe, expect, it } from "vitest";
import { Dataset } from "../dataset/dataset.js";
import { checkCheckpointing, checkSingleBreaks } from "./checkpointing.js";

describe("checkCheckpointing (checkpipe/testing)", () => {
  it("passes a pipeline that resumes exactly, returning its uninterrupted output", async () => {
    expect(await checkCheckpointing(() => Dataset.range(40).shuffle(8, { seed: 3 }).batch(3))).toHaveLength(14);
  });

  it("throws an AssertionError for a dataset whose runs differ", async () => {
    let calls = 0;
    await expect(checkCheckpointing(() => Dataset.range(5).map((x) => x + calls++))).rejects.toThrow(AssertionError);
  });

  it("throws an AssertionError naming the break when what a restored iterator yields is not what was expected", async () => {
    await expect(checkSingleBreaks(() => Dataset.range(10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 99])).rejects.toThrow(/after a break at 0 of 10/);
  });
});
