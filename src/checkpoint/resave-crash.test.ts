/**
 * Saving again over a checkpoint that exists (no global step, or the same step twice), with the
 * process dying — or the disk filling up — after each single file operation of the save in turn:
 * whatever instant it is, the directory's latest checkpoint restores, holding either the old
 * values or the new ones. The file work runs in this thread here (no worker), through a file
 * system that fails on the chosen operation.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

/** The file operations left before the injected failure (Infinity: none), and its code. */
const fault = vi.hoisted(() => ({ left: Number.POSITIVE_INFINITY, code: "EIO", hit: false }));

vi.mock("node:worker_threads", () => ({
  MessageChannel: class {},
  receiveMessageOnPort: () => undefined,
  threadId: 0,
  Worker: class {
    constructor() {
      throw new Error("no worker threads here: plans run in this thread, through the failing file system");
    }
  },
}));

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const failing =
    <A extends unknown[], R>(name: string, call: (...args: A) => R) =>
    (...args: A): R => {
      if (fault.left <= 0) {
        fault.hit = true;
        throw Object.assign(new Error(`${fault.code}: injected failure, ${name} ${String(args[0])}`), { code: fault.code });
      }
      fault.left--;
      return call(...args);
    };
  const wrapped = {
    ...fs,
    openSync: failing("open", fs.openSync),
    writeSync: failing("write", fs.writeSync as (...args: unknown[]) => number),
    fsyncSync: failing("fsync", fs.fsyncSync),
    renameSync: failing("rename", fs.renameSync),
    unlinkSync: failing("unlink", fs.unlinkSync),
  };
  return { ...wrapped, default: wrapped };
});

const { makeSaveable } = await import("./saveable.js");
const { Saver } = await import("./saver.js");

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-resave-crash-"));
  fault.left = Number.POSITIVE_INFINITY;
  fault.hit = false;
});
afterEach(async () => {
  fault.left = Number.POSITIVE_INFINITY;
  await rm(dir, { recursive: true, force: true });
});

/** A saver of one Float32Array filled with `fill`, and a way to read what a restore gave it. */
function saverOf(fill: number): { saver: InstanceType<typeof Saver>; held: () => number | null } {
  let weights: unknown = new Float32Array(1024).fill(fill);
  const saver = new Saver([
    makeSaveable(
      "weights",
      () => weights,
      (value) => void (weights = value),
    ),
  ]);
  const held = (): number | null => {
    if (!(weights instanceof Float32Array)) return null;
    const first = weights[0] ?? null;
    return weights.every((w) => w === first) ? first : null;
  };
  return { saver, held };
}

/** What a fresh process restores from `dir`: the fill of the weights, or the error. */
async function restoredFill(): Promise<number | string> {
  const { saver, held } = saverOf(-1);
  try {
    const restored = await saver.restoreLatest(dir);
    return restored === null ? "nothing" : (held() ?? "mixed values");
  } catch (error) {
    return String(error);
  }
}

describe.each([
  { what: "without a global step (model.ckpt, saved again)", options: {} },
  { what: "at the same global step twice (model.ckpt-5, saved again)", options: { globalStep: 5 } },
])("a checkpoint saved again $what", ({ options }) => {
  it.each(["EIO", "ENOSPC"])("dying with %s after any file operation leaves the old or the new checkpoint whole", async (code) => {
    const outcomes: (number | string)[] = [];
    for (let operations = 0; ; operations++) {
      await rm(dir, { recursive: true, force: true });
      dir = await mkdtemp(join(tmpdir(), "checkpipe-resave-crash-"));
      await saverOf(1).saver.save(join(dir, "model.ckpt"), options);
      fault.left = operations;
      fault.code = code;
      fault.hit = false;
      const second = saverOf(2);
      await second.saver.save(join(dir, "model.ckpt"), options).catch(() => undefined);
      fault.left = Number.POSITIVE_INFINITY;
      outcomes.push(await restoredFill());
      if (!fault.hit) break; // the save ran to its end: every instant was tried
    }
    expect(outcomes.length).toBeGreaterThan(5);
    expect(outcomes.filter((o) => o !== 1 && o !== 2)).toEqual([]);
    expect(outcomes.at(-1)).toBe(2);
  });

  it("after a failed save, the next one succeeds and is what a restore reads, with no file left over", async () => {
    await saverOf(1).saver.save(join(dir, "model.ckpt"), options);
    const { saver } = saverOf(2);
    fault.left = 3;
    fault.code = "ENOSPC";
    await expect(saver.save(join(dir, "model.ckpt"), options)).rejects.toThrow(/ENOSPC/);
    fault.left = Number.POSITIVE_INFINITY;
    await saverOf(3).saver.save(join(dir, "model.ckpt"), options);
    expect(await restoredFill()).toBe(3);
    const names = await readdir(dir);
    expect(names.filter((name) => name.includes(".tmp-"))).toEqual([]);
    expect(names.filter((name) => name.includes(".data-")).length).toBe(1);
  });
});
