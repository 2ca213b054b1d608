/**
 * Names of a checkpoint directory that are not regular files — a FIFO, a directory, a socket, a
 * device — where the state file, a manifest or a data file belongs. Reading one must not block
 * (opening a FIFO for reading waits for a writer): every call returns or throws a typed error
 * naming the path, well within a timeout, so that a regression fails here instead of hanging.
 */
import { execFileSync } from "node:child_process";
import { constants, openSync, closeSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataLossError, FailedPreconditionError, ValueError } from "../errors.js";
import { DATA_SUFFIX, INDEX_SUFFIX } from "./bundle.js";
import { getCheckpointState, latestCheckpoint, MAX_STATE_BYTES } from "./checkpoint-state.js";
import { makeSaveable } from "./saveable.js";
import { Saver } from "./saver.js";

/** Longer than any of these calls takes, far shorter than the test's own timeout. */
const HANG_MS = 3_000;

let dir: string;
let fifos: string[] = [];
let servers: Server[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-non-regular-"));
});
afterEach(async () => {
  // A reader stuck opening a FIFO (a regression) is let go by a writer opening it.
  for (const fifo of fifos) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting
    }
  }
  for (const server of servers) server.close();
  fifos = [];
  servers = [];
  await rm(dir, { recursive: true, force: true });
});

/** A Saver of one number, and the number. */
function model(): { saver: Saver; value: { v: number } } {
  const value = { v: 0 };
  return {
    saver: new Saver([
      makeSaveable(
        "v",
        () => value.v,
        (v: number) => void (value.v = v),
      ),
    ]),
    value,
  };
}

/** Saves checkpoint model.ckpt-1 holding 1; its prefix. */
async function saved(): Promise<string> {
  const { saver, value } = model();
  value.v = 1;
  const prefix = await saver.save(join(dir, "model.ckpt"), { globalStep: 1 });
  return prefix;
}

/** Replaces `path` with a FIFO (coreutils' mkfifo: Node.js has none). */
async function fifoAt(path: string): Promise<void> {
  await rm(path, { force: true });
  execFileSync("mkfifo", [path]);
  fifos.push(path);
}

