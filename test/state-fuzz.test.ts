/**
 * Mutated iterator states: states saved from pipelines that use every op (the golden pipelines,
 * in both generations of their formats), changed at a random place — a field replaced by any JSON
 * value or by a look-alike of the element encoding, deleted, or joined by a field that does not
 * belong — then restored, pulled from and saved again. Whatever the mutation, every error is a
 * checkpipe error (no TypeError, RangeError or SyntaxError from inside the library), nothing
 * hangs, and nothing reaches Object.prototype. Seeded and bounded.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CheckpipeError, type IteratorState, type JsonValue } from "../src/index.js";
import { GOLDEN_PIPELINES } from "./golden/pipelines.js";

const dir = join(fileURLToPath(new URL(".", import.meta.url)), "golden", "states");
const goldens = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .map((file) => ({
    file,
    name: file.replace(/\.v\d+\.json$/, ""),
    state: (JSON.parse(readFileSync(join(dir, file), "utf8")) as { state: IteratorState }).state,
  }));

const MUTATIONS_PER_STATE = 160;
const CASE_TIMEOUT_MS = 2_000;

/** Values that look like parts of the element encoding, or of op states, but are not. */
const lookAlikes: JsonValue[] = [
  { $type: "Map", entries: 5 },
  { $type: "Map", entries: [[1]] },
  { $type: "bigint", value: "zz" },
  { $type: "Object", entries: null },
  { $type: "Float32Array", base64: "AAA=" },
  { $type: "Float64Array", blob: 99 },
  { $type: "string", blob: -1 },
  { $type: "Date", value: { $type: "Date", value: "x" } },
  { $type: "__proto__" },
  { garbage: 1 },
  { value: { $type: "zz" } },
  { error: 5 },
  { kind: "Range", version: 1, index: "3" },
  { kind: "Range", version: 1 },
  { kind: "Map", version: 99, input: null },
  [1, 2, 3, 4],
  -1,
  1e300,
  Number.MAX_SAFE_INTEGER,
  "",
  null,
];

type Mutation = { readonly at: number; readonly op: "replace" | "delete" | "add"; readonly value: JsonValue };

const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom("replace" as const, "replace" as const, "delete" as const, "add" as const),
  value: fc.oneof(fc.constantFrom(...lookAlikes), fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>),
});

/** Every object and array in the tree, with the keys into it, in a fixed order. */
function containers(tree: JsonValue): { node: Record<string, JsonValue> | JsonValue[]; keys: (string | number)[] }[] {
  const out: { node: Record<string, JsonValue> | JsonValue[]; keys: (string | number)[] }[] = [];
  const visit = (node: JsonValue): void => {
    if (node === null || typeof node !== "object") return;
    const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    out.push({ node, keys });
    for (const key of keys) visit((node as Record<string | number, JsonValue>)[key] as JsonValue);
  };
  visit(tree);
  return out;
}

/** A copy of `state` with one mutation applied. */
function mutate(state: IteratorState, m: Mutation): IteratorState {
  const copy = JSON.parse(JSON.stringify(state)) as JsonValue;
  const all = containers(copy).filter((c) => c.keys.length > 0 || m.op === "add");
  const target = all[m.at % all.length];
  if (target === undefined) return copy as unknown as IteratorState;
  const { node, keys } = target;
  const key = keys[m.at % Math.max(1, keys.length)];
  if (m.op === "add" || key === undefined) {
    if (Array.isArray(node)) node.push(m.value);
    else node[`extra${m.at % 3}`] = m.value;
  } else if (m.op === "delete") {
    if (Array.isArray(node)) node.splice(key as number, 1);
    else delete node[key as string];
  } else (node as Record<string | number, JsonValue>)[key] = m.value;
  return copy as unknown as IteratorState;
}

/** Restores, pulls three elements and saves; returns the errors thrown (or "hung"). */
async function exercise(name: string, state: IteratorState): Promise<unknown[]> {
  const build = GOLDEN_PIPELINES[name];
  if (build === undefined) throw new Error(`no golden pipeline ${name}`);
  const errors: unknown[] = [];
  const it = build().iterator();
  const steps = async (): Promise<void> => {
    try {
      await it.restore(state);
    } catch (error) {
      errors.push(error);
      return;
    }
    for (let i = 0; i < 3; i++) {
      try {
        if ((await it.next()).done === true) break;
      } catch (error) {
        errors.push(error);
      }
    }
    await it.save().catch((error: unknown) => errors.push(error));
  };
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), CASE_TIMEOUT_MS);
  });
  if ((await Promise.race([steps(), hung])) === "hung") errors.push("hung");
  clearTimeout(timer);
  await it.close().catch(() => undefined);
  return errors;
}

/** An error the library may raise for a bad state: a checkpipe error, or (for a state holding a saved error) that error, restored. */
function acceptable(error: unknown, mutated: IteratorState, name: string): boolean {
  if (error instanceof CheckpipeError) return true;
  if (!(error instanceof Error) || error.constructor !== Error) return false;
  // A held entry's saved error comes back as an Error; the ignore-errors pipeline's map throws Errors of its own.
  return JSON.stringify(mutated).includes('"error"') || (name === "ignore-errors" && /^bad \d+$/.test(error.message));
}

describe("restoring mutated states", () => {
  for (const golden of goldens) {
    it(`${golden.file}: ${MUTATIONS_PER_STATE} mutations, only typed errors, no hang, no prototype pollution`, async () => {
      const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();
      const untyped: string[] = [];
      await fc.assert(
        fc.asyncProperty(mutation, async (m) => {
          const mutated = mutate(golden.state, m);
          for (const error of await exercise(golden.name, mutated)) {
            if (!acceptable(error, mutated, golden.name))
              untyped.push(`${JSON.stringify(m)}: ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`);
          }
        }),
        { numRuns: MUTATIONS_PER_STATE, seed: 0x5747e },
      );
      expect(untyped.slice(0, 5)).toEqual([]);
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoBefore);
    }, 60_000);
  }
});
