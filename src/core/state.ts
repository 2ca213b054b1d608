/**
 * Saved state: the JSON-compatible tree every iterator saves, the envelope around it, the
 * checks every op runs when it restores, and the lossless codec for element values.
 *
 * @module
 */
import { InvalidArgumentError, describeValue } from "../errors.js";

/** A value that survives `JSON.parse(JSON.stringify(value))` unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The saved state of one op's iterator: its own fields plus its inputs' states. */
export interface OpState {
  /** The op that saved it, e.g. `"Shuffle"`. */
  readonly kind: string;
  /** The version of that op's state format. */
  readonly version: number;
  readonly [field: string]: JsonValue;
}

/** The format name written in every {@link IteratorState}. */
export const ITERATOR_STATE_FORMAT = "checkpipe.iterator";
/** The version of the envelope written by this version of checkpipe. */
export const ITERATOR_STATE_VERSION = 1;

/**
 * The saved position of a {@link DatasetIterator}: a plain JSON tree, readable by people and
 * tools, that survives `JSON.parse(JSON.stringify(state))`.
 */
export interface IteratorState {
  readonly [field: string]: JsonValue;
  /** Always `"checkpipe.iterator"`. */
  readonly format: string;
  /** The envelope's version (1). */
  readonly version: number;
  /** The pipeline that saved it, e.g. `"Range -> Shuffle(100) -> Batch(32)"`. */
  readonly pipeline: string;
  /** The iterator's random seed: unseeded shuffles derive their orders from it. */
  readonly seed?: number;
  /** True when the iterator had reached its end: a restored iterator yields nothing. */
  readonly ended: boolean;
  /** The last op's state (which holds its inputs' states), or null when ended. */
  readonly root: OpState | null;
}

/**
 * Checks that `state` was saved by the op `kind` in a version this code reads, and returns it.
 *
 * @throws {InvalidArgumentError} naming what was expected and what was found.
 */
export function expectState(state: unknown, kind: string, version: number): OpState {
  if (!isRecord(state) || typeof state["kind"] !== "string" || typeof state["version"] !== "number") {
    throw new InvalidArgumentError(
      `Cannot restore ${kind}: expected the saved state of a ${kind} iterator; got ${describeValue(state)}. ` +
        `Pass the state returned by save() of an iterator over a dataset built the same way.`,
      { expected: `${kind} state`, received: describeValue(state) },
    );
  }
  if (state["kind"] !== kind) {
    throw new InvalidArgumentError(
      `Cannot restore ${kind}: the saved state at this place in the pipeline is of ${state["kind"]}, not ${kind}. ` +
        `The state was saved from a differently built pipeline; restore it into a dataset built the same way.`,
      { expected: kind, received: state["kind"] },
    );
  }
  if (state["version"] !== version) {
    throw new InvalidArgumentError(
      `Cannot restore ${kind}: its saved state has version ${state["version"]}, and this version of checkpipe reads ` +
        `version ${version}. Restore it with the checkpipe version that saved it.`,
      { expected: `version ${version}`, received: `version ${state["version"]}` },
    );
  }
  return state as OpState;
}

/** Reads a field of a saved state that must be a finite number (an integer if `integer`). */
export function stateNumber(state: OpState, field: string, integer = true): number {
  const value = state[field];
  if (typeof value !== "number" || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw malformed(state, field, integer ? "an integer" : "a finite number", value);
  }
  return value;
}

/** Reads a field of a saved state that must be a boolean. */
export function stateBoolean(state: OpState, field: string): boolean {
  const value = state[field];
  if (typeof value !== "boolean") throw malformed(state, field, "a boolean", value);
  return value;
}

/** Reads a field of a saved state that must be a string. */
export function stateString(state: OpState, field: string): string {
  const value = state[field];
  if (typeof value !== "string") throw malformed(state, field, "a string", value);
  return value;
}

/** Reads a field of a saved state that must be an array. */
export function stateArray(state: OpState, field: string): JsonValue[] {
  const value = state[field];
  if (!Array.isArray(value)) throw malformed(state, field, "an array", value);
  return value;
}

