/**
 * One writer per state file: while a process (or a Saver of this process) saves into a directory
 * with a state file, another that saves there with the same state file is refused with a
 * FailedPreconditionError naming the holder, and nothing of the directory changes. The lock is
 * `<state file>.lock`; a process that ended releases it (or, killed, leaves it stale: the next
 * writer takes it over with a process warning); `close()` releases it.
 */
import { spawnSync } from "node:child_process";
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FailedPreconditionError, getCheckpointState, makeSaveable, Saver, type SaverOptions } from "../src/index.js";
import { LineChild } from "./kill-harness.js";

const holderScript = fileURLToPath(new URL("./fixtures/lock-holder.ts", import.meta.url));

/** A child that saves one checkpoint, then holds on (or exits). */
class Holder extends LineChild {
  saved: number | null = null;
  refused: string | null = null;
  constructor(dir: string, step: number, then: "hold" | "exit" = "hold") {
    super(`the saver in ${dir}`, holderScript, [dir, String(step), then]);
  }
  protected override onLine(line: string): boolean {
    const [word, ...rest] = line.split(" ");
    if (word === "saved") this.saved = Number(rest[0]);
    else if (word === "refused") this.refused = rest.join(" ");
    else return false;
    return true;
  }
}

let dir: string;
let children: Holder[] = [];
let warnings: { code: string | undefined; message: string }[] = [];
const onWarning = (warning: Error): void => void warnings.push({ code: (warning as { code?: string }).code, message: warning.message });
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-writer-lock-"));
  warnings = [];
  process.on("warning", onWarning);
});
afterEach(async () => {
  process.off("warning", onWarning);
  for (const child of children) child.stop();
  await Promise.all(children.map((child) => child.ended));
  children = [];
  await rm(dir, { recursive: true, force: true });
});

function holder(step: number, then: "hold" | "exit" = "hold"): Holder {
  const child = new Holder(dir, step, then);
  children.push(child);
  return child;
}

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

const lockPath = (): string => join(dir, "checkpoint.lock");

async function lockOf(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(lockPath(), "utf8")) as Record<string, unknown>;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The pid of a process that has ended. */
function deadPid(): number {
  const run = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
  return Number(run.stdout.trim());
}

