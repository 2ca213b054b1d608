import { describe, expect, it } from "vitest";
import { Dataset } from "../dataset.js";

const windows = (options?: Parameters<Dataset<number>["window"]>[1], size = 3): Promise<number[][]> => Dataset.range(7).window(size, options).toArray();

describe("window", () => {
  describe("TensorFlow's documented examples (range(7))", () => {
    it("window(3): consecutive windows, the last shorter", async () => {
      expect(await windows()).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    });
    it("window(3, shift 2, dropRemainder): overlapping windows", async () => {
      expect(await windows({ shift: 2, dropRemainder: true })).toEqual([
        [0, 1, 2],
        [2, 3, 4],
        [4, 5, 6],
      ]);
    });
    it("window(3, shift 1, dropRemainder): every full window", async () => {
      expect(await windows({ shift: 1, dropRemainder: true })).toEqual([
        [0, 1, 2],
        [1, 2, 3],
        [2, 3, 4],
        [3, 4, 5],
        [4, 5, 6],
      ]);
    });
    it("window(3, shift 1, stride 2, dropRemainder): strided windows", async () => {
      expect(await windows({ shift: 1, stride: 2, dropRemainder: true })).toEqual([
        [0, 2, 4],
        [1, 3, 5],
        [2, 4, 6],
      ]);
    });
    it("window(3, shift 1): without dropRemainder, the shorter windows at the end too", async () => {
      expect(await windows({ shift: 1 })).toEqual([[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6], [5, 6], [6]]);
    });
    it("window(3, shift 2, stride 2): shorter strided windows at the end", async () => {
      expect(await windows({ shift: 2, stride: 2 })).toEqual([[0, 2, 4], [2, 4, 6], [4, 6], [6]]);
    });
  });

  it("skips input elements when shift is longer than a window", async () => {
    expect(await Dataset.range(12).window(2, { shift: 5 }).toArray()).toEqual([
      [0, 1],
      [5, 6],
      [10, 11],
    ]);
    expect(await Dataset.range(11).window(2, { shift: 5 }).toArray()).toEqual([[0, 1], [5, 6], [10]]);
  });

  it("knows how many windows a counted input makes", async () => {
    for (const options of [
      {},
      { shift: 1 },
      { shift: 2, dropRemainder: true },
      { shift: 1, stride: 2, dropRemainder: true },
      { shift: 4, stride: 3 },
      { shift: 1, stride: 4, dropRemainder: true },
    ]) {
      const ds = Dataset.range(7).window(3, options);
      expect(ds.cardinality(), JSON.stringify(options)).toBe((await ds.toArray()).length);
    }
  });

  it("saves at most a window's span of input elements, and resumes after the last window", async () => {
    const ds = (): Dataset<number[]> => Dataset.range(100).window(4, { shift: 1 });
    const it1 = ds().iterator();
    for (let i = 0; i < 50; i++) await it1.next();
    const state = JSON.parse(JSON.stringify(await it1.save()));
    expect(state.root).toMatchObject({ kind: "Window", version: 1, skip: 0, ended: false, buffer: [50, 51, 52] });
    expect((await ds().iterator({ state }).next()).value).toEqual([50, 51, 52, 53]);
  });

  it("names itself in the pipeline and refuses bad or unknown options", () => {
    expect(Dataset.range(7).window(3, { shift: 1, stride: 2, dropRemainder: true }).toString()).toBe("Range -> Window(3, shift 1, stride 2, dropRemainder)");
    expect(() => Dataset.range(7).window(0)).toThrow(/window\(size\) needs an integer ≥ 1; got 0/);
    expect(() => Dataset.range(7).window(2, { shift: 0 })).toThrow(/window\(size, \{ shift \}\) needs an integer ≥ 1; got 0/);
    expect(() => Dataset.range(7).window(2, { step: 1 } as never)).toThrow(/has no option "step"; its options are: shift, stride, dropRemainder/);
  });
});
