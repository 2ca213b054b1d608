/**
 * Property-based splits (fast-check): random pipelines — a random source, then one to six
 * random ops with small parameters — saved at random points and resumed in fresh iterators of
 * freshly built datasets after a JSON round trip, once, twice in sequence, and across the
 * epochs of a repeat. The uninterrupted run is the reference.
 *
 * The runs are seeded (FC_SEED overrides the seed); fast-check prints the seed and the
 * shrunk counterexample on failure.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Dataset, type IteratorState } from "../src/index.js";
import { drain, resumed, roundTrip, takeN, uninterrupted } from "./harness.js";

const SEED = Number(process.env["FC_SEED"] ?? 20_240_611);
/** No pipeline yields more than this: larger ones end in take(). */
const LIMIT = 300;
const TIMEOUT = 120_000;

// ---- pipeline specs --------------------------------------------------------------------------------

type SourceSpec =
  | { readonly kind: "range"; readonly n: number }
  | { readonly kind: "asyncRange"; readonly n: number }
  | { readonly kind: "fromArray"; readonly values: readonly number[] }
  | { readonly kind: "zip"; readonly n: number; readonly m: number };

type OpSpec =
  | { readonly op: "map"; readonly mode: "sync" | "async" | "parallel"; readonly parallel: number }
  | { readonly op: "filter"; readonly mod: number; readonly async: boolean }
  | { readonly op: "flatMap"; readonly max: number }
  | { readonly op: "interleave"; readonly cycleLength: number; readonly blockLength: number; readonly max: number; readonly shuffled: boolean }
  | { readonly op: "batch"; readonly size: number; readonly dropRemainder: boolean }
  | { readonly op: "unbatch" }
  | { readonly op: "shuffle"; readonly bufferSize: number; readonly seed: number; readonly reshuffle: boolean }
  | { readonly op: "repeat"; readonly count: number }
  | { readonly op: "take"; readonly count: number }
  | { readonly op: "skip"; readonly count: number }
  | { readonly op: "shard"; readonly numShards: number; readonly index: number }
  | { readonly op: "prefetch"; readonly bufferSize: number }
  | { readonly op: "concatenate"; readonly n: number }
  | { readonly op: "enumerate"; readonly start: number }
  | { readonly op: "scan" }
  | { readonly op: "cache" }
  | { readonly op: "fail"; readonly mod: number }
  | { readonly op: "ignoreErrors" };

interface PipelineSpec {
  readonly source: SourceSpec;
  readonly ops: readonly OpSpec[];
}

/** Mostly a few dozen, sometimes none or one. */
const lengthArb = (max: number): fc.Arbitrary<number> =>
  fc.oneof({ arbitrary: fc.integer({ min: 0, max: 1 }), weight: 1 }, { arbitrary: fc.integer({ min: 2, max }), weight: 6 });

const sourceArb: fc.Arbitrary<SourceSpec> = fc.oneof(
  fc.record({ kind: fc.constant("range" as const), n: lengthArb(60) }),
  fc.record({ kind: fc.constant("asyncRange" as const), n: lengthArb(40) }),
  fc.record({ kind: fc.constant("fromArray" as const), values: fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 40 }) }),
  fc.record({ kind: fc.constant("zip" as const), n: lengthArb(50), m: lengthArb(50) }),
);

const opArb: fc.Arbitrary<OpSpec> = fc.oneof(
  fc.record({
    op: fc.constant("map" as const),
    mode: fc.constantFrom("sync" as const, "async" as const, "parallel" as const),
    parallel: fc.integer({ min: 2, max: 4 }),
  }),
  fc.record({ op: fc.constant("filter" as const), mod: fc.integer({ min: 2, max: 5 }), async: fc.boolean() }),
  fc.record({ op: fc.constant("flatMap" as const), max: fc.integer({ min: 1, max: 4 }) }),
  fc.record({
    op: fc.constant("interleave" as const),
    cycleLength: fc.integer({ min: 1, max: 4 }),
    blockLength: fc.integer({ min: 1, max: 3 }),
    max: fc.integer({ min: 1, max: 4 }),
    shuffled: fc.boolean(),
  }),
  fc.record({ op: fc.constant("batch" as const), size: fc.integer({ min: 1, max: 4 }), dropRemainder: fc.boolean() }),
  fc.record({ op: fc.constant("unbatch" as const) }),
  fc.record({
    op: fc.constant("shuffle" as const),
    bufferSize: fc.integer({ min: 1, max: 8 }),
    seed: fc.integer({ min: 0, max: 1000 }),
    reshuffle: fc.boolean(),
  }),
  fc.record({ op: fc.constant("repeat" as const), count: lengthArb(3) }),
  fc.record({ op: fc.constant("take" as const), count: lengthArb(40) }),
  fc.record({ op: fc.constant("skip" as const), count: fc.integer({ min: 0, max: 8 }) }),
  fc
    .integer({ min: 1, max: 3 })
    .chain((numShards) =>
      fc.record({ op: fc.constant("shard" as const), numShards: fc.constant(numShards), index: fc.integer({ min: 0, max: numShards - 1 }) }),
    ),
  fc.record({ op: fc.constant("prefetch" as const), bufferSize: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ op: fc.constant("concatenate" as const), n: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ op: fc.constant("enumerate" as const), start: fc.integer({ min: -5, max: 5 }) }),
  fc.record({ op: fc.constant("scan" as const) }),
  fc.record({ op: fc.constant("cache" as const) }),
  fc.record({ op: fc.constant("fail" as const), mod: fc.integer({ min: 3, max: 6 }) }),
  fc.record({ op: fc.constant("ignoreErrors" as const) }),
);

