/**
 * Exact resume in another process (DESIGN.md, contract point 1): a state saved here, written
 * to a file, is restored by a separate Node.js process that builds the same pipeline; it
 * yields exactly what the uninterrupted iterator yields here.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { decodeValue, type Dataset, type JsonValue } from "../src/index.js";
import { buildCrossProcessPipeline, buildFileReadersPipeline, buildWorkersPipeline } from "./fixtures/cross-process-pipeline.js";
import { drain, takeN } from "./harness.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const child = fileURLToPath(new URL("./fixtures/resume-from-file.ts", import.meta.url));

/**
 * Saves an iterator of `build()` after `at` elements, restores the state in a child process
 * that builds the pipeline named by `args`, and checks that it yields exactly the tail.
 */
async function expectResumedInChild<T>(build: () => Dataset<T>, at: number, total: number, args: string[]): Promise<void> {
  const it = build().iterator();
  const head = await takeN(it, at);
  const state = await it.save();
  const tail = await drain(it);
  expect(head.length + tail.length).toBe(total);

  const dir = await mkdtemp(join(tmpdir(), "checkpipe-cross-process-"));
  try {
    const file = join(dir, "state.json");
    await writeFile(file, JSON.stringify(state));
    const { stdout } = await run(process.execPath, ["--import", "tsx", child, file, ...args], { cwd: root, timeout: 25_000 });
    expect(decodeValue(JSON.parse(stdout) as JsonValue)).toEqual(tail);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("a state saved in one process", () => {
  // 20 batches per epoch: a break in the first epoch, and one in the middle of the second.
  for (const at of [7, 27]) {
    it(`resumes in another process with exactly the remaining elements of the uninterrupted run (break at batch ${at} of 40)`, async () => {
      await expectResumedInChild(buildCrossProcessPipeline, at, 40, []);
    });
  }
});

describe("a state of the file readers saved in one process", () => {
  // 150 Iris records in batches of 4: 38 batches.
  for (const at of [0, 11, 30]) {
    it(`resumes in another process at the same records of the same files (break at batch ${at} of 38)`, async () => {
      await expectResumedInChild(buildFileReadersPipeline, at, 38, ["file-readers"]);
    });
  }
});

describe("a state of pipelines on worker threads saved in one process", () => {
  // 40 elements in batches of 3: 14 batches.
  for (const at of [0, 5, 13]) {
    it(`resumes in another process with new threads at the same elements (break at batch ${at} of 14)`, async () => {
      await expectResumedInChild(buildWorkersPipeline, at, 14, ["workers"]);
    });
  }
});
