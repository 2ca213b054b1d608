/**
 * Option objects: an unknown key (a tf.data spelling, a typo) is an InvalidArgumentError that
 * lists the known ones, never ignored; a value that is not an object gets a fix that fits the call.
 */
import { describe, expect, it } from "vitest";
import { Dataset, InvalidArgumentError } from "../src/index.js";

const ds = Dataset.range(4);
const calls: [string, () => unknown, RegExp][] = [
  [
    "batch",
    () => ds.batch(2, { drop_remainder: true } as never),
    /batch\(size, options\) has no option "drop_remainder"; its options are: dropRemainder, stack\./,
  ],
  ["map", () => ds.map((x) => x, { numParallelCalls: 4 } as never), /map\(fn, options\) has no option "numParallelCalls"; its options are: parallel\./],
  ["shuffle", () => ds.shuffle(2, { reshuffle_each_iteration: false } as never), /its options are: seed, reshuffleEachIteration/],
  [
    "interleave",
    () => ds.interleave((x) => [x], { cycle_length: 2 } as never),
    /interleave\(fn, options\) has no option "cycle_length"; its options are: cycleLength, blockLength/,
  ],
  ["ignoreErrors", () => ds.ignoreErrors({ log: true } as never), /its options are: onError/],
  ["withOptions", () => ds.withOptions({ deterministic: true } as never), /its options are: externalStatePolicy/],
  ["iterator", () => ds.iterator({ stat: {} } as never), /iterator\(options\) has no option "stat"; its options are: state, name/],
  ["tfrecord", () => Dataset.tfrecord("x", { compression_type: "GZIP" } as never), /its options are: compression, verifyCrc, maxRecordBytes, index/],
  ["textLines", () => Dataset.textLines("x", { encoding: "utf8" } as never), /its options are: compression, maxRecordBytes, index/],
  [
    "csv",
    () => Dataset.csv("x", { field_delim: ";" } as never),
    /its options are: compression, maxRecordBytes, delimiter, header, columnNames, selectCols, columns/,
  ],
  ["listFiles", () => Dataset.listFiles("*.x", { sort: true } as never), /its options are: shuffle, seed/],
];

describe("an unknown option", () => {
  for (const [name, call, message] of calls) {
    it(`is refused by ${name}, listing the known ones`, () => {
      expect(call).toThrow(InvalidArgumentError);
      expect(call).toThrow(message);
    });
  }
});

describe("options that are not an object", () => {
  it("get a fix that fits the call", () => {
    expect(() => ds.batch(2, true as never)).toThrow(/Pass an object such as \{ dropRemainder: true \}, or nothing\./);
    expect(() => ds.map((x) => x, 8 as never)).toThrow(/Pass an object such as \{ parallel: 8 \}, or nothing\./);
    expect(() => ds.shuffle(2, 42 as never)).toThrow(/Pass an object such as \{ seed: 42 \}, or nothing\./);
  });
});

describe("an iterator as a resource", () => {
  it("closes through Symbol.asyncDispose (await using)", async () => {
    const it = Dataset.range(5).iterator();
    await it.next();
    await it[Symbol.asyncDispose]();
    expect(await it.next()).toEqual({ done: true, value: undefined });
    await expect(it.save()).rejects.toThrow(/it is closed/);
  });
});
