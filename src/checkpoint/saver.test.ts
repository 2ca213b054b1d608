/**
 * The Saver, after TensorFlow's saver tests (TF_REFERENCE.md §4): file names, retention,
 * the state file it keeps, restore, and the validation errors.
 */
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Dataset } from "../dataset/dataset.js";
import { FailedPreconditionError, NotFoundError, ValueError } from "../errors.js";
import { runFilePlan, type FilePlan } from "../io/file-plan.js";
import { Variable } from "../session/variable.js";
import { readBundle } from "./bundle.js";
import { getCheckpointState, latestCheckpoint } from "./checkpoint-state.js";
import { makeSaveable, makeSaveableFromIterator } from "./saveable.js";
import { Saver, type SaverOptions } from "./saver.js";

// The file plans the Saver runs, recorded; each still runs as it would.
vi.mock("../io/file-plan.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../io/file-plan.js")>();
  return { ...original, runFilePlan: vi.fn(original.runFilePlan) };
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-saver-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A saveable over one number, and a way to set it. */
/** A Saver that saved step 1 into `<dir>/gone/s`, whose directory was then removed. */
async function savedThenGone(): Promise<{ saver: Saver; path: string }> {
  const saver = new Saver([counter().saveable]);
  const path = join(dir, "gone", "s");
  await mkdir(join(dir, "gone"));
  await saver.save(path, { globalStep: 1 });
  await rm(join(dir, "gone"), { recursive: true, force: true });
  return { saver, path };
}

function counter(name = "v", initial = 0): { saveable: ReturnType<typeof makeSaveable>; get: () => number; set: (v: number) => void } {
  let value = initial;
  return {
    saveable: makeSaveable(
      name,
      () => value,
      (v: number) => {
        value = v;
      },
    ),
    get: () => value,
    set: (v) => {
      value = v;
    },
  };
}

/** Matches an error of class `type` whose message is exactly `message`. */
function matching(type: abstract new (...args: never[]) => Error, message: string): Error {
  return expect.objectContaining({ name: type.name, message }) as Error;
}

/** The files of the checkpoints in the directory: all but the state file and its writer lock. */
async function checkpointFiles(): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f !== "checkpoint" && f !== "checkpoint.lock").sort();
}

