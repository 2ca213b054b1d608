/**
 * Errors carry a stable `reason` per condition (errors.ts REASONS), on top of their class and
 * `code`: every reason is raised somewhere, and representative conditions raise theirs.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CheckpipeError, Dataset, InvalidArgumentError, REASONS, Saver, TFRecordWriter, ValueError, makeSaveableFromIterator } from "../src/index.js";

const src = fileURLToPath(new URL("../src", import.meta.url));
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-reasons-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sources(path: string): string[] {
  return readdirSync(path).flatMap((name) => {
    const full = join(path, name);
    if (statSync(full).isDirectory()) return sources(full);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [full] : [];
  });
}

async function caught(work: () => Promise<unknown>): Promise<CheckpipeError> {
  try {
    await work();
  } catch (error) {
    if (error instanceof CheckpipeError) return error;
    throw error;
  }
  throw new Error("expected a CheckpipeError");
}

describe("error reasons", () => {
  it("raises every reason somewhere in the sources", () => {
    // errors.ts counts without the registry itself (its invalidArgument() raises ARGUMENT_INVALID).
    const text = sources(src)
      .map((file) => {
        const code = readFileSync(file, "utf8");
        return file === join(src, "errors.ts") ? code.replace(/export const REASONS = \{[\s\S]*?\} as const;/, "") : code;
      })
      .join("\n");
    const unused = Object.keys(REASONS).filter((reason) => !text.includes(`"${reason}"`));
    expect(unused).toEqual([]);
  });

  it("OPTION_UNKNOWN for an options key a function does not know", async () => {
    const error = await caught(async () => Dataset.range(3).shuffle(2, { sed: 1 } as never));
    expect([error.code, error.reason]).toEqual(["INVALID_ARGUMENT", "OPTION_UNKNOWN"]);
  });

  it("ARGUMENT_INVALID for a bad argument, with what was received", async () => {
    const error = await caught(async () => Dataset.range(3).batch(0));
    expect([error.code, error.reason, error.received]).toEqual(["INVALID_ARGUMENT", "ARGUMENT_INVALID", "0"]);
  });

  it("RECORD_CRC_MISMATCH for a flipped byte in a TFRecord file", async () => {
    const file = join(dir, "a.tfrecord");
    const writer = await TFRecordWriter.open(file);
    await writer.write(new TextEncoder().encode("hello, world"));
    await writer.close();
    const bytes = readFileSync(file);
    bytes[14] = (bytes[14] as number) ^ 0xff;
    await writeFile(file, bytes);
    const error = await caught(() => Dataset.tfrecord(file).toArray());
    expect([error.code, error.reason]).toEqual(["DATA_LOSS", "RECORD_CRC_MISMATCH"]);
  });

  it("STATE_VERSION_UNSUPPORTED and STATE_KIND_MISMATCH for states of another version or op", async () => {
    const state = await Dataset.range(5).iterator().save();
    const newer = { ...state, root: { ...(state.root as object), version: 99 } } as typeof state;
    expect((await caught(() => Dataset.range(5).iterator({ state: newer }).next())).reason).toBe("STATE_VERSION_UNSUPPORTED");
    const other = { ...state, root: { ...(state.root as object), kind: "Shuffle" } } as typeof state;
    expect((await caught(() => Dataset.range(5).iterator({ state: other }).next())).reason).toBe("STATE_KIND_MISMATCH");
  });

  it("CHECKPOINT_NOT_FOUND and CHECKPOINT_DAMAGED when restoring", async () => {
    const it = Dataset.range(5).iterator();
    const saver = new Saver([makeSaveableFromIterator(it)]);
    expect((await caught(() => saver.restore(join(dir, "none.ckpt")))).reason).toBe("CHECKPOINT_NOT_FOUND");
    const prefix = await saver.save(join(dir, "a.ckpt"));
    await writeFile(`${prefix}.index`, "{");
    expect((await caught(() => saver.restore(prefix))).reason).toBe("CHECKPOINT_DAMAGED");
    await saver.close();
  });

  it("FILE_NOT_FOUND for a file that is not there", async () => {
    const error = await caught(() => Dataset.textLines(join(dir, "missing.txt")).toArray());
    expect(error.reason).toBe("FILE_NOT_FOUND");
  });

  it("falls back to the code for a condition without a reason of its own", () => {
    expect(new InvalidArgumentError("x").reason).toBe("INVALID_ARGUMENT");
  });

  it("makes every bad argument an InvalidArgumentError, ValueError included", () => {
    const error = new ValueError("x");
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.code).toBe("VALUE_ERROR");
  });
});