const pipelineArb: fc.Arbitrary<PipelineSpec> = fc.record({ source: sourceArb, ops: fc.array(opArb, { minLength: 1, maxLength: 6 }) });

/** Pipelines of the ops that pull in runs (`nextMany`), with failures among them. */
const bulkSpecArb: fc.Arbitrary<PipelineSpec> = fc.record({
  source: fc.oneof(
    fc.record({ kind: fc.constant("range" as const), n: lengthArb(60) }),
    fc.record({ kind: fc.constant("asyncRange" as const), n: lengthArb(40) }),
  ),
  ops: fc.array(
    fc.oneof(
      { arbitrary: fc.record({ op: fc.constant("fail" as const), mod: fc.integer({ min: 3, max: 6 }) }), weight: 3 },
      { arbitrary: fc.record({ op: fc.constant("ignoreErrors" as const) }), weight: 2 },
      { arbitrary: fc.record({ op: fc.constant("filter" as const), mod: fc.integer({ min: 2, max: 5 }), async: fc.boolean() }), weight: 3 },
      {
        arbitrary: fc.record({
          op: fc.constant("map" as const),
          mode: fc.constantFrom("sync" as const, "async" as const, "parallel" as const),
          parallel: fc.integer({ min: 2, max: 4 }),
        }),
        weight: 2,
      },
      { arbitrary: fc.record({ op: fc.constant("take" as const), count: lengthArb(40) }), weight: 1 },
      { arbitrary: fc.record({ op: fc.constant("enumerate" as const), start: fc.integer({ min: -5, max: 5 }) }), weight: 1 },
      { arbitrary: fc.record({ op: fc.constant("prefetch" as const), bufferSize: fc.integer({ min: 1, max: 5 }) }), weight: 1 },
      { arbitrary: fc.record({ op: fc.constant("repeat" as const), count: fc.integer({ min: 1, max: 3 }) }), weight: 1 },
      { arbitrary: fc.record({ op: fc.constant("batch" as const), size: fc.integer({ min: 1, max: 4 }), dropRemainder: fc.boolean() }), weight: 1 },
      { arbitrary: fc.record({ op: fc.constant("unbatch" as const) }), weight: 1 },
    ),
    { minLength: 1, maxLength: 6 },
  ),
});

/** A random fraction in [0, 1): a point chosen in proportion to a length. */
const fractionArb = fc.integer({ min: 0, max: 9_999 }).map((x) => x / 10_000);

// ---- building -------------------------------------------------------------------------------------