describe("Saver.save", () => {
  it('names the checkpoint "<savePath>-<globalStep>" and writes its .index and .data-00000-of-00001', async () => {
    const saver = new Saver([counter().saveable]);
    expect(await saver.save(join(dir, "model.ckpt"), { globalStep: 10 })).toBe(join(dir, "model.ckpt-10"));
    expect(await saver.save(join(dir, "plain"))).toBe(join(dir, "plain"));
    expect(await checkpointFiles()).toEqual(["model.ckpt-10.data-00000-of-00001", "model.ckpt-10.index", "plain.data-00000-of-00001", "plain.index"]);
  });

  it("keeps maxToKeep checkpoints: with 2, s1 → [s1]; s2 → [s1, s2]; s3 → [s2, s3] and s1's files are gone", async () => {
    const saver = new Saver([counter().saveable], { maxToKeep: 2 });
    const path = join(dir, "s");
    const s1 = await saver.save(path, { globalStep: 1 });
    expect(saver.lastCheckpoints).toEqual([s1]);
    const s2 = await saver.save(path, { globalStep: 2 });
    expect(saver.lastCheckpoints).toEqual([s1, s2]);
    const s3 = await saver.save(path, { globalStep: 3 });
    expect(saver.lastCheckpoints).toEqual([s2, s3]);
    expect(await checkpointFiles()).toEqual(["s-2.data-00000-of-00001", "s-2.index", "s-3.data-00000-of-00001", "s-3.index"]);
    const state = await getCheckpointState(dir);
    expect(state?.modelCheckpointPath).toBe(s3);
    expect(state?.allModelCheckpointPaths).toEqual([s2, s3]);
  });

  it("moves a checkpoint saved again under the same name to the end of the list", async () => {
    const saver = new Saver([counter().saveable], { maxToKeep: 2 });
    const path = join(dir, "s");
    const s1 = await saver.save(path, { globalStep: 1 });
    const s2 = await saver.save(path, { globalStep: 2 });
    expect(await saver.save(path, { globalStep: 1 })).toBe(s1);
    expect(saver.lastCheckpoints).toEqual([s2, s1]);
    const s3 = await saver.save(path, { globalStep: 3 });
    expect(saver.lastCheckpoints).toEqual([s1, s3]);
    // Saved again over the one on disk, s-1 has its data under the other name; the old data file is gone.
    expect(await checkpointFiles()).toEqual(["s-1.data-00000-of-00001.resaved", "s-1.index", "s-3.data-00000-of-00001", "s-3.index"]);
  });

  for (const maxToKeep of [0, null]) {
    it(`keeps every checkpoint when maxToKeep is ${maxToKeep}; its list stays empty and the state file names the latest`, async () => {
      const saver = new Saver([counter().saveable], { maxToKeep });
      for (const step of [1, 2, 3, 4, 5, 6, 7]) await saver.save(join(dir, "s"), { globalStep: step });
      expect(saver.lastCheckpoints).toEqual([]);
      expect((await checkpointFiles()).filter((f) => f.endsWith(".index"))).toHaveLength(7);
      const state = await getCheckpointState(dir);
      expect(state?.modelCheckpointPath).toBe(join(dir, "s-7"));
      expect(state?.allModelCheckpointPaths).toEqual([join(dir, "s-7")]);
    });
  }

  it("keeps one checkpoint every keepCheckpointEveryNHours besides the maxToKeep most recent", async () => {
    let now = 0;
    const saver = new Saver([counter().saveable], { maxToKeep: 2, keepCheckpointEveryNHours: 1, clock: () => now });
    const save = async (step: number, at: number): Promise<string> => {
      now = at;
      return saver.save(join(dir, "s"), { globalStep: step });
    };
    await save(1, 0);
    await save(2, 10);
    await save(3, 4000); // s1 (saved at 0) is not past the first keep time (3600): deleted
    await save(4, 4010); // s2 deleted
    await save(5, 8000); // s3 (saved at 4000 > 3600) is kept; the next keep time is 7200
    await save(6, 8010); // s4 (4010 < 7200) deleted
    expect(saver.lastCheckpoints).toEqual([join(dir, "s-5"), join(dir, "s-6")]);
    expect((await checkpointFiles()).filter((f) => f.endsWith(".index"))).toEqual(["s-3.index", "s-5.index", "s-6.index"]);
  });

  it("writes the state file in TensorFlow's text format with paths relative to the directory", async () => {
    let now = 1_700_000_000;
    const saver = new Saver([counter().saveable], { maxToKeep: 2, clock: () => now });
    await saver.save(join(dir, "model.ckpt"), { globalStep: 5 });
    now += 0.5;
    await saver.save(join(dir, "model.ckpt"), { globalStep: 10 });
    expect(await readFile(join(dir, "checkpoint"), "utf8")).toBe(
      [
        'model_checkpoint_path: "model.ckpt-10"',
        'all_model_checkpoint_paths: "model.ckpt-5"',
        'all_model_checkpoint_paths: "model.ckpt-10"',
        "all_model_checkpoint_timestamps: 1700000000.0",
        "all_model_checkpoint_timestamps: 1700000000.5",
        "last_preserved_timestamp: 1700000000.0",
        "",
      ].join("\n"),
    );
  });

  it("keeps a separate state file per latestFilename, as the input pipeline's checkpoint_input beside checkpoint", async () => {
    const model = new Saver([counter("w").saveable]);
    const input = new Saver([counter("it").saveable], { latestFilename: "checkpoint_input" });
    await model.save(join(dir, "model.ckpt"), { globalStep: 3 });
    await input.save(join(dir, "input.ckpt"), { globalStep: 4 });
    expect(await latestCheckpoint(dir)).toBe(join(dir, "model.ckpt-3"));
    expect(await latestCheckpoint(dir, "checkpoint_input")).toBe(join(dir, "input.ckpt-4"));
    await model.save(join(dir, "model.ckpt"), { globalStep: 5, latestFilename: "other" });
    expect(await latestCheckpoint(dir, "other")).toBe(join(dir, "model.ckpt-5"));
  });

  it("accepts a bigint global step", async () => {
    const saver = new Saver([counter().saveable]);
    expect(await saver.save(join(dir, "s"), { globalStep: 12345678901234567890n })).toBe(join(dir, "s-12345678901234567890"));
  });

  it("runs saves one at a time in the order they were called", async () => {
    const c = counter();
    const saver = new Saver([c.saveable], { maxToKeep: 3 });
    const paths = await Promise.all([1, 2, 3, 4].map((step) => saver.save(join(dir, "s"), { globalStep: step })));
    expect(saver.lastCheckpoints).toEqual(paths.slice(1));
  });
});

