/**
 * Serializing a record as a tf.train.Example, the way TensorFlow's own protobuf code does:
 * packed float and int64 lists, map entries `{ key = 1, value = 2 }` in the record's key order.
 *
 * @module
 */
import { describeValue, invalidArgument } from "../errors.js";

/** The values of one feature that {@link serializeExample} accepts. */
export type SerializableFeature = readonly number[] | Float32Array | readonly bigint[] | BigInt64Array | readonly Uint8Array[] | readonly string[];

/** A record that {@link serializeExample} accepts: feature name → values. */
export type SerializableExample = Readonly<Record<string, SerializableFeature>>;

const NONE = 0;
const BYTES = 1;
const FLOAT = 2;
const INT64 = 3;

/** One feature, measured: everything the writing pass needs. */
interface Planned {
  key: Uint8Array;
  kind: number;
  /** Float32Array / BigInt64Array / byte arrays to write. */
  floats: ArrayLike<number> | null;
  int64s: ArrayLike<bigint> | null;
  bytes: Uint8Array[] | null;
  /** Size of the list's `value` payload (packed) or of all its entries (bytes). */
  payload: number;
  /** Size of the list message, of the Feature message, of the map entry. */
  list: number;
  feature: number;
  entry: number;
}

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const utf8 = new TextEncoder();

export function encodeExample(record: SerializableExample): Uint8Array {
  if (record === null || typeof record !== "object" || Array.isArray(record) || ArrayBuffer.isView(record)) {
    throw invalidArgument("serializeExample(record)", "an object of feature name → values", record, 'Pass e.g. { x: [1.5], label: [3n], name: ["a"] }.');
  }
  const plans: Planned[] = [];
  let features = 0;
  for (const name of Object.keys(record)) {
    const plan = planFeature(name, record[name]);
    plans.push(plan);
    features += 1 + varintSize(plan.entry) + plan.entry;
  }
  const out = new Uint8Array(1 + varintSize(features) + features);
  const view = new DataView(out.buffer);
  let pos = 0;
  out[pos++] = 0x0a;
  pos = writeVarint(out, pos, features);
  for (const p of plans) {
    out[pos++] = 0x0a;
    pos = writeVarint(out, pos, p.entry);
    out[pos++] = 0x0a;
    pos = writeVarint(out, pos, p.key.length);
    out.set(p.key, pos);
    pos += p.key.length;
    out[pos++] = 0x12;
    pos = writeVarint(out, pos, p.feature);
    if (p.kind === NONE) continue;
    out[pos++] = (p.kind << 3) | 2;
    pos = writeVarint(out, pos, p.list);
    if (p.floats !== null) {
      if (p.payload === 0) continue;
      out[pos++] = 0x0a;
      pos = writeVarint(out, pos, p.payload);
      for (let i = 0; i < p.floats.length; i++, pos += 4) view.setFloat32(pos, p.floats[i]!, true);
    } else if (p.int64s !== null) {
      if (p.payload === 0) continue;
      out[pos++] = 0x0a;
      pos = writeVarint(out, pos, p.payload);
      for (let i = 0; i < p.int64s.length; i++) pos = writeInt64(out, pos, p.int64s[i]!);
    } else {
      for (const b of p.bytes!) {
        out[pos++] = 0x0a;
        pos = writeVarint(out, pos, b.length);
        out.set(b, pos);
        pos += b.length;
      }
    }
  }
  return out;
}

function planFeature(name: string, values: unknown): Planned {
  const plan: Planned = { key: utf8.encode(name), kind: NONE, floats: null, int64s: null, bytes: null, payload: 0, list: 0, feature: 0, entry: 0 };
  if (values instanceof Float32Array) {
    plan.kind = FLOAT;
    plan.floats = values;
    plan.payload = 4 * values.length;
  } else if (values instanceof BigInt64Array) {
    plan.kind = INT64;
    plan.int64s = values;
    for (let i = 0; i < values.length; i++) plan.payload += int64Size(values[i]!);
  } else if (Array.isArray(values)) {
    const first: unknown = values[0];
    if (values.length === 0) {
      plan.kind = NONE;
    } else if (typeof first === "number") {
      if (!values.every((v) => typeof v === "number")) throw mixed(name, values, "numbers");
      plan.kind = FLOAT;
      plan.floats = values;
      plan.payload = 4 * values.length;
    } else if (typeof first === "bigint") {
      plan.kind = INT64;
      plan.int64s = values as bigint[];
      for (const v of values) {
        if (typeof v !== "bigint") throw mixed(name, values, "bigints");
        if (v < MIN_INT64 || v > MAX_INT64) {
          throw invalidArgument(`serializeExample: feature ${JSON.stringify(name)}`, "int64 values (−2⁶³ … 2⁶³−1)", v, "Keep int64 values in range.");
        }
        plan.payload += int64Size(v);
      }
    } else if (typeof first === "string" || first instanceof Uint8Array) {
      plan.kind = BYTES;
      plan.bytes = values.map((v: unknown) => {
        if (typeof v === "string") return utf8.encode(v);
        if (v instanceof Uint8Array) return v;
        throw mixed(name, values, "strings or Uint8Arrays");
      });
      for (const b of plan.bytes) plan.payload += 1 + varintSize(b.length) + b.length;
    } else {
      throw unsupported(name, values);
    }
  } else {
    throw unsupported(name, values);
  }
  const packed = plan.kind === FLOAT || plan.kind === INT64;
  plan.list = packed ? (plan.payload === 0 ? 0 : 1 + varintSize(plan.payload) + plan.payload) : plan.payload;
  plan.feature = plan.kind === NONE ? 0 : 1 + varintSize(plan.list) + plan.list;
  plan.entry = 1 + varintSize(plan.key.length) + plan.key.length + 1 + varintSize(plan.feature) + plan.feature;
  return plan;
}

function unsupported(name: string, values: unknown): Error {
  return invalidArgument(
    `serializeExample: feature ${JSON.stringify(name)}`,
    "number[] or Float32Array (float_list), bigint[] or BigInt64Array (int64_list), string[] or Uint8Array[] (bytes_list)",
    values,
    "Wrap single values in an array, e.g. [1.5]; write int64 values as bigints (3n).",
  );
}

function mixed(name: string, values: readonly unknown[], expected: string): Error {
  const odd = values.find((v) => typeof v !== typeof values[0] || v instanceof Uint8Array !== values[0] instanceof Uint8Array);
  return invalidArgument(
    `serializeExample: feature ${JSON.stringify(name)}`,
    `values of one type (all ${expected}, like the first)`,
    odd,
    `A feature holds one list type; got ${describeValue(values[0])} first and ${describeValue(odd)} later.`,
  );
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

function int64Size(v: bigint): number {
  if (v < 0n) return 10;
  if (v <= MAX_SAFE) return varintSize(Number(v));
  let size = 1;
  for (let u = v; u >= 0x80n; u >>= 7n) size++;
  return size;
}

function writeInt64(out: Uint8Array, pos: number, v: bigint): number {
  if (v >= 0n && v <= MAX_SAFE) return writeVarint(out, pos, Number(v));
  let u = BigInt.asUintN(64, v);
  while (u >= 0x80n) {
    out[pos++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  out[pos++] = Number(u);
  return pos;
}
