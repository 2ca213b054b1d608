/**
 * Offset indexes of record files (`index: true`): random access to TFRecord records and to
 * lines, the index kept beside the file and rebuilt when the file changes, records read by
 * index equal to those read in order (errors included), globalShuffle and a shuffle saving
 * positions over them, and the options checked.
 */
import { appendFileSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DataLossError, Dataset, parseExample, serializeExample, type IteratorState } from "../src/index.js";
import { encodeFrame } from "../src/formats/tfrecord-frame.js";
import { describeCheckpointing, drain, takeN } from "./harness.js";

const DIR = mkdtempSync(join(tmpdir(), "checkpipe-record-index-"));
const example = (i: number): Uint8Array => serializeExample({ id: [BigInt(i)], values: Float32Array.from({ length: 8 }, (_, k) => i + k / 10) });
const files = [0, 1, 2].map((f) => {
  const file = join(DIR, `part-${f}.tfrecord`);
  writeFileSync(file, Buffer.concat(Array.from({ length: 40 + f * 7 }, (_, k) => encodeFrame(example(f * 1000 + k)))));
  return file;
});
const spec = { id: { kind: "fixed", dtype: "int64", shape: [1] }, values: { kind: "fixed", dtype: "float32", shape: [8] } } as const;
const ids = (ds: Dataset<Uint8Array>): Dataset<number> => ds.map((bytes) => Number(parseExample(bytes, spec).id[0]));

describeCheckpointing("globalShuffle over indexed TFRecord files, parsed", () =>
  ids(Dataset.tfrecord(files, { index: true }))
    .globalShuffle({ seed: 8 })
    .batch(5),
);
describeCheckpointing("a shuffle saving positions over indexed JSON Lines", () => {
  const file = join(DIR, "rows.jsonl");
  if (!existsSync(file)) writeFileSync(file, Array.from({ length: 60 }, (_, i) => JSON.stringify({ i })).join("\n") + "\n\n");
  return Dataset.jsonl<{ i: number }>(file, { index: true }).shuffle(10, { seed: 2 });
});

describe("index: true", () => {
  it("reads by index exactly what reading in order reads, and keeps the index beside each file", async () => {
    const inOrder = await ids(Dataset.tfrecord(files)).toArray();
    const shuffled = await ids(Dataset.tfrecord(files, { index: true }))
      .globalShuffle({ seed: 1 })
      .toArray();
    expect([...shuffled].sort((a, b) => a - b)).toEqual([...inOrder].sort((a, b) => a - b));
    expect(shuffled).not.toEqual(inOrder);
    for (const file of files) expect(existsSync(`${file}.checkpipe-index`)).toBe(true);
  });

  it("keeps a shuffle's state small: positions, not records", async () => {
    const ds = Dataset.tfrecord(files, { index: true }).shuffle(100, { seed: 3 });
    const it = ds.iterator();
    const head = await takeN(it, 10);
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    const root = state.root as unknown as { positions: number[]; buffer: unknown[] };
    expect(root.positions).toHaveLength(99);
    expect(root.buffer).toEqual([]);
    const tail = await drain(it);
    expect(await drain(ds.iterator({ state }))).toEqual(tail);
    expect(head.length + tail.length).toBe(141);
  });

  it("rebuilds the index when the file changed", async () => {
    const file = join(DIR, "grows.tfrecord");
    writeFileSync(file, Buffer.concat([encodeFrame(example(1)), encodeFrame(example(2))]));
    expect(
      await ids(Dataset.tfrecord(file, { index: true }))
        .globalShuffle({ seed: 1 })
        .toArray(),
    ).toHaveLength(2);
    appendFileSync(file, encodeFrame(example(3)));
    expect(
      [
        ...(await ids(Dataset.tfrecord(file, { index: true }))
          .globalShuffle({ seed: 1 })
          .toArray()),
      ].sort(),
    ).toEqual([1, 2, 3]);
  });

  it("raises a damaged record's error in its place, as reading in order does", async () => {
    const file = join(DIR, "damaged.tfrecord");
    const bad = encodeFrame(example(7));
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff; // data CRC
    writeFileSync(file, Buffer.concat([encodeFrame(example(6)), bad, encodeFrame(example(8))]));
    const it = Dataset.tfrecord(file, { index: true }).globalShuffle({ seed: 1, reshuffleEachIteration: false }).iterator();
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++)
      outcomes.push(
        await it.next().then(
          (r) => (r.done === true ? "end" : "record"),
          (e: Error) => e.constructor.name,
        ),
      );
    expect(outcomes.sort()).toEqual(["DataLossError", "record", "record"]);
    expect(DataLossError).toBeDefined();
  });

  it("indexes lines, skipping blank JSON Lines", async () => {
    const file = join(DIR, "lines.jsonl");
    writeFileSync(file, '{"a":1}\n\n{"a":2}\r\n   \n{"a":3}');
    expect(
      await Dataset.jsonl(file, { index: true })
        .globalShuffle({ seed: 4 })
        .map((r) => (r as { a: number }).a)
        .toArray()
        .then((xs) => xs.sort()),
    ).toEqual([1, 2, 3]);
    expect((await Dataset.textLines(file, { index: true }).globalShuffle({ seed: 4 }).toArray()).length).toBe(5);
  });

  it("is checked: a boolean, uncompressed files, not for CSV", () => {
    expect(() => Dataset.tfrecord(files, { index: "yes" as never })).toThrow(/index.*a boolean/s);
    expect(() => Dataset.tfrecord(files, { index: true, compression: "gzip" })).toThrow(/uncompressed files/);
    expect(() => Dataset.csv("x.csv", { index: true } as never)).toThrow(/has no option "index"/);
    expect(() => Dataset.tfrecord(files).globalShuffle()).toThrow(/"TFRecord".*takes it away/);
  });
});