/** Reads a field of a saved state that holds a nested op state (or null when `nullable`). */
export function stateChild(state: OpState, field: string): OpState;
export function stateChild(state: OpState, field: string, nullable: true): OpState | null;
export function stateChild(state: OpState, field: string, nullable = false): OpState | null {
  const value = state[field];
  if (value === null && nullable) return null;
  if (!isRecord(value)) throw malformed(state, field, "a saved iterator state", value);
  return value as OpState;
}

function malformed(state: OpState, field: string, expected: string, got: unknown): InvalidArgumentError {
  return new InvalidArgumentError(
    `Cannot restore ${state.kind}: field "${field}" of its saved state should be ${expected}; got ${describeValue(got)}. ` +
      `The state is damaged or was not written by checkpipe; restore an intact state.`,
    { expected, received: describeValue(got) },
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Element values: a lossless JSON encoding.

const TAG = "$type";

type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

const TYPED_ARRAYS: Readonly<Record<string, TypedArrayConstructor>> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

/**
 * Encodes an element value as JSON without loss: numbers (NaN, ±Infinity and -0 included),
 * strings, booleans, null, undefined, bigint, arrays, plain objects, typed arrays (bytes in
 * base64), ArrayBuffer, Date, Map and Set, nested to any depth. A Node.js Buffer comes back as
 * a Uint8Array.
 *
 * With a `sink` (used by checkpoint files), typed arrays, ArrayBuffers and long strings are not
 * put in the JSON: their bytes go to the sink, and the JSON holds `{ "$type": ..., "blob": n }`
 * with the index the sink returned. {@link decodeValue} takes the same blobs back.
 *
 * @param value The element to encode.
 * @param path Where the value sits, for the error message (default `"element"`).
 * @param sink Where binary parts go, if anywhere.
 * @throws {InvalidArgumentError} for functions, symbols and class instances, naming the path.
 */
export function encodeValue(value: unknown, path = "element", sink?: BlobSink): JsonValue {
  switch (typeof value) {
    case "number":
      if (Number.isFinite(value) && !Object.is(value, -0)) return value;
      return { [TAG]: "number", value: Object.is(value, -0) ? "-0" : String(value) };
    case "string":
      if (sink !== undefined && value.length >= BLOB_STRING_LENGTH) return { [TAG]: "string", blob: sink(Buffer.from(value, "utf8")) };
      return value;
    case "boolean":
      return value;
    case "bigint":
      return { [TAG]: "bigint", value: value.toString() };
    case "undefined":
      return { [TAG]: "undefined" };
    case "object":
      return value === null ? null : encodeObject(value, path, sink);
    default:
      throw unencodable(value, path);
  }
}

/**
 * Takes the bytes of one binary part of an encoded value and returns its index, by which
 * {@link decodeValue} finds it again. The bytes may be a view of the value's own memory: the
 * sink must copy or write them before the value changes.
 */
export type BlobSink = (bytes: Uint8Array) => number;

/** Strings this long or longer go to the blob sink, when there is one. */
const BLOB_STRING_LENGTH = 1024;

function encodeObject(value: object, path: string, sink: BlobSink | undefined): JsonValue {
  if (Array.isArray(value)) {
    const out: JsonValue[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = encodeValue(value[i], `${path}[${i}]`, sink);
    return out;
  }
  if (ArrayBuffer.isView(value)) {
    const type = value.constructor.name;
    const name = type === "Buffer" ? "Uint8Array" : type;
    if (!(name in TYPED_ARRAYS)) throw unencodable(value, path);
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return sink === undefined ? { [TAG]: name, base64: Buffer.from(bytes).toString("base64") } : { [TAG]: name, blob: sink(bytes) };
  }
  if (value instanceof ArrayBuffer) {
    const bytes = new Uint8Array(value);
    return sink === undefined ? { [TAG]: "ArrayBuffer", base64: Buffer.from(bytes).toString("base64") } : { [TAG]: "ArrayBuffer", blob: sink(bytes) };
  }
  // An invalid Date's time is NaN, which JSON would turn into null (the epoch): encode it as a number.
  if (value instanceof Date) return { [TAG]: "Date", value: encodeValue(value.getTime(), path) };
  if (value instanceof Map) {
    const entries: JsonValue[] = [];
    let i = 0;
    for (const [k, v] of value) {
      entries.push([encodeValue(k, `${path}.keys[${i}]`, sink), encodeValue(v, `${path}.get(${i})`, sink)]);
      i++;
    }
    return { [TAG]: "Map", entries };
  }
  if (value instanceof Set) {
    const values: JsonValue[] = [];
    let i = 0;
    for (const v of value) values.push(encodeValue(v, `${path}.values[${i++}]`, sink));
    return { [TAG]: "Set", values };
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw unencodable(value, path);
  const record = value as Record<string, unknown>;
  const out: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(record)) setOwn(out, key, encodeValue(record[key], `${path}.${key}`, sink));
  return TAG in record ? { [TAG]: "Object", entries: out } : out;
}

function unencodable(value: unknown, path: string): InvalidArgumentError {
  const got = typeof value === "symbol" ? "a symbol" : describeValue(value);
  return new InvalidArgumentError(
    `Cannot save ${path}: a saved element must be plain data (numbers, strings, booleans, null, bigint, arrays, ` +
      `plain objects, typed arrays, Date, Map, Set); got ${got}. ` +
      `Turn it into plain data with map() before the op that holds elements (shuffle, prefetch, cache, ...).`,
    { expected: "plain data", received: got },
  );
}

/**
 * Decodes what {@link encodeValue} produced.
 *
 * @param encoded The encoded value.
 * @param blobs The binary parts, when it was encoded with a sink.
 * @throws {InvalidArgumentError} when the encoding is damaged.
 */
export function decodeValue(encoded: JsonValue, blobs: readonly Uint8Array[] = NO_BLOBS): unknown {
  if (encoded === null || typeof encoded !== "object") return encoded;
  if (Array.isArray(encoded)) {
    const out: unknown[] = new Array(encoded.length);
    for (let i = 0; i < encoded.length; i++) out[i] = decodeValue(encoded[i] as JsonValue, blobs);
    return out;
  }
  const tag = encoded[TAG];
  if (tag === undefined) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(encoded)) setOwn(out, key, decodeValue(encoded[key] as JsonValue, blobs));
    return out;
  }
  return decodeTagged(String(tag), encoded, blobs);
}

const NO_BLOBS: readonly Uint8Array[] = [];

function decodeTagged(tag: string, encoded: { [key: string]: JsonValue }, blobs: readonly Uint8Array[]): unknown {
  switch (tag) {
    case "number":
      return encoded["value"] === "-0" ? -0 : Number(encoded["value"]);
    case "string":
      return Buffer.from(blobOf(encoded, blobs)).toString("utf8");
    case "bigint":
      return BigInt(String(encoded["value"]));
    case "undefined":
      return undefined;
    case "ArrayBuffer":
      return bytesOf(encoded, blobs).buffer;
    case "Date":
      return new Date(Number(decodeValue(encoded["value"] as JsonValue)));
    case "Map":
      return new Map(
        (encoded["entries"] as JsonValue[]).map((pair) => {
          const [k, v] = pair as [JsonValue, JsonValue];
          return [decodeValue(k, blobs), decodeValue(v, blobs)] as const;
        }),
      );
    case "Set":
      return new Set((encoded["values"] as JsonValue[]).map((v) => decodeValue(v, blobs)));
    case "Object": {
      const entries = encoded["entries"] as { [key: string]: JsonValue };
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(entries)) setOwn(out, key, decodeValue(entries[key] as JsonValue, blobs));
      return out;
    }
    default: {
      const ctor = TYPED_ARRAYS[tag];
      if (ctor === undefined) throw damaged(`unknown type tag "${tag}"`, "a known type tag", tag);
      const bytes = bytesOf(encoded, blobs);
      if (bytes.byteLength % ctor.BYTES_PER_ELEMENT !== 0) {
        throw damaged(`${bytes.byteLength} bytes cannot hold a ${tag}`, `a multiple of ${ctor.BYTES_PER_ELEMENT} bytes`, String(bytes.byteLength));
      }
      return new ctor(bytes.buffer, 0, bytes.byteLength / ctor.BYTES_PER_ELEMENT);
    }
  }
}