/** What a call gives within {@link HANG_MS}: its value, its error, or "hung". */
async function within<T>(call: () => Promise<T>): Promise<{ value: T } | { error: unknown } | "hung"> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), HANG_MS);
  });
  try {
    return await Promise.race([
      call().then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Matches an outcome that is an error of class `type` whose message contains `text`. */
function thrown(type: abstract new (...args: never[]) => Error, text: string): unknown {
  return { error: expect.objectContaining({ name: type.name, message: expect.stringContaining(text) as string }) };
}

describe("a FIFO as the state file", () => {
  it("makes getCheckpointState, latestCheckpoint and restoreLatest throw a FailedPreconditionError naming it, without blocking", async () => {
    await saved();
    const state = join(dir, "checkpoint");
    await fifoAt(state);
    const refused = thrown(FailedPreconditionError, `${state} is a FIFO (named pipe), not a regular file`);
    expect(await within(() => getCheckpointState(dir))).toEqual(refused);
    expect(await within(() => latestCheckpoint(dir))).toEqual(refused);
    expect(await within(() => model().saver.restoreLatest(dir))).toEqual(refused);
  });

  it("is replaced by the next save, which does not read it", async () => {
    const prefix = await saved();
    await fifoAt(join(dir, "checkpoint"));
    const { saver } = model();
    expect(await within(() => saver.save(join(dir, "model.ckpt"), { globalStep: 2 }))).toEqual({ value: `${prefix.slice(0, -2)}-2` });
    expect(await within(() => latestCheckpoint(dir))).toEqual({ value: join(dir, "model.ckpt-2") });
  });
});

describe("a FIFO as a checkpoint's data file", () => {
  it("makes restore throw a DataLossError naming it, and restoreLatest find no whole checkpoint, without blocking", async () => {
    const prefix = await saved();
    const data = prefix + DATA_SUFFIX;
    await fifoAt(data);
    expect(await within(() => model().saver.restore(prefix))).toEqual(thrown(DataLossError, `${data} is a FIFO (named pipe), not a regular file`));
    expect(await within(() => model().saver.restoreLatest(dir))).toEqual(
      thrown(DataLossError, `No whole checkpoint in ${dir}: ${prefix} (Reading checkpoint ${prefix}: ${data} is a FIFO`),
    );
  });

  it("passes restoreLatest over to the checkpoint before", async () => {
    const { saver, value } = model();
    value.v = 1;
    await saver.save(join(dir, "model.ckpt"), { globalStep: 1 });
    value.v = 2;
    const newest = await saver.save(join(dir, "model.ckpt"), { globalStep: 2 });
    await fifoAt(newest + DATA_SUFFIX);
    const fresh = model();
    const restored = await within(() => fresh.saver.restoreLatest(dir));
    expect(restored).toEqual({ value: expect.objectContaining({ path: join(dir, "model.ckpt-1") }) as unknown });
    expect(fresh.value.v).toBe(1);
  });
});

describe("a FIFO as a checkpoint's manifest", () => {
  it("is not a checkpoint: restore throws a ValueError, latestCheckpoint gives null, without blocking", async () => {
    const prefix = await saved();
    await fifoAt(prefix + INDEX_SUFFIX);
    expect(await within(() => model().saver.restore(prefix))).toEqual(thrown(ValueError, `The passed savePath is not a valid checkpoint: ${prefix}`));
    expect(await within(() => latestCheckpoint(dir))).toEqual({ value: null });
  });

  it("is replaced when the same checkpoint is saved again, and the save does not block reading it", async () => {
    const prefix = await saved();
    await fifoAt(prefix + INDEX_SUFFIX);
    const { saver, value } = model();
    value.v = 5;
    expect(await within(() => saver.save(join(dir, "model.ckpt"), { globalStep: 1 }))).toEqual({ value: prefix });
    const fresh = model();
    expect(await within(() => fresh.saver.restore(prefix))).toEqual({ value: undefined });
    expect(fresh.value.v).toBe(5);
  });
});

describe("other files that are not regular files", () => {
  it("a directory as the data file: restore throws a DataLossError saying so", async () => {
    const prefix = await saved();
    await rm(prefix + DATA_SUFFIX);
    await mkdir(prefix + DATA_SUFFIX);
    expect(await within(() => model().saver.restore(prefix))).toEqual(thrown(DataLossError, `${prefix + DATA_SUFFIX} is a directory, not a regular file`));
  });

  it("a directory as the state file: getCheckpointState throws a FailedPreconditionError saying so", async () => {
    await saved();
    await rm(join(dir, "checkpoint"));
    await mkdir(join(dir, "checkpoint"));
    expect(await within(() => getCheckpointState(dir))).toEqual(
      thrown(FailedPreconditionError, `${join(dir, "checkpoint")} is a directory, not a regular file`),
    );
  });

  it("a socket as the data file: restore throws a DataLossError saying so", async () => {
    const prefix = await saved();
    await rm(prefix + DATA_SUFFIX);
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(prefix + DATA_SUFFIX, resolve));
    expect(await within(() => model().saver.restore(prefix))).toEqual(thrown(DataLossError, `${prefix + DATA_SUFFIX} is a socket`));
  });

  it("a device as the state file (a link to /dev/zero): getCheckpointState throws a FailedPreconditionError saying so", async () => {
    await saved();
    await rm(join(dir, "checkpoint"));
    await symlink("/dev/zero", join(dir, "checkpoint"));
    expect(await within(() => getCheckpointState(dir))).toEqual(
      thrown(FailedPreconditionError, `${join(dir, "checkpoint")} is a character device, not a regular file`),
    );
  });

  it("a state file larger than 16 MiB is refused unread", async () => {
    await saved();
    const state = join(dir, "checkpoint");
    await writeFile(state, 'model_checkpoint_path: "model.ckpt-1"\n');
    await truncate(state, MAX_STATE_BYTES + 1);
    expect(await within(() => getCheckpointState(dir))).toEqual(
      thrown(FailedPreconditionError, `${state} has ${MAX_STATE_BYTES + 1} bytes, more than the ${MAX_STATE_BYTES} any state file needs`),
    );
  });
});
