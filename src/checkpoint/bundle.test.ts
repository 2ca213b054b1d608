/**
 * Damaged checkpoints: every kind of damage is a DataLossError naming the file and the entry,
 * a restore that fails changes nothing, and `restoreLatest` falls back to the newest whole
 * checkpoint. Manifests are untrusted input.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rename, rm, truncate, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readBundle, writeBundle } from "./bundle.js";
import { makeSaveable } from "./saveable.js";
import { Saver } from "./saver.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-bundle-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A Saver over two values, `a` (a number) and `w` (a Float32Array), and their current values. */
function model(): { saver: Saver; values: { a: number; w: Float32Array } } {
  const values: { a: number; w: Float32Array } = { a: 0, w: new Float32Array(16) };
  const saver = new Saver(
    [
      makeSaveable(
        "a",
        () => values.a,
        (v: number) => {
          values.a = v;
        },
      ),
      makeSaveable(
        "w",
        () => values.w,
        (v: Float32Array) => {
          values.w = v;
        },
      ),
    ],
    { maxToKeep: 3 },
  );
  return { saver, values };
}

/** Saves steps 1..n, with a = step and w filled with step. */
async function saveSteps(n: number): Promise<ReturnType<typeof model>> {
  const m = model();
  for (let step = 1; step <= n; step++) {
    m.values.a = step;
    m.values.w = new Float32Array(16).fill(step);
    await m.saver.save(join(dir, "model.ckpt"), { globalStep: step });
  }
  return m;
}

async function flipByte(path: string, at: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[at] = (bytes[at] as number) ^ 0x40;
  await writeFile(path, bytes);
}

function dataLoss(message: string | RegExp): Error {
  return expect.objectContaining({ name: "DataLossError", message: typeof message === "string" ? message : expect.stringMatching(message) }) as Error;
}

describe("a damaged checkpoint", () => {
  it("with a flipped byte in its data is a DataLossError naming the data file and the entry", async () => {
    await saveSteps(1);
    const data = join(dir, "model.ckpt-1.data-00000-of-00001");
    await flipByte(data, (await readFile(data)).length - 3);
    await expect(readBundle(join(dir, "model.ckpt-1"))).rejects.toThrow(
      dataLoss(new RegExp(`^Entry "w" of ${data} is damaged: CRC32C \\d+ does not match the saved \\d+\\. Restore an older checkpoint\\.$`)),
    );
  });

  it("with a truncated data file is a DataLossError saying how many bytes are missing", async () => {
    await saveSteps(1);
    const data = join(dir, "model.ckpt-1.data-00000-of-00001");
    const size = (await readFile(data)).length;
    await truncate(data, size - 10);
    await expect(readBundle(join(dir, "model.ckpt-1"))).rejects.toThrow(
      dataLoss(
        `Checkpoint ${join(dir, "model.ckpt-1")} is damaged: its data file ${data} has ${size - 10} bytes where the manifest says ${size} (truncated); entry "w" is cut short. Restore an older checkpoint.`,
      ),
    );
  });

  it("without its data file is a DataLossError naming the missing file", async () => {
    await saveSteps(1);
    const data = join(dir, "model.ckpt-1.data-00000-of-00001");
    await unlink(data);
    await expect(readBundle(join(dir, "model.ckpt-1"))).rejects.toThrow(
      dataLoss(`Checkpoint ${join(dir, "model.ckpt-1")} is damaged: its data file ${data} is missing. Restore an older checkpoint.`),
    );
  });

  it("with a flipped byte in its manifest is a DataLossError naming the manifest", async () => {
    await saveSteps(1);
    const index = join(dir, "model.ckpt-1.index");
    const text = await readFile(index, "utf8");
    await writeFile(index, text.replace('"name":"a"', '"name":"b"'));
    await expect(readBundle(join(dir, "model.ckpt-1"))).rejects.toThrow(
      dataLoss(new RegExp(`^The manifest ${index} is damaged: its CRC32C \\d+ does not match the saved \\d+`)),
    );
    await writeFile(index, text.slice(0, 40));
    await expect(readBundle(join(dir, "model.ckpt-1"))).rejects.toThrow(dataLoss(new RegExp(`^The manifest ${index} is damaged: it is not JSON`)));
  });

  it("leaves every value as it was when the restore fails", async () => {
    const { saver, values } = await saveSteps(2);
    await flipByte(join(dir, "model.ckpt-2.data-00000-of-00001"), 60);
    values.a = 99;
    await expect(saver.restore(join(dir, "model.ckpt-2"))).rejects.toThrow(dataLoss(/is damaged/));
    expect(values.a).toBe(99);
  });
});

