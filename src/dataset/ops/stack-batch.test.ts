import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../errors.js";
import { Dataset } from "../dataset.js";

const records = (n: number): Dataset<{ x: Float32Array; y: number }> =>
  Dataset.range(n).map((i) => ({ x: Float32Array.from({ length: 3 }, (_, k) => i * 10 + k), y: i }));

describe("batch(size, { stack: true })", () => {
  it("stacks records column-wise: one typed array per key, with its shape", async () => {
    const [first, last] = await records(5).batch(3, { stack: true }).toArray();
    expect(first?.x.shape).toEqual([3, 3]);
    expect(first?.x.data).toEqual(new Float32Array([0, 1, 2, 10, 11, 12, 20, 21, 22]));
    expect(first?.y).toEqual({ data: new Float64Array([0, 1, 2]), shape: [3] });
    expect(last?.x.shape).toEqual([2, 3]);
    expect(last?.y.data).toEqual(new Float64Array([3, 4]));
  });

  it("holds the same values as batch() followed by a hand-written collate", async () => {
    const stacked = await records(10).batch(4, { stack: true }).toArray();
    const collated = await records(10)
      .batch(4)
      .map((b) => ({ x: b.flatMap((r) => Array.from(r.x)), y: b.map((r) => r.y) }))
      .toArray();
    expect(stacked.map((b) => ({ x: Array.from(b.x.data), y: Array.from(b.y.data) }))).toEqual(collated);
  });

  it("makes numbers a Float64Array, booleans a Uint8Array, bigints a BigInt64Array; nested records stay nested", async () => {
    const ds = Dataset.fromArray([
      { n: 1.5, b: true, big: -(2n ** 62n), meta: { id: new Int32Array([7]) } },
      { n: -0, b: false, big: 3n, meta: { id: new Int32Array([8]) } },
    ]).batch(2, { stack: true });
    const [batch] = await ds.toArray();
    expect(batch?.n.data).toEqual(new Float64Array([1.5, -0]));
    expect(batch?.b.data).toEqual(new Uint8Array([1, 0]));
    expect(batch?.big.data).toEqual(new BigInt64Array([-(2n ** 62n), 3n]));
    expect(batch?.meta.id).toEqual({ data: new Int32Array([7, 8]), shape: [2, 1] });
  });

  it("stacks elements that are numbers or typed arrays themselves", async () => {
    expect(await Dataset.range(3).batch(3, { stack: true }).toArray()).toEqual([{ data: new Float64Array([0, 1, 2]), shape: [3] }]);
    const [typed] = await Dataset.range(2)
      .map((x) => new Uint8Array([x, x]))
      .batch(2, { stack: true })
      .toArray();
    expect(typed).toEqual({ data: new Uint8Array([0, 0, 1, 1]), shape: [2, 2] });
  });

  it("drops a short last batch with dropRemainder and names itself in the pipeline", async () => {
    const ds = records(5).batch(2, { stack: true, dropRemainder: true });
    expect(ds.cardinality()).toBe(2);
    expect(await ds.toArray()).toHaveLength(2);
    expect(ds.toString()).toBe("Range -> Map -> Batch(2, dropRemainder, stack)");
  });

  it("resumes after the last batch handed out", async () => {
    const it1 = records(7).batch(3, { stack: true }).iterator();
    await it1.next();
    const state = JSON.parse(JSON.stringify(await it1.save()));
    expect(state.root).toMatchObject({ kind: "StackBatch", version: 1, batches: 1 });
    const rest = await records(7).batch(3, { stack: true }).iterator({ state }).next();
    expect(rest.value?.y.data).toEqual(new Float64Array([3, 4, 5]));
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
    it("refuses typed arrays of another length or kind", async () => {
      await fails(
        Dataset.fromArray<unknown>([{ x: new Float32Array(2) }, { x: new Float32Array(3) }]).batch(2, { stack: true }),
        /^batch\(size, \{ stack: true \}\) needs component "x" of element 1 to be a Float32Array of length 2 .*got a Float32Array of length 3/,
      );
      await fails(Dataset.fromArray<unknown>([new Float32Array(2), new Int32Array(2)]).batch(2, { stack: true }), /element 1 to be a Float32Array of length 2/);
    });
    it("refuses records with other keys, strings and plain arrays", async () => {
      await fails(Dataset.fromArray<unknown>([{ a: 1 }, { b: 1 }]).batch(2, { stack: true }), /component "a" of element 1 to be present/);
      await fails(Dataset.fromArray<unknown>([{ a: 1 }, { a: 1, b: 2 }]).batch(2, { stack: true }), /element 1 to be a record of the keys a/);
      await fails(
        Dataset.fromArray<unknown>([{ s: "x" }]).batch(2, { stack: true }),
        /component "s" of element 0 to be a number, boolean, bigint, typed array/,
      );
      await fails(Dataset.fromArray<unknown>([[1, 2]]).batch(1, { stack: true }), /Float32Array.from/);
    });
    it("numbers elements across batches", async () => {
      await fails(Dataset.fromArray<unknown>([1, 2, 3, "4"]).batch(2, { stack: true }), /element 3 to be a number/);
    });
    it("refuses unknown options of batch, listing the known ones", () => {
      expect(() => Dataset.range(3).batch(2, { stacked: true } as never)).toThrow(/has no option "stacked"; its options are: dropRemainder, stack/);
    });
  });
});
