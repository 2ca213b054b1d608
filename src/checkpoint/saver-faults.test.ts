/**
 * The Saver on a failing file system (faults injected with src/io/file-faults.ts): a full disk,
 * a read-only one, a permission, a directory gone or in the way, an I/O error. Saving and
 * restoring throw typed checkpipe errors that name the file and the operation, with the file
 * system's error as `cause`; the checkpoint saved before stays whole; a failed save leaves the
 * kept checkpoints as if it never happened, and once the disk is fixed saving resumes and
 * retention deletes what it should.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataLossError, FailedPreconditionError, NotFoundError, type CheckpipeError } from "../errors.js";
import { injectedFaults, injectFileFault, type FaultyOperation } from "../io/file-faults.js";
import { getCheckpointState, latestCheckpoint } from "./checkpoint-state.js";
import { makeSaveable } from "./saveable.js";
import { Saver, type SaverOptions } from "./saver.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-saver-faults-"));
});
afterEach(async () => {
  injectFileFault(null);
  await rm(dir, { recursive: true, force: true });
});

type ErrorClass = abstract new (...args: never[]) => CheckpipeError;

/** A Saver of one number, and the number. */
function model(options: SaverOptions = {}): { saver: Saver; value: { v: number } } {
  const value = { v: 0 };
  return {
    saver: new Saver(
      [
        makeSaveable(
          "v",
          () => value.v,
          (v: number) => void (value.v = v),
        ),
      ],
      options,
    ),
    value,
  };
}

/** What a fresh Saver restores from `dir`: the checkpoint's name and its value. */
async function restoredByAnother(): Promise<{ path: string | null; v: number }> {
  const fresh = model();
  const restored = await fresh.saver.restoreLatest(dir);
  return { path: restored === null ? null : basename(restored.path), v: fresh.value.v };
}

/** Awaits a promise that must reject; its error. */
async function failure(promise: Promise<unknown>): Promise<CheckpipeError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e as CheckpipeError,
  );
  if (error === null) throw new Error("expected a failure");
  return error;
}

const SAVE_FAULTS: readonly { code: string; operation: FaultyOperation; words: string; type: ErrorClass }[] = [
  { code: "ENOSPC", operation: "write", words: "no space left on device (ENOSPC) while writing", type: FailedPreconditionError },
  { code: "EROFS", operation: "create", words: "read-only file system (EROFS) while creating a temporary file for", type: FailedPreconditionError },
  { code: "EACCES", operation: "create", words: "permission denied (EACCES) while creating a temporary file for", type: FailedPreconditionError },
  { code: "ENOENT", operation: "create", words: "no such file or directory (ENOENT) while creating a temporary file for", type: NotFoundError },
  { code: "EISDIR", operation: "rename", words: "is a directory (EISDIR) while moving into place", type: FailedPreconditionError },
  { code: "EIO", operation: "flush", words: "input/output error (EIO) while syncing", type: FailedPreconditionError },
];

