/**
 * Restoring a state that does not fit (DESIGN.md, contract point 4): a differently built
 * pipeline, an unknown version, or something that is not a state at all fails with
 * InvalidArgumentError naming both sides, never with a wrong sequence.
 */
import { describe, expect, it } from "vitest";
import { Dataset, InvalidArgumentError, ITERATOR_STATE_VERSION, type IteratorState, type JsonValue } from "../src/index.js";
import { drain, roundTrip, takeN } from "./harness.js";

async function savedAt<T>(ds: Dataset<T>, count: number): Promise<IteratorState> {
  const it = ds.iterator();
  await takeN(it, count);
  const state = roundTrip(await it.save());
  await it.close();
  return state;
}

/** The state with `edit` applied to a deep copy of its JSON tree. */
function edited(state: IteratorState, edit: (tree: { [key: string]: JsonValue }) => void): IteratorState {
  const tree = JSON.parse(JSON.stringify(state)) as { [key: string]: JsonValue };
  edit(tree);
  return tree as unknown as IteratorState;
}

describe("restoring into a differently built pipeline", () => {
  it("rejects with InvalidArgumentError naming the op expected and the op found, and both pipelines", async () => {
    const state = await savedAt(
      Dataset.range(10).map((x) => x * 2),
      3,
    );
    const restoring = Dataset.range(10).shuffle(4, { seed: 1 }).iterator().restore(state);
    await expect(restoring).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(restoring).rejects.toThrow(/^Cannot restore Shuffle: the saved state at this place in the pipeline \(root\) is of Map, not Shuffle\./);
    await expect(restoring).rejects.toThrow(/This iterator runs Range -> Shuffle\(4\); the state was saved from Range -> Map\.$/);
    await expect(restoring).rejects.toMatchObject({ code: "INVALID_ARGUMENT", expected: "Shuffle", received: "Map" });
  });

  it("reports the mismatch on the first next() when the state is given to iterator({ state })", async () => {
    const state = await savedAt(
      Dataset.range(10).map((x) => x),
      2,
    );
    const it = Dataset.range(10).shuffle(4, { seed: 1 }).iterator({ state });
    await expect(it.next()).rejects.toThrow(
      /Cannot restore Shuffle: .* of Map, not Shuffle\. .*This iterator runs Range -> Shuffle\(4\); the state was saved from Range -> Map\./,
    );
    await expect(it.next()).rejects.toThrow(InvalidArgumentError);
    await expect(it.save()).rejects.toThrow(InvalidArgumentError);
  });

  it("finds a mismatch deep in the pipeline, at the source", async () => {
    const state = await savedAt(
      Dataset.range(10)
        .map((x) => x)
        .batch(2),
      1,
    );
    const restoring = Dataset.fromArray([1, 2, 3])
      .map((x) => x)
      .batch(2)
      .iterator()
      .restore(state);
    await expect(restoring).rejects.toThrow(
      /^Cannot restore FromArray: the saved state at this place in the pipeline \(root\.input\.input\) is of Range, not FromArray\. .*This iterator runs FromArray -> Map -> Batch\(2\); the state was saved from Range -> Map -> Batch\(2\)\.$/,
    );
  });

  it("rejects a pipeline with an op more or an op less", async () => {
    const state = await savedAt(
      Dataset.range(10).map((x) => x),
      1,
    );
    await expect(
      Dataset.range(10)
        .map((x) => x)
        .batch(2)
        .iterator()
        .restore(state),
    ).rejects.toThrow(/Cannot restore Batch: .* of Map, not Batch\. .*This iterator runs Range -> Map -> Batch\(2\); the state was saved from Range -> Map\./);
    await expect(Dataset.range(10).iterator().restore(state)).rejects.toThrow(
      /Cannot restore Range: .* of Map, not Range\. .*This iterator runs Range; the state was saved from Range -> Map\./,
    );
  });

  it("rejects a zip of a different number of datasets, saying both counts", async () => {
    const state = await savedAt(Dataset.zip([Dataset.range(3), Dataset.range(3)]), 1);
    await expect(
      Dataset.zip([Dataset.range(3), Dataset.range(3), Dataset.range(3)])
        .iterator()
        .restore(state),
    ).rejects.toThrow(
      /^Cannot restore Zip: it zips 3 datasets, the saved state zips 2\. .*This iterator runs Zip\(Range, Range, Range\); the state was saved from Zip\(Range, Range\)\.$/,
    );
  });

  it("rejects an interleave with a different cycleLength, saying both", async () => {
    const state = await savedAt(
      Dataset.range(5).interleave((x) => [x, x], { cycleLength: 2 }),
      3,
    );
    await expect(
      Dataset.range(5)
        .interleave((x) => [x, x], { cycleLength: 3 })
        .iterator()
        .restore(state),
    ).rejects.toThrow(
      /Interleave needs a saved state with 3 cycle slots; got 2\. .*This iterator runs Range -> Interleave\(cycleLength=3\); the state was saved from Range -> Interleave\(cycleLength=2\)\./,
    );
  });

  it("leaves the iterator usable: a later restore of a fitting state succeeds", async () => {
    const ds = Dataset.range(10).shuffle(4, { seed: 1 });
    const good = await savedAt(ds, 4);
    const bad = await savedAt(
      Dataset.range(10).map((x) => x),
      2,
    );
    const it = ds.iterator();
    await expect(it.restore(bad)).rejects.toThrow(InvalidArgumentError);
    await it.restore(good);
    expect(await drain(it)).toEqual((await ds.toArray()).slice(4));
  });
});

