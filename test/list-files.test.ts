/**
 * `Dataset.listFiles`: globs in sorted order, unions of patterns, seeded shuffles, a clear
 * error when nothing matches, exact resume (the listing is saved with the state), and the
 * TensorFlow idiom `listFiles(...).interleave((f) => Dataset.tfrecord(f), ...)`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dataset, InvalidArgumentError, NotFoundError, TFRecordWriter } from "../src/index.js";
import { describeCheckpointing, drain, takeN } from "./harness.js";

const DIR = mkdtempSync(join(tmpdir(), "checkpipe-list-files-"));
const at = (...parts: string[]): string => join(DIR, ...parts);
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

const SHARDS = ["b.tfrecord", "a.tfrecord", "d.tfrecord", "c.tfrecord", "e.tfrecord"];
const RECORDS_PER_SHARD = 7;

beforeAll(async () => {
  mkdirSync(at("shards"));
  for (const name of SHARDS) {
    const writer = await TFRecordWriter.open(at("shards", name));
    for (let i = 0; i < RECORDS_PER_SHARD; i++) await writer.write(new TextEncoder().encode(`${name}#${i}`));
    await writer.close();
  }
  writeFileSync(at("shards", "notes.txt"), "not a shard");
  mkdirSync(at("shards", "dir.tfrecord")); // a directory whose name matches: never listed
  mkdirSync(at("nested", "x", "y"), { recursive: true });
  for (const file of ["nested/part-2", "nested/x/part-0", "nested/x/y/part-1", "nested/x/other"]) writeFileSync(at(file), "");
});

afterAll(() => {
  rmSync(DIR, { recursive: true, force: true });
});

describe("Dataset.listFiles", () => {
  it("lists the files matching a glob in sorted order, skipping directories and other names", async () => {
    const files = await Dataset.listFiles(at("shards", "*.tfrecord")).toArray();
    expect(files).toEqual(["a", "b", "c", "d", "e"].map((x) => at("shards", `${x}.tfrecord`)));
  });

  it("matches across directories with ** and returns relative paths for relative patterns", async () => {
    const pattern = relative(process.cwd(), at("nested")) + "/**/part-*";
    const files = await Dataset.listFiles(pattern).toArray();
    expect(files).toEqual(
      [at("nested", "part-2"), at("nested", "x", "part-0"), at("nested", "x", "y", "part-1")].map((f) => relative(process.cwd(), f)).sort(),
    );
  });

  it("takes an array of patterns: the sorted union, each file once", async () => {
    const files = await Dataset.listFiles([at("shards", "[ab].tfrecord"), at("shards", "*.txt"), at("shards", "a.*")]).toArray();
    expect(files).toEqual([at("shards", "a.tfrecord"), at("shards", "b.tfrecord"), at("shards", "notes.txt")]);
  });

  it("shuffles deterministically per seed, and differently for another seed", async () => {
    const sorted = await Dataset.listFiles(at("shards", "*")).toArray();
    const shuffled = (seed: number): Promise<string[]> => Dataset.listFiles(at("shards", "*"), { shuffle: true, seed }).toArray();
    const first = await shuffled(1);
    expect(await shuffled(1)).toEqual(first);
    expect([...first].sort()).toEqual(sorted);
    const orders = new Set<string>();
    for (let seed = 0; seed < 8; seed++) orders.add((await shuffled(seed)).join("|"));
    expect(orders.size).toBeGreaterThan(1);
  });

  it("raises NotFoundError naming the pattern when nothing matches, once, then ends", async () => {
    const pattern = at("shards", "*.missing");
    const it = Dataset.listFiles(pattern).iterator();
    const error = await it.next().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toContain(`expected the pattern ${JSON.stringify(pattern)} to match at least one file`);
    expect(await Dataset.listFiles(pattern).ignoreErrors().toArray()).toEqual([]);
  });

  it("rejects a pattern that is not a non-empty string or array of them, and bad options", () => {
    expect(() => Dataset.listFiles("")).toThrow(InvalidArgumentError);
    expect(() => Dataset.listFiles([])).toThrow(InvalidArgumentError);
    expect(() => Dataset.listFiles([at("*"), 3 as unknown as string])).toThrow("Dataset.listFiles(pattern)[1] needs a non-empty glob pattern; got 3.");
    expect(() => Dataset.listFiles(at("*"), { shuffle: "yes" as unknown as boolean })).toThrow(InvalidArgumentError);
    expect(() => Dataset.listFiles(at("*"), { shuffle: true, seed: 1.5 })).toThrow("Dataset.listFiles(pattern, { seed }) needs an integer; got 1.5.");
  });

  it("restores the saved listing: files added after the save are not read", async () => {
    const dir = at("growing");
    mkdirSync(dir);
    for (const name of ["1", "2", "3"]) writeFileSync(join(dir, name), "");
    const it = Dataset.listFiles(join(dir, "*")).iterator();
    expect(await takeN(it, 1)).toEqual([join(dir, "1")]);
    const state = JSON.parse(JSON.stringify(await it.save()));
    writeFileSync(join(dir, "0"), "");
    writeFileSync(join(dir, "4"), "");
    expect(await drain(Dataset.listFiles(join(dir, "*")).iterator({ state }))).toEqual([join(dir, "2"), join(dir, "3")]);
  });

  it("refuses a damaged saved state, naming what it expected", async () => {
    const it = Dataset.listFiles(at("shards", "*")).iterator();
    await it.next();
    const state = JSON.parse(JSON.stringify(await it.save()));
    expect(state.root).toMatchObject({ kind: "ListFiles", version: 1, index: 1 });
    const beyond = { ...state, root: { ...state.root, index: 99 } };
    await expect(Dataset.listFiles(at("shards", "*")).iterator({ state: beyond }).next()).rejects.toThrow(
      "Cannot restore ListFiles: root.index should be an index from 0 to 6, the number of files saved; got 99.",
    );
    const notPaths = { ...state, root: { ...state.root, files: [1, 2] } };
    await expect(Dataset.listFiles(at("shards", "*")).iterator({ state: notPaths }).next()).rejects.toThrow(InvalidArgumentError);
  });

  it("reads TFRecord shards with the interleave idiom", async () => {
    const ds = Dataset.listFiles(at("shards", "*.tfrecord"))
      .interleave((f) => Dataset.tfrecord(f), { cycleLength: 4 })
      .map(text);
    const out = await ds.toArray();
    expect(out).toHaveLength(SHARDS.length * RECORDS_PER_SHARD);
    expect(out.slice(0, 5)).toEqual(["a.tfrecord#0", "b.tfrecord#0", "c.tfrecord#0", "d.tfrecord#0", "a.tfrecord#1"]);
    expect(new Set(out).size).toBe(out.length);
  });
});

describeCheckpointing("listFiles (sorted)", () => Dataset.listFiles(at("shards", "*")), {
  expectOutput: (out) => expect(out).toHaveLength(SHARDS.length + 1),
});

describeCheckpointing("listFiles (shuffled, seeded)", () => Dataset.listFiles([at("shards", "*"), at("nested", "**")], { shuffle: true, seed: 3 }), {
  expectOutput: (out) => expect(out).toHaveLength(SHARDS.length + 5),
});

describeCheckpointing(
  "listFiles -> interleave(tfrecord, cycleLength 4)",
  () =>
    Dataset.listFiles(at("shards", "*.tfrecord"), { shuffle: true, seed: 11 })
      .interleave((f) => Dataset.tfrecord(f), { cycleLength: 4 })
      .map(text),
  { expectOutput: (out) => expect(out).toHaveLength(SHARDS.length * RECORDS_PER_SHARD) },
);
