/**
 * The pipelines whose saved states are kept as golden files: old states must keep loading.
 * Each builder must keep building the same pipeline forever; add new ones, never change one.
 */
import { Dataset } from "../../src/index.js";

export const GOLDEN_PIPELINES: Readonly<Record<string, () => Dataset<unknown>>> = {
  "range-map-filter-batch": () =>
    Dataset.range(100)
      .map((x) => x * 3)
      .filter((x) => x % 2 === 0)
      .batch(4),
  "shuffle-repeat": () => Dataset.range(30).shuffle(8, { seed: 11 }).repeat(3),
  "interleave-unbatch": () =>
    Dataset.range(6)
      .interleave((i) => Dataset.range(i * 10, i * 10 + 5).batch(2), { cycleLength: 3, blockLength: 2 })
      .unbatch(),
  "flatmap-zip-enumerate": () =>
    Dataset.zip({ a: Dataset.range(8).flatMap((x) => [x, -x]), b: Dataset.fromArray(["p", "q", "r"]).repeat() }).enumerate(5),
  "parallel-map-prefetch": () =>
    Dataset.range(40)
      .map(async (x) => ({ x, big: BigInt(x) ** 3n, f: new Float32Array([x, NaN]) }), { parallel: 4 })
      .prefetch(5),
  "take-skip-shard-concat": () => Dataset.range(50).skip(3).take(40).shard(3, 1).concatenate(Dataset.fromArray([-1, -2])),
  "scan-cache": () =>
    Dataset.range(12)
      .scan({ sum: 0 }, (s, x) => [{ sum: s.sum + x }, s.sum])
      .cache()
      .repeat(2),
  "file-readers": () =>
    Dataset.zip([
      Dataset.listFiles("test/fixtures/tfrecord-iris/*/*.tfrecords").interleave((file) => Dataset.tfrecord(file), { cycleLength: 2 }),
      Dataset.jsonl("test/fixtures/text/rows.jsonl").repeat(),
      Dataset.csv("test/fixtures/text/rows.csv", { header: true }).repeat(),
      Dataset.textLines("test/fixtures/text/rows.csv").repeat(),
    ]).take(60),
  "ignore-errors": () =>
    Dataset.range(20)
      .map((x) => {
        if (x % 4 === 1) throw new Error(`bad ${x}`);
        return x;
      })
      .ignoreErrors(),
  "worker-threads": () =>
    Dataset.fromWorkers<number>(new URL("../fixtures/workers/shards.mjs", import.meta.url), { workers: 2, export: "unseeded" })
      .mapInWorkers<number>(new URL("../fixtures/workers/square.mjs", import.meta.url), { workers: 2, export: "later" })
      .batch(3),
  "filter-map-shuffle-positions": () =>
    Dataset.range(60)
      .filter((x) => x % 3 !== 1)
      .map((x) => ({ x }))
      .shuffle(8, { seed: 6 })
      .repeat(2),
  "tf-parity-combinators": () =>
    Dataset.zip([
      Dataset.sampleFromDatasets(
        [Dataset.fromTensorSlices({ a: Int16Array.from({ length: 20 }, (_, i) => i), b: [...Array(20).keys()].map((i) => [i, `r${i}`]) }), Dataset.counter(1000, 2).take(15)],
        { weights: [2, 1], seed: 5 },
      ),
      Dataset.chooseFromDatasets([Dataset.range(30), Dataset.random({ seed: 8 })], Dataset.fromArray([0, 1, 1, 0]).repeat()),
      Dataset.range(300).rejectionResample((x) => x % 3, { targetDist: [1, 2, 1], seed: 4 }),
    ]).take(25),
};

/**
 * The generation of the golden files generate.ts writes now: v1 before the ops' states had
 * schemas; v2 when Map, Filter and Shuffle saved held entries, Zip always its keys and the
 * line-counting readers always their line and note; v3 when Shuffle saved `pulled` and, over
 * inputs with random access, buffer positions instead of elements; v4 when Filter saved
 * `pulled` (how many elements it took from an input with random access).
 */
export const GOLDEN_GENERATION = "v4";

/** How many elements to take before saving a golden state. */
export const GOLDEN_SPLIT = 7;
