/**
 * Where no worker thread can be started, plans run in the calling thread, with the same code.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("node:worker_threads", () => ({
  Worker: class {
    constructor() {
      throw new Error("worker threads are not available here");
    }
  },
}));

const { lastPlanThread, plannedFile, runFilePlan } = await import("./file-plan.js");

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-file-plan-fallback-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("runFilePlan without a worker thread", () => {
  it("writes, renames and deletes in the calling thread, in order, leaving no temporary", async () => {
    const a = plannedFile(join(dir, "a"), ["first"]);
    const b = plannedFile(join(dir, "a"), ["second"]);
    const c = plannedFile(join(dir, "c"), [new Uint8Array([1, 2, 3])]);
    const first = runFilePlan([{ kind: "write", files: [a, c], sync: true }]);
    const second = runFilePlan([
      { kind: "write", files: [b], sync: true },
      { kind: "unlink", paths: [join(dir, "c"), join(dir, "missing")], sync: false },
    ]);
    await Promise.all([first, second]);
    expect(await readdir(dir)).toEqual(["a"]);
    expect(await readFile(join(dir, "a"), "utf8")).toBe("second");
    expect(lastPlanThread()).toBe("calling thread");
  });

  it("rejects with a NotFoundError whose cause has the file system's code and path, and later plans still run", async () => {
    const lost = plannedFile(join(dir, "no-such-dir", "x"), ["x"]);
    await expect(runFilePlan([{ kind: "write", files: [lost], sync: true }])).rejects.toMatchObject({
      code: "NOT_FOUND",
      cause: { code: "ENOENT", path: lost.temporary },
    });
    await runFilePlan([{ kind: "write", files: [plannedFile(join(dir, "y"), ["y"])], sync: true }]);
    expect(await readdir(dir)).toEqual(["y"]);
  });
});
