/**
 * TensorFlow's `Event` and `Summary` protos (`tensorflow/core/util/event.proto`,
 * `tensorflow/core/framework/summary.proto`), only the fields a scalar summary needs, in the
 * protobuf wire format by hand:
 *
 * ```text
 * Event   { double wall_time = 1; int64 step = 2;
 *           oneof what { string file_version = 3; Summary summary = 5; … 4, 6, 7, 8, 9 } }
 * Summary { repeated Value value = 1; }
 * Value   { string tag = 1; oneof value { float simple_value = 2; … 3, 4, 5, 6, 8 } }
 * ```
 *
 * The encoder writes what TensorFlow's protobuf code writes: fields in number order, proto3
 * defaults (a zero `wall_time` or `step`, an empty `tag`) left out, oneof members always
 * written. The decoder follows protobuf's rules: unknown fields (of any wire type, groups
 * included) and known fields of an unexpected wire type are skipped; of a oneof the last member
 * wins, so a later member this module does not model (a histogram, an image …) clears an
 * earlier one it does; a message field that occurs twice is merged.
 *
 * @module
 */
import { DataLossError, ValueError, invalidArgument } from "../../errors.js";

/** One value of a {@link TFSummary}: TensorFlow's `Summary.Value`. */
export interface TFSummaryValue {
  /** The name TensorBoard charts the value under, e.g. `"loss"`. */
  readonly tag: string;
  /**
   * The scalar, stored as a 32-bit float (so it reads back as `Math.fround(value)`); absent
   * when the value is of another kind (a histogram, an image, a tensor …).
   */
  readonly simpleValue?: number;
}

/** A set of named values: TensorFlow's `Summary`. */
export interface TFSummary {
  /** The values, in order. */
  readonly value: readonly TFSummaryValue[];
}

/**
 * One record of a TensorBoard event file: TensorFlow's `Event`. At most one of `fileVersion`
 * and `summary` is set (they are members of one oneof); an event of another kind (a graph, a
 * log message …) decodes with neither.
 */
export interface TFEvent {
  /** When it happened, in seconds since the epoch (fractional). */
  readonly wallTime: number;
  /** The global step, an integer with |step| ≤ 2⁵³ − 1 (an int64 on the wire). */
  readonly step: number;
  /** The file's format, {@link FILE_VERSION}, in the first event of a file. */
  readonly fileVersion?: string;
  /** The summary values logged at this step. */
  readonly summary?: TFSummary;
}

/** The `file_version` of the first event of every file TensorFlow writes today. */
export const FILE_VERSION = "brain.Event:2";

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

/** Members of `Event.what` and `Value.value` that this module does not model (all length-delimited). */
const OTHER_WHAT: readonly number[] = [4, 6, 7, 8, 9];
const OTHER_VALUE: readonly number[] = [3, 4, 5, 6, 8];
/** How deeply groups may nest inside an unknown field (protobuf's own recursion limit). */
const MAX_DEPTH = 100;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Serializes an event as TensorFlow does (`Event.SerializeToString()`).
 *
 * @param event - The event; `step` must be a safe integer.
 * @returns The protobuf bytes, ready to be framed as one TFRecord record.
 * @throws {InvalidArgumentError} for a step that is not a safe integer, an event with both
 *   `fileVersion` and `summary`, or a value of the wrong type.
 * @example
 * const bytes = encodeEvent({ wallTime: 1.5, step: 300, summary: { value: [{ tag: "loss", simpleValue: 0.25 }] } });
 */
export function encodeEvent(event: TFEvent): Uint8Array {
  if (event === null || typeof event !== "object") {
    throw invalidArgument("encodeEvent(event)", "an event object", event, 'Pass e.g. { wallTime: Date.now() / 1000, step: 0, fileVersion: "brain.Event:2" }.');
  }
  const { wallTime, step, fileVersion, summary } = event;
  if (typeof wallTime !== "number") {
    throw invalidArgument("encodeEvent(event).wallTime", "a number of seconds since the epoch", wallTime, "Pass e.g. Date.now() / 1000.");
  }
  checkStep("encodeEvent(event).step", step);
  if (fileVersion !== undefined && summary !== undefined) {
    throw invalidArgument(
      "encodeEvent(event)",
      "at most one of fileVersion and summary (a oneof)",
      event,
      "Write the file version and each summary as events of their own.",
    );
  }
  const parts: Uint8Array[] = [];
  if (!Object.is(wallTime, 0)) parts.push(key(1, FIXED64), float64(wallTime));
  if (step !== 0) parts.push(key(2, VARINT), varint(BigInt(step)));
  if (fileVersion !== undefined) {
    if (typeof fileVersion !== "string") {
      throw invalidArgument("encodeEvent(event).fileVersion", "a string", fileVersion, `Pass ${JSON.stringify(FILE_VERSION)}.`);
    }
    parts.push(lengthDelimited(3, utf8Encoder.encode(fileVersion)));
  }
  if (summary !== undefined) parts.push(lengthDelimited(5, encodeSummary(summary)));
  return concat(parts);
}

