import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError, NotFoundError, RuntimeError } from "../errors.js";
import { decodeFrame, encodeFrame } from "./tfrecord-frame.js";
import { TFRecordWriter } from "./tfrecord-writer.js";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-writer-"));
});
afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

function readAll(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let offset = 0;
  for (let f = decodeFrame(bytes, 0, { source: "t", position: 0 }); f !== null; f = decodeFrame(bytes, offset, { source: "t", position: offset })) {
    out.push(f.data);
    offset = f.end;
  }
  expect(offset).toBe(bytes.length);
  return out;
}

describe("TFRecordWriter", () => {
  it("writes each record framed, in order", async () => {
    const path = join(dir, "plain.tfrecord");
    const writer = await TFRecordWriter.open(path);
    const records = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new TextEncoder().encode("hello")];
    for (const r of records) await writer.write(r);
    await writer.close();
    const bytes = new Uint8Array(await readFile(path));
    expect(bytes).toEqual(new Uint8Array(Buffer.concat(records.map(encodeFrame))));
    expect(String(writer)).toBe(`TFRecordWriter(${JSON.stringify(path)})`);
  });

  it("keeps memory bounded by waiting for the stream to drain, and loses nothing", async () => {
    const path = join(dir, "many.tfrecord.gz");
    const writer = await TFRecordWriter.open(path, { compression: "gzip" });
    const record = new Uint8Array(64 * 1024).map((_, i) => i * 7);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      record[0] = i;
      pending.push(writer.write(record.slice()));
    }
    await Promise.all(pending);
    await writer.close();
    const out = readAll(new Uint8Array(gunzipSync(await readFile(path))));
    expect(out.length).toBe(200);
    expect(out.map((r) => r[0])).toEqual([...Array(200).keys()].map((i) => i & 255));
  });

  it("refuses writes after close with a clear error; close twice is harmless", async () => {
    const path = join(dir, "closed.tfrecord");
    const writer = await TFRecordWriter.open(path);
    await writer.close();
    await writer.close();
    await expect(writer.write(new Uint8Array(1))).rejects.toThrowError(RuntimeError);
    await expect(writer.write(new Uint8Array(1))).rejects.toThrowError(
      `TFRecordWriter for ${JSON.stringify(path)}: write() needs an open writer; it was closed. Write every record before close(), or open a new writer (which truncates the file).`,
    );
  });

  it("rejects bad arguments with expected / got / fix", async () => {
    await expect(TFRecordWriter.open("")).rejects.toThrowError(
      'TFRecordWriter.open(path) needs a file path (a non-empty string); got "". Pass where to write, e.g. "data/train.tfrecord".',
    );
    await expect(TFRecordWriter.open(join(dir, "x"), { compression: "GZIP" as never })).rejects.toThrowError(
      `TFRecordWriter.open(path, { compression }) needs "none", "gzip" or "zlib"; got "GZIP". Use "gzip" for TensorFlow's "GZIP", "zlib" for "ZLIB".`,
    );
    const writer = await TFRecordWriter.open(join(dir, "arg.tfrecord"));
    await expect(writer.write("text" as never)).rejects.toThrowError(InvalidArgumentError);
    await expect(writer.write([1, 2] as never)).rejects.toThrowError(/write\(record\) needs a Uint8Array; got an array of length 2\./);
    await writer.close();
  });

  it("names a missing directory (NotFoundError) or a directory given as the path", async () => {
    await expect(TFRecordWriter.open(join(dir, "no", "such", "dir", "f.tfrecord"))).rejects.toThrowError(NotFoundError);
    await expect(TFRecordWriter.open(dir)).rejects.toThrowError(/needs a file path; got .*, which is a directory/);
  });
});
