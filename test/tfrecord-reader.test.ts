/**
 * `Dataset.tfrecord`: reads what TensorFlow wrote, resumes exactly (plain, gzip, zlib,
 * interleaved, records larger than the read buffer, empty files), restores by seeking, reports
 * bad input as DataLossError / NotFoundError naming the file, and holds no file open after
 * close or the end.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IteratorContext } from "../src/core/iterator.js";
import { encodeFrame, decodeFrame } from "../src/formats/tfrecord-frame.js";
import {
  DataLossError,
  Dataset,
  InvalidArgumentError,
  NotFoundError,
  TFRecordWriter,
  parseExample,
  type IteratorState,
  type TFRecordCompression,
} from "../src/index.js";
import { describeCheckpointing, drain, takeN } from "./harness.js";

const IRIS = fileURLToPath(new URL("./fixtures/tfrecord-iris/", import.meta.url));
const IRIS_FILES = ["train", "eval"].flatMap((split) => [0, 1, 2].map((i) => join(IRIS, `${split}/part-0000${i}-of-00003.tfrecords`)));

const DIR = mkdtempSync(join(tmpdir(), "checkpipe-tfrecord-"));
const path = (name: string): string => join(DIR, name);

/** Deterministic record `i` of `size` bytes. */
function record(i: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = (i + 1) * 2654435761;
  for (let k = 0; k < size; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[k] = x >>> 24;
  }
  return bytes;
}

const digest = (bytes: Uint8Array): string => `${bytes.length}:${createHash("sha1").update(bytes).digest("hex").slice(0, 12)}`;

async function writeRecords(name: string, records: readonly Uint8Array[], compression: TFRecordCompression = "none"): Promise<string> {
  const writer = await TFRecordWriter.open(path(name), { compression });
  for (const r of records) await writer.write(r);
  await writer.close();
  return path(name);
}

/** The byte offset of each record's frame in an uncompressed file, and of the end. */
function frameOffsets(records: readonly Uint8Array[]): number[] {
  const offsets = [0];
  for (const r of records) offsets.push(offsets[offsets.length - 1]! + r.length + 16);
  return offsets;
}

/** File descriptors of this process open on files of the temp dir (Linux), or null elsewhere. */
function openInDir(): number | null {
  let fds: string[];
  try {
    fds = readdirSync("/proc/self/fd");
  } catch {
    return null;
  }
  let count = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(DIR)) count++;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

const SIZES = [
  [5, 17, 0, 300, 64, 1],
  [1000, 3, 3, 3],
  [2_000, 12, 9],
] as const;
const SMALL = SIZES.map((sizes, f) => sizes.map((size, i) => record(f * 100 + i, size)));
const ALL_SMALL = SMALL.flat();
const MIB = 1 << 20;
const LARGE = [100, 1.3 * MIB, 50, 2.6 * MIB, 3000, 1.1 * MIB].map((size, i) => record(500 + i, Math.floor(size)));
const SMALL_PATHS = SMALL.map((_, f) => path(`small-${f}.tfrecord`));
const GZIP_PATHS = SMALL.map((_, f) => path(`small-${f}.tfrecord.gz`));
const ZLIB_PATHS = SMALL.map((_, f) => path(`small-${f}.tfrecord.zz`));
const EMPTY = path("empty.tfrecord");
const CORRUPT_AT = 3; // a record of the first small file
const BIG_RECORDS = 100_000;
const bigRecord = (i: number): Uint8Array => record(10_000 + i, 40 + (i % 89));

