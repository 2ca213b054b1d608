/**
 * The protobuf wire format of tf.train.Example, decoded by hand:
 *
 * ```text
 * Example  { Features features = 1; }
 * Features { map<string, Feature> feature = 1; }      // entries: { string key = 1; Feature value = 2; }
 * Feature  { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
 * BytesList { repeated bytes value = 1; }
 * FloatList { repeated float value = 1 [packed = true]; }   // packed or not, both are read
 * Int64List { repeated int64 value = 1 [packed = true]; }   // varints; negatives take 10 bytes
 * ```
 *
 * {@link scanExample} walks the structure once and notes where each feature's lists lie; the
 * `read*` functions turn those byte ranges into values only for the features asked for.
 * Protobuf's merge rules hold: unknown fields are skipped, a later map entry with the same key
 * replaces an earlier one, a later `kind` of a Feature replaces an earlier one, and repeated
 * lists of the same kind are concatenated.
 *
 * @module
 */
import { DataLossError } from "../errors.js";

/** Which list a Feature holds (its protobuf field number), or none. */
export type FeatureKind = typeof KIND_NONE | typeof KIND_BYTES | typeof KIND_FLOAT | typeof KIND_INT64;
export const KIND_NONE = 0;
export const KIND_BYTES = 1;
export const KIND_FLOAT = 2;
export const KIND_INT64 = 3;

/** Where one feature's values lie in the serialized Example. */
export interface RawFeature {
  kind: FeatureKind;
  /** [start, end) of each list message's body, in pairs. */
  readonly lists: number[];
  /** Byte offset of the Feature message in the Example, for errors. */
  readonly offset: number;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

/** A cursor over `bytes` up to `end`; the reading functions below advance `pos`. */
class Cursor {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly feature: string | null,
  ) {}
}

/**
 * Finds every feature of a serialized tf.train.Example, in the order of the bytes.
 *
 * @throws {DataLossError} when the bytes are not a well-formed Example.
 */
export function scanExample(bytes: Uint8Array): Map<string, RawFeature> {
  const features = new Map<string, RawFeature>();
  const example = new Cursor(bytes, 0, bytes.length, null);
  while (example.pos < example.end) {
    const tag = readVarint(example);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const featuresMsg = subCursor(example, null);
      while (featuresMsg.pos < featuresMsg.end) {
        const ftag = readVarint(featuresMsg);
        if (ftag === ((1 << 3) | WIRE_LEN)) scanEntry(subCursor(featuresMsg, null), features);
        else skipField(featuresMsg, ftag, "Features", 1);
      }
    } else {
      skipField(example, tag, "Example", 1);
    }
  }
  return features;
}

function scanEntry(entry: Cursor, features: Map<string, RawFeature>): void {
  let key = "";
  const ranges: number[] = [];
  let valueOffset = entry.pos;
  while (entry.pos < entry.end) {
    const tag = readVarint(entry);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const len = readLength(entry);
      key = decodeKey(entry.bytes, entry.pos, entry.pos + len);
      entry.pos += len;
    } else if (tag === ((2 << 3) | WIRE_LEN)) {
      valueOffset = entry.pos;
      const value = subCursor(entry, null);
      ranges.push(value.pos, value.end);
    } else {
      skipField(entry, tag, "a map entry of Features", 2);
    }
  }
  const feature: RawFeature = { kind: KIND_NONE, lists: [], offset: valueOffset };
  for (let i = 0; i < ranges.length; i += 2) {
    scanFeature(new Cursor(entry.bytes, ranges[i]!, ranges[i + 1]!, key), feature);
  }
  features.set(key, feature);
}

