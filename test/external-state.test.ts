/**
 * The external state policy (DESIGN.md, contract point 5): a generator's position cannot be
 * saved. Under "fail" (the default) saving refuses, naming the op; under "warn" it saves the
 * rest of the pipeline and warns once; under "ignore" it saves silently. A restored iterator
 * restarts the generator from its beginning, unless the generator had already ended.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Dataset, FailedPreconditionError, type ExternalStatePolicy } from "../src/index.js";
import { drain, resumed, roundTrip, takeN } from "./harness.js";

/** A generator factory over `0 .. n-1` that counts how many generators it has made. */
function counted(n: number): { factory: () => Generator<number>; made: () => number } {
  let made = 0;
  return {
    factory: function* () {
      made++;
      for (let i = 0; i < n; i++) yield i;
    },
    made: () => made,
  };
}

function fromGen(n: number): Dataset<number> {
  return Dataset.fromGenerator(function* () {
    for (let i = 0; i < n; i++) yield i;
  });
}

/** Collects process warnings emitted while a test runs. */
function captureWarnings(): { readonly warnings: Error[]; stop(): void } {
  const warnings: Error[] = [];
  const listener = (warning: Error): void => {
    warnings.push(warning);
  };
  process.on("warning", listener);
  return { warnings, stop: () => process.off("warning", listener) };
}

/** Captures process warnings during each test of the enclosing describe block. */
function captureWarningsInEachTest(): { readonly warnings: Error[] } {
  let current: ReturnType<typeof captureWarnings> | null = null;
  beforeEach(async () => {
    await settle(); // warnings of earlier tests are delivered before this one listens
    current = captureWarnings();
  });
  afterEach(async () => {
    await settle();
    current?.stop();
  });
  return {
    get warnings(): Error[] {
      return current?.warnings ?? [];
    },
  };
}

