import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as Record<string, unknown>;

describe("the built package (npm run build)", () => {
  it("declares ESM, no side effects, and an exports map with types", () => {
    expect(pkg["type"]).toBe("module");
    expect(pkg["sideEffects"]).toBe(false);
    expect(pkg["exports"]).toMatchObject({ ".": { types: "./dist/index.d.ts", import: "./dist/index.js" } });
    expect(pkg["exports"]).toMatchObject({ "./tfjs": { types: "./dist/integrations/tfjs/index.d.ts", import: "./dist/integrations/tfjs/index.js" } });
    for (const entry of ["data", "checkpoint", "train", "testing"]) {
      expect(pkg["exports"]).toMatchObject({ [`./${entry}`]: { types: `./dist/entries/${entry}.d.ts`, import: `./dist/entries/${entry}.js` } });
    }
    expect(pkg["bin"]).toEqual({ checkpipe: "./dist/cli/main.js" });
    expect(pkg["peerDependenciesMeta"]).toEqual({ "@tensorflow/tfjs": { optional: true } });
  });

  it("loads no tfjs for `checkpipe`, and resolves `checkpipe/tfjs`, which does", () => {
    const script =
      'import { createRequire } from "node:module";' +
      'const tfjsLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes("@tensorflow")) || "_tfGlobals" in globalThis;' +
      'await import("checkpipe"); const main = tfjsLoaded();' +
      'const sub = await import("checkpipe/tfjs");' +
      "console.log(JSON.stringify({ main, sub: tfjsLoaded(), fit: typeof sub.fitDatasetResumable, saveables: typeof sub.makeModelSaveables }));";
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ main: false, sub: true, fit: "function", saveables: "function" });
  });

  it("resolves `checkpipe` through its exports map and runs a pipeline", async () => {
    const script =
      'import { Dataset, InvalidArgumentError } from "checkpipe";' +
      "const it = Dataset.range(5).map((x) => x * 2).iterator(); await it.next();" +
      "const state = JSON.parse(JSON.stringify(await it.save()));" +
      "const rest = await Dataset.range(5).map((x) => x * 2).iterator({ state });" +
      "const out = []; for await (const x of rest) out.push(x);" +
      "console.log(JSON.stringify({ out, error: typeof InvalidArgumentError }));";
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ out: [2, 4, 6, 8], error: "function" });
  });

  it("type-checks a consumer against the emitted declarations", () => {
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    const run = spawnSync(process.execPath, [tsc, "-p", "test/package/tsconfig.json"], { cwd: root, encoding: "utf8" });
    expect(run.stdout + run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it("type-checks a strict consumer without exactOptionalPropertyTypes against the emitted declarations", () => {
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    const run = spawnSync(process.execPath, [tsc, "-p", "test/package/tsconfig.loose.json"], { cwd: root, encoding: "utf8" });
    expect(run.stdout + run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it("finds no error in checkpipe/tfjs's own declarations under a full library check (only in tfjs's)", () => {
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    const run = spawnSync(process.execPath, [tsc, "-p", "test/package/tsconfig.tfjs.json", "--skipLibCheck", "false"], { cwd: root, encoding: "utf8" });
    const errors = (run.stdout + run.stderr).split("\n").filter((line) => /error TS\d+/.test(line));
    expect(errors.filter((line) => !line.includes("node_modules/@tensorflow/"))).toEqual([]);
  });

  it("type-checks a consumer of `checkpipe/tfjs` against the emitted declarations", () => {
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    const run = spawnSync(process.execPath, [tsc, "-p", "test/package/tsconfig.tfjs.json"], { cwd: root, encoding: "utf8" });
    expect(run.stdout + run.stderr).toBe("");
    expect(run.status).toBe(0);
  });
});
