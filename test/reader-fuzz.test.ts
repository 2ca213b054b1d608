/**
 * Fuzzed input to every reader of data from disk: TFRecord files (plain, gzip, zlib; CRCs
 * verified or not; small and huge maxRecordBytes), tf.train.Example bytes (with and without a
 * spec), text files read as lines, JSONL and CSV (plain and gzip / zlib, options of every kind),
 * the checkpoint state file, and checkpoint bundles restored by the Saver. Inputs start valid
 * and are then damaged — bytes flipped, cut, inserted, spliced; TFRecord lengths overwritten
 * with huge values, with and without a matching length CRC; bytes of the compressed stream
 * changed; manifest fields given negative, huge, fractional or escaping values — or are random.
 *
 * Whatever the input: every error is a checkpipe error (no TypeError, RangeError, SyntaxError
 * or plain Error from inside the library); nothing hangs (each case races a timeout, and an
 * iterator may pull at most about as many times as its files have bytes); nothing reaches
 * Object.prototype, and records have Object.prototype or null as prototype. Readers that report
 * no error resume exactly from a state saved midway; checkpoint readers return what was written
 * or raise, and open nothing outside the checkpoint directory (node:fs/promises is wrapped to
 * trace the paths they ask about; the directories around are listed before and after). Some
 * cases put about 1 MiB of intact data first, so that the damage straddles the end of the first
 * read buffer. Seeded and bounded; a problem found names the input that caused it.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { deflateSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { readBundle, writeBundle } from "../src/checkpoint/bundle.js";
import { formatStateText, parseStateText } from "../src/checkpoint/checkpoint-state.js";
import { crc32cNative, maskedCrc32c } from "../src/formats/crc32c.js";
import { encodeFrame } from "../src/formats/tfrecord-frame.js";
import {
  CheckpipeError,
  Dataset,
  Saver,
  getCheckpointState,
  latestCheckpoint,
  makeSaveable,
  parseExample,
  serializeExample,
  type CsvOptions,
  type DatasetIterator,
  type ExampleSpec,
  type IteratorState,
  type SerializableExample,
} from "../src/index.js";

/** Every path the file system is asked about (open, stat, readdir, ...) while `on`. */
const fsTrace = vi.hoisted(() => ({ on: false, paths: [] as string[] }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:fs/promises")>();
  const traced =
    <A extends unknown[], R>(f: (...args: A) => R) =>
    (...args: A): R => {
      if (fsTrace.on) fsTrace.paths.push(String(args[0]));
      return f(...args);
    };
  return {
    ...original,
    open: traced(original.open),
    stat: traced(original.stat),
    lstat: traced(original.lstat),
    readdir: traced(original.readdir),
    readFile: traced(original.readFile),
    realpath: traced(original.realpath),
  };
});

const TFRECORD_CASES = 400;
const EXAMPLE_CASES = 2_000;
const TEXT_CASES = 500;
const STATE_CASES = 400;
const BUNDLE_CASES = 300;
/** The longest a case may take before it counts as hung. */
const CASE_TIMEOUT_MS = 2_000;
/** Pulls an iterator may make beyond one per byte of input before it counts as looping. */
const EXTRA_PULLS = 10;
/** Deflate's largest expansion: a compressed byte stands for at most this many bytes. */
const MAX_INFLATE_RATIO = 1032;
/** How many problems a failing test shows. */
const SHOWN = 5;
/** After this many problems the remaining cases are passed over (each hung one would take its timeout). */
const ENOUGH = 20;

const DIR = mkdtempSync(join(tmpdir(), "checkpipe-reader-fuzz-"));
let files = 0;
const freshPath = (name: string): string => join(DIR, `${files++}-${name}`);