function encodeSummary(summary: TFSummary): Uint8Array {
  if (summary === null || typeof summary !== "object" || !Array.isArray(summary.value)) {
    throw invalidArgument("encodeEvent(event).summary", "an object { value: [...] }", summary, 'Pass e.g. { value: [{ tag: "loss", simpleValue: 0.25 }] }.');
  }
  return concat(summary.value.map((value, i) => lengthDelimited(1, encodeValue(value, i))));
}

function encodeValue(value: TFSummaryValue, i: number): Uint8Array {
  const subject = `encodeEvent(event).summary.value[${i}]`;
  if (value === null || typeof value !== "object" || typeof value.tag !== "string") {
    throw invalidArgument(`${subject}.tag`, "a string", value?.tag, 'Name the value, e.g. "loss".');
  }
  const simpleValue: unknown = value.simpleValue;
  if (simpleValue !== undefined && typeof simpleValue !== "number") {
    throw invalidArgument(`${subject}.simpleValue`, "a number or nothing", simpleValue, "Pass the scalar as a number.");
  }
  const parts: Uint8Array[] = [];
  if (value.tag !== "") parts.push(lengthDelimited(1, utf8Encoder.encode(value.tag)));
  if (simpleValue !== undefined) parts.push(key(2, FIXED32), float32(simpleValue));
  return concat(parts);
}

/**
 * Checks that `step` can be written as an int64 and read back exactly.
 *
 * @throws {InvalidArgumentError} naming `subject` when it cannot.
 */
export function checkStep(subject: string, step: unknown): asserts step is number {
  if (!Number.isSafeInteger(step)) {
    throw invalidArgument(subject, "an integer with |step| ≤ 2⁵³ − 1 (Number.MAX_SAFE_INTEGER)", step, "Pass the global step as a whole number.");
  }
}

function key(field: number, wire: number): Uint8Array {
  return varint(BigInt((field << 3) | wire));
}

function varint(n: bigint): Uint8Array {
  const bytes: number[] = [];
  let u = BigInt.asUintN(64, n);
  for (; u >= 0x80n; u >>= 7n) bytes.push(Number(u & 0x7fn) | 0x80);
  bytes.push(Number(u));
  return Uint8Array.from(bytes);
}

function lengthDelimited(field: number, body: Uint8Array): Uint8Array {
  return concat([key(field, LEN), varint(BigInt(body.length)), body]);
}

function float64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, value, true);
  return bytes;
}

function float32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setFloat32(0, value, true);
  return bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** A cursor over `bytes` up to `end`; the reading functions below advance `pos`. */
