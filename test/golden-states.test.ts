import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { decodeValue, type IteratorState, type JsonValue } from "../src/index.js";
import { GOLDEN_GENERATION, GOLDEN_PIPELINES } from "./golden/pipelines.js";

const dir = join(fileURLToPath(new URL(".", import.meta.url)), "golden", "states");
const files = readdirSync(dir).filter((f) => f.endsWith(".json"));

describe("golden states saved by earlier versions", () => {
  it("covers every golden pipeline, in the current generation too", () => {
    expect([...new Set(files.map((f) => f.replace(/\.v\d+\.json$/, "")))].sort()).toEqual(Object.keys(GOLDEN_PIPELINES).sort());
    expect(files.filter((f) => f.endsWith(`.${GOLDEN_GENERATION}.json`)).length).toBe(Object.keys(GOLDEN_PIPELINES).length);
  });

  for (const file of files) {
    it(`restores ${file} and yields exactly the elements recorded with it`, async () => {
      const { state, rest } = JSON.parse(readFileSync(join(dir, file), "utf8")) as { state: IteratorState; rest: JsonValue };
      const build = GOLDEN_PIPELINES[file.replace(/\.v\d+\.json$/, "")];
      expect(build).toBeDefined();
      const out: unknown[] = [];
      for await (const value of build!().iterator({ state })) out.push(value);
      expect(out).toEqual(decodeValue(rest));
    });
  }
});