afterAll(() => {
  rmSync(DIR, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// What every case checks.

const HUNG = Symbol("hung");

/** `work`, or HUNG when it takes longer than {@link CASE_TIMEOUT_MS}. */
async function withinTime<T>(work: Promise<T>): Promise<T | typeof HUNG> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<typeof HUNG>((done) => {
    timer = setTimeout(() => done(HUNG), CASE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, hung]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `a thrown ${typeof error}: ${String(error)}`;
  const frame =
    error.stack
      ?.split("\n")
      .find((line) => line.includes("/src/"))
      ?.trim() ?? "";
  return `${error.constructor.name}: ${error.message.slice(0, 200)} ${frame}`;
}

/** Collects what went wrong, with the input that made it go wrong. */
class Problems {
  readonly list: string[] = [];
  private readonly before = prototypeSnapshot();

  add(input: unknown, what: string): void {
    this.list.push(`${what} — input ${show(input)}`);
  }

  /** Notes every error that is not a checkpipe error. */
  errors(input: unknown, where: string, errors: readonly unknown[]): void {
    for (const error of errors) if (!(error instanceof CheckpipeError)) this.add(input, `${where} threw ${describeError(error)}`);
  }

  /** Notes a prototype changed since this collection started, or a plain object that inherits a polluted property. */
  pollution(input: unknown): void {
    const probe: Record<string, unknown> = {};
    if (
      prototypeSnapshot() !== this.before ||
      probe["polluted"] !== undefined ||
      probe["isAdmin"] !== undefined ||
      Object.getPrototypeOf(probe) !== Object.prototype
    ) {
      this.add(input, "a built-in prototype changed");
    }
  }

  /** Notes any object in `value` whose prototype is not what a record's may be. */
  prototypes(input: unknown, where: string, value: unknown): void {
    const bad = foreignPrototype(value, "value", new Set());
    if (bad !== null) this.add(input, `${where}: ${bad}`);
  }

  /** True when enough went wrong to tell: the remaining cases need not run. */
  get enough(): boolean {
    return this.list.length >= ENOUGH;
  }

  expectNone(): void {
    expect(this.list.length, this.list.slice(0, SHOWN).join("\n")).toBe(0);
  }
}

/** The own property names of the built-in prototypes a parser could reach. */
function prototypeSnapshot(): string {
  const protos = [Object.prototype, Array.prototype, Function.prototype, String.prototype, Number.prototype, Uint8Array.prototype, Map.prototype];
  return JSON.stringify(protos.map((p) => Reflect.ownKeys(p).map(String).sort()));
}

/** Where in `value` an object has a prototype other than Object.prototype or null (arrays, typed arrays, Maps, Sets and Dates their own). */
function foreignPrototype(value: unknown, path: string, seen: Set<object>): string | null {
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value) || seen.has(value)) return null;
  seen.add(value);
  const proto: unknown = Object.getPrototypeOf(value);
  const allowed: unknown[] = Array.isArray(value)
    ? [Array.prototype]
    : value instanceof Map
      ? [Map.prototype]
      : value instanceof Set
        ? [Set.prototype]
        : value instanceof Date
          ? [Date.prototype]
          : [Object.prototype, null];
  if (!allowed.includes(proto)) return `${path} has a foreign prototype`;
  if (value instanceof Map) {
    for (const [k, v] of value) {
      const bad = foreignPrototype(k, `${path}.key`, seen) ?? foreignPrototype(v, `${path}.get(${String(k)})`, seen);
      if (bad !== null) return bad;
    }
  }
  if (value instanceof Set) for (const v of value) return foreignPrototype(v, `${path}.item`, seen);
  for (const key of Reflect.ownKeys(value)) {
    const bad = foreignPrototype(Object.getOwnPropertyDescriptor(value, key)?.value, `${path}[${String(key)}]`, seen);
    if (bad !== null) return bad;
  }
  return null;
}

function show(input: unknown): string {
  const text = JSON.stringify(input, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v));
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}

/** Object with the own properties given (`__proto__` among them, as an own key). */
function ownRecord<V>(entries: readonly (readonly [string, V])[]): Record<string, V> {
  const out: Record<string, V> = {};
  for (const [key, value] of entries) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

interface Drained<T> {
  readonly values: T[];
  readonly errors: unknown[];
  /** True when the iterator was still going after its allowance of pulls. */
  readonly looping: boolean;
}

/** Pulls until the end, going on after errors as ignoreErrors does, at most `cap` times; then closes. */
async function drain<T>(it: DatasetIterator<T>, cap: number): Promise<Drained<T>> {
  const values: T[] = [];
  const errors: unknown[] = [];
  let looping = true;
  for (let pulls = 0; pulls < cap; pulls++) {
    let result: IteratorResult<T>;
    try {
      result = await it.next();
    } catch (error) {
      errors.push(error);
      continue;
    }
    if (result.done === true) {
      looping = false;
      break;
    }
    values.push(result.value);
  }
  await it.close().catch((error: unknown) => errors.push(error));
  return { values, errors, looping };
}

/**
 * Reads `build()` as a manual loop and through ignoreErrors(), which must agree; when the loop
 * met no error, also saves after `saveAt` values (modulo their number), restores the state (as
 * JSON) into a fresh iterator and checks it yields exactly the rest. Returns the values read.
 */
async function exercise<T>(problems: Problems, input: unknown, build: () => Dataset<T>, cap: number, saveAt: number): Promise<Drained<T> | null> {
  let ds: Dataset<T>;
  try {
    ds = build();
  } catch (error) {
    problems.errors(input, "building the dataset", [error]);
    return null;
  }
  const run = async (): Promise<Drained<T>> => {
    const first = await drain(ds.iterator(), cap);
    problems.errors(input, "next()", first.errors);
    if (first.looping) {
      problems.add(input, `the iterator was still going after ${cap} pulls`);
      return first;
    }
    for (const value of first.values) problems.prototypes(input, "a record", value);
    const kept = await ds
      .ignoreErrors()
      .toArray()
      .catch((error: unknown) => {
        problems.errors(input, "ignoreErrors().toArray()", [error]);
        return null;
      });
    if (kept !== null && !isDeepStrictEqual(kept, first.values)) problems.add(input, "ignoreErrors() yields other values than a loop going on after errors");
    if (first.errors.length > 0) return first;
    const k = saveAt % (first.values.length + 1);
    const it = ds.iterator();
    const errors: unknown[] = [];
    let state: IteratorState | null = null;
    try {
      for (let i = 0; i < k; i++) await it.next();
      state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    } catch (error) {
      errors.push(error);
    }
    await it.close().catch((error: unknown) => errors.push(error));
    if (errors.length > 0 || state === null) {
      problems.add(input, `saving after ${k} values failed: ${errors.map(describeError).join("; ")}`);
      return first;
    }
    const rest = await drain(ds.iterator({ state }), cap);
    if (rest.errors.length > 0 || rest.looping || !isDeepStrictEqual(rest.values, first.values.slice(k))) {
      problems.add(
        input,
        `restored after ${k} values, the iterator yields ${rest.values.length} values and ${rest.errors.length} errors (${rest.errors.map(describeError).join("; ")}), not the ${first.values.length - k} left`,
      );
    }
    return first;
  };
  const outcome = await withinTime(run());
  problems.pollution(input);
  if (outcome === HUNG) {
    problems.add(input, `hung (more than ${CASE_TIMEOUT_MS} ms)`);
    return null;
  }
  return outcome;
}

// ---------------------------------------------------------------------------------------------
// Damage.

type ByteMutation =
  | { readonly kind: "flip"; readonly at: number; readonly mask: number }
  | { readonly kind: "cut"; readonly at: number }
  | { readonly kind: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: "splice"; readonly at: number; readonly remove: number; readonly bytes: Uint8Array };

/** Bytes that parsers treat specially: varint continuations, lengths, quotes, line ends, a BOM. */
const SPECIAL_INSERTS = [
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
  [0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80],
  [0x0a, 0x00],
  [0x12, 0x7f],
  [0x1f, 0x8b, 0x08, 0x00],
  [0x78, 0x9c],
  [0xef, 0xbb, 0xbf],
  [0x22, 0x0a, 0x22],
  [0x0d],
].map((b) => new Uint8Array(b));

const insertBytes = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.constantFrom(...SPECIAL_INSERTS));

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: insertBytes }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("splice" as const),
      at: fc.nat(),
      remove: fc.integer({ min: 1, max: 24 }),
      bytes: fc.uint8Array({ maxLength: 8 }),
    }),
  },
);

function mutateBytes(bytes: Uint8Array, m: ByteMutation): Uint8Array {
  const n = bytes.length;
  switch (m.kind) {
    case "flip": {
      if (n === 0) return bytes;
      const out = new Uint8Array(bytes); // a copy (Buffer's slice() would be a view)
      out[m.at % n] = (out[m.at % n] as number) ^ m.mask;
      return out;
    }
    case "cut":
      return new Uint8Array(bytes.subarray(0, m.at % (n + 1)));
    case "insert": {
      const at = m.at % (n + 1);
      return Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
    }
    case "splice": {
      const at = m.at % (n + 1);
      return Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(Math.min(n, at + m.remove))]);
    }
  }
}

/** `value` in `weight` cases out of `weight + nilWeight`, `nil` in the others. */
function sometimes<T, N>(value: fc.Arbitrary<T>, nil: N, nilWeight: number, weight = 1): fc.Arbitrary<T | N> {
  return fc.oneof({ weight: nilWeight, arbitrary: fc.constant(nil) }, { weight, arbitrary: value });
}

