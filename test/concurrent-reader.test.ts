/**
 * A reader of checkpoints next to a writer: an evaluator calls `restoreLatest` and
 * `latestCheckpoint` over and over while another process saves a checkpoint at every step and
 * keeps only the last 2, so that retention deletes the very checkpoint a read has just picked.
 * A checkpoint vanishing mid-read is no damage: the read goes on to the then-newest one.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestCheckpoint, makeSaveable, Saver } from "../src/index.js";
import { WEIGHTS_LENGTH } from "./fixtures/retention-writer.js";
import { LineChild } from "./kill-harness.js";

const writerScript = fileURLToPath(new URL("./fixtures/retention-writer.ts", import.meta.url));
const READS = 1_000;

class Writer extends LineChild {
  saves = 0;
  protected onLine(line: string): boolean {
    if (!/^saved \d+$/.test(line)) return false;
    this.saves++;
    return true;
  }
}

let dir: string;
let writer: Writer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-concurrent-reader-"));
  writer = new Writer(`the writer in ${dir}`, writerScript, [dir, "1"]);
  await writer.until(() => writer.saves > 0, "its first save");
});
afterAll(async () => {
  writer.stop();
  await writer.ended;
  await rm(dir, { recursive: true, force: true });
});

describe("reading checkpoints while another process saves with maxToKeep 2", () => {
  it(`restoreLatest restores a whole checkpoint of the step its name says, ${READS} times out of ${READS}`, async () => {
    let step = -1;
    let weights: unknown = null;
    const saver = new Saver([
      makeSaveable(
        "step",
        () => step,
        (value) => void (step = value),
      ),
      makeSaveable(
        "weights",
        () => weights,
        (value) => void (weights = value),
      ),
    ]);
    const failures: string[] = [];
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.message);
    process.on("warning", onWarning);
    let lastStep = 0;
    try {
      for (let i = 0; i < READS; i++) {
        try {
          const restored = await saver.restoreLatest(dir);
          const named = Number(/-(\d+)$/.exec(restored?.path ?? "")?.[1]);
          const whole = weights instanceof Float32Array && weights.length === WEIGHTS_LENGTH && weights.every((w) => w === step);
          if (restored === null || named !== step || !whole || step < lastStep) failures.push(`read ${i}: ${restored?.path} held step ${step}`);
          lastStep = step;
        } catch (error) {
          failures.push(`read ${i}: ${String(error)}`);
        }
      }
    } finally {
      process.off("warning", onWarning);
    }
    expect(failures).toEqual([]);
    expect(warnings.filter((w) => w.startsWith("Skipped checkpoint"))).toEqual([]);
    expect(writer.saves).toBeGreaterThan(0);
  });

  it(`latestCheckpoint names a checkpoint ${READS} times out of ${READS}`, async () => {
    const failures: string[] = [];
    for (let i = 0; i < READS; i++) {
      const latest = await latestCheckpoint(dir).catch((error: unknown) => `error ${String(error)}`);
      if (latest === null || !/model\.ckpt-\d+$/.test(latest)) failures.push(`read ${i}: ${latest}`);
    }
    expect(failures).toEqual([]);
  });
});
