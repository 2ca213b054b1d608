/**
 * Hostile sizes in the record readers: a long line in a compressed file is looked for once per
 * buffer doubling (linear, not once per decompressed chunk), a record over `maxRecordBytes` is
 * a DataLossError naming the file, byte and line (the rest of that file is not read, the next
 * file is), and a TFRecord header claiming a huge record is refused before anything is buffered.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { END } from "../src/core/iterator.js";
import { DEFAULT_MAX_RECORD_BYTES, RecordFileNode } from "../src/dataset/sources/record-file-source.js";
import type { RecordContext, RecordFormat } from "../src/dataset/sources/record-format.js";
import { textLinesFormat } from "../src/dataset/sources/text-lines.js";
import { maskedCrc32c } from "../src/formats/crc32c.js";
import { encodeFrame } from "../src/formats/tfrecord-frame.js";
import { DataLossError, Dataset, InvalidArgumentError } from "../src/index.js";
import { settleAll } from "./harness.js";

const DIR = mkdtempSync(join(tmpdir(), "checkpipe-limits-"));
const write = (name: string, bytes: string | Uint8Array, gzip = false): string => {
  const file = join(DIR, name);
  writeFileSync(file, gzip ? gzipSync(bytes) : bytes);
  return file;
};

/** Values and errors of one full iteration, apart. */
async function valuesAndErrors<T>(dataset: Dataset<T>): Promise<{ values: T[]; errors: Error[] }> {
  const all = await settleAll(dataset);
  return { values: all.flatMap((o) => ("value" in o ? [o.value] : [])), errors: all.flatMap((o) => ("error" in o ? [o.error] : [])) };
}

describe("a long line in a compressed file", () => {
  it("is looked for a few times (once per buffer doubling), not once per decompressed chunk", async () => {
    const mib = 24;
    const text = Buffer.alloc(mib * 2 ** 20 + 4, "a");
    text.write("\nend", text.length - 4);
    const file = write("long.txt.gz", text, true);
    let decodes = 0;
    const counting: RecordFormat<string> = {
      ...textLinesFormat,
      decode(buffer: Uint8Array, offset: number, ctx: RecordContext) {
        decodes++;
        return textLinesFormat.decode(buffer, offset, ctx);
      },
    };
    const it = new RecordFileNode([file], counting, "gzip").makeIterator();
    const lines: string[] = [];
    for (let line = await it.next(); line !== END; line = await it.next()) lines.push(line);
    await it.close();
    expect(lines.map((l) => l.length)).toEqual([mib * 2 ** 20, 3]);
    // 1 MiB → 32 MiB is 6 doublings; the old reader decoded once per 256 KiB chunk (~96 times).
    expect(decodes).toBeLessThanOrEqual(16);
  });
});

