import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../errors.js";
import { Dataset } from "../dataset.js";

describe("Dataset.chooseFromDatasets", () => {
  it("draws each element from the dataset the choice names (tf.data's example: foo, bar, baz three times)", async () => {
    const datasets = [Dataset.fromArray(["foo"]).repeat(), Dataset.fromArray(["bar"]).repeat(), Dataset.fromArray(["baz"]).repeat()];
    // A choice dataset of [0, 1, 2, 0, 1, 2, 0, 1, 2].
    const choiceDataset = Dataset.range(3).repeat(3);
    expect(await Dataset.chooseFromDatasets(datasets, choiceDataset).toArray()).toEqual(["foo", "bar", "baz", "foo", "bar", "baz", "foo", "bar", "baz"]);
  });

  it("yields the union of its inputs' element types", async () => {
    const mixed: Dataset<number | boolean> = Dataset.chooseFromDatasets([Dataset.range(2), Dataset.fromArray([true])], Dataset.fromArray([1, 0]));
    expect(await mixed.toArray()).toEqual([true, 0]);
  });

  it("reads each dataset in order and ends with the choices", async () => {
    const out = await Dataset.chooseFromDatasets([Dataset.range(10), Dataset.range(100, 110)], Dataset.fromArray([1, 1, 0, 1, 0])).toArray();
    expect(out).toEqual([100, 101, 0, 102, 1]);
  });

  it("ends at the first choice of a dataset that ended (stopOnEmptyDataset, the default)", async () => {
    const out = await Dataset.chooseFromDatasets([Dataset.range(1), Dataset.range(100, 110)], Dataset.fromArray([0, 1, 0, 1, 1])).toArray();
    expect(out).toEqual([0, 100]);
  });

  it("with stopOnEmptyDataset false, skips choices of a dataset that ended", async () => {
    const choices = Dataset.fromArray([0, 1, 0, 1, 0, 1]);
    const out = await Dataset.chooseFromDatasets([Dataset.range(1), Dataset.range(100, 110)], choices, { stopOnEmptyDataset: false }).toArray();
    expect(out).toEqual([0, 100, 101, 102]);
  });

  it("ends when every dataset ended, even with choices left", async () => {
    const out = await Dataset.chooseFromDatasets([Dataset.range(1), Dataset.range(1)], Dataset.fromArray([0, 1]).repeat(), {
      stopOnEmptyDataset: false,
    }).toArray();
    expect(out).toEqual([0, 0]);
  });

  it("lets the event loop run while many choices in a row name a dataset that ended", async () => {
    const choices = Dataset.fromArray([0])
      .repeat(50_001)
      .concatenate(Dataset.fromArray([1]));
    const it = Dataset.chooseFromDatasets([Dataset.range(1), Dataset.fromArray(["x"])], choices, { stopOnEmptyDataset: false }).iterator();
    expect(await it.next()).toEqual({ value: 0, done: false });
    let fired = false;
    setTimeout(() => (fired = true), 0);
    const firedBefore = await it.next().then((r) => {
      expect(r).toEqual({ value: "x", done: false });
      return fired;
    });
    expect(firedBefore).toBe(true);
  });

  it("raises an InvalidArgumentError naming a choice out of range, and goes on with the next choice", async () => {
    const it = Dataset.chooseFromDatasets([Dataset.range(3), Dataset.range(10, 13)], Dataset.fromArray([0, 2, 1, -1, 0.5, 0])).iterator();
    expect(await it.next()).toEqual({ value: 0, done: false });
    const error = await it.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(String(error)).toContain("the choice dataset yielded 2, which is not the index of one of the 2 datasets (an integer from 0 to 1)");
    expect(await it.next()).toEqual({ value: 10, done: false });
    await expect(it.next()).rejects.toThrow("yielded -1");
    await expect(it.next()).rejects.toThrow("yielded 0.5");
    expect(await it.next()).toEqual({ value: 1, done: false });
  });

  it("describes itself and counts what it can", () => {
    const ds = Dataset.chooseFromDatasets([Dataset.range(3), Dataset.range(4)], Dataset.fromArray([0, 1]));
    expect(String(ds)).toBe("ChooseFromDatasets(FromArray; Range, Range)");
    expect(ds.cardinality()).toBeNull();
    expect(Dataset.chooseFromDatasets([Dataset.range(3)], Dataset.range(0)).cardinality()).toBe(0);
  });

  it("rejects a choice dataset that is not a dataset, a bad flag, and unknown options, listing the known ones", () => {
    const ds = [Dataset.range(2)];
    expect(() => Dataset.chooseFromDatasets(ds, [0, 1] as never)).toThrow("Dataset.chooseFromDatasets(datasets, choiceDataset) needs a Dataset of indices");
    expect(() => Dataset.chooseFromDatasets(ds, Dataset.range(1), { stopOnEmptyDataset: "yes" as never })).toThrow('needs a boolean; got "yes".');
    const unknown = (): unknown => Dataset.chooseFromDatasets(ds, Dataset.range(1), { stopOnEmpty: true } as never);
    expect(unknown).toThrow(InvalidArgumentError);
    expect(unknown).toThrow('Dataset.chooseFromDatasets(datasets, choiceDataset, options) has no option "stopOnEmpty"; its options are: stopOnEmptyDataset.');
  });
});
