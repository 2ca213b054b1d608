/**
 * The lossless JSON encoding of element values (what buffers hold in saved states), its binary
 * form for checkpoint files, and the one encoding of held entries — an element, or the error
 * met in its place. Decoding trusts nothing: every node is checked, nesting is bounded, and a
 * bad node is an error naming its path (`root.buffer[3].value.pixels`).
 *
 * @module
 */
import { DataLossError, describeValue, ERROR_CLASSES, InvalidArgumentError, type ErrorCode } from "../errors.js";
import { FieldError, misfit, pathTo, record, string, nullable, type Field } from "./schema.js";
import { setOwn } from "./own.js";
import type { JsonValue } from "./state.js";

/** How deeply an element may nest (arrays, objects, maps, sets): deeper ones are refused when saved, and when read. */
export const MAX_NESTING = 1000;

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
 * Takes the bytes of one binary part of an encoded value and returns its index, by which
 * {@link decodeValue} finds it again. The bytes may be a view of the value's own memory: the
 * sink must copy or write them before the value changes.
 */
export type BlobSink = (bytes: Uint8Array) => number;

/** Strings this long or longer go to the blob sink, when there is one. */
const BLOB_STRING_LENGTH = 1024;

// ---------------------------------------------------------------------------------------------
// Encoding.

/**
 * Encodes an element value as JSON without loss: numbers (NaN, ±Infinity and -0 included),
 * strings, booleans, null, undefined, bigint, arrays, plain objects, typed arrays (bytes in
 * base64), ArrayBuffer, Date, Map and Set, nested up to {@link MAX_NESTING} deep. A Node.js
 * Buffer comes back as a Uint8Array.
 *
 * With a `sink` (used by checkpoint files), typed arrays, ArrayBuffers and long strings are not
 * put in the JSON: their bytes go to the sink, and the JSON holds `{ "$type": ..., "blob": n }`
 * with the index the sink returned. {@link decodeValue} takes the same blobs back.
 *
 * @param value The element to encode.
 * @param path Where the value sits, for the error message (default `"element"`).
 * @param sink Where binary parts go, if anywhere.
 * @throws {InvalidArgumentError} for functions, symbols, class instances and values nested
 *   deeper than {@link MAX_NESTING}, naming the path.
 */
export function encodeValue(value: unknown, path = "element", sink?: BlobSink): JsonValue {
  return new Encoder(path, sink).encode(value, 0);
}

