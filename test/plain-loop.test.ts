/**
 * CheckpointedLoop: a plain loop with side effects resumes with nothing processed twice. The
 * JSONL-to-JSONL example (examples/jsonl-to-jsonl.mjs, the built package) is SIGKILLed twelve
 * times in a row at seeded random instants — during start-up, writes and saves — then run to
 * its end: its output equals an uninterrupted run's byte for byte. And the loop's API.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CheckpointedLoop, Dataset, RuntimeError } from "../src/index.js";

const example = fileURLToPath(new URL("../examples/jsonl-to-jsonl.mjs", import.meta.url));
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-loop-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** When to kill a run: after some milliseconds, or once it has reported this many progress lines (every 50 records). */
type Kill = { readonly afterMs: number } | { readonly afterLines: number } | null;

/** Runs the example on `input`, into `name`'s output and checkpoints, killed as `kill` says. Resolves to whether it finished. */
function runExample(input: string, name: string, kill: Kill): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [example, input, join(dir, name, "out.jsonl"), join(dir, name, "ckpt")], {
      env: { ...process.env, SAVE_EVERY: "100", PROGRESS_EVERY: "50" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (kill !== null && "afterLines" in kill && (stderr.match(/ records\n/g)?.length ?? 0) >= kill.afterLines) child.kill("SIGKILL");
    });
    const timer = kill !== null && "afterMs" in kill ? setTimeout(() => child.kill("SIGKILL"), kill.afterMs) : null;
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (timer !== null) clearTimeout(timer);
      if (signal === "SIGKILL") resolve(false);
      else if (code === 0) resolve(true);
      else reject(new Error(`the example exited with ${code}: ${stderr}`));
    });
  });
}

describe("CheckpointedLoop, killed", () => {
  it("turns JSONL into JSONL killed 12 times in a row, into the output of an uninterrupted run, byte for byte", async () => {
    const input = join(dir, "in.jsonl");
    await writeFile(
      input,
      Array.from({ length: 8000 }, (_, i) => JSON.stringify({ id: i, text: `record number ${i}`, value: (i * 7919) % 1000 })).join("\n") + "\n",
    );
    await mkdir(join(dir, "whole", "ckpt"), { recursive: true });
    expect(await runExample(input, "whole", null)).toBe(true);
    const expected = await readFile(join(dir, "whole", "out.jsonl"));
    expect(expected.toString().split("\n").length).toBe(8001);

    await mkdir(join(dir, "killed", "ckpt"), { recursive: true });
    // Seeded instants: three during start-up and restore (30–150 ms), nine while it writes and
    // saves (after 1–12 progress lines of 50 records: between, during and right after saves).
    let seed = 12345;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let kills = 0;
    for (let i = 0; i < 12; i++) {
      const kill = i % 4 === 0 ? { afterMs: 30 + Math.floor(random() * 120) } : { afterLines: 1 + Math.floor(random() * 12) };
      expect(await runExample(input, "killed", kill), `run ${i + 1} was to be killed`).toBe(false);
      kills++;
    }
    expect(await runExample(input, "killed", null)).toBe(true);
    expect(kills).toBe(12);
    const got = await readFile(join(dir, "killed", "out.jsonl"));
    expect(got.length).toBe(expected.length);
    expect(got.equals(expected)).toBe(true);
  }, 120_000);
});

describe("CheckpointedLoop", () => {
  const take = async (loop: CheckpointedLoop<number, { sum: number }>, n: number, sum: number): Promise<number> => {
    let taken = 0;
    for await (const { value } of loop) {
      sum += value;
      await loop.commit({ sum });
      if (++taken === n) break;
    }
    return sum;
  };

  it("restores the position and the progress of its last save, counting elements over restarts", async () => {
    const first = await CheckpointedLoop.open(dir, Dataset.range(100), { progress: { sum: 0 }, saveEvery: 10 });
    expect(first.restoredFrom).toBeNull();
    await take(first, 25, 0);
    // Killed: no close. The last save was after 20 elements.
    const second = await CheckpointedLoop.open(dir, Dataset.range(100), { progress: { sum: 0 }, saveEvery: 10 });
    expect(second.restoredFrom).toBe(join(dir, "loop.ckpt-20"));
    expect(second.index).toBe(20);
    expect(second.progress).toEqual({ sum: 190 });
    const seen: number[] = [];
    for await (const { value, index } of second) {
      seen.push(index);
      expect(value).toBe(index);
      await second.commit({ sum: 0 });
    }
    expect(seen).toEqual(Array.from({ length: 80 }, (_, i) => 20 + i));
    await second.close();
    const third = await CheckpointedLoop.open(dir, Dataset.range(100), { progress: { sum: 0 } });
    expect(third.index).toBe(100);
    await third.close();
  });

  it("refuses to hand out an element before the one before it is committed, or a commit without an element", async () => {
    const loop = await CheckpointedLoop.open(dir, Dataset.range(10), { progress: null });
    await expect(loop.commit(null)).rejects.toThrow(RuntimeError);
    const it = loop[Symbol.asyncIterator]();
    await it.next();
    await expect(it.next()).rejects.toThrow(/taken before the one before it was committed/);
    await loop.commit(null);
    await loop.close();
  });

  it("says when the next commit saves, and refuses bad options naming them", async () => {
    const loop = await CheckpointedLoop.open(dir, Dataset.range(10), { progress: 0, saveEvery: 3 });
    const due: boolean[] = [];
    for await (const _ of loop) {
      due.push(loop.saveDue);
      await loop.commit(0);
    }
    expect(due).toEqual([false, false, true, false, false, true, false, false, true, false]);
    await loop.close();
    await expect(CheckpointedLoop.open(dir, Dataset.range(3), { progress: 0, saveEvery: 0 })).rejects.toThrow(/saveEvery.*an integer ≥ 1; got 0/);
    await expect(CheckpointedLoop.open(dir, Dataset.range(3), { progress: 0, every: 3 } as never)).rejects.toThrow(/every/);
  });

  it("runs the example without arguments from a fresh checkout directory", () => {
    const run = spawnSync(process.execPath, [example], { cwd: dir, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain("done: 20000 records");
  });
});
