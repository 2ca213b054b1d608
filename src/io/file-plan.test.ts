/**
 * File plans: a write phase leaves exactly the bytes under the final names and no temporary
 * file; plans run in the order given; an unlink phase passes over missing files; a failed plan
 * rejects with the file system's `code` and `path`, cleans its temporaries, and does not stop the
 * plans after it; `plannedFile` copies its input and names every temporary uniquely.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isTemporaryName, removeStaleTemporaries } from "./atomic-file.js";
import { NotFoundError } from "../errors.js";
import { lastPlanThread, plannedFile, runFilePlan, temporaryInUse, type FilePhase, type PlannedFile } from "./file-plan.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-file-plan-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function write(files: readonly PlannedFile[], sync = true): FilePhase {
  return { kind: "write", files, sync };
}

function unlink(paths: readonly string[], sync = true): FilePhase {
  return { kind: "unlink", paths, sync };
}

/** Every name in `at` (default: the test's directory), recursively, sorted. */
async function namesIn(at = dir): Promise<string[]> {
  return (await readdir(at, { recursive: true })).sort();
}

/** Matches a checkpipe error whose cause is the file system's error, with this `code` and `path`. */
function fsError(code: string, path: string | RegExp): Error {
  const cause = expect.objectContaining({ code, path: typeof path === "string" ? path : expect.stringMatching(path) }) as unknown;
  return expect.objectContaining({ code: code === "ENOENT" ? "NOT_FOUND" : "FAILED_PRECONDITION", cause }) as Error;
}

describe("runFilePlan: a write phase", () => {
  it("creates every file with exactly its bytes and leaves no temporary file", async () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7919) % 256); // spans several write calls' worth, zeros included
    const plan = [write([plannedFile(join(dir, "a.bin"), [bytes]), plannedFile(join(dir, "b.txt"), ["é ", "中", "\n"]), plannedFile(join(dir, "empty"), [])])];
    await runFilePlan(plan);
    expect(await namesIn()).toEqual(["a.bin", "b.txt", "empty"]);
    expect(new Uint8Array(await readFile(join(dir, "a.bin")))).toEqual(bytes);
    expect(await readFile(join(dir, "b.txt"), "utf8")).toBe("é 中\n");
    expect((await readFile(join(dir, "empty"))).byteLength).toBe(0);
  });

  it("replaces an existing file whole, with sync off as with sync on", async () => {
    await writeFile(join(dir, "f"), "an older and longer content");
    await runFilePlan([write([plannedFile(join(dir, "f"), ["new"])], false)]);
    expect(await readFile(join(dir, "f"), "utf8")).toBe("new");
    expect(await namesIn()).toEqual(["f"]);
  });

  it("writes into several directories in one phase", async () => {
    await mkdir(join(dir, "sub"));
    await runFilePlan([write([plannedFile(join(dir, "top"), ["1"]), plannedFile(join(dir, "sub", "inner"), ["2"])])]);
    expect(await namesIn()).toEqual(["sub", join("sub", "inner"), "top"]);
    expect(await readFile(join(dir, "sub", "inner"), "utf8")).toBe("2");
  });

  it("runs phases in order: a file written then deleted is gone, deleted then written is there", async () => {
    const path = join(dir, "f");
    await runFilePlan([write([plannedFile(path, ["x"])]), unlink([path])]);
    expect(await namesIn()).toEqual([]);
    await runFilePlan([unlink([path]), write([plannedFile(path, ["y"])])]);
    expect(await readFile(path, "utf8")).toBe("y");
  });
});

describe("runFilePlan: where plans run", () => {
  it("in the writer thread, a module started from the TypeScript sources here (the built package starts its .js)", async () => {
    await runFilePlan([write([plannedFile(join(dir, "f"), ["x"])])]);
    expect(lastPlanThread()).toBe("writer thread");
  });
});

