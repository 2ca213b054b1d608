/**
 * Feature specs in the spirit of `tf.io.parse_example`: which features to read from a
 * tf.train.Example, as which type, with which shape and default, and the code that applies one.
 *
 * @module
 */
import { InvalidArgumentError, invalidArgument } from "../errors.js";
import { setOwn } from "../core/own.js";
import {
  KIND_BYTES,
  KIND_FLOAT,
  KIND_INT64,
  KIND_NONE,
  countValues,
  readBytes,
  readFloats,
  readInt64s,
  type FeatureKind,
  type RawFeature,
} from "./example-wire.js";
import { MAX_RECORD_BYTES } from "./tfrecord-frame.js";

/** The value types a spec can ask for; `"string"` decodes bytes as UTF-8. */
export type FeatureDtype = "float32" | "int64" | "string" | "bytes";

/** What a feature of each dtype parses to, and what a default may be. */
export interface FeatureDtypes {
  float32: { value: Float32Array; default: number | readonly number[] | Float32Array };
  int64: { value: BigInt64Array; default: bigint | number | readonly (bigint | number)[] | BigInt64Array };
  string: { value: string[]; default: string | readonly string[] };
  bytes: { value: Uint8Array[]; default: Uint8Array | readonly Uint8Array[] };
}

/**
 * A feature with a fixed number of values (`tf.io.FixedLenFeature`): the record must hold
 * exactly as many values as `shape` has elements (row-major, flat), or the feature may be
 * missing when there is a `default` (a scalar is repeated to fill the shape).
 */
export type FixedLenFeature = {
  [D in FeatureDtype]: {
    readonly kind: "fixed";
    readonly dtype: D;
    /** Dimensions, e.g. `[]` or `[1]` for one value, `[28, 28]` for 784. */
    readonly shape: readonly number[];
    readonly default?: FeatureDtypes[D]["default"];
  };
}[FeatureDtype];

/** A feature with any number of values, possibly none (`tf.io.VarLenFeature`). */
export type VarLenFeature = {
  [D in FeatureDtype]: { readonly kind: "var"; readonly dtype: D };
}[FeatureDtype];

/** How to read one feature. */
export type FeatureSpec = FixedLenFeature | VarLenFeature;

/** How to read a tf.train.Example: one entry per feature to return; others are ignored. */
export type ExampleSpec = Readonly<Record<string, FeatureSpec>>;

/** What {@link parseExample} returns for a spec `S`. */
export type ParsedExample<S extends ExampleSpec> = { -readonly [K in keyof S]: FeatureDtypes[S[K]["dtype"]]["value"] };

const KIND_OF_DTYPE: Record<FeatureDtype, FeatureKind> = {
  float32: KIND_FLOAT,
  int64: KIND_INT64,
  string: KIND_BYTES,
  bytes: KIND_BYTES,
};
const LIST_NAMES = ["an empty Feature", "a bytes_list", "a float_list", "an int64_list"] as const;
const DTYPES: readonly string[] = ["float32", "int64", "string", "bytes"];
/**
 * The most values a fixed feature may have: each value takes at least a byte of its record, and
 * no record is longer than {@link MAX_RECORD_BYTES}. No record matches a larger shape: it could
 * only be filled from its default, into an array larger than JavaScript (or memory) holds.
 */
const MAX_FIXED_VALUES = MAX_RECORD_BYTES;

type SpecValue = Float32Array | BigInt64Array | string[] | Uint8Array[];

