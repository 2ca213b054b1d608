/**
 * TensorFlow's TFRecord framing of one record:
 *
 * ```text
 * uint64 length            (little-endian)
 * uint32 masked_crc32c(length bytes)
 * byte   data[length]
 * uint32 masked_crc32c(data)
 * ```
 *
 * Encoding, and a decoder that a streaming reader calls on its buffer.
 *
 * @module
 */
import { DataLossError } from "../errors.js";
import { maskedCrc32c } from "./crc32c.js";

/** Bytes of framing before a record's data: the length and its CRC. */
export const FRAME_HEADER_BYTES = 12;
/** Bytes of framing after a record's data: its CRC. */
export const FRAME_FOOTER_BYTES = 4;
/**
 * The longest record the decoder accepts, in bytes (2 GiB). A longer length is taken for
 * corruption before anything is allocated; TensorFlow's own records never come close.
 */
export const MAX_RECORD_BYTES = 2 ** 31;

/** Where the bytes being decoded come from, for error messages. */
export interface DecodeFrameOptions {
  /** The file (or other source) the buffer holds bytes of, named in errors. */
  readonly source: string;
  /** The byte offset in that file of the frame that starts at `offset` in the buffer. */
  readonly position: number;
  /** Check both CRCs (default true). */
  readonly verify?: boolean;
}

/** One decoded frame. */
export interface DecodedFrame {
  /** The record's bytes: a view into the buffer, not a copy. */
  readonly data: Uint8Array;
  /** The offset in the buffer just past the frame, where the next one starts. */
  readonly end: number;
}

/**
 * Frames one record as TensorFlow's TFRecordWriter does.
 *
 * @param data - The record, e.g. a serialized tf.train.Example.
 * @returns A new array of `data.length + 16` bytes.
 * @example
 * const frame = encodeFrame(serializeExample({ x: [1, 2] }));
 */
export function encodeFrame(data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + data.length + FRAME_FOOTER_BYTES);
  const view = new DataView(frame.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(frame.subarray(0, 8)), true);
  frame.set(data, FRAME_HEADER_BYTES);
  view.setUint32(FRAME_HEADER_BYTES + data.length, maskedCrc32c(data), true);
  return frame;
}

/**
 * Decodes the frame that starts at `offset` in `buffer`.
 *
 * @param buffer - Bytes read from a TFRecord file (after decompression).
 * @param offset - Where in `buffer` the frame starts.
 * @param options - The file and the frame's byte offset in it, for errors; whether to verify CRCs.
 * @returns The record and the end of its frame, or null when `buffer` ends before the frame
 *   does: read more and call again (or, at the end of the file, throw
 *   {@link truncatedFrameError}).
 * @throws {DataLossError} when a CRC does not match or the length is beyond
 *   {@link MAX_RECORD_BYTES}, naming the file and the record's byte offset.
 * @example
 * let offset = 0;
 * for (let f; (f = decodeFrame(bytes, offset, { source: path, position: offset })); offset = f.end) {
 *   records.push(f.data);
 * }
 */
export function decodeFrame(buffer: Uint8Array, offset: number, options: DecodeFrameOptions): DecodedFrame | null {
  if (buffer.length - offset < FRAME_HEADER_BYTES) return null;
  const verify = options.verify ?? true;
  if (verify) {
    const stored = readUint32(buffer, offset + 8);
    const actual = maskedCrc32c(buffer.subarray(offset, offset + 8));
    if (stored !== actual) throw crcMismatch(options, "length", stored, actual);
  }
  const low = readUint32(buffer, offset);
  const high = readUint32(buffer, offset + 4);
  if (high !== 0 || low > MAX_RECORD_BYTES) {
    const length = (BigInt(high) << 32n) | BigInt(low);
    throw new DataLossError(
      `${where(options)}: a record length of at most ${MAX_RECORD_BYTES} bytes (2 GiB) was expected; ` +
        `found ${length}. The file is corrupt${verify ? "" : " (CRCs are not being verified)"}; ` +
        `regenerate it, or skip bad records with ignoreErrors().`,
      { expected: `a length ≤ ${MAX_RECORD_BYTES}`, received: String(length), fix: "Regenerate the file.", reason: "RECORD_TOO_LARGE" },
    );
  }
  const dataStart = offset + FRAME_HEADER_BYTES;
  const end = dataStart + low + FRAME_FOOTER_BYTES;
  if (end > buffer.length) return null;
  const data = buffer.subarray(dataStart, end - FRAME_FOOTER_BYTES);
  if (verify) {
    const stored = readUint32(buffer, end - FRAME_FOOTER_BYTES);
    const actual = maskedCrc32c(data);
    if (stored !== actual) throw crcMismatch(options, "data", stored, actual);
  }
  return { data, end };
}

/**
 * The error for a file that ends inside a record.
 *
 * @param source - The file, named in the message.
 * @param position - The byte offset in the file where the incomplete record starts.
 * @param have - How many bytes of the record the file holds.
 * @param need - How many bytes the record needs (its full frame), or null when even its
 *   12-byte header is incomplete.
 * @example
 * throw truncatedFrameError("data/train.tfrecord", 1024, 7, null);
 */
export function truncatedFrameError(source: string, position: number, have: number, need: number | null): DataLossError {
  const expected = need === null ? `a ${FRAME_HEADER_BYTES}-byte record header` : `a ${need}-byte record`;
  return new DataLossError(
    `${where({ source, position })}: the file ends inside a record; expected ${expected}, found ${have} bytes. ` +
      `The file is truncated (was it still being written, or cut short by a copy?); ` +
      `regenerate it, or skip the incomplete record with ignoreErrors().`,
    { expected, received: `${have} bytes`, fix: "Regenerate the file.", reason: "RECORD_TRUNCATED" },
  );
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

function where(options: Pick<DecodeFrameOptions, "source" | "position">): string {
  return `TFRecord file ${JSON.stringify(options.source)}, record at byte ${options.position}`;
}

function crcMismatch(options: DecodeFrameOptions, part: "length" | "data", stored: number, actual: number): DataLossError {
  const expected = `0x${hex(stored)}`;
  const received = `0x${hex(actual)}`;
  return new DataLossError(
    `${where(options)}: the masked CRC32C of its ${part} should be ${expected} (as stored in the file); ` +
      `found ${received}. The file is corrupt or is not a TFRecord file (is it compressed? pass compression: ` +
      `"gzip" or "zlib"); regenerate it, or skip bad records with ignoreErrors().`,
    { expected, received, fix: "Regenerate the file, or pass the right compression.", reason: "RECORD_CRC_MISMATCH" },
  );
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}