describe("runFilePlan: plans issued together", () => {
  it("run one at a time in the order given: the second plan's content of a shared file wins", async () => {
    const path = join(dir, "shared");
    const big = new Uint8Array(4 << 20).fill(1); // the first plan is the slower one
    const first = runFilePlan([write([plannedFile(path, [big])])]);
    const second = runFilePlan([write([plannedFile(path, ["second"])])]);
    await Promise.all([first, second]);
    expect(await readFile(path, "utf8")).toBe("second");
  });

  it("keep their order over many plans, a deletion included", async () => {
    const path = join(dir, "f");
    const plans = Array.from({ length: 20 }, (_, i) => runFilePlan(i === 13 ? [unlink([path])] : [write([plannedFile(path, [`plan ${i}`])])]));
    await Promise.all(plans);
    expect(await readFile(path, "utf8")).toBe("plan 19");
    expect(await namesIn()).toEqual(["f"]);
  });
});

describe("runFilePlan: an unlink phase", () => {
  it("deletes the files given and passes over those that do not exist", async () => {
    await writeFile(join(dir, "a"), "a");
    await writeFile(join(dir, "c"), "c");
    await writeFile(join(dir, "keep"), "k");
    await runFilePlan([unlink([join(dir, "a"), join(dir, "missing"), join(dir, "c"), join(dir, "missing", "deeper")])]);
    expect(await namesIn()).toEqual(["keep"]);
  });

  it("does nothing for an empty list of paths (and an empty plan)", async () => {
    await writeFile(join(dir, "keep"), "k");
    await runFilePlan([unlink([]), write([])]);
    await runFilePlan([]);
    expect(await namesIn()).toEqual(["keep"]);
  });
});

describe("runFilePlan: a failed plan", () => {
  it("rejects with a NotFoundError naming the file it could not create, whose cause is the file system's ENOENT, for a directory that does not exist", async () => {
    const path = join(dir, "missing", "f");
    const run = runFilePlan([write([plannedFile(path, ["x"])])]);
    await expect(run).rejects.toBeInstanceOf(NotFoundError);
    await expect(run).rejects.toThrow(`Creating a temporary file for ${path} failed: no such file or directory (ENOENT).`);
    await expect(run).rejects.toThrow(fsError("ENOENT", new RegExp(`^${escapeRegExp(path)}\\.tmp-`)));
    expect(await namesIn()).toEqual([]);
  });

  it("removes the temporaries it made before the failure, and renames nothing", async () => {
    const written = join(dir, "first");
    const run = runFilePlan([write([plannedFile(written, ["1"]), plannedFile(join(dir, "missing", "second"), ["2"])])]);
    await expect(run).rejects.toThrow(fsError("ENOENT", /missing/));
    expect(await namesIn()).toEqual([]);
  });

  it("removes its temporaries when a rename fails, leaving the files renamed before it in place", async () => {
    await mkdir(join(dir, "occupied"));
    await writeFile(join(dir, "occupied", "x"), "x");
    const run = runFilePlan([
      write([plannedFile(join(dir, "first"), ["1"]), plannedFile(join(dir, "occupied"), ["2"]), plannedFile(join(dir, "third"), ["3"])]),
    ]);
    await expect(run).rejects.toThrow(fsError("EISDIR", new RegExp(`^${escapeRegExp(join(dir, "occupied"))}\\.tmp-`)));
    const names = await namesIn();
    expect(names.filter((name) => isTemporaryName(name) || name.includes(".tmp-"))).toEqual([]);
    expect(names).toEqual(["first", "occupied", join("occupied", "x")]);
    expect(await readFile(join(dir, "first"), "utf8")).toBe("1");
  });

  it("rejects with EISDIR and the path when asked to unlink a non-empty directory, after deleting the paths before it", async () => {
    await mkdir(join(dir, "d"));
    await writeFile(join(dir, "d", "inside"), "i");
    await writeFile(join(dir, "before"), "b");
    await writeFile(join(dir, "after"), "a");
    const run = runFilePlan([unlink([join(dir, "before"), join(dir, "d"), join(dir, "after")])]);
    await expect(run).rejects.toThrow(fsError("EISDIR", join(dir, "d")));
    expect(await namesIn()).toEqual(["after", "d", join("d", "inside")]);
  });

  it("stops at the failed phase: the phases after it do not run", async () => {
    await mkdir(join(dir, "d"));
    await writeFile(join(dir, "d", "inside"), "i");
    const run = runFilePlan([unlink([join(dir, "d")]), write([plannedFile(join(dir, "later"), ["x"])])]);
    await expect(run).rejects.toThrow(fsError("EISDIR", join(dir, "d")));
    expect(await namesIn()).toEqual(["d", join("d", "inside")]);
  });

  it("does not stop the plans after it, issued before or after it failed", async () => {
    const failing = runFilePlan([write([plannedFile(join(dir, "missing", "f"), ["x"])])]);
    const next = runFilePlan([write([plannedFile(join(dir, "next"), ["n"])])]);
    await expect(failing).rejects.toThrow(fsError("ENOENT", /missing/));
    await expect(next).resolves.toBeUndefined();
    await expect(runFilePlan([write([plannedFile(join(dir, "later"), ["l"])])])).resolves.toBeUndefined();
    expect(await namesIn()).toEqual(["later", "next"]);
  });
});