function scanFeature(c: Cursor, feature: RawFeature): void {
  while (c.pos < c.end) {
    const at = c.pos;
    const tag = readVarint(c);
    const field = tag >>> 3;
    if (field >= KIND_BYTES && field <= KIND_INT64) {
      if ((tag & 7) !== WIRE_LEN) throw malformed(c, at, `field ${field} (a list) with wire type 2`, `wire type ${tag & 7}`);
      const list = subCursor(c, null);
      if (feature.kind !== field) {
        feature.kind = field as FeatureKind;
        feature.lists.length = 0;
      }
      feature.lists.push(list.pos, list.end);
    } else {
      skipField(c, tag, "Feature", 3);
    }
  }
}

/** The number of values of `feature`'s lists. */
export function countValues(bytes: Uint8Array, name: string, feature: RawFeature): number {
  const start = packedPayload(bytes, feature);
  if (start >= 0 && feature.kind === KIND_FLOAT && (feature.lists[1]! - start) % 4 === 0) return (feature.lists[1]! - start) / 4;
  if (start >= 0 && feature.kind === KIND_INT64 && bytes[feature.lists[1]! - 1]! < 0x80) {
    let count = 0;
    for (let i = start, end = feature.lists[1]!; i < end; i++) if (bytes[i]! < 0x80) count++;
    return count;
  }
  let count = 0;
  forEachValueField(bytes, name, feature, (c, wire) => {
    if (feature.kind === KIND_FLOAT) {
      if (wire === WIRE_FIXED32) {
        need(c, 4, "a 4-byte float");
        c.pos += 4;
        count += 1;
      } else {
        const at = c.pos;
        const len = readLength(c);
        if (len % 4 !== 0) throw malformed(c, at, "a packed float list whose length is a multiple of 4", `${len} bytes`);
        c.pos += len;
        count += len / 4;
      }
    } else if (feature.kind === KIND_INT64) {
      if (wire === WIRE_VARINT) {
        skipVarint(c);
        count += 1;
      } else {
        const packed = subCursor(c, c.feature);
        while (packed.pos < packed.end) {
          skipVarint(packed);
          count += 1;
        }
      }
    } else {
      const len = readLength(c); // (not `c.pos += readLength(c)`: that adds to the old pos)
      c.pos += len;
      count += 1;
    }
  });
  return count;
}

/** Writes the float values of `feature` into `out` (or pushes them), in order. */
export function readFloats(bytes: Uint8Array, name: string, feature: RawFeature, out: Float32Array | number[]): void {
  let i = 0;
  const start = packedPayload(bytes, feature);
  if (start >= 0) {
    for (let pos = start, end = feature.lists[1]!; pos < end; pos += 4) out[i++] = readFloat32(bytes, pos);
    return;
  }
  forEachValueField(bytes, name, feature, (c, wire) => {
    const len = wire === WIRE_FIXED32 ? 4 : readLength(c);
    for (const end = c.pos + len; c.pos < end; c.pos += 4) out[i++] = readFloat32(bytes, c.pos);
  });
}

/** Writes the int64 values of `feature` into `out` (or pushes them), in order. */
export function readInt64s(bytes: Uint8Array, name: string, feature: RawFeature, out: BigInt64Array | bigint[]): void {
  let i = 0;
  forEachValueField(bytes, name, feature, (c, wire) => {
    if (wire === WIRE_VARINT) {
      out[i++] = readInt64(c);
    } else {
      const packed = subCursor(c, c.feature);
      while (packed.pos < packed.end) out[i++] = readInt64(packed);
    }
  });
}

/** Calls `each` with the bytes (a view, not a copy) of every value of a bytes feature, in order. */
export function readBytes(bytes: Uint8Array, name: string, feature: RawFeature, each: (value: Uint8Array) => void): void {
  forEachValueField(bytes, name, feature, (c) => {
    const len = readLength(c);
    each(bytes.subarray(c.pos, c.pos + len));
    c.pos += len;
  });
}

/**
 * Where the values start when a feature has the usual layout, one list holding one packed
 * `value` field that fills it; -1 otherwise (the general path then handles it).
 */
