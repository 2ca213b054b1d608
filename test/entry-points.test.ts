/**
 * The layered entry points of the built package (npm run build): which modules each one makes
 * Node load (recorded by a load hook, test/package/record-loads.mjs), that the modules import
 * one another without a cycle, that importing them changes nothing global (`sideEffects:
 * false`), and that TensorBoard's wire format stays inside.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");
const logs = mkdtempSync(join(tmpdir(), "checkpipe-loads-"));
const ENTRIES = ["checkpipe", "checkpipe/data", "checkpipe/checkpoint", "checkpipe/train", "checkpipe/testing"];

afterAll(() => {
  rmSync(logs, { recursive: true, force: true });
});

/** Runs an ES module script in a fresh Node from the package's root; returns its stdout. */
function runScript(script: string, env: Record<string, string> = {}): string {
  const hook = join(root, "test/package/record-loads.mjs");
  const run = spawnSync(process.execPath, ["--import", hook, "--input-type=module", "-e", script], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  return run.stdout;
}

/**
 * What Node loads for `import(specifier)`: the package's own modules as paths under dist/,
 * other packages by name (`pkg:commander`), built-ins as `node:fs`.
 */
function loadedBy(specifier: string): string[] {
  const log = join(logs, `${specifier.replaceAll("/", "_")}.log`);
  runScript(`await import(${JSON.stringify(specifier)});`, { CHECKPIPE_LOADS_LOG: log });
  const urls = readFileSync(log, "utf8").split("\n").filter(Boolean);
  return urls.map((url) => {
    if (!url.startsWith("file:")) return url;
    const path = fileURLToPath(url);
    const inPackage = /[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(path);
    if (inPackage !== null) return `pkg:${(inPackage[1] as string).replace("\\", "/")}`;
    return relative(root, path).replaceAll("\\", "/");
  });
}

/** The loaded modules that lie in the given layers (directories under dist/) or packages. */
function within(loaded: readonly string[], layers: readonly string[], packages: readonly string[] = ["commander", "vitest", "@tensorflow"]): string[] {
  return loaded.filter((m) => layers.some((l) => m.startsWith(`dist/${l}/`)) || packages.some((p) => m.startsWith(`pkg:${p}`)));
}

/** Every cycle of relative imports among the built modules (each as its modules' paths). */
function importCycles(): string[][] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".js")) files.push(path);
    }
  };
  walk(dist);
  const imports = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    imports.set(
      file,
      [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => resolve(dirname(file), m[1] as string)),
    );
  }
  // Tarjan's strongly connected components: a component of more than one module is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file) as number);
    stack.push(file);
    onStack.add(file);
    for (const next of imports.get(file) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file) as number, low.get(next) as number));
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file) as number, index.get(next) as number));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(relative(dist, member));
    } while (member !== file);
    if (component.length > 1 || (imports.get(file) ?? []).includes(file)) cycles.push(component);
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return cycles;
}

describe("the layered entry points (built)", () => {
  it("checkpipe/data loads no module of the checkpoint store, the training loop or the command, nor commander, vitest or tfjs", () => {
    const loaded = loadedBy("checkpipe/data");
    expect(loaded).toContain("dist/entries/data.js");
    expect(loaded).toContain("dist/dataset/dataset.js");
    expect(within(loaded, ["checkpoint", "session", "estimator", "loop", "integrations", "cli"])).toEqual([]);
  });

  it("checkpipe/checkpoint loads no module of the training loop or the command", () => {
    const loaded = loadedBy("checkpipe/checkpoint");
    expect(loaded).toContain("dist/checkpoint/saver.js");
    expect(within(loaded, ["session", "estimator", "integrations", "cli"])).toEqual([]);
  });

  it("checkpipe/testing loads the op interfaces and the kit, no checkpoint store, training loop or test runner", () => {
    const loaded = loadedBy("checkpipe/testing");
    expect(loaded).toContain("dist/testing/checkpointing.js");
    expect(loaded).toContain("dist/core/iterator.js");
    expect(within(loaded, ["checkpoint", "session", "estimator", "loop", "integrations", "cli"])).toEqual([]);
  });

  it("checkpipe and checkpipe/train load no tfjs, commander or vitest", () => {
    expect(within(loadedBy("checkpipe"), ["integrations", "cli"])).toEqual([]);
    expect(within(loadedBy("checkpipe/train"), ["integrations", "cli"])).toEqual([]);
  });

  it("has no import cycle among its modules, so none between the entry points", () => {
    expect(importCycles()).toEqual([]);
  });

  it("changes no global, environment variable or process listener when every entry point is imported (sideEffects: false)", () => {
    const script =
      "const snapshot = () => ({" +
      " globals: Reflect.ownKeys(globalThis).map(String).sort()," +
      " env: Object.keys(process.env).sort()," +
      " listeners: process.eventNames().map((name) => [String(name), process.listenerCount(name)])," +
      " exitCode: process.exitCode ?? null });" +
      "const before = snapshot();" +
      `for (const entry of ${JSON.stringify(ENTRIES)}) await import(entry);` +
      "console.log(JSON.stringify({ before, after: snapshot() }));";
    const { before, after } = JSON.parse(runScript(script)) as { before: unknown; after: unknown };
    expect(after).toEqual(before);
  });

  it("keeps TensorBoard's wire format (encodeEvent, decodeEvent, FILE_VERSION) out of every entry point, SummaryWriter and readEvents in", () => {
    const script =
      `const found = {}; for (const entry of ${JSON.stringify(ENTRIES)}) { const m = await import(entry);` +
      ' found[entry] = ["encodeEvent", "decodeEvent", "FILE_VERSION", "SummaryWriter", "readEvents", "scalarsOf"].filter((name) => name in m); }' +
      "console.log(JSON.stringify(found));";
    const writer = ["SummaryWriter", "readEvents", "scalarsOf"];
    expect(JSON.parse(runScript(script))).toEqual({
      checkpipe: writer,
      "checkpipe/data": [],
      "checkpipe/checkpoint": [],
      "checkpipe/train": writer,
      "checkpipe/testing": [],
    });
  });
});
