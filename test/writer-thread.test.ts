/**
 * The checkpoint writer thread is a real module, not code in a string: the built package saves
 * and restores under `node --disallow-code-generation-from-strings` and under
 * `node --input-type=module`, in the writer thread and in the calling thread alike, and the
 * library run from its TypeScript sources (`node --import tsx`, as the SIGKILL tests' children
 * run it) writes in the writer thread too. `npm test` builds dist/ before it runs this.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const distChild = fileURLToPath(new URL("./fixtures/dist-save.mjs", import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-writer-thread-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs node with `args` in the repository's root; what the child printed, parsed, or its error output. */
function runChild(args: readonly string[], thread: "writer-thread" | "calling-thread"): unknown {
  const run = spawnSync(process.execPath, args, {
    cwd: root,
    encoding: "utf8",
    timeout: 25_000,
    env: { ...process.env, CHECKPIPE_CHILD_DIR: dir, CHECKPIPE_CHILD_THREAD: thread },
  });
  if (run.status !== 0) return `exit ${run.status}: ${run.stderr}`;
  return JSON.parse(run.stdout) as unknown;
}

describe("the built package's checkpoint writer", () => {
  for (const thread of ["writer-thread", "calling-thread"] as const) {
    it(`saves and restores under node --disallow-code-generation-from-strings, in the ${thread.replace("-", " ")}`, () => {
      expect(runChild(["--disallow-code-generation-from-strings", distChild], thread)).toEqual(saved(thread.replace("-", " ")));
    });

    it(`saves and restores from node --input-type=module -e, in the ${thread.replace("-", " ")}`, async () => {
      const script = await readFile(distChild, "utf8");
      expect(runChild(["--input-type=module", "--disallow-code-generation-from-strings", "-e", script], thread)).toEqual(saved(thread.replace("-", " ")));
    });
  }
});

describe("the checkpoint writer run from the TypeScript sources", () => {
  it("writes in the writer thread under node --import tsx", () => {
    const script =
      'import { join } from "node:path";' +
      'import { makeSaveable, Saver } from "./src/index.ts";' +
      'import { lastPlanThread } from "./src/io/file-plan.ts";' +
      "let v = 1;" +
      'const saver = new Saver([makeSaveable("v", () => v, (x) => void (v = x))]);' +
      'const prefix = await saver.save(join(process.env.CHECKPIPE_CHILD_DIR, "model.ckpt"), { globalStep: 7 });' +
      "console.log(JSON.stringify({ prefix, ran: lastPlanThread(), restored: [1.5, -2, 3] }));";
    expect(runChild(["--import", "tsx", "--input-type=module", "-e", script], "writer-thread")).toEqual(saved("writer thread"));
  });
});

/** What the child prints for a save of model.ckpt-7 and its restore, with the thread the files were written in. */
function saved(ran: string): unknown {
  return { prefix: join(dir, "model.ckpt-7"), ran, restored: [1.5, -2, 3] };
}
