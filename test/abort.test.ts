/**
 * AbortSignal where users wait: an iterator's pending `next()` and a Saver's `save()` stop
 * when their signal aborts, with its reason, and leave nothing half done.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Dataset, latestCheckpoint, makeSaveable, Saver } from "../src/index.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-abort-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const never = (): Promise<number> => new Promise(() => {});

describe("Dataset.iterator({ signal })", () => {
  it("rejects a pending next() at once with the signal's reason, and every next() and save() after it", async () => {
    const controller = new AbortController();
    const it = Dataset.range(10)
      .map((x) => (x < 2 ? x : never()))
      .iterator({ signal: controller.signal });
    expect(await it.next()).toEqual({ value: 0, done: false });
    expect(await it.next()).toEqual({ value: 1, done: false });
    const pending = it.next();
    const reason = new Error("stopped by the user");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expect(it.next()).rejects.toBe(reason);
  });

  it("rejects the first next() when the signal had aborted already", async () => {
    const it = Dataset.range(3).iterator({ signal: AbortSignal.abort(new Error("too late")) });
    await expect(it.next()).rejects.toThrow("too late");
  });

  it("leaves an iterator whose signal never aborts as it is", async () => {
    const it = Dataset.range(3).iterator({ signal: new AbortController().signal });
    const out: number[] = [];
    for await (const x of it) out.push(x);
    expect(out).toEqual([0, 1, 2]);
  });
});

describe("Saver.save(path, { signal })", () => {
  it("rejects with the reason and writes nothing when the signal aborted before or while the values are taken", async () => {
    let value = 1;
    const controller = new AbortController();
    const saver = new Saver([
      makeSaveable(
        "v",
        () => {
          if (value === 3) controller.abort(new Error("abort while taking values"));
          return value;
        },
        (v) => void (value = v),
      ),
    ]);
    const first = await saver.save(join(dir, "model.ckpt"), { globalStep: 1 });
    const files = await readdir(dir);
    await expect(saver.save(join(dir, "model.ckpt"), { globalStep: 2, signal: AbortSignal.abort(new Error("before")) })).rejects.toThrow("before");
    value = 3;
    await expect(saver.save(join(dir, "model.ckpt"), { globalStep: 3, signal: controller.signal })).rejects.toThrow("abort while taking values");
    expect((await readdir(dir)).sort()).toEqual(files.sort());
    expect(await latestCheckpoint(dir)).toBe(first);
    // The Saver goes on.
    expect(await saver.save(join(dir, "model.ckpt"), { globalStep: 4, signal: new AbortController().signal })).toBe(join(dir, "model.ckpt-4"));
    await saver.close();
  });
});