const applyAll = (bytes: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array => mutations.reduce(mutateBytes, bytes);

type Compression = "none" | "gzip" | "zlib";
const compress = (bytes: Uint8Array, compression: Compression): Uint8Array =>
  compression === "gzip" ? gzipSync(bytes) : compression === "zlib" ? deflateSync(bytes) : bytes;

/** How many pulls reading `fileBytes` bytes may take: one per byte it stands for, and a few more. */
function pullCap(fileBytes: number, compression: Compression): number {
  return (compression === "none" ? fileBytes : fileBytes * MAX_INFLATE_RATIO) + EXTRA_PULLS;
}

// ---------------------------------------------------------------------------------------------
// 1. TFRecord files.

const HUGE_LENGTHS = [
  2n ** 31n,
  2n ** 31n + 1n,
  2n ** 31n - 1n,
  2n ** 32n,
  2n ** 32n + 5n,
  2n ** 40n,
  2n ** 53n + 1n,
  2n ** 63n,
  2n ** 64n - 1n,
  0n,
  1n,
  1000n,
];

interface LengthMutation {
  readonly frame: number;
  readonly value: bigint;
  /** Write the masked CRC of the new length too, so that only the length's size can tell it is wrong. */
  readonly fixCrc: boolean;
}

interface TFRecordCase {
  readonly records: Uint8Array[];
  readonly compression: Compression;
  readonly verifyCrc: boolean;
  readonly maxRecordBytes: number | undefined;
  /** Random file contents instead of records: raw, or the plain stream under valid compression. */
  readonly random: { readonly bytes: Uint8Array; readonly raw: boolean } | null;
  /** Intact records of about 1 MiB before the others, so that these straddle the end of the first read buffer. */
  readonly pad: number | null;
  readonly damage: {
    readonly lengths: LengthMutation[];
    /** Damage to the plain stream (before compression), then to the file's bytes (after it). */
    readonly plain: ByteMutation[];
    readonly file: ByteMutation[];
  } | null;
  /** A second, intact file read after the damaged one. */
  readonly next: Uint8Array[] | null;
  readonly saveAt: number;
}

const tfrecordCase: fc.Arbitrary<TFRecordCase> = fc.record({
  records: fc.array(fc.uint8Array({ maxLength: 48 }), { maxLength: 8 }),
  compression: fc.constantFrom<Compression>("none", "none", "gzip", "zlib"),
  verifyCrc: fc.boolean(),
  maxRecordBytes: fc.option(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(16, 17, 2 ** 31 + 16)), { nil: undefined }),
  random: sometimes(fc.record({ bytes: fc.uint8Array({ maxLength: 300 }), raw: fc.boolean() }), null, 6),
  pad: sometimes(fc.integer({ min: 0, max: 80 }), null, 12),
  damage: sometimes(
    fc.record({
      lengths: fc.array(
        fc.record({ frame: fc.nat(), value: fc.oneof(fc.constantFrom(...HUGE_LENGTHS), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })), fixCrc: fc.boolean() }),
        { maxLength: 2 },
      ),
      plain: fc.array(byteMutation, { maxLength: 3 }),
      file: fc.array(byteMutation, { maxLength: 2 }),
    }),
    null,
    1,
    3,
  ),
  next: sometimes(fc.array(fc.uint8Array({ maxLength: 24 }), { minLength: 1, maxLength: 4 }), null, 1),
  saveAt: fc.nat(),
});

function framed(records: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(records.map((r) => encodeFrame(r)));
}

/** About 1 MiB of records, `short` bytes less: what follows them starts just before the end of the first read buffer. */
function padRecords(short: number): Uint8Array[] {
  const records: Uint8Array[] = [];
  for (let left = (1 << 20) - short; left > 0;) {
    const size = Math.max(0, Math.min(1_000, left - 16));
    records.push(new Uint8Array(size).fill(records.length & 0xff));
    left -= size + 16;
  }
  return records;
}

/** The records of the damaged file of `c` as written: the pad, then its own. */
const writtenRecords = (c: TFRecordCase): Uint8Array[] => (c.pad === null ? c.records : [...padRecords(c.pad), ...c.records]);

/** The bytes of the damaged file of `c`. */
function tfrecordFile(c: TFRecordCase): Uint8Array {
  const pad = c.pad === null ? new Uint8Array(0) : framed(padRecords(c.pad));
  if (c.random !== null) return c.random.raw ? Buffer.concat([pad, c.random.bytes]) : compress(Buffer.concat([pad, c.random.bytes]), c.compression);
  const plain = Buffer.from(framed(c.records));
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  const offsets: number[] = [];
  for (let at = 0, i = 0; i < c.records.length; at += (c.records[i] as Uint8Array).length + 16, i++) offsets.push(at);
  const d = c.damage ?? { lengths: [], plain: [], file: [] };
  for (const m of d.lengths) {
    if (offsets.length === 0) break;
    const at = offsets[m.frame % offsets.length] as number;
    view.setBigUint64(at, m.value, true);
    if (m.fixCrc) view.setUint32(at + 8, maskedCrc32c(plain.subarray(at, at + 8)), true);
  }
  const damagedPlain = Buffer.concat([pad, applyAll(plain, d.plain)]);
  return c.compression === "none" ? applyAll(damagedPlain, d.file) : applyAll(compress(damagedPlain, c.compression), d.file);
}

/** The records a reader yields of intact `records` under `max`: those before the first too large one. */
function fitting(records: readonly Uint8Array[], max: number | undefined): { values: Uint8Array[]; cut: boolean } {
  const limit = max ?? 256 * 2 ** 20;
  const i = records.findIndex((r) => r.length + 16 > limit);
  return i === -1 ? { values: [...records], cut: false } : { values: records.slice(0, i), cut: true };
}

/** Whether `values` are some of `written`, in order. */
function isSubsequence(values: readonly Uint8Array[], written: readonly Uint8Array[]): boolean {
  let j = 0;
  for (const v of values) {
    while (j < written.length && Buffer.compare(written[j] as Uint8Array, v) !== 0) j++;
    if (j === written.length) return false;
    j++;
  }
  return true;
}

