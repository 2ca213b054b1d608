import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../errors.js";
import type { IteratorState } from "../../core/state.js";
import { Dataset } from "../dataset.js";

describe("Dataset.fromTensorSlices", () => {
  // TensorFlow's documented examples, with tensors as typed arrays and Python tuples as arrays.
  it("slices a 1-D tensor into scalars (tf.data: from_tensor_slices([1, 2, 3]) → 1, 2, 3)", async () => {
    expect(await Dataset.fromTensorSlices(Int32Array.of(1, 2, 3)).toArray()).toEqual([1, 2, 3]);
    // A plain array none of whose items is a column is such a list too.
    expect(await Dataset.fromTensorSlices([1, 2, 3]).toArray()).toEqual([1, 2, 3]);
    expect(await Dataset.fromTensorSlices(["a", { b: 1 }]).toArray()).toEqual(["a", { b: 1 }]);
  });

  it("slices a 2-D tensor into rows (tf.data: from_tensor_slices([[1, 2], [3, 4]]) → [1, 2], [3, 4])", async () => {
    const rows = await Dataset.fromTensorSlices({ data: Int32Array.of(1, 2, 3, 4), shape: [2, 2] }).toArray();
    expect(rows).toEqual([Int32Array.of(1, 2), Int32Array.of(3, 4)]);
  });

  it("slices a tuple of 1-D tensors into tuples (tf.data: from_tensor_slices(([1, 2], [3, 4], [5, 6])) → (1, 3, 5), (2, 4, 6))", async () => {
    expect(
      await Dataset.fromTensorSlices([
        [1, 2],
        [3, 4],
        [5, 6],
      ]).toArray(),
    ).toEqual([
      [1, 3, 5],
      [2, 4, 6],
    ]);
  });

  it("keeps a dictionary's structure (tf.data: from_tensor_slices({'a': [1, 2], 'b': [3, 4]}) → {a: 1, b: 3}, {a: 2, b: 4})", async () => {
    expect(await Dataset.fromTensorSlices({ a: [1, 2], b: [3, 4] }).toArray()).toEqual([
      { a: 1, b: 3 },
      { a: 2, b: 4 },
    ]);
  });

  it("combines features and labels (tf.data: from_tensor_slices((features, labels)) with a 3x2 features tensor)", async () => {
    const features = [
      [1, 3],
      [2, 1],
      [3, 3],
    ];
    const labels = ["A", "B", "A"];
    expect(await Dataset.fromTensorSlices([features, labels]).toArray()).toEqual([
      [[1, 3], "A"],
      [[2, 1], "B"],
      [[3, 3], "A"],
    ]);
    const zipped = Dataset.zip([Dataset.fromTensorSlices([features]).map(([f]) => f), Dataset.fromArray(labels)]);
    expect(await zipped.toArray()).toEqual(await Dataset.fromTensorSlices([features, labels]).toArray());
  });

  it("slices a batched 3-D tensor into flat row-major rows", async () => {
    const batched = { data: Int32Array.of(1, 3, 2, 3, 2, 1, 1, 2, 3, 3, 3, 2), shape: [3, 2, 2] };
    expect(await Dataset.fromTensorSlices(batched).toArray()).toEqual([Int32Array.of(1, 3, 2, 3), Int32Array.of(2, 1, 1, 2), Int32Array.of(3, 3, 3, 2)]);
  });

  it("gives numbers for typed array columns and bigints for 64-bit ones", async () => {
    const rows = await Dataset.fromTensorSlices({ x: Float32Array.of(0.5, 1.5), id: BigInt64Array.of(7n, 8n), tag: ["p", "q"] }).toArray();
    expect(rows).toEqual([
      { x: 0.5, id: 7n, tag: "p" },
      { x: 1.5, id: 8n, tag: "q" },
    ]);
  });

  it("copies the columns: later changes do not affect the dataset", async () => {
    const xs = [1, 2];
    const ys = Float64Array.of(3, 4);
    const ds = Dataset.fromTensorSlices({ xs, ys });
    xs[0] = 99;
    ys[1] = 99;
    expect(await ds.toArray()).toEqual([
      { xs: 1, ys: 3 },
      { xs: 2, ys: 4 },
    ]);
  });

  it("counts its rows and resumes at a saved row index", async () => {
    const build = (): Dataset<{ a: number; b: number }> =>
      Dataset.fromTensorSlices({ a: Uint16Array.from({ length: 500 }, (_, i) => i), b: [...Array(500).keys()].map((i) => -i) });
    expect(build().cardinality()).toBe(500);
    const it = build().iterator();
    for (let i = 0; i < 321; i++) await it.next();
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    expect(state.root).toEqual({ kind: "FromTensorSlices", version: 1, index: 321 });
    expect(await build().iterator({ state }).next()).toEqual({ value: { a: 321, b: -321 }, done: false });
  });

  it("rejects columns of unequal lengths, naming each column with its length", () => {
    const call = (): unknown => Dataset.fromTensorSlices({ x: [1, 2, 3], y: Float32Array.of(1, 2) });
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow("Dataset.fromTensorSlices(columns) needs columns of one length; got x: 3 rows, y: 2 rows.");
    expect(() => Dataset.fromTensorSlices([[1], [2, 3]])).toThrow("got [0]: 1 rows, [1]: 2 rows");
  });

  it("rejects what is not a column, no columns, and a shape that does not fit its data", () => {
    expect(() => Dataset.fromTensorSlices([[1, 2], 3] as never)).toThrow(
      "Dataset.fromTensorSlices(columns)[1] needs a column: an array, a typed array, or { data, shape }; got 3.",
    );
    expect(() => Dataset.fromTensorSlices([])).toThrow("Dataset.fromTensorSlices(columns) needs at least one column");
    expect(() => Dataset.fromTensorSlices({})).toThrow("Dataset.fromTensorSlices(columns) needs at least one column");
    expect(() => Dataset.fromTensorSlices({ data: Float32Array.of(1, 2, 3), shape: [2, 2] })).toThrow("needs data of 4 values (shape [2, 2])");
    expect(() => Dataset.fromTensorSlices("abc" as never)).toThrow(InvalidArgumentError);
  });
});