describe("restoring a state of an unknown version", () => {
  it("rejects an unknown envelope version, naming both versions", async () => {
    const state = edited(await savedAt(Dataset.range(10), 2), (tree) => {
      tree["version"] = 99;
    });
    const restoring = Dataset.range(10).iterator().restore(state);
    await expect(restoring).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(restoring).rejects.toThrow(
      `Cannot restore an iterator over Range: the state has envelope version 99, and this version of checkpipe reads version ${ITERATOR_STATE_VERSION}.`,
    );
    await expect(restoring).rejects.toMatchObject({ expected: `version ${ITERATOR_STATE_VERSION}`, received: "99" });
  });

  it("rejects an unknown version of one op's state, naming the op, both versions and both pipelines", async () => {
    const state = edited(await savedAt(Dataset.range(10).shuffle(3, { seed: 2 }).batch(2), 1), (tree) => {
      const batch = tree["root"] as { [key: string]: JsonValue };
      (batch["input"] as { [key: string]: JsonValue })["version"] = 7;
    });
    await expect(Dataset.range(10).shuffle(3, { seed: 2 }).batch(2).iterator().restore(state)).rejects.toThrow(
      /^Cannot restore Shuffle: its saved state \(root\.input\) has version 7, and this version of checkpipe reads versions 1, 2, 3\. .*This iterator runs Range -> Shuffle\(3\) -> Batch\(2\); the state was saved from Range -> Shuffle\(3\) -> Batch\(2\)\.$/,
    );
  });
});

describe("restoring something that is not a state", () => {
  const ds = Dataset.range(10);
  const notStates: [string, unknown, RegExp][] = [
    ["a plain object", { foo: 1 }, /got an object with format undefined\./],
    ["null", null, /got null\./],
    ["a string", "state", /got "state"\./],
    ["an op's state instead of the envelope", { kind: "Range", version: 1, index: 3 }, /got an object with format undefined\./],
    ["an envelope of another format", { format: "tf.data", version: 1 }, /got an object with format "tf\.data"\./],
  ];
  for (const [name, value, got] of notStates) {
    it(`rejects ${name}, saying what a state is`, async () => {
      const restoring = ds.iterator().restore(value as IteratorState);
      await expect(restoring).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(restoring).rejects.toThrow(
        /^Cannot restore an iterator over Range: expected a state saved by DatasetIterator\.save\(\) \(format "checkpipe\.iterator"\); /,
      );
      await expect(restoring).rejects.toThrow(got);
    });
  }

  it("rejects an envelope without its root state", async () => {
    const state = edited(await savedAt(ds, 1), (tree) => {
      tree["root"] = null;
    });
    await expect(ds.iterator().restore(state)).rejects.toThrow(/the state has no "ended" flag or no root state\. The state is damaged/);
  });

  it("rejects a damaged field, naming the op, the path of the field and the value found", async () => {
    const state = edited(await savedAt(ds, 1), (tree) => {
      (tree["root"] as { [key: string]: JsonValue })["index"] = "three";
    });
    await expect(ds.iterator().restore(state)).rejects.toThrow(
      /^Cannot restore Range: root\.index should be an integer ≥ 0; got "three"\. .*This iterator runs Range; the state was saved from Range\.$/,
    );
  });
});

describe("restoring into a pipeline whose parameters differ", () => {
  it("rejects a zip of a different record with both key lists", async () => {
    const state = await savedAt(Dataset.zip({ x: Dataset.range(5), y: Dataset.range(5) }), 2);
    await expect(
      Dataset.zip({ x: Dataset.range(5), z: Dataset.range(5) })
        .iterator()
        .restore(state),
    ).rejects.toThrow(/Cannot restore Zip: it zips the record \{x, z\}, the saved state zips the record \{x, y\}\./);
    await expect(
      Dataset.zip([Dataset.range(5), Dataset.range(5)])
        .iterator()
        .restore(state),
    ).rejects.toThrow(/it zips an array of datasets, the saved state zips the record \{x, y\}/);
  });

  it("continues under the new parameters and warns, naming both pipelines", async () => {
    const state = await savedAt(Dataset.range(20).batch(4).take(3), 1);
    const warnings: Error[] = [];
    const listen = (w: Error): void => {
      warnings.push(w);
    };
    process.on("warning", listen);
    try {
      const out = await drain(Dataset.range(20).batch(5).take(3).iterator({ state }));
      await new Promise((resolve) => setImmediate(resolve));
      expect(out).toEqual([
        [4, 5, 6, 7, 8],
        [9, 10, 11, 12, 13],
      ]);
      const warning = warnings.find((w) => (w as { code?: string }).code === "CHECKPIPE_PIPELINE_CHANGED");
      expect(warning?.message).toMatch(/saved from "Range -> Batch\(4\) -> Take\(3\)" into "Range -> Batch\(5\) -> Take\(3\)"/);
    } finally {
      process.off("warning", listen);
    }
  });
});