describe("two processes saving into one directory", () => {
  it("refuses the second while the first lives, naming it, and changes nothing", async () => {
    const first = holder(1);
    await first.until(() => first.saved !== null, "its save");
    const before = await readFile(join(dir, "checkpoint"), "utf8");
    const error = await saver()
      .save(join(dir, "model.ckpt"), { globalStep: 2 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Saving into ${escape(dir)} is refused: its state file ${escape(join(dir, "checkpoint"))} is written by process ${first.pid} on ${escape(hostname())} ` +
          `\\(started \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\), which holds ${escape(lockPath())}\\. One writer per state file:`,
      ),
    );
    expect(await readFile(join(dir, "checkpoint"), "utf8")).toBe(before);
    expect(await exists(join(dir, "model.ckpt-2.index"))).toBe(false);
  });

  it("refuses a second process while this one holds the lock", async () => {
    await saver().save(join(dir, "model.ckpt"), { globalStep: 1 });
    const second = holder(2, "exit");
    await second.endsCleanly();
    expect(second.refused).toMatch(new RegExp(`^FailedPreconditionError: Saving into ${escape(dir)} is refused: .* process ${process.pid} on `));
    expect((await getCheckpointState(dir))?.modelCheckpointPath).toBe(join(dir, "model.ckpt-1"));
  });

  it("takes over the lock of a process killed with SIGKILL, with a warning saying so", async () => {
    const first = holder(1);
    await first.until(() => first.saved !== null, "its save");
    first.stop();
    await first.ended;
    const next = saver();
    await expect(next.save(join(dir, "model.ckpt"), { globalStep: 2 })).resolves.toBe(join(dir, "model.ckpt-2"));
    expect(warnings).toEqual([
      {
        code: "CHECKPIPE_CHECKPOINT_LOCK",
        message: expect.stringMatching(
          new RegExp(
            `^Took over the writer lock ${escape(lockPath())} of process ${first.pid} on ${escape(hostname())} \\(started .*\\), which is no longer running\\.`,
          ),
        ) as string,
      },
    ]);
    expect(await lockOf()).toMatchObject({ format: "checkpipe.lock", version: 1, pid: process.pid, hostname: hostname() });
  });

  it("leaves no lock once a process that saved has exited", async () => {
    const child = holder(1, "exit");
    await child.endsCleanly();
    expect(child.saved).toBe(1);
    expect(await exists(lockPath())).toBe(false);
  });
});

describe("a stale lock", () => {
  const lock = (fields: Record<string, unknown>): string =>
    JSON.stringify({
      format: "checkpipe.lock",
      version: 1,
      hostname: hostname(),
      thread: 0,
      started: "2026-01-01T00:00:00.000Z",
      processStart: null,
      ...fields,
    });

  it("of a process that is not running is taken over, with a warning", async () => {
    const pid = deadPid();
    await writeFile(lockPath(), lock({ pid }));
    await saver().save(join(dir, "model.ckpt"), { globalStep: 1 });
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringContaining(
        `Took over the writer lock ${lockPath()} of process ${pid} on ${hostname()} (started 2026-01-01T00:00:00.000Z), which is no longer running.`,
      ),
    ]);
    expect(await lockOf()).toMatchObject({ pid: process.pid });
  });

  it("of a pid now used by another process (its start time differs) is taken over", async () => {
    // This process's parent is running, but not since the start time the lock records.
    await writeFile(lockPath(), lock({ pid: process.ppid, processStart: "1" }));
    await saver().save(join(dir, "model.ckpt"), { globalStep: 1 });
    expect(warnings.map((w) => w.code)).toEqual(["CHECKPIPE_CHECKPOINT_LOCK"]);
  });

  it("of another host is not taken over: the save is refused, naming the host", async () => {
    await writeFile(lockPath(), lock({ pid: deadPid(), hostname: "elsewhere.example" }));
    await expect(saver().save(join(dir, "model.ckpt"), { globalStep: 1 })).rejects.toThrow(/is written by process \d+ on elsewhere\.example .*delete it/);
    expect(await exists(join(dir, "checkpoint"))).toBe(false);
  });
});

describe("two Savers of one process", () => {
  it("refuses the second while the first has writes under way, and the first once the second took over", async () => {
    // 64 MB to write (and fsync): the first's background write is surely under way when the second asks.
    let big: Float32Array = new Float32Array(16 * 2 ** 20);
    const first = new Saver([
      makeSaveable(
        "v",
        () => big,
        (value: Float32Array) => void (big = value),
      ),
    ]);
    await first.save(join(dir, "model.ckpt"), { globalStep: 1 });
    const { written } = await first.saveInBackground(join(dir, "model.ckpt"), { globalStep: 2 });
    const second = saver();
    await expect(second.save(join(dir, "model.ckpt"), { globalStep: 3 })).rejects.toThrow(
      `Saving into ${dir} is refused: another Saver of this process writes its state file ${join(dir, "checkpoint")}, and its checkpoints are being written.`,
    );
    await written;
    // The first is idle now: the second takes the state file over, and the first may no longer write it.
    await expect(second.save(join(dir, "model.ckpt"), { globalStep: 3 })).resolves.toBe(join(dir, "model.ckpt-3"));
    await expect(first.save(join(dir, "model.ckpt"), { globalStep: 4 })).rejects.toThrow(
      `Saving into ${dir} is refused: another Saver of this process took over its state file ${join(dir, "checkpoint")}.`,
    );
    expect((await getCheckpointState(dir))?.modelCheckpointPath).toBe(join(dir, "model.ckpt-3"));
  });

  it("lets each save after the other once it called close()", async () => {
    const first = saver();
    await first.save(join(dir, "model.ckpt"), { globalStep: 1 });
    await first.close();
    expect(await exists(lockPath())).toBe(false);
    const second = saver();
    await second.save(join(dir, "model.ckpt"), { globalStep: 2 });
    expect(await lockOf()).toMatchObject({ pid: process.pid });
    await second.close();
    await expect(first.save(join(dir, "model.ckpt"), { globalStep: 3 })).resolves.toBe(join(dir, "model.ckpt-3"));
  });

  it("with different state files do not lock each other out", async () => {
    await saver().save(join(dir, "model.ckpt"), { globalStep: 1 });
    await saver({ latestFilename: "checkpoint_input" }).save(join(dir, "input.ckpt"), { globalStep: 1 });
    expect(await exists(join(dir, "checkpoint_input.lock"))).toBe(true);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
