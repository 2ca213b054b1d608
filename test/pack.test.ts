/**
 * The package as a user installs it: `npm pack`, installed into a scratch project, whose code
 * type-checks against every entry point under strict settings (with and without
 * `exactOptionalPropertyTypes`, never with `skipLibCheck`) and runs: a pipeline saved and
 * restored, a checkpoint written and verified by the `checkpipe` command, and the conformance
 * kit on an op. (Which modules each entry point loads: test/entry-points.test.ts.)
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
let scratch: string;

const consumer = `
import { Dataset, Saver, makeSaveableFromIterator, type IteratorState } from "checkpipe";
import { Dataset as DataDataset, InvalidArgumentError, parseExample } from "checkpipe/data";
import { Saver as CheckpointSaver, latestCheckpoint } from "checkpipe/checkpoint";
import { Estimator, MonitoredSession, RunConfig, OutOfRangeError } from "checkpipe/train";
import { checkCheckpointing, type OpIterator } from "checkpipe/testing";

const ds = DataDataset.range(20).shuffle(5, { seed: 1 }).map((x: number) => x * 2).batch(3);
const it = ds.iterator();
await it.next();
const state: IteratorState = await it.save();
const resumed = ds.iterator({ state: JSON.parse(JSON.stringify(state)) as IteratorState });
const rest: number[][] = [];
for await (const batch of resumed) rest.push(batch);

const dir = process.argv[2] ?? ".";
const saver = new CheckpointSaver([makeSaveableFromIterator(it)]);
await saver.save(dir + "/input.ckpt", { globalStep: 1 });
await saver.close();
const latest: string | null = await latestCheckpoint(dir);

const expected = await checkCheckpointing(() => Dataset.range(30).filter((x: number) => x % 3 === 0));
const kinds: [typeof Saver, typeof CheckpointSaver, typeof Estimator, typeof MonitoredSession, typeof RunConfig] = [Saver, CheckpointSaver, Estimator, MonitoredSession, RunConfig];
const op: OpIterator<number> | null = null;
console.log(JSON.stringify({ rest: rest.length, latest: latest !== null, expected: expected.length, kinds: kinds.length, op, errors: [typeof InvalidArgumentError, typeof OutOfRangeError, typeof parseExample] }));
`;

function tsconfig(exact: boolean): string {
  return JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      exactOptionalPropertyTypes: exact,
      skipLibCheck: false,
      noEmit: !exact,
      outDir: "out",
      types: ["node"],
      typeRoots: [join(root, "node_modules/@types")],
    },
    files: ["consumer.ts"],
  });
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "checkpipe-pack-"));
  const packed = JSON.parse(execFileSync(npm, ["pack", "--json", "--pack-destination", scratch], { cwd: root, encoding: "utf8" })) as { filename: string }[];
  const tarball = join(scratch, (packed[0] as { filename: string }).filename);
  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  execFileSync(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], { cwd: scratch, encoding: "utf8", stdio: "pipe" });
  writeFileSync(join(scratch, "consumer.ts"), consumer);
}, 180_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe("the packed package, installed", () => {
  it("ships dist, docs and the README, and no source maps", () => {
    const files = JSON.parse(execFileSync(npm, ["pack", "--dry-run", "--json"], { cwd: root, encoding: "utf8" })) as { files: { path: string }[] }[];
    const paths = (files[0] as { files: { path: string }[] }).files.map((f) => f.path);
    expect(paths).toContain("docs/checkpoint-format.md");
    expect(paths).toContain("README.md");
    expect(paths).toContain("dist/cli/main.js");
    expect(paths.filter((p) => p.endsWith(".map"))).toEqual([]);
    expect(paths.filter((p) => p.startsWith("src/") || p.includes(".test."))).toEqual([]);
  });

  for (const exact of [false, true]) {
    it(`type-checks a strict consumer of every entry point ${exact ? "with" : "without"} exactOptionalPropertyTypes, without skipLibCheck`, () => {
      writeFileSync(join(scratch, "tsconfig.json"), tsconfig(exact));
      const run = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: scratch, encoding: "utf8" });
      expect(run.stdout + run.stderr).toBe("");
      expect(run.status).toBe(0);
    });
  }

  it("runs the consumer, and its checkpoint passes `checkpipe verify`", () => {
    writeFileSync(join(scratch, "tsconfig.json"), tsconfig(true));
    execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: scratch });
    const ckpt = join(scratch, "ckpt");
    mkdirSync(ckpt);
    const run = spawnSync(process.execPath, ["out/consumer.js", ckpt], { cwd: scratch, encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ rest: 6, latest: true, expected: 10, kinds: 5, op: null, errors: ["function", "function", "function"] });
    const verify = spawnSync(join(scratch, "node_modules/.bin/checkpipe"), ["verify", ckpt], { encoding: "utf8" });
    expect(verify.stderr).toBe("");
    expect(verify.stdout).toContain("whole");
    expect(verify.status).toBe(0);
  });
});
