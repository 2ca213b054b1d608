/**
 * Elements nested deeply, read from a file into a shuffle buffer: saving either works (up to
 * MAX_NESTING levels, through a checkpoint file too) or is refused with a typed error naming
 * the element and the limit — never a stack overflow that would crash every save of training.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Dataset, InvalidArgumentError, makeSaveableFromIterator, MAX_NESTING, Saver } from "../src/index.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-deep-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A JSONL file whose lines are arrays nested `depth` deep. */
async function nestedLines(depth: number, lines: number): Promise<string> {
  const path = join(dir, "deep.jsonl");
  await writeFile(path, Array.from({ length: lines }, (_, i) => "[".repeat(depth) + i + "]".repeat(depth)).join("\n") + "\n");
  return path;
}

describe("deeply nested elements in a shuffle buffer", () => {
  it(`save and restore through a checkpoint when nested ${MAX_NESTING - 100} deep`, async () => {
    const build = async () => Dataset.jsonl(await nestedLines(MAX_NESTING - 100, 20)).shuffle(8, { seed: 1 });
    const it = (await build()).iterator();
    await it.next();
    const saver = new Saver([makeSaveableFromIterator(it)]);
    const prefix = await saver.save(join(dir, "model.ckpt"), { globalStep: 1 });
    const expected = (await it.next()).value;
    const fresh = (await build()).iterator();
    await new Saver([makeSaveableFromIterator(fresh)]).restore(prefix);
    expect((await fresh.next()).value).toEqual(expected);
  });

  it("nested 2,000 deep (4 KB a line), are refused at save with an InvalidArgumentError naming the element and the limit", async () => {
    const it = Dataset.jsonl(await nestedLines(2_000, 20))
      .shuffle(8, { seed: 1 })
      .iterator();
    await it.next();
    await expect(it.save()).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(it.save()).rejects.toThrow(/^Cannot save shuffle buffer\[\d\]: it nests arrays, objects, maps or sets more than 1000 deep/);
    await expect(new Saver([makeSaveableFromIterator(it)]).save(join(dir, "model.ckpt"))).rejects.toBeInstanceOf(InvalidArgumentError);
    // The iterator goes on.
    expect((await it.next()).done).toBe(false);
  });
});
