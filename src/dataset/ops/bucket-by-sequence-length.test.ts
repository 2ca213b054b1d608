import { describe, expect, it } from "vitest";
import { Dataset } from "../../index.js";
import { describeCheckpointing } from "../../../test/harness.js";

const ELEMENTS = [[0], [1, 2, 3, 4], [5, 6, 7], [7, 8, 9, 10, 11], [13, 14, 15, 16, 19, 20], [21, 22]];

describe("bucketBySequenceLength", () => {
  it("gives TensorFlow's documented result", async () => {
    const ds = Dataset.fromArray(ELEMENTS).bucketBySequenceLength((x) => x.length, { bucketBoundaries: [3, 5], bucketBatchSizes: [2, 2, 2] });
    expect(await ds.toArray()).toEqual([
      [
        [1, 2, 3, 4],
        [5, 6, 7, 0],
      ],
      [
        [7, 8, 9, 10, 11, 0],
        [13, 14, 15, 16, 19, 20],
      ],
      [
        [0, 0],
        [21, 22],
      ],
    ]);
  });

  it("pads to the bucket boundary − 1, flushes partial batches in bucket order, and drops them with dropRemainder", async () => {
    const elements = [[1], [2, 2, 2], [3], [4, 4, 4, 4], [5, 5]];
    const padded = await Dataset.fromArray(elements)
      .bucketBySequenceLength((x) => x.length, { bucketBoundaries: [3, 6], bucketBatchSizes: [2, 3, 1], padToBucketBoundary: true, paddingValues: -1 })
      .toArray();
    expect(padded).toEqual([
      [
        [1, -1],
        [3, -1],
      ],
      [[5, 5]],
      [
        [2, 2, 2, -1, -1],
        [4, 4, 4, 4, -1],
      ],
    ]);
    const dropped = await Dataset.fromArray(elements)
      .bucketBySequenceLength((x) => x.length, { bucketBoundaries: [3, 6], bucketBatchSizes: [2, 3, 1], dropRemainder: true })
      .toArray();
    expect(dropped).toEqual([[[1], [3]]]);
  });

  it("checks its options, and refuses an element past the last boundary when padding to boundaries", async () => {
    const ds = Dataset.fromArray(ELEMENTS);
    expect(() => ds.bucketBySequenceLength((x) => x.length, { bucketBoundaries: [5, 3], bucketBatchSizes: [1, 1, 1] })).toThrow(/increasing integers ≥ 1/);
    expect(() => ds.bucketBySequenceLength((x) => x.length, { bucketBoundaries: [3], bucketBatchSizes: [1] })).toThrow(/2 integers ≥ 1 \(one per bucket/);
    expect(() => ds.bucketBySequenceLength((x) => x.length, { bucketBoundaries: [3], bucketBatchSizes: [1, 1], pad: true } as never)).toThrow(
      /has no option "pad"/,
    );
    await expect(
      ds.bucketBySequenceLength((x) => x.length, { bucketBoundaries: [3, 5], bucketBatchSizes: [2, 2, 2], padToBucketBoundary: true }).toArray(),
    ).rejects.toThrow(/shorter than the last boundary \(5\)/);
  });
});

describeCheckpointing("bucketBySequenceLength over async input", () =>
  Dataset.range(60)
    .map(async (i) => Array.from({ length: (i * 7) % 9 }, (_, k) => i * 10 + k))
    .bucketBySequenceLength((x) => x.length, { bucketBoundaries: [3, 6], bucketBatchSizes: [4, 3, 2] }),
);