describe("Saver.restoreLatest", () => {
  it("restores the latest checkpoint when it is whole", async () => {
    await saveSteps(3);
    const { saver, values } = model();
    expect(await saver.restoreLatest(dir)).toEqual({ path: join(dir, "model.ckpt-3"), skipped: [] });
    expect(values.a).toBe(3);
  });

  it("falls back to the newest whole checkpoint, warning which it skipped and why", async () => {
    await saveSteps(3);
    await flipByte(join(dir, "model.ckpt-3.data-00000-of-00001"), 5);
    await unlink(join(dir, "model.ckpt-2.data-00000-of-00001"));
    const { saver, values } = model();
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      const restored = await saver.restoreLatest(dir);
      expect(restored?.path).toBe(join(dir, "model.ckpt-1"));
      expect(restored?.skipped.map((s) => s.path)).toEqual([join(dir, "model.ckpt-3"), join(dir, "model.ckpt-2")]);
      expect(restored?.skipped[1]?.reason).toContain("data file");
      expect(values.a).toBe(1);
      expect(values.w).toEqual(new Float32Array(16).fill(1));
      expect(warn).toHaveBeenCalledTimes(2);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(`^Skipped checkpoint ${join(dir, "model.ckpt-3")}: Entry "`), {
        code: "CHECKPIPE_CHECKPOINT_SKIPPED",
      });
    } finally {
      warn.mockRestore();
    }
  });

  it("skips a checkpoint whose manifest is missing", async () => {
    await saveSteps(2);
    await unlink(join(dir, "model.ckpt-2.index"));
    const { saver } = model();
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      expect((await saver.restoreLatest(dir))?.path).toBe(join(dir, "model.ckpt-1"));
    } finally {
      warn.mockRestore();
    }
  });

  it("is a DataLossError listing every checkpoint when none is whole, and null when there are none", async () => {
    const { saver } = model();
    expect(await saver.restoreLatest(dir)).toBeNull();
    await saveSteps(2);
    for (const step of [1, 2]) await truncate(join(dir, `model.ckpt-${step}.data-00000-of-00001`), 3);
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      await expect(saver.restoreLatest(dir)).rejects.toThrow(dataLoss(new RegExp(`^No whole checkpoint in ${dir}: .*model\\.ckpt-2 .*; .*model\\.ckpt-1 `)));
    } finally {
      warn.mockRestore();
    }
  });
});