/** Encodes each element of a list (binary parts to `sink`, if given). */
export function encodeValues(values: readonly unknown[], path: string, sink?: BlobSink): JsonValue[] {
  const out: JsonValue[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = encodeValue(values[i], `${path}[${i}]`, sink);
  return out;
}

/** Encodes a value; keeps the path as a stack of keys, joined only for an error. */
class Encoder {
  private readonly keys: (string | number)[] = [];

  constructor(
    private readonly base: string,
    private readonly sink: BlobSink | undefined,
  ) {}

  encode(value: unknown, depth: number): JsonValue {
    switch (typeof value) {
      case "number":
        if (Number.isFinite(value) && !Object.is(value, -0)) return value;
        return { [TAG]: "number", value: Object.is(value, -0) ? "-0" : String(value) };
      case "string":
        if (this.sink !== undefined && value.length >= BLOB_STRING_LENGTH) return { [TAG]: "string", blob: this.sink(Buffer.from(value, "utf8")) };
        return value;
      case "boolean":
        return value;
      case "bigint":
        return { [TAG]: "bigint", value: value.toString() };
      case "undefined":
        return { [TAG]: "undefined" };
      case "object":
        return value === null ? null : this.encodeObject(value, depth + 1);
      default:
        throw this.unencodable(value);
    }
  }

  private child(key: string | number, value: unknown, depth: number): JsonValue {
    this.keys.push(key);
    const out = this.encode(value, depth);
    this.keys.pop();
    return out;
  }

  private encodeObject(value: object, depth: number): JsonValue {
    if (ArrayBuffer.isView(value)) {
      const type = value.constructor.name;
      const name = type === "Buffer" ? "Uint8Array" : type;
      if (!(name in TYPED_ARRAYS)) throw this.unencodable(value);
      return this.bytes(name, new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    }
    if (value instanceof ArrayBuffer) return this.bytes("ArrayBuffer", new Uint8Array(value));
    // An invalid Date's time is NaN, which JSON would turn into null (the epoch): encode it as a number.
    if (value instanceof Date) return { [TAG]: "Date", value: this.encode(value.getTime(), depth) };
    if (depth > MAX_NESTING) throw this.tooDeep();
    if (Array.isArray(value)) {
      const out: JsonValue[] = new Array(value.length);
      for (let i = 0; i < value.length; i++) out[i] = this.child(i, value[i], depth);
      return out;
    }
    if (value instanceof Map) {
      const entries: JsonValue[] = [];
      let i = 0;
      for (const [k, v] of value) {
        entries.push([this.child(`keys[${i}]`, k, depth), this.child(`get(${i})`, v, depth)]);
        i++;
      }
      return { [TAG]: "Map", entries };
    }
    if (value instanceof Set) {
      const values: JsonValue[] = [];
      let i = 0;
      for (const v of value) values.push(this.child(`values[${i++}]`, v, depth));
      return { [TAG]: "Set", values };
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw this.unencodable(value);
    const fields = value as Record<string, unknown>;
    const out: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(fields)) setOwn(out, key, this.child(key, fields[key], depth));
    return TAG in fields ? { [TAG]: "Object", entries: out } : out;
  }

  private bytes(name: string, bytes: Uint8Array): JsonValue {
    return this.sink === undefined ? { [TAG]: name, base64: Buffer.from(bytes).toString("base64") } : { [TAG]: name, blob: this.sink(bytes) };
  }

  private path(): string {
    let path = this.base;
    for (const key of this.keys) path = typeof key === "number" ? `${path}[${key}]` : `${path}.${key}`;
    return path;
  }

  private unencodable(value: unknown): InvalidArgumentError {
    const got = typeof value === "symbol" ? "a symbol" : describeValue(value);
    return new InvalidArgumentError(
      `Cannot save ${this.path()}: a saved element must be plain data (numbers, strings, booleans, null, bigint, arrays, ` +
        `plain objects, typed arrays, Date, Map, Set); got ${got}. ` +
        `Turn it into plain data with map() before the op that holds elements (shuffle, prefetch, cache, ...).`,
      { expected: "plain data", received: got },
    );
  }

  private tooDeep(): InvalidArgumentError {
    return new InvalidArgumentError(
      `Cannot save ${this.base}: it nests arrays, objects, maps or sets more than ${MAX_NESTING} deep (at ${this.path()}). ` +
        `Flatten it with map() before the op that holds elements (shuffle, prefetch, cache, ...), e.g. into a string with JSON.stringify.`,
      { expected: `at most ${MAX_NESTING} levels of nesting`, received: `more than ${MAX_NESTING}` },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding.

/**
 * Decodes what {@link encodeValue} produced, checking every node.
 *
 * @param encoded The encoded value.
 * @param blobs The binary parts, when it was encoded with a sink.
 * @param path Where the value sits, for the error message (default `"element"`).
 * @throws {InvalidArgumentError} naming the path of the first node that is not a valid
 *   encoding (an unknown tag, a malformed field, a missing binary part, nesting deeper than
 *   {@link MAX_NESTING}).
 */
export function decodeValue(encoded: JsonValue, blobs: readonly Uint8Array[] = NO_BLOBS, path = "element"): unknown {
  try {
    return new Decoder(path, blobs).node(encoded, 0);
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    throw new InvalidArgumentError(`Cannot decode a saved element: ${error.message}. The state is damaged or was written by a newer checkpipe.`, {
      expected: error.expected,
      received: error.got,
    });
  }
}

/** Decodes each element of a list. */
export function decodeValues(encoded: readonly JsonValue[], path = "elements"): unknown[] {
  const out: unknown[] = new Array(encoded.length);
  for (let i = 0; i < encoded.length; i++) out[i] = decodeValue(encoded[i] as JsonValue, NO_BLOBS, pathTo(path, i));
  return out;
}

/** A saved element value, decoded (a field of an op's state schema). */
export const element: Field<unknown> = (value, path) => new Decoder(path, NO_BLOBS).node(value, 0);

/** A list of saved element values, decoded (a field of an op's state schema: a buffer). */
export const elements: Field<unknown[]> = (value, path) => {
  if (!Array.isArray(value)) return misfit(path, "an array of saved elements", value);
  return new Decoder(path, NO_BLOBS).list(value);
};

const NO_BLOBS: readonly Uint8Array[] = [];

const SPECIAL_NUMBERS: Readonly<Record<string, number>> = {
  "-0": -0,
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
};
const BIGINT = /^-?\d+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes one value, checking every node; keeps the path as a stack of keys, joined only for an error. */
class Decoder {
  private readonly keys: (string | number)[] = [];

  constructor(
    private readonly base: string,
    private readonly blobs: readonly Uint8Array[],
  ) {}

  node(node: unknown, depth: number): unknown {
    if (node === null || typeof node === "boolean" || typeof node === "string") return node;
    if (typeof node === "number") return Number.isFinite(node) ? node : this.misfit("a saved element value", node);
    if (typeof node !== "object") return this.misfit("a saved element value", node);
    if (depth >= MAX_NESTING) this.misfit(`a value nested at most ${MAX_NESTING} deep`, node, "nested deeper");
    if (Array.isArray(node)) {
      const out: unknown[] = new Array(node.length);
      for (let i = 0; i < node.length; i++) out[i] = this.child(i, node[i], depth);
      return out;
    }
    const fields = node as Record<string, unknown>;
    const tag = fields[TAG];
    if (tag === undefined) {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(fields)) setOwn(out, key, this.child(key, fields[key], depth));
      return out;
    }
    return this.tagged(tag, fields, depth);
  }

  /** Decodes each item of a list, each a value of its own (nesting counted from it). */
  list(items: readonly unknown[]): unknown[] {
    const out: unknown[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) out[i] = this.child(i, items[i], -1);
    return out;
  }

  private child(key: string | number, value: unknown, depth: number): unknown {
    this.keys.push(key);
    const out = this.node(value, depth + 1);
    this.keys.pop();
    return out;
  }

  /** Fails at the current node, or at its field `key`. */
  private misfit(expected: string, value: unknown, detail?: string, key?: string | number): never {
    let path = this.base;
    for (const k of key === undefined ? this.keys : [...this.keys, key]) path = pathTo(path, k);
    return misfit(path, expected, value, detail);
  }

  private tagged(tag: unknown, node: Record<string, unknown>, depth: number): unknown {
    const only = (...keys: string[]): void => {
      for (const key of Object.keys(node))
        if (key !== TAG && key !== HELD && !keys.includes(key)) this.misfit(`absent from a "${String(tag)}" value`, node[key], undefined, key);
    };
    switch (tag) {
      case "number": {
        only("value");
        const value = node["value"];
        const number = typeof value === "string" ? SPECIAL_NUMBERS[value] : undefined;
        return number ?? this.misfit('"-0", "NaN", "Infinity" or "-Infinity"', value, undefined, "value");
      }
      case "string":
        only("blob");
        return Buffer.from(this.blob(node)).toString("utf8");
      case "bigint": {
        only("value");
        const value = node["value"];
        return typeof value === "string" && BIGINT.test(value) ? BigInt(value) : this.misfit("the digits of an integer", value, undefined, "value");
      }
      case "undefined":
        only();
        return undefined;
      case "ArrayBuffer":
        only("base64", "blob");
        return this.bytes(node).buffer;
      case "Date": {
        only("value");
        const time = this.child("value", node["value"], depth);
        return typeof time === "number" ? new Date(time) : this.misfit("a time in milliseconds", node["value"], undefined, "value");
      }
      case "Map": {
        only("entries");
        const entries = node["entries"];
        if (!Array.isArray(entries)) return this.misfit("an array of [key, value] pairs", entries, undefined, "entries");
        const map = new Map<unknown, unknown>();
        this.keys.push("entries");
        entries.forEach((pair: unknown, i) => {
          if (!Array.isArray(pair) || pair.length !== 2) this.misfit("a [key, value] pair", pair, undefined, i);
          this.keys.push(i);
          map.set(this.child(0, pair[0], depth + 1), this.child(1, pair[1], depth + 1));
          this.keys.pop();
        });
        this.keys.pop();
        return map;
      }
      case "Set": {
        only("values");
        const values = node["values"];
        if (!Array.isArray(values)) return this.misfit("an array", values, undefined, "values");
        this.keys.push("values");
        const set = new Set(values.map((v: unknown, i) => this.child(i, v, depth + 1)));
        this.keys.pop();
        return set;
      }
      case "Object": {
        only("entries");
        const entries = node["entries"];
        if (typeof entries !== "object" || entries === null || Array.isArray(entries)) return this.misfit("a record", entries, undefined, "entries");
        const out: Record<string, unknown> = {};
        this.keys.push("entries");
        for (const key of Object.keys(entries)) setOwn(out, key, this.child(key, (entries as Record<string, unknown>)[key], depth + 1));
        this.keys.pop();
        return out;
      }
      default: {
        const ctor = typeof tag === "string" && Object.hasOwn(TYPED_ARRAYS, tag) ? TYPED_ARRAYS[tag] : undefined;
        if (ctor === undefined) return this.misfit("a known type tag", tag, undefined, TAG);
        only("base64", "blob");
        const bytes = this.bytes(node);
        if (bytes.byteLength % ctor.BYTES_PER_ELEMENT !== 0)
          this.misfit(`a multiple of ${ctor.BYTES_PER_ELEMENT} bytes for a ${String(tag)}`, `${bytes.byteLength} bytes`);
        return new ctor(bytes.buffer, 0, bytes.byteLength / ctor.BYTES_PER_ELEMENT);
      }
    }
  }

  /** Copies the bytes of a typed array or ArrayBuffer (base64 or blob) into a fresh, aligned ArrayBuffer. */
  private bytes(node: Record<string, unknown>): Uint8Array<ArrayBuffer> {
    const held = node[HELD];
    let raw: Uint8Array;
    if (held instanceof Uint8Array) raw = held;
    else if (node["blob"] !== undefined) raw = this.blob(node);
    else {
      const base64 = node["base64"];
      if (typeof base64 !== "string" || base64.length % 4 !== 0 || !BASE64.test(base64)) return this.misfit("bytes in base64", base64, undefined, "base64");
      raw = Buffer.from(base64, "base64");
    }
    const bytes = new Uint8Array(raw.byteLength);
    bytes.set(raw);
    return bytes;
  }

  private blob(node: Record<string, unknown>): Uint8Array {
    const index = node["blob"];
    const blob = typeof index === "number" && Number.isSafeInteger(index) && index >= 0 ? this.blobs[index] : undefined;
    return blob ?? this.misfit(`the index of one of the ${this.blobs.length} binary parts`, index, undefined, "blob");
  }
}

// ---------------------------------------------------------------------------------------------
// Held entries: an element, or the error met in its place.

/** An element an op holds (a prefetched element, a result of a parallel call), or the error met at its place. */
export type Held<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Error };

/**
 * Encodes a held entry: `{ "value": <element> }` or `{ "error": { name, message, code } }` —
 * the one form every op holding elements saves them in.
 *
 * @param entry the entry.
 * @param path where it sits, for an element that cannot be saved.
 * @param sink where binary parts go, if anywhere.
 */
export function encodeHeld(
  entry: { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown },
  path: string,
  sink?: BlobSink,
): JsonValue {
  return entry.ok ? { value: encodeValue(entry.value, path, sink) } : { error: encodeError(entry.error) };
}

/** Encodes an error held in a saved buffer so it is raised again, at its place, after restore. */
export function encodeError(error: unknown): JsonValue {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, code: typeof code === "string" ? code : null };
  }
  return { name: "Error", message: String(error), code: null };
}

const savedErrorFields = record({ name: string, message: string, code: nullable(string) }, "a saved error ({ name, message, code })");

/** JavaScript's own error classes, rebuilt as themselves. */
const STANDARD_ERRORS: Readonly<Record<string, ErrorConstructor>> = { TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };

/**
 * A saved error, rebuilt: the same class for checkpipe errors and JavaScript's own (`TypeError`,
 * …), an `Error` with the saved name otherwise.
 */
export const savedError: Field<Error> = (value, path) => {
  const { name, message, code } = savedErrorFields(value, path);
  const ErrorClass = code !== null && Object.hasOwn(ERROR_CLASSES, code) ? ERROR_CLASSES[code as ErrorCode] : null;
  if (ErrorClass !== null) return new ErrorClass(message);
  const Standard = Object.hasOwn(STANDARD_ERRORS, name) ? STANDARD_ERRORS[name] : undefined;
  if (Standard !== undefined) return new Standard(message);
  const error = new Error(message);
  error.name = name;
  return error;
};

/** A saved held entry, read: `{ value }` or `{ error }`. */
export const held: Field<Held<unknown>> = (value, path) => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return misfit(path, "a held entry ({ value } or { error })", value);
  const keys = Object.keys(value);
  const fields = value as Record<string, unknown>;
  if (keys.length === 1 && keys[0] === "value") return { ok: true, value: element(fields["value"], pathTo(path, "value")) };
  if (keys.length === 1 && keys[0] === "error") return { ok: false, error: savedError(fields["error"], pathTo(path, "error")) };
  return misfit(path, "a held entry ({ value } or { error })", value);
};

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
 * place), so that ops restoring from the tree find their elements' bytes where the decoder
 * looks for them. Strings are put back whole; typed arrays keep their bytes beside the tag.
 *
 * @throws {DataLossError} when the tree refers to a binary part that is missing, or nests
 *   deeper than any state does.
 */