describe("TFRecord files, damaged", () => {
  it(`${TFRECORD_CASES} cases: only checkpipe errors, no hang, no pollution; intact files read exactly, and resume exactly`, async () => {
    const problems = new Problems();
    await fc.assert(
      fc.asyncProperty(tfrecordCase, async (c) => {
        if (problems.enough) return;
        const damaged = freshPath("damaged.tfrecord");
        const bytes = tfrecordFile(c);
        writeFileSync(damaged, bytes);
        const paths = [damaged];
        let size = bytes.length;
        if (c.next !== null) {
          const next = freshPath("next.tfrecord");
          const nextBytes = compress(framed(c.next), c.compression);
          writeFileSync(next, nextBytes);
          paths.push(next);
          size += nextBytes.length;
        }
        // The pad's records are of 1 000 bytes: a smaller limit would only stop reading before the interesting part.
        const maxRecordBytes = c.pad === null ? c.maxRecordBytes : undefined;
        const options = { compression: c.compression, verifyCrc: c.verifyCrc, ...(maxRecordBytes === undefined ? {} : { maxRecordBytes }) };
        const out = await exercise(
          problems,
          c,
          () => Dataset.tfrecord(paths, options),
          pullCap(size, c.compression),
          c.pad === null ? c.saveAt : padRecords(c.pad).length + (c.saveAt % 9) - 4,
        );
        for (const path of paths) unlinkSync(path);
        if (out === null || out.looping) return;
        for (const value of out.values) if (!(value instanceof Uint8Array)) problems.add(c, "a record is not a Uint8Array");
        const tail = c.next === null ? { values: [], cut: false } : fitting(c.next, maxRecordBytes);
        const written = writtenRecords(c);
        const intact = c.random === null && c.damage === null;
        if (intact) {
          const head = fitting(written, maxRecordBytes);
          const expected = head.cut ? head.values : [...head.values, ...tail.values];
          if (!isDeepStrictEqual(out.values.slice(0, expected.length), expected)) problems.add(c, "an intact file yields other records than were written");
          if (!head.cut && !tail.cut && out.errors.length > 0) problems.add(c, `an intact file raised ${describeError(out.errors[0])}`);
        }
        if (!isDeepStrictEqual(out.values.slice(out.values.length - tail.values.length), tail.values)) {
          problems.add(c, "the intact file after the damaged one is not read whole");
        }
        if (c.verifyCrc && c.random === null && !isSubsequence(out.values, [...written, ...(c.next ?? [])])) {
          problems.add(c, "with CRCs verified, a record was yielded that was never written");
        }
      }),
      { numRuns: TFRECORD_CASES, seed: 0x7f5ec0 },
    );
    problems.expectNone();
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// 2. tf.train.Example bytes.

const FEATURE_NAMES = ["x", "label", "__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "polluted", "0", "7", "", "é"];
const DTYPES = ["float32", "int64", "string", "bytes"] as const;

const feature: fc.Arbitrary<number[] | bigint[] | string[] | Uint8Array[]> = fc.oneof(
  fc.array(fc.float(), { maxLength: 5 }),
  fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { minLength: 1, maxLength: 4 }),
  fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 3 }),
  fc.array(fc.uint8Array({ maxLength: 6 }), { minLength: 1, maxLength: 3 }),
);

const DEFAULTS: Record<(typeof DTYPES)[number], readonly unknown[]> = {
  float32: [0.5, [1, 2], new Float32Array([3])],
  int64: [1n, 3, [1, 2n], -1],
  string: ["s", ["a", "b"]],
  bytes: [new Uint8Array([1]), [new Uint8Array(0)]],
};

const featureSpec: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ kind: fc.constant("var"), dtype: fc.constantFrom(...DTYPES) }),
  fc
    .record({
      dtype: fc.constantFrom(...DTYPES),
      // The last ones have more elements than any record holds, or an array can.
      shape: fc.constantFrom([], [1], [2], [0], [2, 2], [3], [0, 1e300], [1e6, 1e6], [2 ** 53, 2], [1e300, 1e300]),
      pick: fc.option(fc.nat(), { nil: null }),
    })
    .map(({ dtype, shape, pick }) => {
      const choices = DEFAULTS[dtype];
      return pick === null ? { kind: "fixed", dtype, shape } : { kind: "fixed", dtype, shape, default: choices[pick % choices.length] };
    }),
);

interface ExampleCase {
  readonly source:
    { readonly random: Uint8Array } | { readonly features: [string, number[] | bigint[] | string[] | Uint8Array[]][]; readonly damage: ByteMutation[] };
  readonly spec: [string, Record<string, unknown>][] | null;
}

const exampleCase: fc.Arbitrary<ExampleCase> = fc.record({
  source: fc.oneof(
    { weight: 1, arbitrary: fc.record({ random: fc.uint8Array({ maxLength: 120 }) }) },
    {
      weight: 4,
      arbitrary: fc.record({
        features: fc.uniqueArray(fc.tuple(fc.constantFrom(...FEATURE_NAMES), feature), { selector: ([name]) => name, maxLength: 5 }),
        damage: fc.array(byteMutation, { maxLength: 3 }),
      }),
    },
  ),
  spec: fc.option(fc.uniqueArray(fc.tuple(fc.constantFrom(...FEATURE_NAMES), featureSpec), { selector: ([name]) => name, maxLength: 4 }), { nil: null }),
});

describe("tf.train.Example bytes, damaged", () => {
  it(`${EXAMPLE_CASES} cases, with and without a spec: only checkpipe errors, no pollution; intact records round-trip`, () => {
    const problems = new Problems();
    fc.assert(
      fc.property(exampleCase, (c) => {
        if (problems.enough) return;
        const record = "random" in c.source ? null : ownRecord(c.source.features);
        const bytes = "random" in c.source ? c.source.random : applyAll(serializeExample(record as SerializableExample), c.source.damage);
        const spec = c.spec === null ? null : (ownRecord(c.spec) as unknown as ExampleSpec);
        const started = performance.now();
        let parsed: unknown = null;
        try {
          parsed = spec === null ? parseExample(bytes) : parseExample(bytes, spec);
        } catch (error) {
          problems.errors(c, "parseExample", [error]);
        }
        if (performance.now() - started > CASE_TIMEOUT_MS) problems.add(c, `parseExample took more than ${CASE_TIMEOUT_MS} ms`);
        problems.pollution(c);
        problems.prototypes(c, "the parsed example", parsed);
        if (parsed !== null && spec !== null) {
          const keys = Object.keys(parsed as object).sort();
          if (!isDeepStrictEqual(keys, Object.keys(spec).sort()))
            problems.add(c, `a spec for ${JSON.stringify(Object.keys(spec))} returned ${JSON.stringify(keys)}`);
        }
        if (parsed !== null && spec === null && record !== null && "damage" in c.source && c.source.damage.length === 0) {
          const expected = Object.fromEntries(
            Object.keys(record).map((k) => [k, (record[k] as unknown[]).map((v) => (typeof v === "string" ? new TextEncoder().encode(v) : v))]),
          );
          const got = Object.fromEntries(Object.keys(parsed as object).map((k) => [k, Object.getOwnPropertyDescriptor(parsed, k)?.value as unknown]));
          if (!isDeepStrictEqual(got, expected)) problems.add(c, "an intact example does not parse to what was serialized");
        }
      }),
      { numRuns: EXAMPLE_CASES, seed: 0xe8a3 },
    );
    problems.expectNone();
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Text files: lines, JSONL, CSV.

/** Bytes as text readers meet them: mostly quotes, delimiters and line ends; a BOM, bad UTF-8. */
const textByte = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...Array.from('",\n\r;a1 x{}[]:', (ch) => ch.charCodeAt(0))) },
  { weight: 1, arbitrary: fc.constantFrom(0xef, 0xbb, 0xbf, 0xc3, 0xa9, 0xff, 0xfe, 0x80, 0x00, 0x09) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const COLUMN_NAMES = ["a", "b", "__proto__", "constructor", "toString", "polluted"];
const TEXT_CHUNKS = [
  "\xef\xbb\xbf",
  '"a,b"',
  '""',
  '"',
  "\r\n",
  "\n\n",
  '{"a":1}',
  "[1,2,3]",
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '"x\ny"',
  "a,b,c",
  "__proto__,constructor,toString",
  "1,true,-2.5",
  "  ",
].map((t) => Uint8Array.from(t, (ch) => ch.charCodeAt(0)));
const textChunk = fc.oneof(
  { weight: 4, arbitrary: fc.array(textByte, { maxLength: 30 }).map((b) => Uint8Array.from(b)) },
  { weight: 3, arbitrary: fc.constantFrom(...TEXT_CHUNKS) },
  {
    weight: 1,
    arbitrary: fc.record({ byte: textByte, count: fc.integer({ min: 60, max: 3_000 }) }).map(({ byte, count }) => new Uint8Array(count).fill(byte)),
  },
);
const randomText = fc.array(textChunk, { maxLength: 14 }).map((chunks) => new Uint8Array(Buffer.concat(chunks)));

const lineEnd = fc.constantFrom("\n", "\n", "\r\n");
const PROTO_JSON = ['{"__proto__":{"polluted":"yes"}}', '{"constructor":{"prototype":{"polluted":"yes"}}}', '[{"__proto__":[]}]', '{"a":{"__proto__":null}}'];
/** Lines of JSON values (some with `__proto__` keys), as a JSONL file holds them. */
const jsonlText = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        fc.constantFrom(...PROTO_JSON, "", "  "),
      ),
      lineEnd,
    ),
    { maxLength: 10 },
  )
  .map((lines) => lines.map(([l, end]) => l + end).join(""));
