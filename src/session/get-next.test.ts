import { describe, expect, it } from "vitest";
import { Dataset } from "../dataset/dataset.js";
import { OutOfRangeError } from "../errors.js";
import { getNext } from "./get-next.js";
import { Graph } from "./graph.js";
import { Operation } from "./operation.js";
import { Session } from "./session.js";
import { computed } from "./tensor.js";

describe("getNext", () => {
  it("yields one element per run, however many fetches and operations read it", async () => {
    const session = new Session();
    const features = getNext(Dataset.range(5).iterator());
    const seen: number[] = [];
    const train = new Operation("train", async (run) => void seen.push(await run.eval(features)));
    const doubled = computed("doubled", async (run) => 2 * (await run.eval(features)));
    expect(await session.run([train, features, doubled, features])).toEqual([null, 0, 0, 0]);
    expect(await session.run({ train, x: features })).toEqual({ train: null, x: 1 });
    expect(await session.run(features)).toBe(2);
    expect(seen).toEqual([0, 1]);
  });

  it("throws OutOfRangeError, End of sequence naming the iterator, once the input is exhausted", async () => {
    const graph = new Graph();
    const session = new Session(graph);
    const features = graph.asDefault(() =>
      getNext(
        Dataset.range(2)
          .map((x) => x * 10)
          .iterator(),
      ),
    );
    expect(await session.run(features)).toBe(0);
    expect(await session.run(features)).toBe(10);
    const end = session.run(features);
    await expect(end).rejects.toThrow(OutOfRangeError);
    await expect(session.run(features)).rejects.toThrow('End of sequence: iterator "Iterator" (Range -> Map) has no more elements [[node IteratorGetNext]].');
  });

  it("is named IteratorGetNext by default, uniquely in its graph", () => {
    const graph = new Graph();
    const names = graph.asDefault(() => {
      const it = Dataset.range(3).iterator();
      return [getNext(it).name, getNext(it, "features").name, getNext(it).name];
    });
    expect(names).toEqual(["IteratorGetNext", "features", "IteratorGetNext_1"]);
  });

  it("rejects something that is not an iterator", () => {
    expect(() => getNext([1, 2] as never)).toThrow("getNext(iterator) needs a DatasetIterator; got an array of length 2. Pass dataset.iterator().");
  });
});
