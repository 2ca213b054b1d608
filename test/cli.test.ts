/**
 * The `checkpipe` command as users run it (the built `dist/cli/main.js`, in a child process):
 * `inspect` and `verify` on real checkpoint directories, whole and damaged in every way a crash
 * or a disk can leave them, and its usage errors.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm, symlink, truncate, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { paintFor, progressOn } from "../src/cli/output.js";
import { Dataset, makeSaveable, makeSaveableFromIterator, Saver } from "../src/index.js";
import {
  assignAdd,
  CheckpointInputPipelineHook,
  constant,
  Estimator,
  EstimatorSpec,
  getOrCreateGlobalStep,
  Operation,
  RunConfig,
  silentLogger,
} from "../src/entries/train.js";

/** An op of `inspect --json`. */
interface OpJson {
  kind: string;
  version: number;
  at: string;
  params: string | null;
  inputs: OpJson[];
}

const main = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-cli-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A model's checkpoints (steps 100, 200) and, with `checkpoint_input`, an input pipeline's. */
async function makeCheckpoints(): Promise<void> {
  const it = Dataset.range(100)
    .shuffle(10, { seed: 1 })
    .map((x) => x * 2)
    .batch(4)
    .prefetch(2)
    .iterator();
  for (let i = 0; i < 5; i++) await it.next();
  let weights = new Float32Array(4);
  const model = new Saver([
    makeSaveable(
      "weights",
      () => weights,
      (v) => void (weights = v),
    ),
  ]);
  const input = new Saver([makeSaveableFromIterator(it)], { latestFilename: "checkpoint_input" });
  for (const step of [100, 200]) {
    await model.save(join(dir, "model.ckpt"), { globalStep: step });
    await input.save(join(dir, "input.ckpt"), { globalStep: step });
    await it.next();
  }
  await model.close();
  await input.close();
  await it.close();
}

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  // A command that hangs is killed, and its status is null: the test fails instead of hanging.
  const child = spawnSync(process.execPath, [main, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: undefined }, timeout: 30_000 });
  return { code: child.status, stdout: child.stdout, stderr: child.stderr };
}

async function flipByte(path: string, at: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[at] = (bytes[at] as number) ^ 0xff;
  await writeFile(path, bytes);
}