/** A number digest of any element: numbers themselves, arrays the sum of their items. */
function num(value: unknown): number {
  if (typeof value === "number") return value;
  if (Array.isArray(value)) return value.reduce((sum: number, item: unknown) => sum + num(item), 0);
  return 0;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Waits an event-loop turn for some values, none for others (deterministically). */
async function sometimesLater<T>(value: T): Promise<T> {
  if (Math.abs(num(value)) % 3 === 0) await tick();
  return value;
}

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/**
 * Builds the pipeline a spec describes; identical specs build identical pipelines. Failing maps
 * are followed, somewhere later, by ignoreErrors. Pipelines that could yield more than LIMIT
 * elements end in take(LIMIT).
 */
function build(spec: PipelineSpec): Dataset<unknown> {
  let ds: Dataset<unknown>;
  let bound: number;
  const source = spec.source;
  switch (source.kind) {
    case "range":
      ds = Dataset.range(source.n);
      bound = source.n;
      break;
    case "asyncRange":
      ds = Dataset.range(source.n).map(sometimesLater);
      bound = source.n;
      break;
    case "fromArray":
      ds = Dataset.fromArray(source.values);
      bound = source.values.length;
      break;
    case "zip":
      ds = Dataset.zip([Dataset.range(source.n), Dataset.range(source.m).map((x) => x * 100)]);
      bound = Math.min(source.n, source.m);
      break;
  }
  /** An upper bound of the length of the array elements, if they are arrays. */
  let width = source.kind === "zip" ? 2 : 1;
  let failing = false;
  for (const op of spec.ops) {
    switch (op.op) {
      case "map": {
        const f = (v: unknown): number => (num(v) * 7 + 3) % 1009;
        ds = op.mode === "sync" ? ds.map(f) : ds.map(async (v) => f(await sometimesLater(v)), op.mode === "parallel" ? { parallel: op.parallel } : {});
        width = 1;
        break;
      }
      case "filter":
        ds = op.async ? ds.filter(async (v) => Math.abs(num(await sometimesLater(v))) % op.mod !== 0) : ds.filter((v) => Math.abs(num(v)) % op.mod !== 0);
        break;
      case "flatMap":
        ds = ds.flatMap((v) => Dataset.range(Math.abs(num(v)) % (op.max + 1)).map((y) => (num(v) * 10 + y) % 10_007));
        bound *= op.max;
        width = 1;
        break;
      case "interleave":
        ds = ds.interleave(
          (v) => {
            const nested = Dataset.range(Math.abs(num(v)) % (op.max + 1)).map((y) => (num(v) * 10 + y) % 10_007);
            return op.shuffled ? nested.shuffle(2, { seed: Math.abs(num(v)) % 1000 }) : nested;
          },
          { cycleLength: op.cycleLength, blockLength: op.blockLength },
        );
        bound *= op.max;
        width = 1;
        break;
      case "batch":
        ds = ds.batch(op.size, { dropRemainder: op.dropRemainder });
        width = op.size;
        break;
      case "unbatch":
        ds = ds.map(asArray).unbatch();
        bound *= width;
        width = bound; // the items may themselves be arrays of any size seen so far
        break;
      case "shuffle":
        ds = ds.shuffle(op.bufferSize, { seed: op.seed, reshuffleEachIteration: op.reshuffle });
        break;
      case "repeat":
        ds = ds.repeat(op.count);
        bound *= op.count;
        break;
      case "take":
        ds = ds.take(op.count);
        bound = Math.min(bound, op.count);
        break;
      case "skip":
        ds = ds.skip(op.count);
        break;
      case "shard":
        ds = ds.shard(op.numShards, op.index);
        break;
      case "prefetch":
        ds = ds.prefetch(op.bufferSize);
        break;
      case "concatenate":
        ds = ds.concatenate(Dataset.range(op.n).map((x) => -x));
        bound += op.n;
        break;
      case "enumerate":
        ds = ds.enumerate(op.start);
        width = 2;
        break;
      case "scan":
        ds = ds.scan({ count: 0, sum: 0 }, (s, v) => {
          const next = { count: s.count + 1, sum: (s.sum + num(v)) % 10_007 };
          return [next, next.sum * 100 + next.count] as const;
        });
        width = 1;
        break;
      case "cache":
        ds = ds.cache();
        break;
      case "fail":
        ds = ds.map((v) => {
          if (Math.abs(num(v)) % op.mod === 1) throw new Error(`no ${num(v)}`);
          return v;
        });
        failing = true;
        break;
      case "ignoreErrors":
        ds = ds.ignoreErrors();
        failing = false;
        break;
    }
  }
  if (failing) ds = ds.ignoreErrors();
  return bound > LIMIT ? ds.take(LIMIT) : ds;
}

/** The pipeline of a spec, for fast-check's report. */
function describeSpec(spec: PipelineSpec): string {
  return `${build(spec)} ${JSON.stringify(spec)}`;
}

/** Specs that fast-check reports as their pipeline description plus the spec itself. */
const described = (arb: fc.Arbitrary<PipelineSpec>): fc.Arbitrary<PipelineSpec> =>
  arb.map((spec) => Object.assign(spec, { [fc.toStringMethod]: () => describeSpec(spec) }));
const specArb = described(pipelineArb);

/** How long the consumer dawdles before saving: not at all, some event-loop turns, or a timer. */
type Pause = number;
const pauseArb: fc.Arbitrary<Pause> = fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 4 }), weight: 1 });

async function pause(turns: Pause): Promise<void> {
  if (turns === 4) return new Promise((resolve) => setTimeout(resolve, 2));
  for (let i = 0; i < turns; i++) await tick();
}

async function saveAt<T>(make: () => Dataset<T>, from: IteratorState | null, count: number, turns: Pause = 0): Promise<{ head: T[]; state: IteratorState }> {
  const it = from === null ? make().iterator() : resumed(make, from);
  const head = await takeN(it, count);
  await pause(turns);
  const state = await it.save();
  expect(roundTrip(state), "the state survives a JSON round trip unchanged").toEqual(state);
  await it.close();
  return { head, state };
}