describe("Saver validation, with TensorFlow's messages", () => {
  it("refuses an empty list of saveables", () => {
    expect(() => new Saver([])).toThrow(matching(ValueError, "No variables to save: a Saver needs at least one saveable."));
  });

  it("refuses two saveables with the same name", () => {
    expect(() => new Saver([counter("a").saveable, counter("a").saveable])).toThrow(matching(ValueError, "At least two variables have the same name: a"));
  });

  it("refuses a latestFilename with path components", async () => {
    expect(() => new Saver([counter().saveable], { latestFilename: "sub/checkpoint" })).toThrow("latestFilename must not contain path components");
    const saver = new Saver([counter().saveable]);
    await expect(saver.save(join(dir, "s"), { globalStep: 1, latestFilename: "../x" })).rejects.toThrow("latestFilename must not contain path components");
  });

  it("refuses a save path without a step that collides with the state file", async () => {
    const saver = new Saver([counter().saveable]);
    await expect(saver.save(join(dir, "checkpoint"))).rejects.toThrow(
      matching(ValueError, `latestFilename collides with savePath: 'checkpoint' and '${join(dir, "checkpoint")}'`),
    );
  });

  it("refuses to save into a directory that does not exist", async () => {
    const saver = new Saver([counter().saveable]);
    const path = join(dir, "missing", "model.ckpt");
    await expect(saver.save(path, { globalStep: 1 })).rejects.toThrow(matching(ValueError, `Parent directory of ${path} doesn't exist, can't save.`));
    await mkdir(join(dir, "missing"));
    await expect(saver.save(path, { globalStep: 1 })).resolves.toBe(`${path}-1`);
  });

  /** The refusal of a save path that names a directory. */
  const namesDirectory = (savePath: string): Error =>
    matching(
      ValueError,
      `Saver savePath must be a checkpoint prefix, a path that names no directory, such as "runs/a/model.ckpt"; got ${JSON.stringify(savePath)}, ` +
        `which names a directory: the state file would go into its parent. Pass the directory joined with a file name prefix, e.g. ${JSON.stringify(join(savePath, "model.ckpt"))}.`,
    );

  it('refuses a save path that ends with a separator ("runs/a/"), which would put the state file in the parent directory', async () => {
    await mkdir(join(dir, "a"));
    const saver = new Saver([counter().saveable]);
    for (const savePath of [`${join(dir, "a")}/`, `${join(dir, "a")}/.`, `${join(dir, "a")}/..`]) {
      await expect(saver.save(savePath, { globalStep: 1 })).rejects.toThrow(namesDirectory(savePath));
      await expect(saver.save(savePath)).rejects.toThrow(namesDirectory(savePath));
    }
    expect(await readdir(dir)).toEqual(["a"]);
    expect(await readdir(join(dir, "a"))).toEqual([]);
  });

  it("refuses a save path that is a directory", async () => {
    await mkdir(join(dir, "a"));
    const saver = new Saver([counter().saveable]);
    await expect(saver.save(join(dir, "a"), { globalStep: 1 })).rejects.toThrow(namesDirectory(join(dir, "a")));
    expect(await readdir(dir)).toEqual(["a"]);
  });

  it("refuses bad options and steps, saying what it got", async () => {
    expect(() => new Saver([counter().saveable], { maxToKeep: -1 })).toThrow("Saver maxToKeep must be an integer ≥ 0, Infinity, or null; got -1.");
    expect(() => new Saver([counter().saveable], { keepCheckpointEveryNHours: 0 })).toThrow(
      "Saver keepCheckpointEveryNHours must be a number of hours > 0; got 0.",
    );
    await expect(new Saver([counter().saveable]).save(join(dir, "s"), { globalStep: 1.5 })).rejects.toThrow("Saver globalStep must be an integer; got 1.5.");
  });
});