describe("a save that the file system fails", () => {
  for (const { code, operation, words, type } of SAVE_FAULTS) {
    it(`with ${code} at ${operation} throws a ${type.name} naming the data file and the operation, and the checkpoint before stays whole`, async () => {
      const { saver, value } = model();
      value.v = 1;
      await saver.save(join(dir, "model.ckpt"), { globalStep: 1 });
      value.v = 2;
      const data = join(dir, "model.ckpt-2.data-00000-of-00001");
      injectFileFault({ code, operation, path: data });
      const error = await failure(saver.save(join(dir, "model.ckpt"), { globalStep: 2 }));
      injectFileFault(null);
      expect(error).toBeInstanceOf(type);
      expect(error.message).toContain(`Saving checkpoint ${join(dir, "model.ckpt-2")} failed: ${words} ${data}.`);
      expect(error.message).toContain("The checkpoints saved before are whole");
      expect(error.cause).toMatchObject({ code });
      expect(error.received).toContain(code);
      expect(error.fix).toBeTruthy();
      expect(await latestCheckpoint(dir)).toBe(join(dir, "model.ckpt-1"));
      expect(await restoredByAnother()).toEqual({ path: "model.ckpt-1", v: 1 });
      expect((await readdir(dir)).filter((name) => name.includes(".tmp-") || name.includes("ckpt-2"))).toEqual([]);
    });
  }

  it("with ENOSPC writing the state file throws a FailedPreconditionError naming the state file", async () => {
    const { saver } = model();
    await saver.save(join(dir, "model.ckpt"), { globalStep: 1 });
    injectFileFault({ code: "ENOSPC", operation: "write", path: join(dir, "checkpoint") });
    const error = await failure(saver.save(join(dir, "model.ckpt"), { globalStep: 2 }));
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect(error.message).toContain(`no space left on device (ENOSPC) while writing ${join(dir, "checkpoint")}.`);
    injectFileFault(null);
    expect(await latestCheckpoint(dir)).toBe(join(dir, "model.ckpt-1"));
  });
});

describe("retention after a failed save", () => {
  it("keeps the checkpoints it was about to delete: the list is as if the save never happened, and the next save deletes them", async () => {
    const { saver } = model({ maxToKeep: 2 });
    const path = join(dir, "s");
    await saver.save(path, { globalStep: 1 });
    await saver.save(path, { globalStep: 2 });
    injectFileFault({ code: "ENOSPC", operation: "write" });
    await expect(saver.save(path, { globalStep: 3 })).rejects.toBeInstanceOf(FailedPreconditionError);
    expect(saver.lastCheckpoints).toEqual([`${path}-1`, `${path}-2`]);
    injectFileFault(null); // space freed
    await saver.save(path, { globalStep: 4 });
    expect(saver.lastCheckpoints).toEqual([`${path}-2`, `${path}-4`]);
    expect((await getCheckpointState(dir))?.allModelCheckpointPaths).toEqual([`${path}-2`, `${path}-4`]);
    expect((await readdir(dir)).sort()).toEqual([
      "checkpoint",
      "checkpoint.lock",
      "s-2.data-00000-of-00001",
      "s-2.index",
      "s-4.data-00000-of-00001",
      "s-4.index",
    ]);
  });

  it("fails the background saves taken after the failed one too (their state files would name it), and the next save resumes cleanly", async () => {
    const { saver } = model({ maxToKeep: 2 });
    const path = join(dir, "s");
    await saver.save(path, { globalStep: 1 });
    await saver.save(path, { globalStep: 2 });
    injectFileFault({ code: "ENOSPC", operation: "write", times: 1 });
    const third = await saver.saveInBackground(path, { globalStep: 3 });
    const fourth = await saver.saveInBackground(path, { globalStep: 4 });
    const error = await failure(third.written);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    await expect(fourth.written).rejects.toBe(error);
    await expect(saver.sync()).rejects.toBe(error);
    expect(injectedFaults()).toBe(1);
    expect(saver.lastCheckpoints).toEqual([`${path}-1`, `${path}-2`]);
    await saver.save(path, { globalStep: 5 });
    expect(saver.lastCheckpoints).toEqual([`${path}-2`, `${path}-5`]);
    expect((await getCheckpointState(dir))?.allModelCheckpointPaths).toEqual([`${path}-2`, `${path}-5`]);
    expect((await readdir(dir)).sort()).toEqual([
      "checkpoint",
      "checkpoint.lock",
      "s-2.data-00000-of-00001",
      "s-2.index",
      "s-5.data-00000-of-00001",
      "s-5.index",
    ]);
  });

  it("after a failure deleting an old checkpoint (the state file written), keeps the new list and deletes the old one at the next save", async () => {
    const { saver } = model({ maxToKeep: 2 });
    const path = join(dir, "s");
    await saver.save(path, { globalStep: 1 });
    await saver.save(path, { globalStep: 2 });
    injectFileFault({ code: "EACCES", operation: "delete", path: `${path}-1.index` });
    const error = await failure(saver.save(path, { globalStep: 3 }));
    injectFileFault(null);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect(error.message).toContain(`permission denied (EACCES) while deleting ${path}-1.index.`);
    expect(error.message).toContain(`Checkpoint ${path}-3 is saved and the state file names it`);
    expect(saver.lastCheckpoints).toEqual([`${path}-2`, `${path}-3`]);
    expect(await latestCheckpoint(dir)).toBe(`${path}-3`);
    await saver.save(path, { globalStep: 4 });
    expect((await readdir(dir)).sort()).toEqual([
      "checkpoint",
      "checkpoint.lock",
      "s-3.data-00000-of-00001",
      "s-3.index",
      "s-4.data-00000-of-00001",
      "s-4.index",
    ]);
  });
});