beforeAll(async () => {
  for (let f = 0; f < SMALL.length; f++) {
    await writeRecords(`small-${f}.tfrecord`, SMALL[f]!);
    await writeRecords(`small-${f}.tfrecord.gz`, SMALL[f]!, "gzip");
    await writeRecords(`small-${f}.tfrecord.zz`, SMALL[f]!, "zlib");
  }
  await writeRecords("empty.tfrecord", []);
  await writeRecords("empty.tfrecord.gz", [], "gzip");
  await writeRecords("large.tfrecord", LARGE);
  const bytes = new Uint8Array(await readFile(SMALL_PATHS[0]!));
  const at = frameOffsets(SMALL[0]!)[CORRUPT_AT]!;
  const data = bytes.slice();
  data[at + 12 + 100]! ^= 0x01; // inside record 3's data
  await writeFile(path("bad-data.tfrecord"), data);
  const length = bytes.slice();
  length[at + 1]! ^= 0x40; // record 3's length
  await writeFile(path("bad-length.tfrecord"), length);
  await writeFile(path("truncated.tfrecord"), bytes.subarray(0, at + 20));
  const big = Buffer.concat(Array.from({ length: BIG_RECORDS }, (_, i) => encodeFrame(bigRecord(i))));
  await writeFile(path("big.tfrecord"), big);
  // 4 MiB that are not TFRecord framing, then records: reading from the start would fail.
  await writeFile(path("garbage-then-records.tfrecord"), Buffer.concat([record(9, 4 * MIB), ...SMALL[1]!.map((r) => encodeFrame(r))]));
  mkdirSync(path("a-directory"));
});

afterAll(() => {
  rmSync(DIR, { recursive: true, force: true });
});

describe("Dataset.tfrecord reading TensorFlow's Iris files", () => {
  it("reads all 150 records (130 train, 20 eval), each equal to a direct decode of the file bytes", async () => {
    const direct: Uint8Array[] = [];
    for (const file of IRIS_FILES) {
      const bytes = new Uint8Array(await readFile(file));
      for (let f = decodeFrame(bytes, 0, { source: file, position: 0 }); f !== null; f = decodeFrame(bytes, f.end, { source: file, position: f.end })) {
        direct.push(f.data);
      }
    }
    const train = await Dataset.tfrecord(IRIS_FILES.slice(0, 3)).toArray();
    const evaluation = await Dataset.tfrecord(IRIS_FILES.slice(3)).toArray();
    expect([train.length, evaluation.length]).toEqual([130, 20]);
    const all = await Dataset.tfrecord([...IRIS_FILES]).toArray();
    expect(all.map((r) => parseExample(r))).toEqual(direct.map((r) => parseExample(r)));
    expect(all.map((r) => Buffer.from(r).toString("hex"))).toEqual(direct.map((r) => Buffer.from(r).toString("hex")));
    const spec = { sepal_length: { kind: "fixed", dtype: "float32", shape: [1] } } as const;
    expect(parseExample(all[0]!, spec).sepal_length).toBeInstanceOf(Float32Array);
  });

  it("describes itself as TFRecord and has an unknown cardinality", () => {
    expect(Dataset.tfrecord(IRIS_FILES).toString()).toBe("TFRecord");
    expect(Dataset.tfrecord(IRIS_FILES).cardinality()).toBeNull();
  });
});

describe("Dataset.tfrecord checkpointing", () => {
  const exactly = (expected: () => readonly Uint8Array[]) => (out: Uint8Array[]) => expect(out).toEqual(expected());
  describeCheckpointing("one file", () => Dataset.tfrecord(SMALL_PATHS[0]!), { expectOutput: exactly(() => SMALL[0]!) });
  describeCheckpointing("several files, an empty one among them", () => Dataset.tfrecord([SMALL_PATHS[0]!, EMPTY, SMALL_PATHS[1]!, SMALL_PATHS[2]!]), {
    expectOutput: exactly(() => ALL_SMALL),
  });
  describeCheckpointing(
    "several files, pulled in bulk by batch",
    () =>
      Dataset.tfrecord(SMALL_PATHS)
        .batch(4)
        .map((b) => b.map(digest)),
    {
      expectOutput: (out) => expect(out.flat()).toEqual(ALL_SMALL.map(digest)),
    },
  );
  describeCheckpointing("gzip", () => Dataset.tfrecord(GZIP_PATHS, { compression: "gzip" }), { expectOutput: exactly(() => ALL_SMALL) });
  describeCheckpointing("zlib", () => Dataset.tfrecord(ZLIB_PATHS, { compression: "zlib" }), { expectOutput: exactly(() => ALL_SMALL) });
  describeCheckpointing("a Dataset of paths", () => Dataset.tfrecord(Dataset.fromArray(SMALL_PATHS)), { expectOutput: exactly(() => ALL_SMALL) });
  describeCheckpointing("interleaved files", () => Dataset.fromArray(SMALL_PATHS).interleave((f) => Dataset.tfrecord(f), { cycleLength: 2 }), {
    expectOutput: (out) => expect(out.map(digest).sort()).toEqual(ALL_SMALL.map(digest).sort()),
  });
  describeCheckpointing("records larger than the read buffer", () => Dataset.tfrecord(path("large.tfrecord")).map(digest), {
    expectOutput: (out) => expect(out).toEqual(LARGE.map(digest)),
  });
  describeCheckpointing("empty files only", () => Dataset.tfrecord([EMPTY, EMPTY, path("empty.tfrecord")]), { expectOutput: (out) => expect(out).toEqual([]) });
  describeCheckpointing("an empty gzip file", () => Dataset.tfrecord(path("empty.tfrecord.gz"), { compression: "gzip" }), {
    expectOutput: (out) => expect(out).toEqual([]),
  });
  describeCheckpointing("a data CRC mismatch skipped by ignoreErrors", () => Dataset.tfrecord([path("bad-data.tfrecord"), SMALL_PATHS[1]!]).ignoreErrors(), {
    expectOutput: exactly(() => [...SMALL[0]!.filter((_, i) => i !== CORRUPT_AT), ...SMALL[1]!]),
  });
});

