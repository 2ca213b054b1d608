// Installs the benchmark's own dependencies (bench/package.json: the tfjs-data peer, pinned
// exactly, locked by bench/package-lock.json) into bench/node_modules when they are missing or
// not the pinned versions. `npm run bench` runs this first; `npm test` never needs them.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const wanted = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).dependencies;

function installedVersion(name) {
  const path = join(here, "node_modules", ...name.split("/"), "package.json");
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")).version : null;
}

const stale = Object.entries(wanted).filter(([name, version]) => installedVersion(name) !== version);
if (stale.length > 0) {
  process.stderr.write(`bench: installing ${stale.map(([n, v]) => `${n}@${v}`).join(", ")} into bench/node_modules (npm ci) ...\n`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["ci", "--no-audit", "--no-fund"], { cwd: here, stdio: "inherit", shell: process.platform === "win32" });
  if (result.status !== 0) {
    process.stderr.write("bench: npm ci in bench/ failed\n");
    process.exit(result.status ?? 1);
  }
}
