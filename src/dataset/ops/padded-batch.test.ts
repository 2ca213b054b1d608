import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../errors.js";
import { Dataset } from "../dataset.js";

const elements = (): Dataset<number[]> => Dataset.range(1, 5).map((x) => Array<number>(x).fill(x));

describe("paddedBatch", () => {
  describe("TensorFlow's documented examples", () => {
    it("pads each batch to its longest element: range(1, 5) of fill(x, x), paddedBatch(2)", async () => {
      expect(await elements().paddedBatch(2).toArray()).toEqual([
        [
          [1, 0],
          [2, 2],
        ],
        [
          [3, 3, 3, 0],
          [4, 4, 4, 4],
        ],
      ]);
    });
    it("pads to a fixed shape: paddedShapes [5]", async () => {
      expect(
        await elements()
          .paddedBatch(2, { paddedShapes: [5] })
          .toArray(),
      ).toEqual([
        [
          [1, 0, 0, 0, 0],
          [2, 2, 0, 0, 0],
        ],
        [
          [3, 3, 3, 0, 0],
          [4, 4, 4, 4, 0],
        ],
      ]);
    });
    it("pads with a chosen value: paddedShapes [-1], paddingValues -1", async () => {
      expect(
        await elements()
          .paddedBatch(2, { paddedShapes: [-1], paddingValues: -1 })
          .toArray(),
      ).toEqual([
        [
          [1, -1],
          [2, 2],
        ],
        [
          [3, 3, 3, -1],
          [4, 4, 4, 4],
        ],
      ]);
    });
    it("pads the components of records each to their own longest, with their own padding values", async () => {
      const ds = Dataset.fromArray([
        { a: [1], b: [10, 20, 30] },
        { a: [2, 3], b: [40] },
      ]).paddedBatch(2, { paddingValues: { a: -1, b: 0 } });
      expect(await ds.toArray()).toEqual([
        {
          a: [
            [1, -1],
            [2, 3],
          ],
          b: [
            [10, 20, 30],
            [40, 0, 0],
          ],
        },
      ]);
    });
    it("batches scalar components as they are (rank 0 needs no padding)", async () => {
      const ds = Dataset.range(3)
        .map((x) => ({ label: x, tokens: Array<number>(x + 1).fill(7) }))
        .paddedBatch(3);
      expect(await ds.toArray()).toEqual([
        {
          label: [0, 1, 2],
          tokens: [
            [7, 0, 0],
            [7, 7, 0],
            [7, 7, 7],
          ],
        },
      ]);
    });
  });

  it("pads every dimension of nested arrays to its longest", async () => {
    const ds = Dataset.fromArray([[[1, 2]], [[3], [4]]]).paddedBatch(2);
    expect(await ds.toArray()).toEqual([
      [
        [
          [1, 2],
          [0, 0],
        ],
        [
          [3, 0],
          [4, 0],
        ],
      ],
    ]);
  });

  it("takes an empty array as of any rank, its missing dimensions 0", async () => {
    const ds = Dataset.fromArray([[], [[1, 2]], [[3]]]).paddedBatch(3);
    expect(await ds.toArray()).toEqual([[[[0, 0]], [[1, 2]], [[3, 0]]]]);
  });

  it("makes a batch of typed arrays one typed array of their kind, with its shape", async () => {
    const ds = Dataset.range(1, 4)
      .map((x) => Float32Array.from({ length: x }, (_, i) => x + i / 10))
      .paddedBatch(3, { paddingValues: -1 });
    const [batch] = await ds.toArray();
    expect(batch?.data).toBeInstanceOf(Float32Array);
    expect(batch?.shape).toEqual([3, 3]);
    expect(Array.from(batch?.data ?? [])).toEqual(Array.from(new Float32Array([1, -1, -1, 2, 2.1, -1, 3, 3.1, 3.2])));
  });

  it("pads strings with '', booleans with false, bigints with 0n by default", async () => {
    const ds = Dataset.fromArray([
      { s: ["a"], b: [true], n: [1n] },
      { s: ["b", "c"], b: [true, true], n: [2n, 3n] },
    ]).paddedBatch(2);
    expect(await ds.toArray()).toEqual([
      {
        s: [
          ["a", ""],
          ["b", "c"],
        ],
        b: [
          [true, false],
          [true, true],
        ],
        n: [
          [1n, 0n],
          [2n, 3n],
        ],
      },
    ]);
  });

  it("drops a short last batch with dropRemainder, and counts batches accordingly", async () => {
    const ds = elements().paddedBatch(3, { dropRemainder: true });
    expect(ds.cardinality()).toBe(1);
    expect(await ds.toArray()).toEqual([
      [
        [1, 0, 0],
        [2, 2, 0],
        [3, 3, 3],
      ],
    ]);
    expect(elements().paddedBatch(3).cardinality()).toBe(2);
  });

  it("resumes after the last batch handed out, saving only its input's state and a count", async () => {
    const it1 = elements().paddedBatch(2).iterator();
    await it1.next();
    const state = await it1.save();
    expect(state.root).toMatchObject({ kind: "PaddedBatch", version: 1, batches: 1 });
    const rest = await elements()
      .paddedBatch(2)
      .iterator({ state: JSON.parse(JSON.stringify(state)) })
      .next();
    expect(rest.value).toEqual([
      [3, 3, 3, 0],
      [4, 4, 4, 4],
    ]);
  });

  describe("errors naming the element and component", () => {
    const fails = async (ds: Dataset<unknown>, message: RegExp): Promise<void> => {
      const error = await ds.toArray().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(message);
    };
    it("refuses a component longer than its paddedShapes", async () => {
      await fails(
        elements().paddedBatch(2, { paddedShapes: [3] }),
        /^paddedBatch\(\) needs element 3 to be at most 3 long in dimension 0 \(paddedShapes\); got an array of length 4/,
      );
    });
    it("refuses components of different ranks", async () => {
      await fails(
        Dataset.fromArray<unknown>([{ x: [1] }, { x: [[1]] }]).paddedBatch(2),
        /component "x" of element 1 to be of rank 1 \(as element 0 of the batch\)/,
      );
    });
    it("refuses a component ragged within one element", async () => {
      await fails(Dataset.fromArray([[[1, 2], [3]]]).paddedBatch(1), /element 0 to be a rectangular array .* got a ragged array/);
    });
    it("refuses records with other keys, and elements of another kind", async () => {
      await fails(
        Dataset.fromArray<unknown>([{ a: [1] }, { b: [1] }]).paddedBatch(2),
        /element 1 to be a record of the keys a .*got an object with the keys b/,
      );
      await fails(Dataset.fromArray<unknown>([{ a: [1] }, { a: new Float32Array(1) }]).paddedBatch(2), /component "a" of element 1 to be an array/);
      await fails(Dataset.fromArray<unknown>([[1], ["x"]]).paddedBatch(2), /element 1 to be made of numbers/);
    });
    it("numbers elements across batches", async () => {
      await fails(Dataset.fromArray<unknown>([[1], [2], [3], [[4]]]).paddedBatch(2), /element 3 to be of rank 1/);
    });
    it("refuses padding values of another type than the component's", async () => {
      await fails(elements().paddedBatch(2, { paddingValues: "x" }), /paddingValues.*a number for the element, whose values are numbers; got "x"/);
    });
    it("refuses bad and unknown options at once, listing the known ones", () => {
      expect(() => elements().paddedBatch(2, { paddedShape: [3] } as never)).toThrow(
        /has no option "paddedShape"; its options are: paddedShapes, paddingValues, dropRemainder/,
      );
      expect(() => elements().paddedBatch(2, { paddedShapes: [1.5] })).toThrow(InvalidArgumentError);
      expect(() => elements().paddedBatch(0)).toThrow(/paddedBatch\(size\) needs an integer ≥ 1; got 0/);
    });
  });
});