describe("Dataset.tfrecord restore", () => {
  it("seeks to a saved offset deep in a large file and reads the right record", async () => {
    const offsets = frameOffsets(Array.from({ length: BIG_RECORDS - 10 }, (_, i) => bigRecord(i)));
    const k = BIG_RECORDS - 10;
    const state: IteratorState = {
      format: "checkpipe.iterator",
      version: 1,
      pipeline: "TFRecord",
      ended: false,
      root: { kind: "TFRecord", version: 1, fileIndex: 0, offset: offsets[k]! },
    };
    const it = Dataset.tfrecord(path("big.tfrecord")).iterator({ state });
    expect(await takeN(it, 10)).toEqual(Array.from({ length: 10 }, (_, i) => bigRecord(k + i)));
    expect((await it.next()).done).toBe(true);
  });

  it("does not read the bytes before the saved offset (they are garbage here)", async () => {
    const state: IteratorState = {
      format: "checkpipe.iterator",
      version: 1,
      pipeline: "TFRecord",
      ended: false,
      root: { kind: "TFRecord", version: 1, fileIndex: 0, offset: 4 * MIB },
    };
    await expect(Dataset.tfrecord(path("garbage-then-records.tfrecord")).toArray()).rejects.toThrow(DataLossError);
    expect(await drain(Dataset.tfrecord(path("garbage-then-records.tfrecord")).iterator({ state }))).toEqual(SMALL[1]);
  });

  it("saves the file index and the byte offset of the next record", async () => {
    const it = Dataset.tfrecord([SMALL_PATHS[0]!, SMALL_PATHS[1]!]).iterator();
    await takeN(it, SMALL[0]!.length + 2);
    const state = await it.save();
    expect(state.root).toEqual({ kind: "TFRecord", version: 1, fileIndex: 1, offset: frameOffsets(SMALL[1]!)[2] });
    await it.close();
  });

  it("rejects a state whose offset lies beyond the end of the file, naming it", async () => {
    const state = {
      format: "checkpipe.iterator",
      version: 1,
      pipeline: "TFRecord",
      ended: false,
      root: { kind: "TFRecord", version: 1, fileIndex: 0, offset: 1e9 },
    };
    await expect(Dataset.tfrecord(SMALL_PATHS[0]!).iterator({ state }).next()).rejects.toThrow(/offset 1000000000 lies beyond the end/);
  });

  it("answers synchronously while records are buffered, one by one and in bulk", async () => {
    const it = Dataset.tfrecord(SMALL_PATHS[0]!).node.makeIterator({} as IteratorContext);
    const first = it.next();
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual(SMALL[0]![0]);
    expect(it.next()).toEqual(SMALL[0]![1]);
    const out: Uint8Array[] = [];
    expect(it.nextMany!(out, 100)).toBe(SMALL[0]!.length - 2);
    expect(out).toEqual(SMALL[0]!.slice(2));
    await it.close();
  });
});

