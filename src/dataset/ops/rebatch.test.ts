import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../errors.js";
import { Dataset } from "../dataset.js";

describe("rebatch", () => {
  describe("TensorFlow's documented examples", () => {
    it("range(8).batch(4).rebatch(2)", async () => {
      expect(await Dataset.range(8).batch(4).rebatch(2).toArray()).toEqual([
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7],
      ]);
    });
    it("range(16).batch(4).rebatch([2, 1, 1]): sizes taken in turn", async () => {
      expect(await Dataset.range(16).batch(4).rebatch([2, 1, 1]).toArray()).toEqual([
        [0, 1],
        [2],
        [3],
        [4, 5],
        [6],
        [7],
        [8, 9],
        [10],
        [11],
        [12, 13],
        [14],
        [15],
      ]);
    });
  });

  it("fills new batches across input batch boundaries, as unbatch().batch(size) does", async () => {
    const input = (): Dataset<number[]> => Dataset.fromArray([[0, 1, 2], [], [3], [4, 5, 6, 7, 8], [9]]);
    expect(await input().rebatch(4).toArray()).toEqual(await input().unbatch().batch(4).toArray());
    expect(await input().rebatch(4).toArray()).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  it("takes typed array batches, yielding arrays", async () => {
    expect(
      await Dataset.fromArray([new Int32Array([1, 2, 3]), new Int32Array([4])])
        .rebatch(2)
        .toArray(),
    ).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("saves the items not yet handed out, and which size comes next", async () => {
    const ds = (): Dataset<number[]> => Dataset.range(10).batch(4).rebatch([3, 1]);
    const it1 = ds().iterator();
    await it1.next();
    const state = JSON.parse(JSON.stringify(await it1.save()));
    expect(state.root).toMatchObject({ kind: "Rebatch", version: 1, rest: [3], turn: 1 });
    const rest: number[][] = [];
    for await (const b of { [Symbol.asyncIterator]: () => ds().iterator({ state }) }) rest.push(b);
    expect(rest).toEqual([[3], [4, 5, 6], [7], [8, 9]]);
  });

  it("refuses bad sizes, and elements that are not batches", async () => {
    expect(() => Dataset.range(4).batch(2).rebatch(0)).toThrow(/rebatch\(size\) needs an integer ≥ 1; got 0/);
    expect(() => Dataset.range(4).batch(2).rebatch([])).toThrow(/rebatch\(sizes\) needs at least one size/);
    const error = await (Dataset.range(3) as unknown as Dataset<number[]>)
      .rebatch(2)
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
  });
});