/** Reads the features `spec` names from a scanned Example. */
export function applySpec(bytes: Uint8Array, features: Map<string, RawFeature>, spec: ExampleSpec): Record<string, SpecValue> {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw invalidArgument(
      "parseExample(bytes, spec)",
      'a spec object like { x: { kind: "fixed", dtype: "float32", shape: [1] } }',
      spec,
      "Pass one entry per feature to read, or no spec for all features.",
    );
  }
  const out: Record<string, SpecValue> = {};
  for (const name of Object.keys(spec)) {
    const fs = spec[name]!;
    const size = checkSpec(name, fs);
    const raw = features.get(name);
    if (raw === undefined) {
      if (fs.kind === "var") setOwn(out, name, allocate(fs.dtype, 0));
      else if (fs.default !== undefined) setOwn(out, name, fillDefault(name, fs.dtype, fs.default, size));
      else throw missingFeature(name, fs, features);
      continue;
    }
    if (raw.kind !== KIND_NONE && raw.kind !== KIND_OF_DTYPE[fs.dtype]) {
      throw new InvalidArgumentError(
        `parseExample: feature ${JSON.stringify(name)} is specified as ${fs.dtype}, which needs ${listOf(fs.dtype)}; ` +
          `the record has ${LIST_NAMES[raw.kind]}. Change the spec's dtype to ${dtypesFor(raw.kind)}.`,
        { expected: listOf(fs.dtype), received: LIST_NAMES[raw.kind], fix: `Use dtype ${dtypesFor(raw.kind)}.` },
      );
    }
    const count = raw.kind === KIND_NONE ? 0 : countValues(bytes, name, raw);
    if (fs.kind === "fixed" && count !== size) {
      throw new InvalidArgumentError(
        `parseExample: feature ${JSON.stringify(name)} should have ${size} value${size === 1 ? "" : "s"} ` +
          `(shape [${fs.shape.join(", ")}]); the record has ${count}. Give the spec the shape the data has, ` +
          `or read it as { kind: "var", dtype: "${fs.dtype}" }.`,
        { expected: `${size} values`, received: `${count} values`, fix: "Match the spec's shape to the data." },
      );
    }
    setOwn(out, name, read(bytes, name, raw, fs.dtype, count));
  }
  return out;
}

function read(bytes: Uint8Array, name: string, raw: RawFeature, dtype: FeatureDtype, count: number): SpecValue {
  const value = allocate(dtype, count);
  if (count === 0) return value;
  if (value instanceof Float32Array) readFloats(bytes, name, raw, value);
  else if (value instanceof BigInt64Array) readInt64s(bytes, name, raw, value);
  else if (dtype === "bytes") readBytes(bytes, name, raw, (b) => (value as Uint8Array[]).push(b.slice()));
  else readBytes(bytes, name, raw, (b) => (value as string[]).push(decodeString(name, b)));
  return value;
}