function packedPayload(bytes: Uint8Array, feature: RawFeature): number {
  const lists = feature.lists;
  if (lists.length !== 2 || feature.kind === KIND_BYTES) return -1;
  let pos = lists[0]!;
  const end = lists[1]!;
  if (bytes[pos] !== 0x0a) return -1;
  let len = 0;
  for (let shift = 0; ++pos < end && shift < 28; shift += 7) {
    const b = bytes[pos]!;
    len |= (b & 0x7f) << shift;
    if (b < 0x80) return pos + 1 + len === end ? pos + 1 : -1;
  }
  return -1;
}

/**
 * Calls `visit` at every `value` field (field 1) of `feature`'s lists with the cursor just past
 * the tag; `visit` consumes the field. Other fields are skipped; a wire type the list's kind does
 * not allow is an error.
 */
function forEachValueField(bytes: Uint8Array, name: string, feature: RawFeature, visit: (c: Cursor, wire: number) => void): void {
  const scalarWire = feature.kind === KIND_FLOAT ? WIRE_FIXED32 : feature.kind === KIND_INT64 ? WIRE_VARINT : -1;
  const lists = feature.lists;
  for (let l = 0; l < lists.length; l += 2) {
    const c = new Cursor(bytes, lists[l]!, lists[l + 1]!, name);
    while (c.pos < c.end) {
      const at = c.pos;
      const tag = readVarint(c);
      if (tag >>> 3 !== 1) {
        skipField(c, tag, "a feature's list", 1);
        continue;
      }
      const wire = tag & 7;
      if (wire !== WIRE_LEN && wire !== scalarWire) {
        const allowed = scalarWire === -1 ? "2 (length-delimited)" : `2 (packed) or ${scalarWire}`;
        throw malformed(c, at, `a list value of wire type ${allowed}`, `wire type ${wire}`);
      }
      visit(c, wire);
    }
  }
}

/** Scratch space for reading little-endian floats (a DataView per record costs more). */
const floatScratch = new Float32Array(1);
const floatScratchBytes = new Uint8Array(floatScratch.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function readFloat32(bytes: Uint8Array, pos: number): number {
  if (LITTLE_ENDIAN) {
    floatScratchBytes[0] = bytes[pos]!;
    floatScratchBytes[1] = bytes[pos + 1]!;
    floatScratchBytes[2] = bytes[pos + 2]!;
    floatScratchBytes[3] = bytes[pos + 3]!;
  } else {
    floatScratchBytes[3] = bytes[pos]!;
    floatScratchBytes[2] = bytes[pos + 1]!;
    floatScratchBytes[1] = bytes[pos + 2]!;
    floatScratchBytes[0] = bytes[pos + 3]!;
  }
  return floatScratch[0]!;
}

/** Reads a varint of at most 53 bits (tags, lengths). */
function readVarint(c: Cursor): number {
  const bytes = c.bytes;
  let result = 0;
  let scale = 1;
  const start = c.pos;
  for (let pos = start; pos < c.end && pos - start < 8; pos++) {
    const byte = bytes[pos]!;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      c.pos = pos + 1;
      return result;
    }
    scale *= 128;
  }
  if (c.pos + 8 <= c.end) throw malformed(c, start, "a varint of at most 8 bytes here", "a longer one");
  throw malformed(c, start, "a complete varint", "the end of the message inside it");
}

function readLength(c: Cursor): number {
  const at = c.pos;
  const len = readVarint(c);
  if (len > c.end - c.pos) {
    throw malformed(c, at, `a length of at most ${c.end - c.pos} (the bytes left in the message)`, `${len}`);
  }
  return len;
}

function subCursor(c: Cursor, feature: string | null): Cursor {
  const len = readLength(c);
  const sub = new Cursor(c.bytes, c.pos, c.pos + len, feature ?? c.feature);
  c.pos += len;
  return sub;
}

function skipVarint(c: Cursor): void {
  const start = c.pos;
  for (let pos = start; pos < c.end && pos - start < 10; pos++) {
    if (c.bytes[pos]! < 0x80) {
      c.pos = pos + 1;
      return;
    }
  }
  throw malformed(c, start, "a complete varint of at most 10 bytes", "a longer or cut-off one");
}