describe("plannedFile", () => {
  it("joins text (as UTF-8) and bytes, in order, into one buffer", () => {
    const file = plannedFile("/x/f", ["ab", new Uint8Array([0, 255]), "", "é"]);
    expect(file.path).toBe("/x/f");
    expect([...file.data]).toEqual([0x61, 0x62, 0, 255, 0xc3, 0xa9]);
  });

  it("copies its chunks: changing a chunk after the call changes nothing, and the data owns its whole buffer", async () => {
    const backing = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const chunk = backing.subarray(2, 5);
    const file = plannedFile(join(dir, "f"), [chunk]);
    chunk.fill(0);
    backing.fill(9);
    expect([...file.data]).toEqual([3, 4, 5]);
    expect(file.data.buffer).not.toBe(backing.buffer);
    expect(file.data.byteOffset).toBe(0);
    expect(file.data.buffer.byteLength).toBe(3);
    await runFilePlan([write([file])]);
    expect([...(await readFile(join(dir, "f")))]).toEqual([3, 4, 5]);
    expect([...backing]).toEqual([9, 9, 9, 9, 9, 9, 9, 9]); // the caller's memory is untouched by the write
  });

  it("names the temporary <path>.tmp-<pid>-<8 hex digits>, a new one at every call", () => {
    const path = join(dir, "model.ckpt-1.index");
    const names = Array.from({ length: 1000 }, () => plannedFile(path, ["x"]).temporary);
    for (const name of names) {
      expect(name.startsWith(`${path}.tmp-${process.pid}-`)).toBe(true);
      expect(name.slice(path.length)).toMatch(/^\.tmp-\d+-[0-9a-f]{8}$/);
      expect(isTemporaryName(name)).toBe(true);
    }
    expect(new Set(names).size).toBe(names.length);
    expect(plannedFile(join(dir, "other"), ["x"]).temporary).not.toBe(plannedFile(join(dir, "other"), ["x"]).temporary);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("temporaries of plans under way", () => {
  it("are in use from the call until the plan settles, and cleanup of this process's leftovers passes over them", async () => {
    // A large plan first keeps the writer busy; the second plan waits behind it with its
    // temporary name already on disk (put there by hand, as a writer midway would leave it).
    const big = plannedFile(join(dir, "big"), [new Uint8Array(64 * 1024 * 1024)]);
    const small = plannedFile(join(dir, "small"), ["x"]);
    await writeFile(small.temporary, "midway");
    const first = runFilePlan([{ kind: "write", files: [big], sync: true }]);
    const second = runFilePlan([{ kind: "write", files: [small], sync: true }]);
    expect(temporaryInUse(small.temporary)).toBe(true);
    const removed = await removeStaleTemporaries(dir, () => true);
    expect(removed).not.toContain(basename(small.temporary));
    expect(await readdir(dir)).toContain(basename(small.temporary));
    await first;
    // The writer finds the name taken (nothing else would make it) and fails; the name is free again.
    await expect(second).rejects.toMatchObject({ code: "FAILED_PRECONDITION", cause: { code: "EEXIST" } });
    expect(temporaryInUse(small.temporary)).toBe(false);
    expect(await removeStaleTemporaries(dir, () => true)).toEqual([basename(small.temporary)]);
  });
});