describe("Saver.restore", () => {
  it("restores every saveable to the values saved, exactly", async () => {
    let weights: Float32Array = new Float32Array([1.5, NaN, -0, 3e38]);
    let tree: unknown = { a: [1, "two", null], m: new Map([["k", 1n]]), s: new Set([1]), d: new Date(5), u: undefined, long: "é".repeat(5000) };
    let step = 2n ** 70n;
    const saver = new Saver([
      makeSaveable(
        "weights",
        () => weights,
        (v: Float32Array) => {
          weights = v;
        },
      ),
      makeSaveable(
        "tree",
        () => tree,
        (v) => {
          tree = v;
        },
      ),
      makeSaveable(
        "step",
        () => step,
        (v: bigint) => {
          step = v;
        },
      ),
    ]);
    const saved = { weights: weights.slice(), tree: structuredClone(tree), step };
    const prefix = await saver.save(join(dir, "model.ckpt"), { globalStep: 1 });
    weights = new Float32Array(4);
    tree = null;
    step = 0n;
    await saver.restore(prefix);
    expect(weights).toEqual(saved.weights);
    expect(Object.is(weights[2], -0)).toBe(true);
    expect(tree).toEqual(saved.tree);
    expect(step).toBe(saved.step);
  });

  it("puts an iterator back exactly where it was saved, typed array elements included", async () => {
    const build = () =>
      Dataset.range(200)
        .map((i) => new Float32Array([i, i / 3]))
        .shuffle(50, { seed: 3 })
        .batch(4);
    const it = build().iterator();
    for (let i = 0; i < 7; i++) await it.next();
    const saver = new Saver([makeSaveableFromIterator(it)]);
    const prefix = await saver.save(join(dir, "input.ckpt"), { globalStep: 7 });
    const rest = await build().skip(7).toArray();
    const other = build().iterator();
    await new Saver([makeSaveableFromIterator(other)]).restore(prefix);
    const resumed: Float32Array[][] = [];
    for await (const batch of other) resumed.push(batch);
    expect(resumed).toEqual(rest);
  });

  it("refuses a path that is not a checkpoint", async () => {
    const saver = new Saver([counter().saveable]);
    await expect(saver.restore(join(dir, "nothing-1"))).rejects.toThrow(
      matching(ValueError, `The passed savePath is not a valid checkpoint: ${join(dir, "nothing-1")}`),
    );
  });

  it("reports a saveable the checkpoint does not hold, and changes nothing", async () => {
    const a = counter("a", 1);
    await new Saver([a.saveable]).save(join(dir, "s"), { globalStep: 1 });
    const b = counter("b", 7);
    const a2 = counter("a", 9);
    const both = new Saver([a2.saveable, b.saveable]);
    await expect(both.restore(join(dir, "s-1"))).rejects.toThrow(matching(NotFoundError, `Key b not found in checkpoint ${join(dir, "s-1")}`));
    expect([a2.get(), b.get()]).toEqual([9, 7]);
  });

  it("refuses a value of another kind than the one it replaces", async () => {
    let w: unknown = new Float32Array(3);
    const saver = new Saver([
      makeSaveable(
        "w",
        () => w,
        (v) => {
          w = v;
        },
      ),
    ]);
    const prefix = await saver.save(join(dir, "s"), { globalStep: 1 });
    w = new Float32Array(4);
    await expect(saver.restore(prefix)).rejects.toThrow('Cannot restore "w": the checkpoint holds a Float32Array(3) where the value is a Float32Array(4).');
  });
});

describe("Saver.restoredFrom", () => {
  it("is the checkpoint last restored, until the next save", async () => {
    const saver = new Saver([counter().saveable]);
    const path = join(dir, "s");
    const s1 = await saver.save(path, { globalStep: 1 });
    expect(saver.restoredFrom).toBeNull();
    await saver.restore(s1);
    expect(saver.restoredFrom).toBe(s1);
    await saver.save(path, { globalStep: 2 });
    expect(saver.restoredFrom).toBeNull();
    expect((await saver.restoreLatest(dir))?.path).toBe(join(dir, "s-2"));
    expect(saver.restoredFrom).toBe(join(dir, "s-2"));
  });
});