describe("checkpipe inspect", () => {
  it("lists every state file's checkpoints and shows each iterator state as a tree of ops in words", async () => {
    await makeCheckpoints();
    const out = run("inspect", dir);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`${join(dir, "checkpoint")} (model): 2 checkpoint(s), latest model.ckpt-200`);
    expect(out.stdout).toContain(`${join(dir, "checkpoint_input")} (input pipeline): 2 checkpoint(s), latest input.ckpt-200`);
    expect(out.stdout).toMatch(/input\.ckpt-200 {3}step 200 {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC {3}[\d.]+ (B|kB) {3}whole/);
    expect(out.stdout).toMatch(/Iterator_STATE: Range -> Shuffle\(10\) -> Map -> Batch\(4\) -> Prefetch\(2\), iterator seed -?\d+\n/);
    // Each op with the parameters the pipeline was built with, its fields in words and its buffers' fill.
    expect(out.stdout).toMatch(/\n {6}Prefetch\(2\) v\d: input ended no; buffer 2 items\n {8}Batch\(4\) v1\n {10}Map v2\n/);
    expect(out.stdout).toMatch(/\n {12}Shuffle\(10\) v3: seed 1, input ended no, pulled 41; .*buffer empty, positions 9 items\n {14}Range v1: index 41\n/);
    expect(out.stdout).toContain("other entries: weights");
    // Not a terminal: no colours.
    expect(out.stdout).not.toContain("\u001b[");
  });

  it("names each input of an op that reads several by where it sits in the state (a zip's inputs, an interleave's slots)", async () => {
    const it = Dataset.zip([Dataset.range(10), Dataset.range(5).interleave((x) => Dataset.range(x, x + 3), { cycleLength: 2 })])
      .take(8)
      .iterator();
    for (let i = 0; i < 3; i++) await it.next();
    const saver = new Saver([makeSaveableFromIterator(it)]);
    await saver.save(join(dir, "zip.ckpt"), { globalStep: 3 });
    await saver.close();
    await it.close();
    const out = run("inspect", dir);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(
      [
        "      Take(8) v1: taken 3",
        "        Zip v2: keys none, ended no",
        "          inputs[0]: Range v1: index 3",
        "          inputs[1]: Interleave(cycleLength=2) v1: cycle index 1, block index 0, input ended no",
        "            slots[0].state: Range v1: index 2",
        "            slots[1].state: Range v1: index 1",
        "            input: Range v1: index 2",
      ].join("\n"),
    );
    const json = JSON.parse(run("inspect", dir, "--json").stdout) as { stateFiles: { checkpoints: { iterators: { ops: OpJson }[] }[] }[] };
    const zip = json.stateFiles[0]?.checkpoints[0]?.iterators[0]?.ops.inputs[0];
    expect(zip?.inputs.map((op) => [op.at, op.kind, op.params])).toEqual([
      ["root.input.inputs[0]", "Range", null],
      ["root.input.inputs[1]", "Interleave", "cycleLength=2"],
    ]);
  });

  it("reads an Estimator's model directory: the model's checkpoints and CheckpointInputPipelineHook's", async () => {
    const est = new Estimator<number, number, Record<string, never>>({
      modelFn: ({ features, mode }) => {
        const increment = assignAdd(getOrCreateGlobalStep());
        const trainOp = new Operation("train", async (session) => {
          await session.eval(features);
          await session.eval(increment);
        });
        return new EstimatorSpec({ mode, loss: constant(0), trainOp });
      },
      modelDir: dir,
      config: new RunConfig({ saveCheckpointsSteps: 4, tfConfig: {} }),
      logger: silentLogger,
    });
    const input = (): Dataset<{ features: number; labels: number }> =>
      Dataset.range(1, 21)
        .map((i) => ({ features: i, labels: 3 * i }))
        .shuffle(8, { seed: 3 })
        .repeat();
    await est.train(input, { hooks: [new CheckpointInputPipelineHook(est, { logger: silentLogger })], steps: 10 });
    const out = run("inspect", dir);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`${join(dir, "checkpoint")} (model): 4 checkpoint(s), latest model.ckpt-10`);
    expect(out.stdout).toContain(`${join(dir, "checkpoint_input")} (input pipeline): 4 checkpoint(s), latest input.ckpt-10`);
    expect(out.stdout).toMatch(
      /input\.ckpt-10 .* whole\n {4}Iterator_STATE: Range -> Map -> Shuffle\(8\) -> Repeat, iterator seed -?\d+\n {6}Repeat v1: epoch 0, yielded yes\n {8}Shuffle\(8\) v3: seed 3, .*pulled 17;/,
    );
    const verified = run("verify", dir);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain(`${join(dir, "checkpoint")}: whole — newest model.ckpt-10, 4 checkpoint(s) checked`);
    expect(verified.stdout).toContain(`${join(dir, "checkpoint_input")}: whole — newest input.ckpt-10, 4 checkpoint(s) checked`);
  });

  it("prints the same facts as one JSON document with --json", async () => {
    await makeCheckpoints();
    const out = run("inspect", dir, "--json");
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as {
      stateFiles: {
        path: string;
        latest: string;
        newestWhole: string;
        checkpoints: { prefix: string; step: number; whole: boolean; bytes: number; iterators: { entry: string; ops: { kind: string } }[] }[];
      }[];
    };
    expect(report.stateFiles.map((f) => f.path)).toEqual([join(dir, "checkpoint"), join(dir, "checkpoint_input")]);
    const input = report.stateFiles[1];
    expect(input?.checkpoints.map((c) => [c.step, c.whole])).toEqual([
      [100, true],
      [200, true],
    ]);
    expect(input?.checkpoints[1]?.iterators[0]?.entry).toBe("Iterator_STATE");
    expect(input?.checkpoints[1]?.iterators[0]?.ops.kind).toBe("Prefetch");
    expect(input?.newestWhole).toBe(join(dir, "input.ckpt-200"));
  });
});