function allocate(dtype: FeatureDtype, count: number): SpecValue {
  if (dtype === "float32") return new Float32Array(count);
  if (dtype === "int64") return new BigInt64Array(count);
  return [];
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function decodeString(name: string, bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch (cause) {
    throw new InvalidArgumentError(
      `parseExample: feature ${JSON.stringify(name)} is specified as dtype "string" (UTF-8 text); one of its values ` +
        `is not valid UTF-8. Read binary values with dtype "bytes".`,
      { expected: "UTF-8 text", received: "invalid UTF-8", fix: 'Use dtype "bytes".', cause },
    );
  }
}

/** Checks a feature's spec and returns how many values a fixed feature has. */
function checkSpec(name: string, fs: FeatureSpec): number {
  const subject = (): string => `parseExample spec for feature ${JSON.stringify(name)}`;
  if (fs === null || typeof fs !== "object" || (fs.kind !== "fixed" && fs.kind !== "var")) {
    throw invalidArgument(subject(), 'an object with kind "fixed" or "var"', fs, 'Write { kind: "fixed", dtype, shape } or { kind: "var", dtype }.');
  }
  if (!(fs.dtype in KIND_OF_DTYPE) || !Object.hasOwn(KIND_OF_DTYPE, fs.dtype)) {
    throw invalidArgument(`${subject()}, dtype`, `one of ${DTYPES.map((d) => `"${d}"`).join(", ")}`, fs.dtype, "Pick the type of the feature's values.");
  }
  if (fs.kind === "var") return 0;
  const shape: unknown = fs.shape;
  let size = 1;
  if (Array.isArray(shape)) {
    for (const d of shape as unknown[]) size = typeof d === "number" && Number.isInteger(d) && d >= 0 ? size * d : NaN;
  }
  if (!Array.isArray(shape) || Number.isNaN(size)) {
    throw invalidArgument(
      `${subject()}, shape`,
      "an array of integers ≥ 0 (e.g. [] or [1] for one value)",
      shape,
      'Give the shape of the feature\'s values; use kind "var" when their number varies.',
    );
  }
  if (size > MAX_FIXED_VALUES) {
    throw new InvalidArgumentError(
      `${subject()}, shape [${fs.shape.join(", ")}] has ${size} elements; a fixed feature has at most ${MAX_FIXED_VALUES} ` +
        `(no record holds more values: a TFRecord record has at most 2 GiB). Give the spec the shape the data has, ` +
        `or read the feature as { kind: "var", dtype: "${fs.dtype}" }.`,
      { expected: `at most ${MAX_FIXED_VALUES} elements`, received: `${size} elements`, fix: "Give the spec the shape the data has." },
    );
  }
  return size;
}

function fillDefault(name: string, dtype: FeatureDtype, value: unknown, size: number): SpecValue {
  if (dtype === "float32" && typeof value === "number") return new Float32Array(size).fill(value);
  const values: readonly unknown[] = isListLike(value) ? Array.from(value as ArrayLike<unknown>) : Array<unknown>(size).fill(value);
  const fail = (expected: string): InvalidArgumentError =>
    invalidArgument(`parseExample spec for feature ${JSON.stringify(name)}, default`, expected, value, "Give one value, or as many as the shape has elements.");
  if (values.length !== size) throw fail(`one value or ${size} (the shape's size)`);
  if (dtype === "float32") {
    if (!values.every((v) => typeof v === "number")) throw fail("a number or numbers");
    return Float32Array.from(values as number[]);
  }
  if (dtype === "int64") {
    if (!values.every((v) => typeof v === "bigint" || Number.isSafeInteger(v))) throw fail("a bigint or integer, or several");
    return BigInt64Array.from(values as (bigint | number)[], (v) => BigInt.asIntN(64, BigInt(v)));
  }
  if (dtype === "string") {
    if (!values.every((v) => typeof v === "string")) throw fail("a string or strings");
    return [...(values as string[])];
  }
  if (!values.every((v) => v instanceof Uint8Array)) throw fail("a Uint8Array or Uint8Arrays");
  return (values as Uint8Array[]).map((v) => v.slice());
}

function isListLike(value: unknown): boolean {
  return Array.isArray(value) || value instanceof Float32Array || value instanceof BigInt64Array;
}

function missingFeature(name: string, fs: FixedLenFeature, features: Map<string, RawFeature>): InvalidArgumentError {
  const present = [...features.keys()].map((k) => JSON.stringify(k)).join(", ");
  return new InvalidArgumentError(
    `parseExample: feature ${JSON.stringify(name)} (${fs.dtype}, shape [${fs.shape.join(", ")}]) is required but the ` +
      `record does not have it; it has ${present === "" ? "no features" : present}. Give the spec a default ` +
      `for records that lack it, or read it as { kind: "var", dtype: "${fs.dtype}" }.`,
    { expected: `feature ${JSON.stringify(name)}`, received: present === "" ? "no features" : present, fix: "Give the spec a default." },
  );
}

function listOf(dtype: FeatureDtype): string {
  return LIST_NAMES[KIND_OF_DTYPE[dtype]];
}

function dtypesFor(kind: FeatureKind): string {
  return kind === KIND_FLOAT ? '"float32"' : kind === KIND_INT64 ? '"int64"' : '"string" or "bytes"';
}