function need(c: Cursor, n: number, what: string): void {
  if (c.end - c.pos < n) throw malformed(c, c.pos, what, `${c.end - c.pos} bytes left in the message`);
}

function skipField(c: Cursor, tag: number, message: string, maxField: number): void {
  const at = c.pos;
  const wire = tag & 7;
  if (tag >>> 3 === 0) throw malformed(c, at, `a field number ≥ 1 in ${message}`, "field 0");
  if (wire === WIRE_VARINT) skipVarint(c);
  else if (wire === WIRE_FIXED64) {
    need(c, 8, "an 8-byte field");
    c.pos += 8;
  } else if (wire === WIRE_LEN) {
    const len = readLength(c);
    c.pos += len;
  } else if (wire === WIRE_FIXED32) {
    need(c, 4, "a 4-byte field");
    c.pos += 4;
  } else if (tag >>> 3 <= maxField) throw malformed(c, at, `field ${tag >>> 3} of ${message} with wire type 2`, `wire type ${wire}`);
  else throw malformed(c, at, `a field of wire type 0, 1, 2 or 5 in ${message}`, `wire type ${wire} (field ${tag >>> 3})`);
}

/** Reads a varint-encoded int64 (two's complement, up to 10 bytes). */
function readInt64(c: Cursor): bigint {
  const bytes = c.bytes;
  const start = c.pos;
  const end = Math.min(c.end, start + 10);
  let lo = 0;
  let hi = 0;
  let pos = start;
  for (let shift = 0; pos < end; shift += 7) {
    const byte = bytes[pos++]!;
    if (shift < 28) lo |= (byte & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (byte & 0x0f) << 28;
      hi = (byte & 0x7f) >>> 4;
    } else hi |= (byte & 0x7f) << (shift - 32);
    if (byte < 0x80) {
      c.pos = pos;
      return hi === 0 ? BigInt(lo >>> 0) : BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
    }
  }
  throw malformed(c, start, "a complete varint of at most 10 bytes", "a longer or cut-off one");
}

/**
 * Feature names decoded recently, by a hash of their bytes. Every record of a file repeats the
 * same few names, and decoding one costs ~5× as much as hashing and comparing its bytes. A memo
 * only: bounded, and invisible but for speed.
 */
const keyCache = new Map<number, { readonly bytes: Uint8Array; readonly key: string }>();
const KEY_CACHE_LIMIT = 1024;

function decodeKey(bytes: Uint8Array, start: number, end: number): string {
  if (end - start > 64) return decodeUtf8(bytes, start, end);
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  const hit = keyCache.get(hash);
  if (hit !== undefined && hit.bytes.length === end - start) {
    let same = true;
    for (let i = 0; same && i < hit.bytes.length; i++) same = hit.bytes[i] === bytes[start + i];
    if (same) return hit.key;
  }
  const key = decodeUtf8(bytes, start, end);
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
  keyCache.set(hash, { bytes: bytes.slice(start, end), key });
  return key;
}

const utf8 = new TextDecoder("utf-8");

/** Decodes UTF-8, with a fast path for ASCII (feature names nearly always are). */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start > 64) return utf8.decode(bytes.subarray(start, end));
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return utf8.decode(bytes.subarray(start, end));
  return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
}

function malformed(c: Cursor, at: number, expected: string, found: string): DataLossError {
  const feature = c.feature === null ? "" : ` (feature ${JSON.stringify(c.feature)})`;
  return new DataLossError(
    `parseExample: malformed tf.train.Example at byte ${at} of ${c.bytes.length}${feature}: expected ${expected}; ` +
      `found ${found}. Pass the bytes of one serialized tf.train.Example (a TFRecord record's data, decompressed); ` +
      `if it is one, the record is corrupt: regenerate it, or skip it with ignoreErrors().`,
    { expected, received: found, fix: "Pass one serialized tf.train.Example." },
  );
}