describe("checkpipe verify", () => {
  it("exits 0 when the newest checkpoint of every state file is whole", async () => {
    await makeCheckpoints();
    const out = run("verify", dir);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`${join(dir, "checkpoint_input")}: whole — newest input.ckpt-200, 2 checkpoint(s) checked`);
  });

  it("exits 1 after a flipped byte in the newest data file, naming it and the newest whole checkpoint", async () => {
    await makeCheckpoints();
    await flipByte(join(dir, "input.ckpt-200.data-00000-of-00001"), 20);
    const out = run("verify", dir);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(`${join(dir, "checkpoint_input")}: DAMAGED — newest input.ckpt-200 is not whole; newest whole: input.ckpt-100`);
    expect(out.stdout).toMatch(/damaged input\.ckpt-200: .*CRC32C/);
    expect(out.stdout).toContain(`${join(dir, "checkpoint")}: whole`);
    const json = JSON.parse(run("verify", dir, "--json").stdout) as { ok: boolean; verdicts: { newestWhole: string | null; damaged: { prefix: string }[] }[] };
    expect(json.ok).toBe(false);
    expect(json.verdicts[1]?.newestWhole).toBe(join(dir, "input.ckpt-100"));
    expect(json.verdicts[1]?.damaged.map((d) => d.prefix)).toEqual([join(dir, "input.ckpt-200")]);
  });

  it("reports a truncated data file, a missing one and a damaged manifest per checkpoint, and goes on", async () => {
    await makeCheckpoints();
    await truncate(join(dir, "model.ckpt-200.data-00000-of-00001"), 3);
    await unlink(join(dir, "input.ckpt-100.data-00000-of-00001"));
    await writeFile(join(dir, "input.ckpt-200.index"), "{ not json");
    const out = run("verify", dir);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain("newest model.ckpt-200 is not whole; newest whole: model.ckpt-100");
    expect(out.stdout).toContain("newest input.ckpt-200 is not whole; newest whole: none");
    expect(out.stdout).toMatch(/damaged input\.ckpt-100: /);
    expect(out.stdout).toMatch(/damaged input\.ckpt-200: .*not JSON/);
    expect(out.stderr).toBe("");
    const inspected = run("inspect", dir);
    expect(inspected.code).toBe(1);
    expect(inspected.stdout).toMatch(/model\.ckpt-200 .*DAMAGED: /);
  });

  it("passes over FIFOs in the checkpoint directory (opening one would block), and checks the rest", async () => {
    await makeCheckpoints();
    execFileSync("mkfifo", [join(dir, "notes")]);
    execFileSync("mkfifo", [join(dir, "checkpoint_extra")]);
    const out = run("verify", dir);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`${join(dir, "checkpoint_input")}: whole`);
    expect(out.stdout).not.toMatch(/notes|checkpoint_extra/);
  });

  it("reports a state file it cannot read, and the others", async () => {
    await makeCheckpoints();
    await writeFile(join(dir, "checkpoint"), 'model_checkpoint_path: "unterminated\n');
    const out = run("verify", dir);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(`${join(dir, "checkpoint")}: unreadable state file`);
    expect(out.stdout).toContain(`${join(dir, "checkpoint_input")}: whole`);
  });

  it("reports an iterator state of an envelope version it does not read as not whole, naming the versions", async () => {
    const future = { format: "checkpipe.iterator", version: 99, pipeline: "Range", seed: 1, ended: false, root: { kind: "Range", version: 1, index: 4 } };
    const saver = new Saver(
      [
        makeSaveable(
          "Iterator_STATE",
          () => future,
          () => {},
        ),
      ],
      { latestFilename: "checkpoint_input" },
    );
    await saver.save(join(dir, "input.ckpt"), { globalStep: 1 });
    await saver.close();
    const out = run("verify", dir);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain("newest input.ckpt-1 is not whole; newest whole: none");
    expect(out.stdout).toContain('damaged input.ckpt-1: Entry "Iterator_STATE" is an iterator state of envelope version 99; this checkpipe reads version 1.');
    expect(out.stderr).toBe("");
  });

  it("reports a state file named as the library names them that is not a state file at all, and the others", async () => {
    await makeCheckpoints();
    await writeFile(join(dir, "checkpoint"), Buffer.from([0, 159, 146, 150, 0, 1]));
    const out = run("verify", dir);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(`${join(dir, "checkpoint")}: unreadable state file: it is not a readable checkpoint state file`);
    expect(out.stdout).toContain(`${join(dir, "checkpoint_input")}: whole`);
  });

  it("checks one checkpoint given by its prefix", async () => {
    await makeCheckpoints();
    expect(run("verify", join(dir, "model.ckpt-100")).code).toBe(0);
    await flipByte(join(dir, "model.ckpt-100.data-00000-of-00001"), 10);
    const out = run("verify", join(dir, "model.ckpt-100"));
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/damaged model\.ckpt-100: /);
  });
});