describe("Dataset.tfrecord errors", () => {
  it("reports a missing file as NotFoundError naming the path", async () => {
    const missing = path("no-such.tfrecord");
    const error = await Dataset.tfrecord(missing)
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toBe(
      `TFRecord: no file at ${JSON.stringify(missing)}. Check the path (relative paths start at ${JSON.stringify(process.cwd())}), or list the files that exist with a glob.`,
    );
  });

  it("reports a directory as InvalidArgumentError saying it is a directory", async () => {
    const error = await Dataset.tfrecord(path("a-directory"))
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(`${JSON.stringify(path("a-directory"))}, which is a directory`);
  });

  it("reports a corrupted data byte as DataLossError naming the file and the record's offset", async () => {
    const bad = path("bad-data.tfrecord");
    const at = frameOffsets(SMALL[0]!)[CORRUPT_AT]!;
    const error = await Dataset.tfrecord(bad)
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataLossError);
    expect((error as Error).message).toContain(`TFRecord file ${JSON.stringify(bad)}, record at byte ${at}: the masked CRC32C of its data`);
  });

  it("skips exactly the record with a bad data CRC under ignoreErrors, and continues in the file", async () => {
    const skipped: unknown[] = [];
    const out = await Dataset.tfrecord(path("bad-data.tfrecord"))
      .ignoreErrors({ onError: (e) => skipped.push(e) })
      .toArray();
    expect(out).toEqual(SMALL[0]!.filter((_, i) => i !== CORRUPT_AT));
    expect(skipped).toHaveLength(1);
  });

  it("after a bad length, raises once and goes on with the next file", async () => {
    const bad = path("bad-length.tfrecord");
    const errors: unknown[] = [];
    const out = await Dataset.tfrecord([bad, SMALL_PATHS[1]!])
      .ignoreErrors({ onError: (e) => errors.push(e) })
      .toArray();
    expect(out).toEqual([...SMALL[0]!.slice(0, CORRUPT_AT), ...SMALL[1]!]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(DataLossError);
    expect((errors[0] as Error).message).toContain(`record at byte ${frameOffsets(SMALL[0]!)[CORRUPT_AT]}: the masked CRC32C of its length`);
  });

  it("reports a truncated file as DataLossError, then goes on with the next file", async () => {
    const cut = path("truncated.tfrecord");
    const at = frameOffsets(SMALL[0]!)[CORRUPT_AT]!;
    const it = Dataset.tfrecord([cut, SMALL_PATHS[1]!]).iterator();
    expect(await takeN(it, CORRUPT_AT)).toEqual(SMALL[0]!.slice(0, CORRUPT_AT));
    const error = await it.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataLossError);
    expect((error as Error).message).toContain(
      `TFRecord file ${JSON.stringify(cut)}, record at byte ${at}: the file ends inside a record; expected a 316-byte record, found 20 bytes`,
    );
    const state = await it.save();
    expect(state.root).toMatchObject({ fileIndex: 1, offset: 0 });
    expect(await drain(it)).toEqual(SMALL[1]);
  });

  it("validates its arguments: expected, got, fix", () => {
    expect(() => Dataset.tfrecord(SMALL_PATHS, { compression: "lz4" as never })).toThrow(
      `Dataset.tfrecord(files, { compression }) needs "none", "gzip" or "zlib"; got "lz4". Use "gzip" for TensorFlow's "GZIP", "zlib" for "ZLIB", or leave it out for uncompressed files.`,
    );
    expect(() => Dataset.tfrecord(["a.tfrecord", 7 as never])).toThrow("Dataset.tfrecord(files)[1] needs a file path (a non-empty string); got 7.");
    expect(() => Dataset.tfrecord(42 as never)).toThrow(InvalidArgumentError);
    expect(() => Dataset.tfrecord("", {})).toThrow(InvalidArgumentError);
    expect(() => Dataset.tfrecord(Dataset.fromArray(["a"]), { verifyCrc: "yes" as never })).toThrow("needs a boolean");
  });

  it("reads corrupt records unchecked with verifyCrc: false", async () => {
    const out = await Dataset.tfrecord(path("bad-data.tfrecord"), { verifyCrc: false }).toArray();
    expect(out).toHaveLength(SMALL[0]!.length);
    expect(out[CORRUPT_AT]).not.toEqual(SMALL[0]![CORRUPT_AT]);
  });
});

