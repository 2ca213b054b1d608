/**
 * `Dataset.tfrecord`: the records of TFRecord files, through the shared record-file reader.
 *
 * @module
 */
import { invalidArgument } from "../../errors.js";
import { maskedCrc32c } from "../../formats/crc32c.js";
import { FRAME_FOOTER_BYTES, FRAME_HEADER_BYTES, MAX_RECORD_BYTES, decodeFrame, truncatedFrameError } from "../../formats/tfrecord-frame.js";
import type { RecordFileCompression } from "./file-bytes.js";
import { RecordFileNode, checkIndex, checkMaxRecordBytes } from "./record-file-source.js";
import { oversizedRecordError, type RecordContext, type RecordFormat, type RecordResult } from "./record-format.js";

/** Options of `Dataset.tfrecord`. */
export interface TFRecordOptions {
  /** Compression of every file (default `"none"`), as TensorFlow's `"GZIP"` / `"ZLIB"`. */
  readonly compression?: RecordFileCompression;
  /** Verify the masked CRC32C of each record's length and data (default true). */
  readonly verifyCrc?: boolean;
  /**
   * The largest record frame (data plus 16 bytes of framing) to accept, in bytes (default
   * 256 MiB, at most 2 GiB + 16). A record's length is checked as soon as its header is read,
   * before its bytes are buffered or decompressed: a longer one is a `DataLossError` naming
   * the file and the record's offset, and the rest of that file is not read.
   */
  readonly maxRecordBytes?: number;
  /**
   * Build (or reuse) an offset index of the records, kept beside each file as
   * `<file>.checkpipe-index`, so the dataset has random access (`globalShuffle`, a shuffle that
   * saves positions). Uncompressed files only. Default false.
   */
  readonly index?: boolean;
}

/** The largest `maxRecordBytes` of TFRecord: a record of {@link MAX_RECORD_BYTES} with its framing. */
const MOST_RECORD_BYTES = MAX_RECORD_BYTES + FRAME_HEADER_BYTES + FRAME_FOOTER_BYTES;

const COMPRESSIONS: readonly unknown[] = ["none", "gzip", "zlib"];

/**
 * TensorFlow's framing as a {@link RecordFormat}. A data CRC mismatch spoils only its record
 * (the length is intact, so reading goes on after it); a bad length or a truncated frame
 * spoils the rest of the file.
 */
export function tfrecordFormat(verify: boolean): RecordFormat<Uint8Array> {
  return {
    name: "TFRecord",
    decode(buffer: Uint8Array, offset: number, ctx: RecordContext): RecordResult<Uint8Array> | null {
      let frame;
      try {
        frame = decodeFrame(buffer, offset, { source: ctx.source, position: ctx.position, verify });
      } catch (error) {
        const end = intactFrameEnd(buffer, offset);
        if (end === null || !(error instanceof Error)) throw error;
        return { error, end };
      }
      if (frame !== null) return { value: new Uint8Array(frame.data), end: frame.end };
      const span = frameLength(buffer, offset); // the length is intact here (its CRC was checked when verifying)
      if (span !== null && span > ctx.maxRecordBytes) throw oversizedRecordError("TFRecord", ctx, span);
      if (!ctx.atEnd || offset === buffer.length) return null;
      throw truncatedFrameError(ctx.source, ctx.position, buffer.length - offset, frameLength(buffer, offset));
    },
  };
}

/** Where the frame at `offset` ends when its length is intact (its CRC matches) and all of it is buffered. */
function intactFrameEnd(buffer: Uint8Array, offset: number): number | null {
  const length = frameLength(buffer, offset);
  if (length === null || offset + length > buffer.length) return null;
  const stored = new DataView(buffer.buffer, buffer.byteOffset + offset + 8, 4).getUint32(0, true);
  if (stored !== maskedCrc32c(buffer.subarray(offset, offset + 8))) return null;
  return offset + length;
}

/** The whole frame's size from its header, or null when the header is incomplete or the length impossible. */
function frameLength(buffer: Uint8Array, offset: number): number | null {
  if (buffer.length - offset < FRAME_HEADER_BYTES) return null;
  const view = new DataView(buffer.buffer, buffer.byteOffset + offset, 8);
  const low = view.getUint32(0, true);
  if (view.getUint32(4, true) !== 0 || low > MAX_RECORD_BYTES) return null;
  return FRAME_HEADER_BYTES + low + FRAME_FOOTER_BYTES;
}

/**
 * The TFRecord source over `paths`, after checking the arguments.
 *
 * @throws {InvalidArgumentError} for a path that is not a non-empty string, an unknown
 *   compression or a non-boolean `verifyCrc`.
 */
export function tfrecordNode(paths: readonly unknown[], options: TFRecordOptions): RecordFileNode<Uint8Array> {
  paths.forEach((path, i) => {
    if (typeof path !== "string" || path === "") {
      throw invalidArgument(
        `Dataset.tfrecord(files)${paths.length === 1 ? "" : `[${i}]`}`,
        "a file path (a non-empty string)",
        path,
        'Pass a path, an array of paths, or a Dataset of paths, e.g. Dataset.tfrecord("data/train.tfrecord").',
      );
    }
  });
  const compression = options.compression ?? "none";
  if (!COMPRESSIONS.includes(compression)) {
    throw invalidArgument(
      "Dataset.tfrecord(files, { compression })",
      '"none", "gzip" or "zlib"',
      compression,
      'Use "gzip" for TensorFlow\'s "GZIP", "zlib" for "ZLIB", or leave it out for uncompressed files.',
    );
  }
  const verify = options.verifyCrc ?? true;
  if (typeof verify !== "boolean") {
    throw invalidArgument("Dataset.tfrecord(files, { verifyCrc })", "a boolean", verify, "Pass true (the default) or false.");
  }
  const maxRecordBytes = checkMaxRecordBytes("Dataset.tfrecord", options.maxRecordBytes, MOST_RECORD_BYTES);
  const index = checkIndex("Dataset.tfrecord", options.index, compression);
  return new RecordFileNode(paths as readonly string[], tfrecordFormat(verify), compression, maxRecordBytes, index);
}