const READ_FAULTS: readonly { code: string; type: ErrorClass; words: string }[] = [
  { code: "ENOSPC", type: FailedPreconditionError, words: "no space left on device (ENOSPC)" },
  { code: "EROFS", type: FailedPreconditionError, words: "read-only file system (EROFS)" },
  { code: "EACCES", type: FailedPreconditionError, words: "permission denied (EACCES)" },
  { code: "ENOENT", type: NotFoundError, words: "no such file or directory (ENOENT)" },
  { code: "EISDIR", type: DataLossError, words: "is a directory, not a regular file" },
  { code: "EIO", type: DataLossError, words: "input/output error (EIO)" },
];

describe("a restore that the file system fails", () => {
  for (const { code, type, words } of READ_FAULTS) {
    it(`with ${code} reading the manifest throws a ${type.name} naming it, and changes nothing`, async () => {
      const { saver, value } = model();
      value.v = 1;
      const prefix = await saver.save(join(dir, "model.ckpt"), { globalStep: 1 });
      value.v = 7;
      injectFileFault({ code, operation: "read", path: `${prefix}.index` });
      const error = await failure(saver.restore(prefix));
      expect(error).toBeInstanceOf(type);
      expect(error.message).toContain(`${prefix}.index`);
      expect(error.message).toContain(words);
      if (code !== "EISDIR") expect(error.cause).toMatchObject({ code });
      expect(value.v).toBe(7);
    });
  }

  it("with EIO reading the newest data file: restoreLatest passes over it to the checkpoint before, with a warning", async () => {
    const { saver, value } = model();
    value.v = 1;
    await saver.save(join(dir, "model.ckpt"), { globalStep: 1 });
    value.v = 2;
    const newest = await saver.save(join(dir, "model.ckpt"), { globalStep: 2 });
    injectFileFault({ code: "EIO", operation: "read", path: `${newest}.data-00000-of-00001`, skip: 1 }); // opens, then fails reading
    const fresh = model();
    const restored = await fresh.saver.restoreLatest(dir);
    expect(restored?.path).toBe(join(dir, "model.ckpt-1"));
    expect(restored?.skipped.map((s) => s.reason)).toEqual([expect.stringContaining(`input/output error (EIO) while reading ${newest}.data-00000-of-00001`)]);
    expect(fresh.value.v).toBe(1);
  });

  it("with EACCES reading the state file: getCheckpointState and restoreLatest throw a FailedPreconditionError naming it", async () => {
    const { saver } = model();
    await saver.save(join(dir, "model.ckpt"), { globalStep: 1 });
    const state = join(dir, "checkpoint");
    injectFileFault({ code: "EACCES", operation: "read", path: state });
    for (const call of [() => getCheckpointState(dir), () => latestCheckpoint(dir), () => model().saver.restoreLatest(dir)]) {
      const error = await failure(call());
      expect(error).toBeInstanceOf(FailedPreconditionError);
      expect(error.message).toContain(`permission denied (EACCES) while opening ${state}.`);
    }
    injectFileFault(null);
    expect(await readFile(state, "utf8")).toContain("model.ckpt-1");
  });
});