/** Lets process.emitWarning deliver (it emits on the next tick). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const codeOf = (warning: Error): unknown => (warning as Error & { code?: unknown }).code;

describe("fromGenerator under the default policy (fail)", () => {
  it("rejects save() with FailedPreconditionError naming the op FromGenerator", async () => {
    const it = fromGen(5).iterator();
    await takeN(it, 2);
    const saving = it.save();
    await expect(saving).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(saving).rejects.toThrow(/^Cannot save FromGenerator: FromGenerator holds external state/);
    await expect(saving).rejects.toThrow(/withOptions\(\{ externalStatePolicy: "warn" \}\)/);
    await expect(saving).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
  });

  it("refuses to save even before the first element, and deep inside a pipeline", async () => {
    await expect(fromGen(5).iterator().save()).rejects.toBeInstanceOf(FailedPreconditionError);
    const deep = Dataset.zip([Dataset.range(10), fromGen(8).map((x) => x * 2)])
      .batch(2)
      .prefetch(2)
      .iterator();
    await takeN(deep, 1);
    await expect(deep.save()).rejects.toThrow(/FromGenerator/);
  });

  it("refuses to save a generator opened inside interleave", async () => {
    const it = Dataset.range(3)
      .interleave((x) => Dataset.fromGenerator(() => [x, x + 10][Symbol.iterator]()), { cycleLength: 2 })
      .iterator();
    await takeN(it, 2);
    await expect(it.save()).rejects.toThrow(FailedPreconditionError);
  });

  it('refuses when "fail" is set explicitly, and then the iterator goes on unharmed', async () => {
    const it = fromGen(6).withOptions({ externalStatePolicy: "fail" }).iterator();
    await takeN(it, 2);
    await expect(it.save()).rejects.toThrow(/Cannot save FromGenerator/);
    expect(await drain(it)).toEqual([2, 3, 4, 5]);
  });

  it("saves a pipeline whose generator has ended, since the iterator has ended too", async () => {
    const it = fromGen(3).iterator();
    expect(await drain(it)).toEqual([0, 1, 2]);
    const state = await it.save();
    expect(state.ended).toBe(true);
  });
});

describe('fromGenerator under "warn"', () => {
  const capture = captureWarningsInEachTest();

  it("saves, and emits one process warning with code CHECKPIPE_EXTERNAL_STATE naming FromGenerator", async () => {
    const it = fromGen(6).withOptions({ externalStatePolicy: "warn" }).iterator();
    await takeN(it, 2);
    const state = await it.save();
    await settle();
    expect(state.ended).toBe(false);
    const ours = capture.warnings.filter((w) => codeOf(w) === "CHECKPIPE_EXTERNAL_STATE");
    expect(ours).toHaveLength(1);
    expect(ours[0]?.message).toMatch(/FromGenerator holds external state/);
    expect(ours[0]?.message).toMatch(/restarts it from its beginning/);
  });

  it("warns only once per iterator however often it saves", async () => {
    const it = fromGen(6).withOptions({ externalStatePolicy: "warn" }).iterator();
    await it.save();
    await takeN(it, 1);
    await it.save();
    await takeN(it, 1);
    await it.save();
    await settle();
    expect(capture.warnings.filter((w) => codeOf(w) === "CHECKPIPE_EXTERNAL_STATE")).toHaveLength(1);
  });

  it("restores an iterator that restarts the generator from its beginning", async () => {
    const source = counted(5);
    const build = (): Dataset<number> => Dataset.fromGenerator(source.factory).withOptions({ externalStatePolicy: "warn" });
    const it = build().iterator();
    expect(await takeN(it, 3)).toEqual([0, 1, 2]);
    const state = await it.save();
    expect(await drain(resumed(build, state))).toEqual([0, 1, 2, 3, 4]);
    expect(source.made()).toBe(2);
  });
});

describe('fromGenerator under "ignore"', () => {
  const capture = captureWarningsInEachTest();

  it("saves silently", async () => {
    const it = fromGen(6).withOptions({ externalStatePolicy: "ignore" }).iterator();
    await takeN(it, 2);
    const state = await it.save();
    await settle();
    expect(state.ended).toBe(false);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    expect(capture.warnings.filter((w) => codeOf(w) === "CHECKPIPE_EXTERNAL_STATE")).toEqual([]);
  });

  it("restores the state of the ops after the generator, and restarts the generator", async () => {
    const build = (): Dataset<[number, number]> =>
      Dataset.fromGenerator(function* () {
        yield* ["a", "b", "c", "d"];
      })
        .map((s) => s.charCodeAt(0) - 97)
        .enumerate(10)
        .take(6)
        .withOptions({ externalStatePolicy: "ignore" });
    const it = build().iterator();
    expect(await takeN(it, 3)).toEqual([
      [10, 0],
      [11, 1],
      [12, 2],
    ]);
    // enumerate continues from 13 and take has 3 left; the generator starts over.
    expect(await drain(resumed(build, await it.save()))).toEqual([
      [13, 0],
      [14, 1],
      [15, 2],
    ]);
  });

  it("restores an async generator by restarting it", async () => {
    const build = (): Dataset<number> =>
      Dataset.fromGenerator(async function* () {
        for (let i = 0; i < 4; i++) {
          await new Promise((resolve) => setImmediate(resolve));
          yield i * i;
        }
      }).withOptions({ externalStatePolicy: "ignore" });
    const it = build().iterator();
    await takeN(it, 2);
    expect(await drain(resumed(build, await it.save()))).toEqual([0, 1, 4, 9]);
  });
});

describe("the external state policy set by withOptions", () => {
  const policies: ExternalStatePolicy[] = ["warn", "ignore"];
  for (const policy of policies) {
    it(`applies "${policy}" when set after the generator, several ops later`, async () => {
      const capture = captureWarnings();
      try {
        const it = fromGen(20)
          .map((x) => x + 1)
          .batch(3)
          .prefetch(2)
          .withOptions({ externalStatePolicy: policy })
          .iterator();
        await takeN(it, 2);
        await expect(it.save()).resolves.toMatchObject({ ended: false });
        await settle();
        const warned = capture.warnings.filter((w) => codeOf(w) === "CHECKPIPE_EXTERNAL_STATE").length;
        expect(warned).toBe(policy === "warn" ? 1 : 0);
      } finally {
        capture.stop();
      }
    });
  }

  it("applies when set on the generator itself, before the other ops", async () => {
    const it = fromGen(10)
      .withOptions({ externalStatePolicy: "ignore" })
      .map((x) => x * 2)
      .iterator();
    await takeN(it, 1);
    await expect(it.save()).resolves.toMatchObject({ ended: false });
  });

  it("applies to a generator inside zip and inside interleave", async () => {
    const zipped = Dataset.zip({ g: fromGen(5), r: Dataset.range(5) })
      .withOptions({ externalStatePolicy: "ignore" })
      .iterator();
    await takeN(zipped, 2);
    await expect(zipped.save()).resolves.toMatchObject({ ended: false });
    const nested = Dataset.range(3)
      .interleave(() => fromGen(3), { cycleLength: 2 })
      .withOptions({ externalStatePolicy: "ignore" })
      .iterator();
    await takeN(nested, 3);
    await expect(nested.save()).resolves.toMatchObject({ ended: false });
  });

  it("lets the outermost setting win", async () => {
    const failing = fromGen(5)
      .withOptions({ externalStatePolicy: "ignore" })
      .map((x) => x)
      .withOptions({ externalStatePolicy: "fail" })
      .iterator();
    await takeN(failing, 1);
    await expect(failing.save()).rejects.toThrow(FailedPreconditionError);
    const ignoring = fromGen(5).withOptions({ externalStatePolicy: "fail" }).withOptions({ externalStatePolicy: "ignore" }).iterator();
    await takeN(ignoring, 1);
    await expect(ignoring.save()).resolves.toMatchObject({ ended: false });
  });
});

describe("an exhausted generator", () => {
  it("stays exhausted after restore when ops after it still hold its elements (prefetch)", async () => {
    const source = counted(4);
    const build = (): Dataset<number> =>
      Dataset.fromGenerator(source.factory)
        .map(async (x) => x)
        .prefetch(10)
        .withOptions({ externalStatePolicy: "ignore" });
    const it = build().iterator();
    expect(await takeN(it, 1)).toEqual([0]);
    // Dawdle until the prefetch has read to the generator's end in the background.
    const generatorEnded = /"kind":"FromGenerator","version":1,"ended":true/;
    let state = await it.save();
    for (let i = 0; i < 200 && !generatorEnded.test(JSON.stringify(state)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      state = await it.save();
    }
    expect(JSON.stringify(state)).toMatch(generatorEnded);
    expect(await drain(resumed(build, state))).toEqual([1, 2, 3]);
  });

  it("stays exhausted after restore when ops after it still hold its elements (shuffle)", async () => {
    const build = (): Dataset<number> =>
      Dataset.fromGenerator(function* () {
        yield* [1, 2, 3, 4, 5];
      })
        .shuffle(10, { seed: 3 })
        .withOptions({ externalStatePolicy: "ignore" });
    const expected = await build().toArray();
    const it = build().iterator();
    await takeN(it, 2);
    expect(await drain(resumed(build, await it.save()))).toEqual(expected.slice(2));
  });

  it("stays exhausted after restore when the iterator had reached its end", async () => {
    const build = (): Dataset<number> => fromGen(3).withOptions({ externalStatePolicy: "ignore" });
    const it = build().iterator();
    await drain(it);
    const state = await it.save();
    expect(
      await build()
        .iterator({ state: roundTrip(state) })
        .next(),
    ).toEqual({ value: undefined, done: true });
  });
});