export function attachBlobs(state: EncodedState): JsonValue {
  const keys: (string | number)[] = [];
  const fail = (expected: string, value: unknown, detail?: string): never => {
    throw new DataLossError(
      `A saved iterator state is damaged: ${
        new FieldError(
          keys.reduce<string>((path, key) => pathTo(path, key), "state"),
          expected,
          detail === undefined ? describeValue(value) : `${describeValue(value)} (${detail})`,
        ).message
      }.`,
      {
        expected,
        received: describeValue(value),
      },
    );
  };
  const blob = (node: { [key: string]: JsonValue }): Uint8Array => {
    const index = node["blob"];
    const bytes = typeof index === "number" && Number.isSafeInteger(index) && index >= 0 ? state.blobs[index] : undefined;
    return bytes ?? fail(`the index of one of the ${state.blobs.length} binary parts`, index);
  };
  const inside = (container: Record<string | number, JsonValue>, key: string | number, depth: number): void => {
    keys.push(key);
    container[key] = attach(container[key] as JsonValue, depth + 1);
    keys.pop();
  };
  const attach = (node: JsonValue, depth: number): JsonValue => {
    if (node === null || typeof node !== "object") return node;
    if (depth >= MAX_STATE_NESTING) fail(`a state nested at most ${MAX_STATE_NESTING} deep`, node, "nested deeper");
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) inside(node as unknown as Record<number, JsonValue>, i, depth);
      return node;
    }
    const tag = node[TAG];
    if (tag === undefined) {
      for (const key in node) inside(node, key, depth);
      return node;
    }
    switch (tag) {
      case "Object":
      case "Map":
      case "Set":
      case "Date": {
        const field = tag === "Object" || tag === "Map" ? "entries" : tag === "Set" ? "values" : "value";
        const inner = node[field] as JsonValue;
        if (tag === "Object" && inner !== null && typeof inner === "object" && !Array.isArray(inner)) {
          keys.push(field);
          for (const key in inner) inside(inner, key, depth);
          keys.pop();
        } else inside(node, field, depth);
        return node;
      }
      case "string":
        return node["blob"] === undefined ? node : Buffer.from(blob(node)).toString("utf8");
      default:
        if (node["blob"] !== undefined) (node as { [key: string]: unknown })[HELD] = blob(node);
        return node;
    }
  };
  return attach(state.tree, 0);
}

/** States nest ops (a few levels each) around elements (up to {@link MAX_NESTING}). */
const MAX_STATE_NESTING = 2 * MAX_NESTING;
