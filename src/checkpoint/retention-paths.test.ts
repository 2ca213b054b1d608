/**
 * Retention deletes only the files of a Saver's checkpoints inside their directory. A state file
 * is data: one that lists `sub/x`, where `sub` is a symbolic link to a directory outside, must
 * not make a later save (whose retention counts the checkpoints taken over with
 * `recoverLastCheckpoints`) or `saver.remove` delete the files there. Those are passed over with a
 * process warning (`CHECKPIPE_CHECKPOINT_OUTSIDE`); the rest of retention goes on.
 */
import { mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getCheckpointState } from "./checkpoint-state.js";
import { makeSaveable } from "./saveable.js";
import { Saver, type SaverOptions } from "./saver.js";

let dir: string;
let outside: string;
let warnings: { code: string | undefined; message: string }[];
const onWarning = (warning: Error): void => void warnings.push({ code: (warning as { code?: string }).code, message: warning.message });
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-retention-paths-"));
  outside = await mkdtemp(join(tmpdir(), "checkpipe-retention-outside-"));
  // Files outside that look like a checkpoint's, reached through dir/sub.
  for (const name of ["x.index", "x.data-00000-of-00001", "x.data-00000-of-00001.resaved", "unrelated.txt"]) await writeFile(join(outside, name), name);
  await symlink(outside, join(dir, "sub"));
  warnings = [];
  process.on("warning", onWarning);
});
afterEach(async () => {
  process.off("warning", onWarning);
  await rm(dir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

function saver(options: SaverOptions = {}): Saver {
  let v = 0;
  return new Saver(
    [
      makeSaveable(
        "v",
        () => v,
        (value: number) => void (v = value),
      ),
    ],
    options,
  );
}

/** A state file, as a damaged or crafted one may be, listing `paths` (the last the latest). */
async function stateListing(paths: readonly string[], latestFilename = "checkpoint"): Promise<void> {
  const lines = [`model_checkpoint_path: "${paths.at(-1)}"`, ...paths.map((path) => `all_model_checkpoint_paths: "${path}"`)];
  await writeFile(join(dir, latestFilename), lines.join("\n") + "\n");
}

const outsideFiles = ["unrelated.txt", "x.data-00000-of-00001", "x.data-00000-of-00001.resaved", "x.index"];

describe("retention of checkpoints taken over from a state file", () => {
  it("does not delete the files of a listed checkpoint whose directory is a symbolic link to outside, and warns", async () => {
    await saver().save(join(dir, "model.ckpt"), { globalStep: 1 });
    await stateListing(["sub/x", "model.ckpt-1"]);
    const next = saver({ maxToKeep: 1 });
    await next.recoverLastCheckpoints((await getCheckpointState(dir))?.allModelCheckpointPaths ?? []);
    expect(next.lastCheckpoints).toEqual([join(dir, "sub", "x"), join(dir, "model.ckpt-1")]);
    await next.save(join(dir, "model.ckpt"), { globalStep: 2 });
    expect((await readdir(outside)).sort()).toEqual(outsideFiles);
    // The checkpoint inside went as retention says.
    expect((await readdir(dir)).sort()).toEqual(["checkpoint", "checkpoint.lock", "model.ckpt-2.data-00000-of-00001", "model.ckpt-2.index", "sub"]);
    expect(next.lastCheckpoints).toEqual([join(dir, "model.ckpt-2")]);
    expect(warnings).toEqual([
      {
        code: "CHECKPIPE_CHECKPOINT_OUTSIDE",
        message:
          `Did not delete checkpoint ${join(dir, "sub", "x")}: its directory ${join(dir, "sub")} is really ${outside}, outside the checkpoint directory ${dir}. ` +
          "A Saver deletes only the files of checkpoints inside their directory; delete it by hand if it should go.",
      },
    ]);
  });

  it("does not delete them through saver.remove either (as an input pipeline hook does at a restart)", async () => {
    await saver({ latestFilename: "checkpoint_input" }).save(join(dir, "input.ckpt"), { globalStep: 1 });
    await stateListing(["input.ckpt-1", "sub/x"], "checkpoint_input");
    const next = saver({ maxToKeep: Infinity, latestFilename: "checkpoint_input" });
    await next.recoverLastCheckpoints((await getCheckpointState(dir, "checkpoint_input"))?.allModelCheckpointPaths ?? []);
    await next.remove([join(dir, "sub", "x")]);
    expect((await readdir(outside)).sort()).toEqual(outsideFiles);
    expect(warnings.map((w) => w.code)).toEqual(["CHECKPIPE_CHECKPOINT_OUTSIDE"]);
    // The state file in the checkpoint directory no longer lists it; none was written outside.
    expect((await getCheckpointState(dir, "checkpoint_input"))?.allModelCheckpointPaths).toEqual([join(dir, "input.ckpt-1")]);
  });

  it("still deletes a Saver's own checkpoints saved through a symbolic link, inside the directory it links to", async () => {
    const own = saver({ maxToKeep: 1 });
    await own.save(join(dir, "sub", "x"), { globalStep: 1 });
    await own.save(join(dir, "sub", "x"), { globalStep: 2 });
    expect((await readdir(outside)).filter((name) => name.startsWith("x-")).sort()).toEqual(["x-2.data-00000-of-00001", "x-2.index"]);
    expect(warnings).toEqual([]);
  });
});
