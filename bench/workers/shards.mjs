// The fromWorkers side of the TFRecord case: worker i reads every numWorkers-th file of the
// directory named by CHECKPIPE_BENCH_SHARDS, parses each Example and applies the CPU function.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Dataset, parseExample } from "../../dist/index.js";
import { cpuExample } from "./cpu.mjs";

export const SPEC = { id: { kind: "fixed", dtype: "int64", shape: [1] }, values: { kind: "fixed", dtype: "float32", shape: [32] } };

/** The TFRecord files of the case, sorted. */
export function shardFiles() {
  const dir = process.env.CHECKPIPE_BENCH_SHARDS;
  return readdirSync(dir)
    .filter((f) => f.endsWith(".tfrecord"))
    .sort()
    .map((f) => join(dir, f));
}

/** One example's result, read from its record. */
export function parseAndMix(bytes) {
  const example = parseExample(bytes, SPEC);
  return cpuExample({ id: example.id, values: example.values });
}

export default function shard({ workerIndex, numWorkers }) {
  const files = shardFiles().filter((_, i) => i % numWorkers === workerIndex);
  return Dataset.fromArray(files)
    .interleave((file) => Dataset.tfrecord(file), { cycleLength: 2 })
    .map(parseAndMix);
}

/** The parse alone, for mapInWorkers over records read on the main thread. */
export function parse(bytes) {
  return parseAndMix(bytes);
}