describe("Dataset.tfrecord properties", () => {
  const records = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 });

  it("reads back exactly the records written, in any compression", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(records, fc.constantFrom<TFRecordCompression>("none", "gzip", "zlib"), async (written, compression) => {
        const file = await writeRecords(`prop-${run++}.tfrecord`, written, compression);
        expect(await Dataset.tfrecord(file, { compression }).toArray()).toEqual(written.map((r) => new Uint8Array(r)));
      }),
      { numRuns: 40, seed: 20240601 },
    );
  });

  it("after truncation or a flipped byte yields correct records then DataLossError, never a wrong record", async () => {
    let run = 0;
    const damage = fc.oneof(
      fc.record({ kind: fc.constant("cut" as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({ kind: fc.constant("flip" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bit: fc.integer({ min: 0, max: 7 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 12 }), damage, async (written, d) => {
        const bytes = Buffer.concat(written.map((r) => encodeFrame(r)));
        const index = Math.min(bytes.length - 1, Math.floor(d.at * bytes.length));
        const damaged = d.kind === "cut" ? bytes.subarray(0, index) : Buffer.from(bytes);
        if (d.kind === "flip") damaged[index]! ^= 1 << d.bit;
        const file = path(`damaged-${run++}.tfrecord`);
        await writeFile(file, damaged);
        const expected = written.map((r) => new Uint8Array(r));
        const it = Dataset.tfrecord(file).iterator();
        const seen: Uint8Array[] = [];
        for (;;) {
          const result = await it.next().catch((e: unknown) => e);
          if (result instanceof Error) {
            expect(result).toBeInstanceOf(DataLossError);
            expect(result.message).toContain(JSON.stringify(file));
            break;
          }
          const r = result as IteratorResult<Uint8Array>;
          if (r.done === true) break;
          seen.push(r.value);
        }
        await it.close();
        expect(seen).toEqual(expected.slice(0, seen.length));
        const kept = await Dataset.tfrecord(file).ignoreErrors().toArray();
        let j = 0;
        for (const r of kept) {
          while (j < expected.length && Buffer.compare(expected[j]!, r) !== 0) j++;
          expect(j, "every record read is one written, in order").toBeLessThan(expected.length);
          j++;
        }
      }),
      { numRuns: 100, seed: 7 },
    );
  });
});

describe.skipIf(openInDir() === null)("Dataset.tfrecord file handles", () => {
  it("holds one file open while reading and none after close, even when closed twice", async () => {
    for (const [paths, compression] of [
      [SMALL_PATHS, "none"],
      [GZIP_PATHS, "gzip"],
    ] as const) {
      const it = Dataset.tfrecord(paths, { compression }).iterator();
      await it.next();
      // A plain file stays open while it is read; a gzip read stream may already have read the
      // whole (small) compressed file and released its descriptor while decompression goes on.
      if (compression === "none") expect(openInDir()).toBe(1);
      else expect(openInDir()).toBeLessThanOrEqual(1);
      await it.close();
      expect(openInDir()).toBe(0);
      await it.close();
    }
  });

  it("holds none after reaching the end, or after a restore then close", async () => {
    await Dataset.tfrecord(SMALL_PATHS).toArray();
    expect(openInDir()).toBe(0);
    const saver = Dataset.tfrecord(GZIP_PATHS, { compression: "gzip" }).iterator();
    await takeN(saver, 8);
    const state = await saver.save();
    await saver.close();
    const restored = Dataset.tfrecord(GZIP_PATHS, { compression: "gzip" }).iterator();
    await takeN(restored, 3);
    await restored.restore(state);
    expect(await takeN(restored, 1)).toEqual([ALL_SMALL[8]]);
    await restored.close();
    expect(openInDir()).toBe(0);
  });

  it("closes the file when an error ends it", async () => {
    await Dataset.tfrecord([path("truncated.tfrecord"), path("bad-length.tfrecord")])
      .ignoreErrors()
      .toArray();
    expect(openInDir()).toBe(0);
    await expect(Dataset.tfrecord(path("bad-data.tfrecord")).toArray()).rejects.toThrow(DataLossError);
    expect(openInDir()).toBe(0);
  });
});
