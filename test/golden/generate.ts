/**
 * Writes a golden state file `<pipeline>.<generation>.json` for each pipeline of pipelines.ts
 * that has none of the current generation yet:
 *   node --import tsx test/golden/generate.ts
 * Existing files are never overwritten: they are the states old versions wrote. Bump
 * GOLDEN_GENERATION (pipelines.ts) when an op's state format changes, and generate.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeValue } from "../../src/index.js";
import { GOLDEN_GENERATION, GOLDEN_PIPELINES, GOLDEN_SPLIT } from "./pipelines.js";

const dir = join(fileURLToPath(new URL(".", import.meta.url)), "states");
mkdirSync(dir, { recursive: true });
for (const [name, build] of Object.entries(GOLDEN_PIPELINES)) {
  const file = join(dir, `${name}.${GOLDEN_GENERATION}.json`);
  if (existsSync(file)) continue;
  const it = build().iterator();
  for (let i = 0; i < GOLDEN_SPLIT; i++) await it.next();
  const state = await it.save();
  const rest: unknown[] = [];
  for await (const value of it) rest.push(value);
  writeFileSync(file, JSON.stringify({ state, rest: encodeValue(rest) }, null, 1) + "\n");
  console.log(`wrote ${file}`);
}