describe("a manifest, as untrusted input", () => {
  /** Rewrites the manifest of model.ckpt-1 through `edit`, with a valid CRC so only the content is wrong. */
  async function forge(edit: (manifest: Record<string, unknown>) => void): Promise<void> {
    const index = join(dir, "model.ckpt-1.index");
    const { crc32c: _crc, ...manifest } = JSON.parse(await readFile(index, "utf8")) as Record<string, unknown>;
    edit(manifest);
    const { crc32c } = await import("../formats/crc32c.js");
    await writeFile(index, JSON.stringify({ ...manifest, crc32c: crc32c(Buffer.from(JSON.stringify(manifest))) }));
  }

  it("may not name a data file outside its directory", async () => {
    await saveSteps(1);
    await forge((m) => {
      m["data"] = { file: "../../etc/passwd", size: 10 };
    });
    await expect(readBundle(join(dir, "model.ckpt-1"))).rejects.toThrow(
      dataLoss(/names the data file "\.\.\/\.\.\/etc\/passwd"; a version 1 checkpoint's data file is model\.ckpt-1\.data-00000-of-00001, next to it/),
    );
  });

  it("may not claim sizes beyond the data file: it is refused before anything is allocated", async () => {
    await saveSteps(1);
    await forge((m) => {
      const entries = m["entries"] as { json: number; blobs: number[] }[];
      (entries[1] as { blobs: number[] }).blobs = [2 ** 50];
    });
    await expect(readBundle(join(dir, "model.ckpt-1"))).rejects.toThrow(dataLoss(/entry "w" claims bytes \d+–\d+ of a \d+-byte data file/));
    await forge((m) => {
      m["data"] = { file: "model.ckpt-1.data-00000-of-00001", size: 2 ** 52 };
      const w = (m["entries"] as { offset: number; json: number; blobs: number[] }[])[1] as { offset: number; json: number; blobs: number[] };
      w.blobs = [2 ** 52 - w.offset - w.json];
    });
    await expect(readBundle(join(dir, "model.ckpt-1"))).rejects.toThrow(dataLoss(/has \d+ bytes where the manifest says 4503599627370496/));
  });

  it("over 64 MB is refused unread", async () => {
    await saveSteps(1);
    await truncate(join(dir, "model.ckpt-1.index"), 65 * 1024 * 1024);
    await expect(readBundle(join(dir, "model.ckpt-1"))).rejects.toThrow(dataLoss(/it has 68157440 bytes, more than the 67108864 any manifest needs/));
  });

  it("of another format or version is refused, naming both", async () => {
    await saveSteps(1);
    await forge((m) => {
      m["version"] = 3;
    });
    await expect(readBundle(join(dir, "model.ckpt-1"))).rejects.toThrow(dataLoss(/its version is 3; this checkpipe reads versions 1 to 2/));
  });

  it("of version 1 may not name the data file of a checkpoint saved again, which version 2 may", async () => {
    await saveSteps(1);
    await rename(join(dir, "model.ckpt-1.data-00000-of-00001"), join(dir, "model.ckpt-1.data-00000-of-00001.resaved"));
    await forge((m) => {
      m["data"] = { ...(m["data"] as object), file: "model.ckpt-1.data-00000-of-00001.resaved" };
    });
    await expect(readBundle(join(dir, "model.ckpt-1"))).rejects.toThrow(
      dataLoss(/a version 1 checkpoint's data file is model\.ckpt-1\.data-00000-of-00001, next to it/),
    );
    await forge((m) => {
      m["version"] = 2;
    });
    expect([...(await readBundle(join(dir, "model.ckpt-1"))).keys()]).toEqual(["a", "w"]);
  });
});

describe("bundle values", () => {
  it("round-trip exactly through the files, whatever their shape", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string({ minLength: 1 }), fc.oneof(fc.jsonValue(), fc.float32Array(), fc.bigInt(), fc.string({ minLength: 1000, maxLength: 3000 }))),
        async (values) => {
          const prefix = join(dir, `p-${n++}`);
          await writeBundle(prefix, new Map(Object.entries(values)));
          expect(Object.fromEntries(await readBundle(prefix))).toEqual(values);
        },
      ),
      { numRuns: 60, seed: 42 },
    );
  });
});

describe("temporary files of a crashed save", () => {
  it("are removed by the next save when their writer is gone, and kept while it runs", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["-e", "console.log(process.pid)"]);
    const dead = Number(stdout.trim());
    const alive = process.ppid;
    const stale = [`model.ckpt-1.data-00000-of-00001.tmp-${dead}-0123abcd`, `checkpoint.tmp-${dead}-89abcdef`];
    const others = [`model.ckpt-1.index.tmp-${alive}-00000000`, `other.ckpt-1.index.tmp-${dead}-00000000`, "notes.txt"];
    for (const name of [...stale, ...others]) await writeFile(join(dir, name), "x");
    await saveSteps(1);
    const names = await readdir(dir);
    for (const name of stale) expect(names).not.toContain(name);
    for (const name of others) expect(names).toContain(name);
  });
});