describe("maxRecordBytes", () => {
  it.each([0, -1, 1.5, "64", Number.NaN, 536_870_889])("is checked for the text readers: %s", (value) => {
    for (const read of [Dataset.textLines, Dataset.jsonl, Dataset.csv] as const) {
      expect(() => read("x.txt", { maxRecordBytes: value as number })).toThrow(InvalidArgumentError);
    }
  });

  it("is checked for TFRecord (up to 2 GiB + 16 bytes of framing)", () => {
    expect(() => Dataset.tfrecord("x.tfrecord", { maxRecordBytes: 0 })).toThrow(/maxRecordBytes.*an integer from 1 to 2147483664/s);
    expect(() => Dataset.tfrecord("x.tfrecord", { maxRecordBytes: 2 ** 31 + 16 })).not.toThrow();
    expect(() => Dataset.tfrecord("x.tfrecord", { maxRecordBytes: 2 ** 31 + 17 })).toThrow(InvalidArgumentError);
    expect(DEFAULT_MAX_RECORD_BYTES).toBe(256 * 2 ** 20);
  });

  for (const gzip of [false, true]) {
    it(`lets a line of exactly the limit through and refuses one byte more${gzip ? " (gzip)" : ""}, naming file, byte and line; the next file is read`, async () => {
      // Lines span their "\n": "ok\n" is 3 bytes, the 40-byte line with its "\n" 41.
      const long = write(`long-${gzip}.txt${gzip ? ".gz" : ""}`, `ok\n${"x".repeat(39)}\n${"y".repeat(40)}\nnever read\n`, gzip);
      const next = write(`next-${gzip}.txt${gzip ? ".gz" : ""}`, "next\n", gzip);
      const compression = gzip ? "gzip" : "none";
      const { values, errors } = await valuesAndErrors(Dataset.textLines([long, next], { compression, maxRecordBytes: 40 }));
      expect(values).toEqual(["ok", "x".repeat(39), "next"]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(DataLossError);
      expect(errors[0]!.message).toContain(`TextLines file ${JSON.stringify(long)}, record at byte 43 (line 3)`);
      expect(errors[0]!.message).toMatch(/maxRecordBytes = 40 bytes was expected; this one spans 41 bytes/);
    });
  }

  it("refuses a line longer than the buffer without buffering past the limit", async () => {
    const file = write("no-newline.jsonl.gz", Buffer.alloc(3 * 2 ** 20, "7"), true);
    const { values, errors } = await valuesAndErrors(Dataset.jsonl(file, { compression: "gzip", maxRecordBytes: 2 ** 20 + 5 }));
    expect(values).toEqual([]);
    expect(errors.map((e) => e.constructor.name)).toEqual(["DataLossError"]);
    expect(errors[0]!.message).toContain("this one spans more than 1048581 bytes");
  });

  it("applies to CSV rows as a whole (a quoted field across lines) and to blank lines skipped", async () => {
    const csv = write("rows.csv", `a,b\n1,"${"q\n".repeat(20)}"\n2,3\n`);
    const rows = await valuesAndErrors(Dataset.csv(csv, { header: true, maxRecordBytes: 30 }));
    expect(rows.values).toEqual([]);
    expect(rows.errors[0]).toBeInstanceOf(DataLossError);
    expect(rows.errors[0]!.message).toContain("record at byte 4 (line 2)");
    const blank = write("blank.jsonl", `1\n${" ".repeat(100)}\n2\n`);
    const lines = await valuesAndErrors(Dataset.jsonl(blank, { maxRecordBytes: 50 }));
    expect(lines.values).toEqual([1]);
    expect(lines.errors.map((e) => e.constructor.name)).toEqual(["DataLossError"]);
  });

  it("is enforced the same in bulk pulls (batch) as one by one", async () => {
    const file = write("bulk.txt", `${"a\n".repeat(50)}${"b".repeat(20)}\nc\n`);
    const one = await valuesAndErrors(Dataset.textLines(file, { maxRecordBytes: 10 }));
    const bulk = await valuesAndErrors(Dataset.textLines(file, { maxRecordBytes: 10 }).batch(5));
    expect(bulk.values.flat()).toEqual(one.values);
    expect(one.values).toHaveLength(50);
    expect(bulk.errors.map((e) => e.constructor.name)).toEqual(["DataLossError"]);
  });
});

describe("a TFRecord length over maxRecordBytes", () => {
  it("is refused from its header, before the record is buffered or decompressed (a gzip file claiming 2 GiB)", async () => {
    const header = new Uint8Array(12);
    const view = new DataView(header.buffer);
    view.setBigUint64(0, 2n ** 31n, true);
    view.setUint32(8, maskedCrc32c(header.subarray(0, 8)), true);
    // 64 MiB of zeros behind the header: the error must come before they are inflated into a buffer.
    const file = write("claim.tfrecord.gz", Buffer.concat([encodeFrame(new Uint8Array([1, 2])), header, Buffer.alloc(64 * 2 ** 20)]), true);
    const it = Dataset.tfrecord(file, { compression: "gzip" }).iterator();
    expect(await it.next()).toEqual({ done: false, value: new Uint8Array([1, 2]) });
    const error = await it.next().catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(DataLossError);
    expect((error as Error).message).toContain(`TFRecord file ${JSON.stringify(file)}, record at byte 18:`);
    expect((error as Error).message).toContain("maxRecordBytes = 268435456 bytes was expected; this one spans 2147483664 bytes");
    expect(await it.next()).toEqual({ done: true, value: undefined });
    await it.close();
  });

  it("lets a frame of exactly the limit through", async () => {
    const file = write("exact.tfrecord", Buffer.concat([encodeFrame(new Uint8Array(84)), encodeFrame(new Uint8Array(85)), encodeFrame(new Uint8Array(1))]));
    const { values, errors } = await valuesAndErrors(Dataset.tfrecord(file, { maxRecordBytes: 100 }));
    expect(values.map((v) => v.length)).toEqual([84]);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringContaining("record at byte 100: a record of at most maxRecordBytes = 100 bytes was expected; this one spans 101 bytes"),
    ]);
  });
});