describe("checkpipe usage", () => {
  it("exits 2 with a message naming the path when it is neither a checkpoint directory nor a prefix", async () => {
    const missing = run("verify", join(dir, "nothing-here"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${join(dir, "nothing-here")} is neither a checkpoint directory nor a checkpoint prefix`);
    const empty = run("inspect", dir);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("holds no checkpoint state file");
  });

  it("exits 2 without a path or with an unknown command, and 0 with --help", () => {
    expect(run("verify").code).toBe(2);
    expect(run("frobnicate").code).toBe(2);
    const help = run("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("inspect [options] <path>");
    for (const command of ["inspect", "verify"]) {
      const own = run(command, "--help");
      expect(own.code).toBe(0);
      expect(own.stdout).toContain(`Usage: checkpipe ${command} [options] <path>`);
      expect(own.stdout).toContain("--json");
    }
  });
});

describe("checkpipe as a program", () => {
  it("runs from a directory whose path holds a space, a # and a %", async () => {
    const odd = join(dir, "a b#c%d");
    await cp(fileURLToPath(new URL("../dist", import.meta.url)), join(odd, "dist"), { recursive: true });
    await symlink(fileURLToPath(new URL("../node_modules", import.meta.url)), join(odd, "node_modules"));
    await makeCheckpoints();
    const child = spawnSync(process.execPath, [join(odd, "dist/cli/main.js"), "verify", dir], { encoding: "utf8" });
    expect(child.status).toBe(0);
    expect(child.stdout).toContain(`${join(dir, "checkpoint")}: whole`);
  });
});

describe("progress", () => {
  it("writes to a terminal and clears its line at the end, and writes nothing to a pipe or file", () => {
    const written: string[] = [];
    const stream = (isTTY: boolean) => ({ isTTY, write: (s: string) => written.push(s) > 0 }) as unknown as NodeJS.WritableStream & { isTTY: boolean };
    const tty = progressOn(stream(true));
    tty.update(0, 2, "runs/a/model.ckpt-100");
    tty.end();
    expect(written).toEqual(["\r\u001b[2K[1/2] reading runs/a/model.ckpt-100", "\r\u001b[2K"]);
    written.length = 0;
    const pipe = progressOn(stream(false));
    pipe.update(0, 2, "runs/a/model.ckpt-100");
    pipe.end();
    expect(written).toEqual([]);
  });
});

describe("colours", () => {
  it("colours only a terminal, and never under NO_COLOR or TERM=dumb", () => {
    const tty = { isTTY: true } as NodeJS.WritableStream & { isTTY: boolean };
    expect(paintFor(tty, {}).bad("x")).toBe("\u001b[31mx\u001b[39m");
    expect(paintFor(tty, { NO_COLOR: "1" }).bad("x")).toBe("x");
    expect(paintFor(tty, { TERM: "dumb" }).bad("x")).toBe("x");
    expect(paintFor({ isTTY: false } as NodeJS.WritableStream & { isTTY: boolean }, {}).bad("x")).toBe("x");
  });
});