describe("Saver.remove", () => {
  it("with maxToKeep Infinity deletes nothing by itself, and lists every checkpoint", async () => {
    const saver = new Saver([counter().saveable], { maxToKeep: Infinity });
    for (let step = 1; step <= 7; step++) await saver.save(join(dir, "s"), { globalStep: step });
    expect((await getCheckpointState(dir))?.allModelCheckpointPaths.map((p) => basename(p))).toEqual([1, 2, 3, 4, 5, 6, 7].map((step) => `s-${step}`));
    expect((await checkpointFiles()).length).toBe(14);
  });

  it("drops the checkpoints from the state file, then deletes their files; removing the latest names the newest left", async () => {
    const saver = new Saver([counter().saveable], { maxToKeep: Infinity });
    const [s1, s2, s3] = [
      await saver.save(join(dir, "s"), { globalStep: 1 }),
      await saver.save(join(dir, "s"), { globalStep: 2 }),
      await saver.save(join(dir, "s"), { globalStep: 3 }),
    ];
    await saver.remove([s1]);
    expect(await checkpointFiles()).toEqual(["s-2.data-00000-of-00001", "s-2.index", "s-3.data-00000-of-00001", "s-3.index"]);
    expect((await getCheckpointState(dir))?.allModelCheckpointPaths).toEqual([s2, s3]);
    await saver.remove([s3]);
    expect(await latestCheckpoint(dir)).toBe(s2);
    expect(saver.lastCheckpoints).toEqual([s2]);
    await saver.remove([s2]);
    expect(await readdir(dir)).toEqual(["checkpoint.lock"]); // the Saver still writes there, until closed
    expect(await getCheckpointState(dir)).toBeNull();
    await saver.close();
    expect(await readdir(dir)).toEqual([]);
  });

  it("deletes the files of checkpoints it does not list, and leaves the state file as it is", async () => {
    const other = new Saver([counter().saveable], { maxToKeep: 0 });
    const stray = await other.save(join(dir, "s"), { globalStep: 1 });
    await other.save(join(dir, "s"), { globalStep: 2 });
    const saver = new Saver([counter().saveable]);
    const before = await readFile(join(dir, "checkpoint"), "utf8");
    await saver.remove([stray]);
    expect(await checkpointFiles()).toEqual(["s-2.data-00000-of-00001", "s-2.index"]);
    expect(await readFile(join(dir, "checkpoint"), "utf8")).toBe(before);
  });

  it("refuses checkpoints of several directories", async () => {
    const saver = new Saver([counter().saveable]);
    await expect(saver.remove([join(dir, "a", "s-1"), join(dir, "b", "s-1")])).rejects.toThrow(ValueError);
  });
});

describe("makeSaveableFromIterator", () => {
  it("names the value <iterator name>_STATE", () => {
    expect(makeSaveableFromIterator(Dataset.range(3).iterator()).name).toBe("Iterator_STATE");
    expect(makeSaveableFromIterator(Dataset.range(3).iterator({ name: "train" })).name).toBe("train_STATE");
  });

  it("applies its external state policy: fail by default, warn and ignore save what they can", async () => {
    const gen = () =>
      Dataset.fromGenerator(function* () {
        yield* [1, 2, 3];
      });
    const failing = new Saver([makeSaveableFromIterator(gen().iterator())]);
    await expect(failing.save(join(dir, "a"), { globalStep: 1 })).rejects.toBeInstanceOf(FailedPreconditionError);
    const ignoring = new Saver([makeSaveableFromIterator(gen().iterator(), "ignore")]);
    await expect(ignoring.save(join(dir, "a"), { globalStep: 1 })).resolves.toBe(join(dir, "a-1"));
  });

  it("refuses an unknown policy, listing the supported ones", () => {
    expect(() => makeSaveableFromIterator(Dataset.range(3).iterator(), "sometimes" as "warn")).toThrow(
      'Unsupported external state policy "sometimes". Supported values: "warn", "ignore", "fail".',
    );
  });
});