class Reader {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

/**
 * Parses one serialized Event (a record of an event file).
 *
 * @param bytes - The record's bytes.
 * @param source - What the bytes are, named in errors (default `"an Event"`), e.g.
 *   `events file "logs/events.out.tfevents…", record 3`.
 * @returns The event, with only the fields described by {@link TFEvent}.
 * @throws {DataLossError} when the bytes are not a well-formed Event, naming the byte offset.
 * @throws {ValueError} for a step beyond ±(2⁵³ − 1), which a number cannot hold exactly.
 * @example
 * const event = decodeEvent(bytes); // { wallTime: 1.5, step: 300, summary: { value: [...] } }
 */
export function decodeEvent(bytes: Uint8Array, source = "an Event"): TFEvent {
  const r = new Reader(bytes, 0, bytes.length, source);
  let wallTime = 0;
  let step = 0;
  let what: { fileVersion: string } | { summary: TFSummary } | null = null;
  while (r.pos < r.end) {
    const at = r.pos;
    const tag = readTag(r, "Event");
    if (tag === ((1 << 3) | FIXED64)) {
      need(r, 8, "Event", "an 8-byte double (wall_time)");
      wallTime = r.view.getFloat64(r.pos, true);
      r.pos += 8;
    } else if (tag === ((2 << 3) | VARINT)) {
      step = toStep(r, at, readVarint(r, "Event"));
    } else if (tag === ((3 << 3) | LEN)) {
      what = { fileVersion: readString(r, "Event") };
    } else if (tag === ((5 << 3) | LEN)) {
      const summary = readSummary(sub(r, "Event"));
      what = what !== null && "summary" in what ? { summary: { value: [...what.summary.value, ...summary.value] } } : { summary };
    } else {
      if ((tag & 7) === LEN && OTHER_WHAT.includes(tag >>> 3)) what = null;
      skipField(r, tag, "Event", 0);
    }
  }
  return { wallTime, step, ...what };
}

function readSummary(r: Reader): TFSummary {
  const value: TFSummaryValue[] = [];
  while (r.pos < r.end) {
    const tag = readTag(r, "Summary");
    if (tag === ((1 << 3) | LEN)) value.push(readValue(sub(r, "Summary")));
    else skipField(r, tag, "Summary", 0);
  }
  return { value };
}

function readValue(r: Reader): TFSummaryValue {
  let tagName = "";
  let simpleValue: number | undefined;
  while (r.pos < r.end) {
    const tag = readTag(r, "Summary.Value");
    if (tag === ((1 << 3) | LEN)) {
      tagName = readString(r, "Summary.Value");
    } else if (tag === ((2 << 3) | FIXED32)) {
      need(r, 4, "Summary.Value", "a 4-byte float (simple_value)");
      simpleValue = r.view.getFloat32(r.pos, true);
      r.pos += 4;
    } else {
      if ((tag & 7) === LEN && OTHER_VALUE.includes(tag >>> 3)) simpleValue = undefined;
      skipField(r, tag, "Summary.Value", 0);
    }
  }
  return simpleValue === undefined ? { tag: tagName } : { tag: tagName, simpleValue };
}

/** Reads a varint of up to 10 bytes (64 bits). */
function readVarint(r: Reader, message: string): bigint {
  const start = r.pos;
  let result = 0n;
  for (let i = 0; i < 10 && r.pos < r.end; i++) {
    const byte = r.bytes[r.pos++]!;
    if (i === 9 && byte > 1) break;
    result |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if (byte < 0x80) return result;
  }
  const cut = r.pos >= r.end && r.pos - start < 10;
  throw malformed(r, start, message, "a varint of at most 64 bits", cut ? "the end of the message inside it" : "a longer one");
}

function readTag(r: Reader, message: string): number {
  const at = r.pos;
  const tag = readVarint(r, message);
  if (tag > 0xffffffffn || tag >> 3n === 0n) {
    throw malformed(r, at, message, "a field key with a field number from 1 to 2²⁹ − 1", `key ${tag}`);
  }
  return Number(tag);
}

function readLength(r: Reader, message: string): number {
  const at = r.pos;
  const len = readVarint(r, message);
  if (len > BigInt(r.end - r.pos)) {
    throw malformed(r, at, message, `a length of at most ${r.end - r.pos} (the bytes left in the message)`, `${len}`);
  }
  return Number(len);
}

function sub(r: Reader, message: string): Reader {
  const len = readLength(r, message);
  const inner = new Reader(r.bytes, r.pos, r.pos + len, r.source);
  r.pos += len;
  return inner;
}

function readString(r: Reader, message: string): string {
  const at = r.pos;
  const len = readLength(r, message);
  const text = r.bytes.subarray(r.pos, r.pos + len);
  r.pos += len;
  try {
    return utf8Decoder.decode(text);
  } catch {
    throw malformed(r, at, message, "a string of valid UTF-8", `${len} bytes that are not`);
  }
}

function toStep(r: Reader, at: number, raw: bigint): number {
  const step = BigInt.asIntN(64, raw);
  if (step > BigInt(Number.MAX_SAFE_INTEGER) || step < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ValueError(
      `${r.source}: Event at byte ${at}: a step with |step| ≤ 2⁵³ − 1 was expected, so that a number holds it exactly; ` +
        `found ${step}. Read this file with TensorFlow, or keep steps below Number.MAX_SAFE_INTEGER when writing.`,
      { expected: "a step with |step| ≤ 2⁵³ − 1", received: String(step), fix: "Keep steps below Number.MAX_SAFE_INTEGER." },
    );
  }
  return Number(step);
}

function need(r: Reader, n: number, message: string, what: string): void {
  if (r.end - r.pos < n) throw malformed(r, r.pos, message, what, `${r.end - r.pos} bytes left in the message`);
}

/** Skips the field whose key `tag` was just read; a group is skipped up to its matching end. */
function skipField(r: Reader, tag: number, message: string, depth: number): void {
  const at = r.pos;
  const field = tag >>> 3;
  const wire = tag & 7;
  if (wire === VARINT) readVarint(r, message);
  else if (wire === FIXED64) {
    need(r, 8, message, `8 bytes of field ${field}`);
    r.pos += 8;
  } else if (wire === LEN) {
    const len = readLength(r, message); // (not `r.pos += readLength(r)`: that adds to the old pos)
    r.pos += len;
  } else if (wire === FIXED32) {
    need(r, 4, message, `4 bytes of field ${field}`);
    r.pos += 4;
  } else if (wire === START_GROUP) {
    if (depth >= MAX_DEPTH) throw malformed(r, at, message, `groups nested at most ${MAX_DEPTH} deep`, "deeper ones");
    for (;;) {
      if (r.pos >= r.end) throw malformed(r, at, message, `the end of group ${field}`, "the end of the message");
      const inner = readTag(r, message);
      if (inner === ((field << 3) | END_GROUP)) return;
      skipField(r, inner, message, depth + 1);
    }
  } else if (wire === END_GROUP) {
    throw malformed(r, at, message, "a field", `the end of group ${field}, which was never started`);
  } else {
    throw malformed(r, at, message, "a field of wire type 0, 1, 2, 3 or 5", `wire type ${wire} (field ${field})`);
  }
}

function malformed(r: Reader, at: number, message: string, expected: string, found: string): DataLossError {
  return new DataLossError(
    `${r.source}: malformed ${message} at byte ${at} of ${r.bytes.length}: expected ${expected}; found ${found}. ` +
      `The record is corrupt or is not a TensorFlow Event; regenerate the file.`,
    { expected, received: found, fix: "Regenerate the file." },
  );
}