const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, seed: SEED, endOnFailure: false });

// ---- properties -----------------------------------------------------------------------------------

describe("random pipelines", () => {
  it(
    "resume after a save at any point with exactly the remaining elements of an uninterrupted run",
    async () => {
      await fc.assert(
        fc.asyncProperty(specArb, fractionArb, pauseArb, async (spec, at, turns) => {
          const make = (): Dataset<unknown> => build(spec);
          const expected = await uninterrupted(make);
          const k = Math.floor(at * (expected.length + 1));
          const it = make().iterator();
          expect(await takeN(it, k)).toEqual(expected.slice(0, k));
          await pause(turns);
          const state = await it.save();
          expect(roundTrip(state), "the state survives a JSON round trip unchanged").toEqual(state);
          expect(await drain(resumed(make, state)), "the restored iterator").toEqual(expected.slice(k));
          expect(await drain(it), "the iterator that saved").toEqual(expected.slice(k));
        }),
        params(200),
      );
    },
    TIMEOUT,
  );

  it(
    "resume through two breaks in sequence, each in a fresh iterator, with exactly the uninterrupted output",
    async () => {
      await fc.assert(
        fc.asyncProperty(specArb, fractionArb, fractionArb, pauseArb, async (spec, a, b, turns) => {
          const make = (): Dataset<unknown> => build(spec);
          const expected = await uninterrupted(make);
          const k1 = Math.floor(a * (expected.length + 1));
          const k2 = k1 + Math.floor(b * (expected.length - k1 + 1));
          const first = await saveAt(make, null, k1, turns);
          const second = await saveAt(make, first.state, k2 - k1, turns);
          const rest = await drain(resumed(make, second.state));
          expect([...first.head, ...second.head, ...rest]).toEqual(expected);
        }),
        params(150),
      );
    },
    TIMEOUT,
  );

  it(
    "resume across the epochs of a repeat: one break in the first epoch, one in the last",
    async () => {
      const repeatedArb = fc.record({
        inner: specArb,
        count: fc.integer({ min: 2, max: 3 }),
        tail: fc.array(
          fc.oneof(
            fc.record({ op: fc.constant("prefetch" as const), bufferSize: fc.integer({ min: 1, max: 4 }) }),
            fc.record({ op: fc.constant("batch" as const), size: fc.integer({ min: 1, max: 3 }), dropRemainder: fc.constant(false) }),
            fc.record({
              op: fc.constant("shuffle" as const),
              bufferSize: fc.integer({ min: 1, max: 6 }),
              seed: fc.integer({ min: 0, max: 99 }),
              reshuffle: fc.boolean(),
            }),
            fc.record({ op: fc.constant("enumerate" as const), start: fc.constant(0) }),
          ),
          { maxLength: 2 },
        ),
      });
      await fc.assert(
        fc.asyncProperty(repeatedArb, fractionArb, fractionArb, async ({ inner, count, tail }, a, b) => {
          const innerLength = (await uninterrupted(() => build(inner))).length;
          const spec: PipelineSpec = { source: inner.source, ops: [...inner.ops, { op: "repeat", count }, ...tail] };
          const make = (): Dataset<unknown> => build(spec);
          const expected = await uninterrupted(make);
          // Elements per epoch at the repeat; what follows it keeps the proportions roughly.
          const epoch = Math.floor(expected.length / count);
          const k1 = Math.floor(a * (Math.min(epoch, innerLength) + 1));
          const k2 = Math.max(k1, expected.length - epoch + Math.floor(b * (epoch + 1)));
          const first = await saveAt(make, null, k1);
          const second = await saveAt(make, first.state, Math.min(k2, expected.length) - k1);
          const rest = await drain(resumed(make, second.state));
          expect([...first.head, ...second.head, ...rest]).toEqual(expected);
        }),
        params(100),
      );
    },
    TIMEOUT,
  );

  it(
    "yield in batches (bulk pulls) exactly the sequence they yield one by one, and resume between batches",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(specArb, described(bulkSpecArb)), fc.integer({ min: 1, max: 6 }), fractionArb, async (spec, size, at) => {
          const oneByOne = await uninterrupted(() => build(spec));
          const make = (): Dataset<unknown[]> => build(spec).batch(size);
          const batches = await uninterrupted(make);
          expect(batches.flat()).toEqual(oneByOne);
          expect(batches.slice(0, -1).every((b) => b.length === size)).toBe(true);
          const k = Math.floor(at * (batches.length + 1));
          const { state } = await saveAt(make, null, k);
          expect(await drain(resumed(make, state))).toEqual(batches.slice(k));
        }),
        params(150),
      );
    },
    TIMEOUT,
  );
});