/** RFC 4180 rows of one width, fields quoted where they must be (and at random elsewhere). */
const csvText = fc.integer({ min: 1, max: 4 }).chain((width) =>
  fc
    .array(
      fc.tuple(
        fc.array(fc.tuple(fc.oneof(fc.constantFrom("a", "1", "-2.5", "true", "0", "", ...COLUMN_NAMES), fc.string({ maxLength: 5 })), fc.boolean()), {
          minLength: width,
          maxLength: width,
        }),
        lineEnd,
      ),
      { maxLength: 10 },
    )
    .map((rows) =>
      rows.map(([fields, end]) => fields.map(([f, quote]) => (quote || /[",\r\n]/.test(f) ? `"${f.replaceAll('"', '""')}"` : f)).join(",") + end).join(""),
    ),
);
const plainLines = fc.array(fc.tuple(fc.string({ maxLength: 20 }), lineEnd), { maxLength: 10 }).map((lines) => lines.map(([l, end]) => l + end).join(""));
const textContent = fc.oneof(
  randomText,
  fc.oneof(jsonlText, csvText, plainLines).map((t) => new TextEncoder().encode(t)),
);

/** About 1 MiB of lines, `short` bytes less, that every reader takes: each a JSON string, a one-field CSV row. */
function padText(short: number): Uint8Array {
  const line = `"${"p".repeat(1_021)}"\n`;
  const total = (1 << 20) - short;
  return new TextEncoder().encode(line.repeat(Math.floor(total / line.length)) + `"${"q".repeat(Math.max(0, (total % line.length) - 3))}"\n`);
}

const columnSpec = fc.oneof(
  fc.record({ type: fc.constantFrom("string", "number", "int", "boolean") }),
  fc.constantFrom(
    { type: "number", default: 0 },
    { type: "int", default: -1 },
    { type: "boolean", default: false },
    { type: "string", default: "" },
    { type: "int", default: 1.5 },
  ),
);

interface TextCase {
  readonly reader: "textLines" | "jsonl" | "csv";
  readonly content: Uint8Array;
  /** Lines of about 1 MiB before the content, so that it straddles the end of the first read buffer. */
  readonly pad: number | null;
  /** Damage to the content, before compression. */
  readonly damage: ByteMutation[];
  readonly compression: Compression;
  readonly fileDamage: ByteMutation[];
  readonly maxRecordBytes: number | undefined;
  readonly csv: {
    readonly header: boolean | undefined;
    readonly columnNames: string[] | undefined;
    readonly selectCols: (string | number)[] | undefined;
    readonly columns: [string, Record<string, unknown>][] | undefined;
    readonly delimiter: string | undefined;
  };
  readonly saveAt: number;
}

const textCase: fc.Arbitrary<TextCase> = fc.record({
  reader: fc.constantFrom("textLines" as const, "jsonl" as const, "csv" as const, "csv" as const),
  content: textContent,
  pad: sometimes(fc.integer({ min: 0, max: 80 }), null, 15),
  damage: sometimes(fc.array(byteMutation, { minLength: 1, maxLength: 2 }), [], 2),
  compression: fc.constantFrom<Compression>("none", "none", "gzip", "zlib"),
  fileDamage: sometimes(fc.array(byteMutation, { minLength: 1, maxLength: 2 }), [], 3),
  maxRecordBytes: sometimes(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(256, 4_096)), undefined, 1),
  csv: fc.record({
    header: fc.option(fc.boolean(), { nil: undefined }),
    columnNames: sometimes(fc.uniqueArray(fc.constantFrom(...COLUMN_NAMES), { minLength: 1, maxLength: 4 }), undefined, 3),
    selectCols: sometimes(fc.array(fc.oneof(fc.nat({ max: 4 }), fc.constantFrom(...COLUMN_NAMES)), { minLength: 1, maxLength: 3 }), undefined, 3),
    columns: sometimes(
      fc.uniqueArray(fc.tuple(fc.constantFrom(...COLUMN_NAMES, "0", "1"), columnSpec), { selector: ([name]) => name, maxLength: 3 }),
      undefined,
      2,
    ),
    delimiter: sometimes(fc.constantFrom(",", ";", "\t", "|", "a", "é", '"', ",,"), undefined, 2),
  }),
  saveAt: fc.nat(),
});

function csvOptions(c: TextCase, common: { compression: Compression; maxRecordBytes?: number }): CsvOptions {
  const o: Record<string, unknown> = { ...common };
  if (c.csv.header !== undefined) o["header"] = c.csv.header;
  if (c.csv.columnNames !== undefined) o["columnNames"] = c.csv.columnNames;
  if (c.csv.selectCols !== undefined) o["selectCols"] = c.csv.selectCols;
  if (c.csv.columns !== undefined) o["columns"] = ownRecord(c.csv.columns);
  if (c.csv.delimiter !== undefined) o["delimiter"] = c.csv.delimiter;
  return o;
}

describe("text files, damaged: textLines, jsonl, csv", () => {
  it(`${TEXT_CASES} cases: only checkpipe errors, no hang, no pollution; resume exactly`, async () => {
    const problems = new Problems();
    await fc.assert(
      fc.asyncProperty(textCase, async (c) => {
        if (problems.enough) return;
        const path = freshPath(`text.${c.reader}`);
        const plain = Buffer.concat([c.pad === null ? new Uint8Array(0) : padText(c.pad), applyAll(c.content, c.damage)]);
        const bytes = applyAll(compress(plain, c.compression), c.fileDamage);
        writeFileSync(path, bytes);
        // The pad's lines are of 1 024 bytes: a smaller limit would only stop reading before the interesting part.
        const maxRecordBytes = c.pad === null ? c.maxRecordBytes : undefined;
        const common = { compression: c.compression, ...(maxRecordBytes === undefined ? {} : { maxRecordBytes }) };
        const build = (): Dataset<unknown> =>
          c.reader === "textLines"
            ? Dataset.textLines(path, common)
            : c.reader === "jsonl"
              ? Dataset.jsonl(path, common)
              : Dataset.csv(path, csvOptions(c, common));
        const saveAt = c.pad === null ? c.saveAt : 1_020 + (c.saveAt % 9);
        const out = await exercise(problems, { ...c, content: Buffer.from(c.content).toString("latin1") }, build, pullCap(bytes.length, c.compression), saveAt);
        unlinkSync(path);
        if (out !== null && c.reader === "textLines" && out.values.some((v) => typeof v !== "string")) problems.add(c, "a line is not a string");
      }),
      { numRuns: TEXT_CASES, seed: 0x7e47 },
    );
    problems.expectNone();
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// 4. The checkpoint state file.

/** Paths a state file may name; ABS is an absolute path inside the directory, ABS_OUTSIDE one outside it. */
const STATE_PATHS = [
  "ABS",
  "ABS_OUTSIDE",
  "model.ckpt-1",
  "sub/model.ckpt-1",
  "dir",
  "model.ckpt-2",
  "../model.ckpt-2",
  "/etc/passwd",
  "sub/../../x",
  "sub/../model.ckpt-1",
  "..ckpt-1",
  ".",
  "",
  "a\0b",
  "é/路径",
  "..",
  "./model.ckpt-1",
];
const STATE_TOKENS = [
  '"../model.ckpt-2"',
  '"/etc/passwd"',
  '"\\000"',
  '"\\x00"',
  '"\\x"',
  '"\\056\\056/model.ckpt-2"',
  '"\\057etc\\057passwd"',
  '"\\777"',
  '"\\q"',
  '"\\',
  "'",
  '"',
  "#",
  ":",
  "\n",
  "\0",
  " ",
  "model_checkpoint_path",
  "all_model_checkpoint_paths",
  "all_model_checkpoint_timestamps",
  "last_preserved_timestamp",
  "__proto__",
  "1e309",
  "-",
  ".5",
  "NaN",
  "1.5f",
];

type TextMutation =
  { readonly kind: "insert"; readonly at: number; readonly text: string } | { readonly kind: "delete"; readonly at: number; readonly length: number };

const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...STATE_TOKENS), fc.string({ maxLength: 4 })) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
);

interface StateCase {
  readonly text:
    { readonly random: string } | { readonly paths: string[]; readonly times: number[]; readonly preserved: number | null; readonly damage: TextMutation[] };
  readonly filename: "checkpoint" | "checkpoint_input";
  /** How the text is written: as UTF-8, or each character as one byte (invalid UTF-8 then). */
  readonly encoding: "utf8" | "latin1";
}

const stateCase: fc.Arbitrary<StateCase> = fc.record({
  text: fc.oneof(
    { weight: 1, arbitrary: fc.record({ random: fc.string({ unit: "binary", maxLength: 120 }) }) },
    {
      weight: 4,
      arbitrary: fc.record({
        paths: fc.array(fc.oneof(fc.constantFrom(...STATE_PATHS), fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 4 }),
        times: fc.array(fc.double(), { maxLength: 3 }),
        preserved: fc.option(fc.double(), { nil: null }),
        damage: fc.array(textMutation, { maxLength: 3 }),
      }),
    },
  ),
  filename: fc.constantFrom("checkpoint" as const, "checkpoint_input" as const),
  encoding: fc.constantFrom("utf8" as const, "utf8" as const, "latin1" as const),
});

function stateText(c: StateCase, dir: string): string {
  if ("random" in c.text) return c.text.random;
  const paths = c.text.paths.map((p) => (p === "ABS" ? join(dir, "model.ckpt-1") : p === "ABS_OUTSIDE" ? join(dir, "..", "model.ckpt-2") : p));
  let text = formatStateText({
    modelCheckpointPath: paths.at(-1) as string,
    allModelCheckpointPaths: paths,
    allModelCheckpointTimestamps: c.text.times,
    lastPreservedTimestamp: c.text.preserved,
  });
  for (const m of c.text.damage) {
    const at = m.at % (text.length + 1);
    text = text.slice(0, at) + (m.kind === "insert" ? m.text + text.slice(at) : text.slice(at + m.length));
  }
  return text;
}

/** Whether `path` lies inside `dir` (not `dir` itself). */
function inside(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(dir, path));
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

describe("the checkpoint state file, damaged", () => {
  it(`${STATE_CASES} cases: parseStateText, getCheckpointState and latestCheckpoint return paths inside the directory or raise checkpipe errors`, async () => {
    const root = join(DIR, "state");
    const dir = join(root, "ckpt");
    mkdirSync(dir, { recursive: true });
    for (const name of ["é", "sub", "dir.index"]) mkdirSync(join(dir, name), { recursive: true });
    for (const name of ["model.ckpt-1.index", "model.ckpt-2.index", "..ckpt-1.index", "sub/model.ckpt-1.index", "é/路径.index"])
      writeFileSync(join(dir, name), "{}");
    writeFileSync(join(root, "model.ckpt-2.index"), "{}"); // outside: must never be named
    writeFileSync(join(root, "passwd.index"), "{}");
    const problems = new Problems();
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      await fc.assert(
        fc.asyncProperty(stateCase, async (c) => {
          if (problems.enough) return;
          const text = stateText(c, dir);
          try {
            parseStateText(text);
          } catch (error) {
            problems.errors(c, "parseStateText", [error]);
          }
          writeFileSync(join(dir, c.filename), Buffer.from(text, c.encoding));
          const run = async (): Promise<void> => {
            try {
              const state = await getCheckpointState(dir, c.filename);
              problems.prototypes(c, "the state", state);
              for (const path of state === null ? [] : [state.modelCheckpointPath, ...state.allModelCheckpointPaths]) {
                if (!inside(dir, path)) problems.add(c, `getCheckpointState returned ${JSON.stringify(path)}, outside ${dir}`);
              }
            } catch (error) {
              problems.errors(c, "getCheckpointState", [error]);
            }
            try {
              const latest = await latestCheckpoint(dir, c.filename);
              if (latest !== null && !inside(dir, latest)) problems.add(c, `latestCheckpoint returned ${JSON.stringify(latest)}, outside ${dir}`);
            } catch (error) {
              problems.errors(c, "latestCheckpoint", [error]);
            }
          };
          if ((await withinTime(run())) === HUNG) problems.add(c, `hung (more than ${CASE_TIMEOUT_MS} ms)`);
          problems.pollution(c);
          unlinkSync(join(dir, c.filename));
        }),
        { numRuns: STATE_CASES, seed: 0x57a7e },
      );
    } finally {
      warn.mockRestore();
    }
    problems.expectNone();
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// 5. Checkpoint bundles.

const STEP_VALUES = (step: number): Map<string, unknown> =>
  new Map<string, unknown>([
    ["n", step],
    ["s", `step ${step} ✓`],
    ["long", "é".repeat(1_500 + step)],
    ["f", new Float32Array([step, -0, Number.NaN, 1.5])],
    ["b", 2n ** 70n + BigInt(step)],
    [
      "tree",
      {
        a: [1, "x", null, { deep: { v: step / 3 } }],
        m: new Map([["k", BigInt(step)]]),
        own: JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":1}') as unknown,
      },
    ],
  ]);

/** JSON an entry may hold instead of its own: look-alikes of the value encoding, and deep or hostile trees. */
const FORGED_TREES = [
  '{"$type":"Float32Array","blob":0}',
  '{"$type":"Float32Array","blob":7}',
  '{"$type":"Float32Array","blob":-1}',
  '{"$type":"Float64Array","blob":0}',
  '{"$type":"BigInt64Array","blob":0}',
  '{"$type":"string","blob":0}',
  '{"$type":"string","blob":"0"}',
  '{"$type":"bigint","value":"zz"}',
  '{"$type":"bigint","value":"1e400"}',
  '{"$type":"Map","entries":[[1]]}',
  '{"$type":"Map","entries":5}',
  '{"$type":"Set","values":{"length":1e9}}',
  '{"$type":"Date","value":"x"}',
  '{"$type":"Object","entries":{"__proto__":{"polluted":"yes"}}}',
  '{"$type":"__proto__"}',
  '{"$type":"constructor"}',
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '[1,2,{"$type":"undefined"}]',
  "[".repeat(5_000) + "]".repeat(5_000),
  '{"a":'.repeat(2_000) + "1" + "}".repeat(2_000),
  "null",
  '"\\ud800"',
  "1e400",
];

/** Values a JSON field of a manifest is set to. */
const FIELD_VALUES: unknown[] = [
  -1,
  -0.5,
  0,
  1,
  1.5,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  1e300,
  null,
  "12",
  [],
  {},
  true,
  "model.ckpt-2.data-00000-of-00001.resaved",
];
const FILE_NAMES = [
  "../model.ckpt-2.data-00000-of-00001",
  "../decoy/model.ckpt-2.data-00000-of-00001",
  "/etc/passwd",
  "model.ckpt-1.data-00000-of-00001",
  "model.ckpt-2.data-00000-of-00001/../model.ckpt-1.data-00000-of-00001",
  "model.ckpt-2.data-00000-of-00001.resaved",
  "",
];

type BundleDamage =
  | { readonly kind: "index"; readonly damage: ByteMutation[] }
  | { readonly kind: "data"; readonly damage: ByteMutation[]; readonly fixCrcs: boolean }
  | {
      readonly kind: "field";
      readonly path: "version" | "format" | "data.file" | "data.size" | "entry";
      readonly entry: number;
      readonly key: string;
      readonly value: unknown;
      readonly fixCrc: boolean;
    }
  | { readonly kind: "entries"; readonly op: "drop" | "duplicate" | "swap"; readonly entry: number }
  /** One entry's JSON or binary part changed, and the manifest made to match (offsets, sizes, checksums). */
  | { readonly kind: "entry"; readonly entry: number; readonly part: "json" | "blob"; readonly damage: ByteMutation[] }
  | { readonly kind: "entry"; readonly entry: number; readonly part: "tree"; readonly tree: string }
  | { readonly kind: "state"; readonly text: string };

const bundleDamage: fc.Arbitrary<BundleDamage> = fc.oneof(
  fc.record({ kind: fc.constant("index" as const), damage: fc.array(byteMutation, { minLength: 1, maxLength: 2 }) }),
  fc.record({ kind: fc.constant("data" as const), damage: fc.array(byteMutation, { minLength: 1, maxLength: 2 }), fixCrcs: fc.boolean() }),
  fc.record({
    kind: fc.constant("field" as const),
    path: fc.constantFrom(
      "version" as const,
      "format" as const,
      "data.file" as const,
      "data.size" as const,
      "entry" as const,
      "entry" as const,
      "entry" as const,
    ),
    entry: fc.nat(),
    key: fc.constantFrom("name", "offset", "json", "blobs", "crc32c", "form"),
    value: fc.oneof(
      fc.constantFrom(...FIELD_VALUES),
      fc.constantFrom(...FILE_NAMES),
      fc.constantFrom("__proto__", "constructor", "n"),
      fc.constantFrom([-1], [1.5], [2 ** 53], [1e9, 1e9]),
    ),
    fixCrc: fc.oneof(fc.constant(true), fc.constant(true), fc.constant(true), fc.constant(false)),
  }),
  fc.record({ kind: fc.constant("entries" as const), op: fc.constantFrom("drop" as const, "duplicate" as const, "swap" as const), entry: fc.nat() }),
  fc.record({
    kind: fc.constant("entry" as const),
    entry: fc.nat(),
    part: fc.constantFrom("json" as const, "blob" as const),
    damage: fc.array(byteMutation, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant("entry" as const),
    entry: fc.nat(),
    part: fc.constant("tree" as const),
    tree: fc.oneof(
      fc.constantFrom(...FORGED_TREES),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    ),
  }),
  fc.record({
    kind: fc.constant("state" as const),
    text: fc.constantFrom(
      'model_checkpoint_path: "../model.ckpt-2"\n',
      'model_checkpoint_path: "../decoy/model.ckpt-2"\nall_model_checkpoint_paths: "model.ckpt-1"\n',
      'model_checkpoint_path: "model.ckpt-2"\nall_model_checkpoint_paths: "../model.ckpt-2"\nall_model_checkpoint_paths: "model.ckpt-2"\n',
      'model_checkpoint_path: "\\056\\056/model.ckpt-2"\n',
      'model_checkpoint_path: "model.ckpt-2\\000"\n',
      'model_checkpoint_path: "sub/../../model.ckpt-2"\n',
      'model_checkpoint_path: "model.ckpt-3"\nall_model_checkpoint_paths: "model.ckpt-1"\n',
    ),
  }),
);

/** `text` of a manifest with its `crc32c` made to match the rest, as the writer computes it. */
function withManifestCrc(manifest: Record<string, unknown>): string {
  const { crc32c: _, ...rest } = manifest;
  return JSON.stringify({ ...rest, crc32c: crc32cNative(Buffer.from(JSON.stringify(rest), "utf8")) });
}

/** Every file under `dir`, as paths relative to it. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe("checkpoint bundles, damaged: readBundle, Saver.restore, Saver.restoreLatest", () => {
  const root = join(DIR, "bundle");
  const dir = join(root, "ckpt");
  const prefix = (step: number, where = dir): string => join(where, `model.ckpt-${step}`);
  /** The intact files of the checkpoint directory, by name. */
  const intact: Record<string, Buffer> = {};

  beforeAll(async () => {
    mkdirSync(join(root, "decoy"), { recursive: true });
    mkdirSync(dir, { recursive: true });
    await writeBundle(prefix(1), STEP_VALUES(1));
    await writeBundle(prefix(2), STEP_VALUES(2));
    // Decoys outside the checkpoint directory, whole checkpoints of other values: nothing may read them.
    await writeBundle(prefix(2, root), STEP_VALUES(-2));
    await writeBundle(prefix(2, join(root, "decoy")), STEP_VALUES(-3));
    writeFileSync(
      join(dir, "checkpoint"),
      formatStateText({
        modelCheckpointPath: "model.ckpt-2",
        allModelCheckpointPaths: ["model.ckpt-1", "model.ckpt-2"],
        allModelCheckpointTimestamps: [1, 2],
        lastPreservedTimestamp: null,
      }),
    );
    for (const name of readdirSync(dir)) intact[name] = readFileSync(join(dir, name));
  });

  /** Puts the intact checkpoints back, then damages step 2's. Returns whether what it holds may differ from what was written while its checksums match. */
  function damage(d: BundleDamage): boolean {
    for (const name of readdirSync(dir)) if (!(name in intact)) rmSync(join(dir, name), { recursive: true, force: true });
    for (const [name, bytes] of Object.entries(intact)) writeFileSync(join(dir, name), bytes);
    const index = join(dir, "model.ckpt-2.index");
    const data = join(dir, "model.ckpt-2.data-00000-of-00001");
    const manifest = JSON.parse((intact["model.ckpt-2.index"] as Buffer).toString("utf8")) as Record<string, unknown> & {
      data: Record<string, unknown>;
      entries: Record<string, unknown>[];
    };
    switch (d.kind) {
      case "index":
        writeFileSync(index, applyAll(intact["model.ckpt-2.index"] as Buffer, d.damage));
        return false;
      case "data": {
        const bytes = applyAll(intact["model.ckpt-2.data-00000-of-00001"] as Buffer, d.damage);
        writeFileSync(data, bytes);
        if (!d.fixCrcs) return false;
        manifest.data["size"] = bytes.length;
        for (const entry of manifest.entries) {
          const size = (entry["json"] as number) + (entry["blobs"] as number[]).reduce((a, b) => a + b, 0);
          const at = entry["offset"] as number;
          if (at + size <= bytes.length) entry["crc32c"] = crc32cNative(bytes.subarray(at, at + size));
        }
        writeFileSync(index, withManifestCrc(manifest));
        return true;
      }
      case "field": {
        if (d.path === "version" || d.path === "format") manifest[d.path] = d.value;
        else if (d.path === "data.file") manifest.data["file"] = d.value;
        else if (d.path === "data.size") manifest.data["size"] = d.value;
        else {
          const entry = manifest.entries[d.entry % manifest.entries.length] as Record<string, unknown>;
          if (d.key === "blobs" && Array.isArray(entry["blobs"]) && (entry["blobs"] as unknown[]).length > 0 && typeof d.value === "number")
            (entry["blobs"] as unknown[])[0] = d.value;
          else entry[d.key] = d.value;
        }
        writeFileSync(index, d.fixCrc ? withManifestCrc(manifest) : JSON.stringify(manifest));
        return d.fixCrc;
      }
      case "entries": {
        const i = d.entry % manifest.entries.length;
        const entries = manifest.entries;
        if (d.op === "drop") entries.splice(i, 1);
        else if (d.op === "duplicate") entries.splice(i, 0, { ...(entries[i] as Record<string, unknown>) });
        else [entries[0], entries[i]] = [entries[i] as Record<string, unknown>, entries[0] as Record<string, unknown>];
        writeFileSync(index, withManifestCrc(manifest));
        return true;
      }
      case "state":
        writeFileSync(join(dir, "checkpoint"), d.text);
        return false;
      case "entry": {
        // Cut the data file into each entry's JSON and binary parts, change one, and write both files to match.
        const old = intact["model.ckpt-2.data-00000-of-00001"] as Buffer;
        const parts = manifest.entries.map((entry) => {
          const at = entry["offset"] as number;
          const json = old.subarray(at, at + (entry["json"] as number));
          let from = at + json.length;
          const blobs = (entry["blobs"] as number[]).map((length) => old.subarray(from, (from += length)));
          return { json: new Uint8Array(json), blobs };
        });
        const target = parts[d.entry % parts.length] as { json: Uint8Array; blobs: Uint8Array[] };
        if (d.part === "tree") target.json = new TextEncoder().encode(d.tree);
        else if (d.part === "json" || target.blobs.length === 0) target.json = applyAll(target.json, d.damage);
        else target.blobs[0] = applyAll(target.blobs[0] as Uint8Array, d.damage);
        let offset = 0;
        manifest.entries.forEach((entry, i) => {
          const { json, blobs } = parts[i] as { json: Uint8Array; blobs: Uint8Array[] };
          const bytes = Buffer.concat([json, ...blobs]);
          Object.assign(entry, { offset, json: json.length, blobs: blobs.map((b) => b.length), crc32c: crc32cNative(bytes) });
          offset += bytes.length;
        });
        manifest.data["size"] = offset;
        writeFileSync(data, Buffer.concat(parts.flatMap((p) => [p.json, ...p.blobs])));
        writeFileSync(index, withManifestCrc(manifest));
        return true;
      }
    }
  }

  /** A Saver over every value of a step, and what it restored. */
  function model(): { saver: Saver; restored: Map<string, unknown> } {
    const restored = new Map<string, unknown>();
    const initial = STEP_VALUES(0);
    const saveables = [...initial.keys()].map((name) =>
      makeSaveable(
        name,
        () => (restored.has(name) ? restored.get(name) : initial.get(name)),
        (v: unknown) => {
          restored.set(name, v);
        },
      ),
    );
    return { saver: new Saver(saveables), restored };
  }

  const sameValues = (got: ReadonlyMap<string, unknown>, step: number): boolean =>
    isDeepStrictEqual(new Map([...got].sort()), new Map([...STEP_VALUES(step)].sort()));

  it(`${BUNDLE_CASES} cases: values as written or checkpipe errors, nothing read or created outside the checkpoint directory`, async () => {
    const problems = new Problems();
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const before = tree(root);
    try {
      await fc.assert(
        fc.asyncProperty(bundleDamage, async (d) => {
          if (problems.enough) return;
          const forged = damage(d);
          fsTrace.paths.length = 0;
          fsTrace.on = true;
          const run = async (): Promise<void> => {
            try {
              const values = await readBundle(prefix(2));
              problems.prototypes(d, "readBundle's values", values);
              if (!forged && !sameValues(values, 2)) problems.add(d, "readBundle returned other values than were written");
            } catch (error) {
              problems.errors(d, "readBundle", [error]);
            }
            const a = model();
            try {
              await a.saver.restore(prefix(2));
              problems.prototypes(d, "restored values", a.restored);
              if (!forged && !sameValues(a.restored, 2)) problems.add(d, "Saver.restore restored other values than were written");
            } catch (error) {
              problems.errors(d, "Saver.restore", [error]);
            }
            const b = model();
            try {
              const found = await b.saver.restoreLatest(dir);
              if (found !== null) {
                const step = found.path === prefix(1) ? 1 : found.path === prefix(2) ? 2 : null;
                if (step === null) problems.add(d, `restoreLatest restored ${found.path}`);
                else if ((step === 1 || !forged) && !sameValues(b.restored, step)) problems.add(d, `restoreLatest restored other values than step ${step}'s`);
              }
            } catch (error) {
              problems.errors(d, "Saver.restoreLatest", [error]);
            }
          };
          const outcome = await withinTime(run());
          fsTrace.on = false;
          if (outcome === HUNG) problems.add(d, `hung (more than ${CASE_TIMEOUT_MS} ms)`);
          problems.pollution(d);
          const outside = fsTrace.paths.filter((p) => !inside(dir, p));
          if (outside.length > 0) problems.add(d, `the file system was asked about ${JSON.stringify([...new Set(outside)])}, outside ${dir}`);
          const now = tree(root).filter((p) => !p.startsWith(`ckpt${sep}`) && p !== "ckpt");
          const was = before.filter((p) => !p.startsWith(`ckpt${sep}`) && p !== "ckpt");
          if (!isDeepStrictEqual(now, was)) problems.add(d, `files outside ${dir} changed: ${JSON.stringify(now)}`);
          const inCkpt = tree(dir).filter((p) => !(p in intact));
          if (inCkpt.length > 0) problems.add(d, `reading created ${JSON.stringify(inCkpt)}`);
        }),
        { numRuns: BUNDLE_CASES, seed: 0xb0d1e },
      );
    } finally {
      fsTrace.on = false;
      warn.mockRestore();
    }
    problems.expectNone();
  }, 60_000);
});