describe("saveInBackground", () => {
  const SEED = Number(process.env["FC_SEED"] ?? 20_240_611);

  /** Every file of `at` but temporaries, by name, with its bytes. */
  /**
   * What a directory holds: the bytes of every state file, the values of every checkpoint (by
   * prefix), and how many data files there are. The data files' names are left out: a prefix
   * saved twice in one batch is written once, under the usual name, where saves one by one
   * take turns between the two names.
   */
  async function filesOf(at: string): Promise<Record<string, unknown>> {
    const files: Record<string, unknown> = {};
    const names = (await readdir(at)).sort();
    for (const name of names) {
      if (name.endsWith(".index")) files[name] = Object.fromEntries(await readBundle(join(at, name.slice(0, -".index".length))));
      else if (!name.includes(".data-")) files[name] = await readFile(join(at, name));
    }
    files["data files"] = names.filter((name) => name.includes(".data-")).length;
    return files;
  }

  /** One save of a sequence: the prefix's basename, the step (none: the bare prefix), the state file, the value saved. */
  interface PlannedSave {
    readonly base: string;
    readonly step: number | null;
    readonly latest: string | null;
    readonly value: number;
  }

  const plannedSave = fc.record({
    base: fc.constantFrom("model.ckpt", "other"),
    step: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 8 }), weight: 9 }, { arbitrary: fc.constant(null), weight: 1 }),
    latest: fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, { arbitrary: fc.constant("checkpoint_b"), weight: 1 }),
    value: fc.integer(),
  });

  /**
   * A Saver on one value whose `save()` hands out `values` in turn, and whose clock moves by
   * the next of `ticks` (seconds) at every reading: both are the same for the same calls, however
   * the calls are timed.
   */
  function sequenceSaver(values: readonly number[], ticks: readonly number[], options: SaverOptions): Saver {
    let taken = 0;
    let reads = 0;
    let now = 1_700_000_000;
    const saveable = makeSaveable(
      "v",
      () => values[taken++],
      () => undefined,
    );
    return new Saver([saveable], { ...options, clock: () => (now += ticks[reads++ % ticks.length] as number) });
  }

  function saveOptions(save: PlannedSave): { globalStep?: number; latestFilename?: string } {
    return { ...(save.step === null ? {} : { globalStep: save.step }), ...(save.latest === null ? {} : { latestFilename: save.latest }) };
  }

  it("leaves the same checkpoints, state files and lastCheckpoints as the same saves made one by one with save()", async () => {
    let run = 0;
    let batched = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(plannedSave, { minLength: 1, maxLength: 30 }),
        fc.constantFrom(0, 1, 2, 3, 4, null),
        fc.constantFrom(10_000, 0.001), // 0.001 h: one checkpoint kept every 3.6 s of the clock
        fc.array(fc.constantFrom(0, 0.25, 1, 2.5), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        async (saves, maxToKeep, keepCheckpointEveryNHours, ticks, allAtOnce) => {
          const one = join(dir, `run-${run}-save`);
          const background = join(dir, `run-${run++}-background`);
          await mkdir(one);
          await mkdir(background);
          const values = saves.map((s) => s.value);
          const options = { maxToKeep, keepCheckpointEveryNHours };

          const bySave = sequenceSaver(values, ticks, options);
          for (const save of saves) await bySave.save(join(one, save.base), saveOptions(save));

          vi.mocked(runFilePlan).mockClear();
          const inBackground = sequenceSaver(values, ticks, options);
          const taken: Promise<{ prefix: string; written: Promise<void> }>[] = [];
          const families = new Set<string>();
          for (const save of saves) {
            const family = `${save.base} ${save.latest ?? ""}`;
            if (families.size > 0 && !families.has(family)) {
              // A family's first save clears leftover temporaries: it must not meet a write under way (see the known bug below).
              await Promise.all(taken);
              await inBackground.sync();
            }
            families.add(family);
            const call = inBackground.saveInBackground(join(background, save.base), saveOptions(save));
            taken.push(call);
            if (!allAtOnce) await call; // the values are taken; the write goes on
          }
          const prefixes = (await Promise.all(taken)).map((t) => t.prefix);
          await inBackground.sync();
          if (vi.mocked(runFilePlan).mock.calls.length < saves.length) batched++;

          expect(prefixes).toEqual(saves.map((s) => join(background, s.step === null ? s.base : `${s.base}-${s.step}`)));
          expect(await filesOf(background)).toEqual(await filesOf(one));
          expect(inBackground.lastCheckpoints.map((p) => basename(p))).toEqual(bySave.lastCheckpoints.map((p) => basename(p)));
        },
      ),
      { numRuns: 30, seed: SEED },
    );
    expect(batched, "runs in which checkpoints were written together").toBeGreaterThan(5);
  });

  it("writes the checkpoints waiting together at once: those retention deletes in the batch are never written, the state file once", async () => {
    const c = counter();
    const saver = new Saver([c.saveable], { maxToKeep: 1 });
    const path = join(dir, "s");
    await saver.save(path, { globalStep: 0 });
    const plans = vi.mocked(runFilePlan);
    plans.mockClear();
    const calls = [1, 2, 3, 4, 5].map((step) => saver.saveInBackground(path, { globalStep: step }));
    await Promise.all(calls);
    await saver.sync();
    const writes = (plan: FilePlan): string[] => plan.flatMap((phase) => (phase.kind === "write" ? phase.files.map((f) => basename(f.path)) : []));
    const written = plans.mock.calls.flatMap(([plan]) => writes(plan));
    // Step 1 is written at once; 2 to 5 wait behind it (no turn of the event loop between the calls) and are written together.
    expect(written.filter((name) => name.endsWith(".index"))).toEqual(["s-1.index", "s-5.index"]);
    expect(written.filter((name) => name === "checkpoint")).toHaveLength(2);
    expect(await checkpointFiles()).toEqual(["s-5.data-00000-of-00001", "s-5.index"]);
    expect(saver.lastCheckpoints).toEqual([`${path}-5`]);
  });

  it("takes the values when called: changes made once it resolved are not in the checkpoint", async () => {
    const weights = new Float32Array([1, 2, 3]);
    const c = counter("n", 7);
    const variable = new Variable("var", "before");
    const saver = new Saver([
      makeSaveable(
        "w",
        () => weights,
        () => undefined,
      ),
      c.saveable,
      variable,
    ]);
    const { prefix, written } = await saver.saveInBackground(join(dir, "model.ckpt"), { globalStep: 1 });
    weights.fill(-1); // in place, in the very array save() handed over
    c.set(8);
    variable.assign("after");
    await written;
    const saved = await readBundle(prefix);
    expect(saved.get("w")).toEqual(new Float32Array([1, 2, 3]));
    expect(saved.get("n")).toBe(7);
    expect(saved.get("var")).toBe("before");
  });

  it("resolves with the prefix, and written once the files and the state file are on disk", async () => {
    const saver = new Saver([counter().saveable]);
    const { prefix, written } = await saver.saveInBackground(join(dir, "model.ckpt"), { globalStep: 3 });
    expect(prefix).toBe(join(dir, "model.ckpt-3"));
    await expect(written).resolves.toBeUndefined();
    expect(await checkpointFiles()).toEqual(["model.ckpt-3.data-00000-of-00001", "model.ckpt-3.index"]);
    expect(await latestCheckpoint(dir)).toBe(prefix);
    expect(await readdir(dir)).not.toContainEqual(expect.stringContaining(".tmp-"));
  });

  it("is seen by restore called right after it, before the write is done", async () => {
    const c = counter("v", 1);
    const saver = new Saver([c.saveable]);
    const { prefix } = await saver.saveInBackground(join(dir, "s"), { globalStep: 1 });
    c.set(2);
    await saver.restore(prefix);
    expect(c.get()).toBe(1);
  });

  it("is seen by restoreLatest called right after it, even with no call awaited", async () => {
    const values = [10, 20, 30];
    let restored: unknown = null;
    const saver = new Saver(
      [
        makeSaveable(
          "v",
          () => values.shift(),
          (v) => {
            restored = v;
          },
        ),
      ],
      { maxToKeep: 2 },
    );
    for (const step of [1, 2, 3]) void saver.saveInBackground(join(dir, "s"), { globalStep: step });
    expect(await saver.restoreLatest(dir)).toEqual({ path: join(dir, "s-3"), skipped: [] });
    expect(restored).toBe(30);
    expect(saver.lastCheckpoints).toEqual([join(dir, "s-2"), join(dir, "s-3")]);
    expect(await checkpointFiles()).toEqual(["s-2.data-00000-of-00001", "s-2.index", "s-3.data-00000-of-00001", "s-3.index"]);
  });

  describe("when a write fails (the directory removed after the first save)", () => {
    it("rejects written with a NotFoundError (the file system's ENOENT as its cause), and the next sync throws it once", async () => {
      const { saver, path } = await savedThenGone();
      const { written } = await saver.saveInBackground(path, { globalStep: 2 });
      const error = await written.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ cause: { code: "ENOENT", path: expect.stringContaining(join(dir, "gone", "s-2")) as string } });
      expect((error as Error).message).toContain(join(dir, "gone", "s-2"));
      await expect(saver.sync()).rejects.toBe(error);
      await expect(saver.sync()).resolves.toBeUndefined();
      expect(saver.lastCheckpoints).toEqual([`${path}-1`]);
    });

    it("throws it from the next saveInBackground (once) when no sync came first", async () => {
      const { saver, path } = await savedThenGone();
      const { written } = await saver.saveInBackground(path, { globalStep: 2 });
      const error: unknown = await written.catch((e: unknown) => e);
      await expect(saver.saveInBackground(path, { globalStep: 3 })).rejects.toBe(error);
      await expect(saver.sync()).resolves.toBeUndefined();
      await mkdir(join(dir, "gone"));
      await expect(saver.save(path, { globalStep: 4 })).resolves.toBe(`${path}-4`);
    });

    it("throws it from the next save (once) when no sync came first", async () => {
      const { saver, path } = await savedThenGone();
      const { written } = await saver.saveInBackground(path, { globalStep: 2 });
      const error: unknown = await written.catch((e: unknown) => e);
      await mkdir(join(dir, "gone"));
      await expect(saver.save(path, { globalStep: 3 })).rejects.toBe(error);
      await expect(saver.save(path, { globalStep: 3 })).resolves.toBe(`${path}-3`);
      await expect(saver.sync()).resolves.toBeUndefined();
    });

    it("with save() instead, is thrown by that save and not again by the next sync", async () => {
      const { saver, path } = await savedThenGone();
      await expect(saver.save(path, { globalStep: 2 })).rejects.toMatchObject({ code: "NOT_FOUND", cause: { code: "ENOENT" } });
      await expect(saver.sync()).resolves.toBeUndefined();
      await expect(saver.sync()).resolves.toBeUndefined();
    });
  });

  it("sync() also waits for a saveInBackground called (not awaited) just before it", async () => {
    // Saver.sync waits only for checkpoints already taken; a call still queued behind the
    // directory check is not waited for, so sync() resolves with nothing on disk.
    const saver = new Saver([counter().saveable]);
    void saver.saveInBackground(join(dir, "s"), { globalStep: 1 });
    await saver.sync();
    try {
      expect(await checkpointFiles()).toEqual(["s-1.data-00000-of-00001", "s-1.index"]);
    } finally {
      await saver.restoreLatest(dir); // queued behind the save: waits for its write
    }
  });

  it("hears of finished writes at the next save, in a loop that never lets the event loop turn", async () => {
    const saver = new Saver([counter().saveable], { maxToKeep: 3 });
    const path = join(dir, "model.ckpt");
    const onDisk: number[] = [];
    for (let step = 1; step <= 30; step++) {
      const { written } = await saver.saveInBackground(path, { globalStep: step });
      void written.then(() => onDisk.push(step));
      // A step that keeps the thread busy for 5 ms and awaits only Promises: no macrotask runs.
      const until = Date.now() + 5;
      // eslint-disable-next-line @typescript-eslint/await-thenable -- yields to the event loop while the clock runs
      while (Date.now() < until) await null;
    }
    // Without reading the writer's answers at each save, none but the first batch would be
    // known until 64 checkpoints waited.
    expect(onDisk.length).toBeGreaterThanOrEqual(20);
    expect(onDisk).toEqual([...onDisk].sort((a, b) => a - b));
    await saver.sync();
    expect(saver.lastCheckpoints).toEqual([28, 29, 30].map((step) => `${path}-${step}`));
  });
});
