/**
 * CRC32C (Castagnoli), the checksum of TFRecord files, and TFRecord's masked form of it.
 *
 * Two packages do the work, each where it is fastest. Measured on this project's machine
 * (Node 20, x64, 2 cores; one call per buffer, warm):
 *
 * | input                 | `@node-rs/crc32` (native, SIMD) | `crc-32/crc32c` (pure JS) | `fast-crc32c` (node-gyp SSE4.2) | `@aws-crypto/crc32c` |
 * | --------------------- | ------------------------------- | ------------------------- | ------------------------------- | -------------------- |
 * | one 64 MB buffer      | 2 500–3 100 MB/s                | 330–580 MB/s              | 7 500 MB/s                      | 45–53 MB/s           |
 * | 8-byte headers        | 3.7 M/s                         | 17 M/s                    |                                 |                      |
 * | ~100-byte records     | 3.6–4.0 M/s                     | 6.0–8.8 M/s               | 2.9–3.8 M/s                     | 0.5 M/s              |
 * | 512-byte records      | 2.2 M/s                         | 1.7 M/s                   |                                 |                      |
 * | 16 KiB records        | 3 500 MB/s                      | 1 100 MB/s                |                                 |                      |
 *
 * A native call costs ~250 ns whatever its size, so the pure-JS table wins below ~400 bytes
 * (every 8-byte length header, and small records like tf.train.Examples of a few features) and
 * the native SIMD code above it. `fast-crc32c` is fastest on huge buffers but compiles C++ with
 * node-gyp at install time, which fails on machines without a toolchain; `@node-rs/crc32` ships
 * prebuilt binaries as ordinary npm packages. Should the native binary be missing on some
 * platform, everything falls back to the pure-JS table.
 *
 * @module
 */
import { createRequire } from "node:module";

type Crc32c = (data: Uint8Array, previous?: number) => number;

const require = createRequire(import.meta.url);
const crc32cJs = (require("crc-32/crc32c.js") as { buf(data: Uint8Array, previous?: number): number }).buf;
const crc32cNativeImpl = loadNative();

function loadNative(): Crc32c | null {
  try {
    return (require("@node-rs/crc32") as { crc32c: Crc32c }).crc32c;
  } catch {
    return null;
  }
}

/** Inputs this long or longer go to the native implementation (see the table above). */
const NATIVE_THRESHOLD = 384;

/** The constant TFRecord adds when masking a CRC. */
const MASK_DELTA = 0xa282ead8;

/**
 * The CRC32C (Castagnoli) checksum of `data`, as an unsigned 32-bit integer.
 *
 * @param data - The bytes to checksum.
 * @param previous - The CRC of the bytes before `data`, to checksum a sequence of buffers as
 *   one (default: none).
 * @returns A number in [0, 2³²).
 * @example
 * crc32c(new TextEncoder().encode("123456789")); // 0xe3069283
 * crc32c(tail, crc32c(head)); // the CRC of head followed by tail
 */
export function crc32c(data: Uint8Array, previous?: number): number {
  if (crc32cNativeImpl !== null && data.length >= NATIVE_THRESHOLD) return crc32cNativeImpl(data, previous);
  return crc32cJs(data, previous) >>> 0;
}

/**
 * The CRC32C of `data` by the native code whatever its size (the pure-JS table where it is
 * missing): for code that runs rarely, such as checkpoint writes, where the JS table's loop
 * would run unoptimized.
 *
 * @param data - The bytes to checksum.
 * @param previous - The CRC of the bytes before `data` (default: none).
 * @returns A number in [0, 2³²).
 * @example
 * crc32cNative(manifestBytes);
 */
export function crc32cNative(data: Uint8Array, previous?: number): number {
  if (crc32cNativeImpl !== null) return crc32cNativeImpl(data, previous);
  return crc32cJs(data, previous) >>> 0;
}

/**
 * TFRecord's masked form of a CRC: rotated right by 15 bits plus a constant, so that a CRC of
 * data that itself holds CRCs is not trivially related to them.
 *
 * @param crc - An unsigned 32-bit CRC.
 * @returns `((crc >>> 15) | (crc << 17)) + 0xa282ead8`, as an unsigned 32-bit integer.
 * @example
 * maskCrc(crc32c(bytes)); // what a TFRecord file stores after `bytes`
 */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/**
 * The masked CRC32C of `data`, as TFRecord stores it.
 *
 * @param data - The bytes to checksum.
 * @example
 * maskedCrc32c(lengthBytes); // the 4 bytes after a record's length, read as uint32 LE
 */
export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc(crc32c(data));
}