function damaged(what: string, expected: string, received: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `Cannot decode a saved element: ${what}. The state is damaged or was written by a newer checkpipe.`,
    { expected, received },
  );
}

/**
 * Sets an own property, as the encoded object had it: a plain assignment of `"__proto__"`
 * (an own key of e.g. `JSON.parse` output) would replace the prototype instead.
 */
function setOwn<V>(out: Record<string, V>, key: string, value: V): void {
  if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** Copies the bytes of a typed array or ArrayBuffer (base64 or blob) into a fresh, aligned ArrayBuffer. */
function bytesOf(encoded: { [key: string]: JsonValue }, blobs: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const held = (encoded as { [key: string]: unknown })[HELD];
  const raw =
    held instanceof Uint8Array ? held : encoded["blob"] === undefined ? Buffer.from(String(encoded["base64"]), "base64") : blobOf(encoded, blobs);
  const bytes = new Uint8Array(raw.byteLength);
  bytes.set(raw);
  return bytes;
}

function blobOf(encoded: { [key: string]: JsonValue }, blobs: readonly Uint8Array[]): Uint8Array {
  const index = encoded["blob"];
  const blob = typeof index === "number" ? blobs[index] : undefined;
  if (blob === undefined) throw damaged(`binary part ${describeValue(index)} is missing (${blobs.length} present)`, "an existing binary part", describeValue(index));
  return blob;
}

/** Encodes each element of a list (binary parts to `sink`, if given). */
export function encodeValues(values: readonly unknown[], path: string, sink?: BlobSink): JsonValue[] {
  const out: JsonValue[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = encodeValue(values[i], `${path}[${i}]`, sink);
  return out;
}

/** Decodes each element of a list. */
export function decodeValues(encoded: readonly JsonValue[]): unknown[] {
  const out: unknown[] = new Array(encoded.length);
  for (let i = 0; i < encoded.length; i++) out[i] = decodeValue(encoded[i] as JsonValue);
  return out;
}

// ---------------------------------------------------------------------------------------------
// States in binary form, for checkpoint files.

/**
 * A saved state in binary form: the JSON tree, with the bytes of typed arrays and long strings
 * moved out into `blobs` (see the `sink` of {@link encodeValue}). Checkpoint files store it as
 * is, without turning bytes into base64 text.
 */
export class EncodedState {
  /**
   * @param tree the JSON tree, whose `{ "$type": ..., "blob": n }` nodes refer to `blobs`.
   * @param blobs the binary parts.
   */
  constructor(
    readonly tree: JsonValue,
    readonly blobs: readonly Uint8Array[],
  ) {}
}

/** The field under which {@link attachBlobs} puts a binary part's bytes. */
const HELD = "$bytes";

/**
 * Puts the binary parts of an {@link EncodedState} back into its tree (which it changes in
 * place), so that ops restoring from the tree find their elements' bytes where `decodeValue`
 * looks for them. Strings are put back whole; typed arrays keep their bytes beside the tag.
 *
 * @throws {InvalidArgumentError} when the tree refers to a binary part that is missing.
 */
export function attachBlobs(state: EncodedState): JsonValue {
  return attach(state.tree, state.blobs);
}

function attach(node: JsonValue, blobs: readonly Uint8Array[]): JsonValue {
  if (node === null || typeof node !== "object") return node;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = attach(node[i] as JsonValue, blobs);
    return node;
  }
  const tag = node[TAG];
  if (tag === undefined) {
    for (const key of Object.keys(node)) node[key] = attach(node[key] as JsonValue, blobs);
    return node;
  }
  switch (tag) {
    case "Object":
    case "Map":
    case "Set":
    case "Date": {
      const field = tag === "Object" ? "entries" : tag === "Map" ? "entries" : tag === "Set" ? "values" : "value";
      const inner = node[field] as JsonValue;
      if (tag === "Object" && inner !== null && typeof inner === "object" && !Array.isArray(inner)) {
        for (const key of Object.keys(inner)) inner[key] = attach(inner[key] as JsonValue, blobs);
      } else node[field] = attach(inner, blobs);
      return node;
    }
    case "string":
      return node["blob"] === undefined ? node : Buffer.from(blobOf(node, blobs)).toString("utf8");
    default:
      if (node["blob"] !== undefined) (node as { [key: string]: unknown })[HELD] = blobOf(node, blobs);
      return node;
  }
}
