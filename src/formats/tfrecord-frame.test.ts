import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DataLossError } from "../errors.js";
import { maskedCrc32c } from "./crc32c.js";
import { MAX_RECORD_BYTES, decodeFrame, encodeFrame, truncatedFrameError } from "./tfrecord-frame.js";

const SEED = Number(process.env["FC_SEED"] ?? 20_240_611);
const source = "data/train.tfrecord";

function decodeAll(buffer: Uint8Array): Uint8Array[] {
  const records: Uint8Array[] = [];
  let offset = 0;
  for (let f = decodeFrame(buffer, offset, { source, position: offset }); f !== null; f = decodeFrame(buffer, offset, { source, position: offset })) {
    records.push(f.data);
    offset = f.end;
  }
  expect(offset).toBe(buffer.length);
  return records;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe("encodeFrame", () => {
  it("writes uint64 LE length, masked CRC of the length, the data, masked CRC of the data", () => {
    const data = new TextEncoder().encode("hello");
    const frame = encodeFrame(data);
    const view = new DataView(frame.buffer);
    expect(frame.length).toBe(5 + 16);
    expect(view.getBigUint64(0, true)).toBe(5n);
    expect(view.getUint32(8, true)).toBe(maskedCrc32c(frame.subarray(0, 8)));
    expect(frame.subarray(12, 17)).toEqual(data);
    expect(view.getUint32(17, true)).toBe(maskedCrc32c(data));
  });

  it("frames an empty record in 16 bytes", () => {
    expect(decodeAll(encodeFrame(new Uint8Array(0)))).toEqual([new Uint8Array(0)]);
  });
});

describe("decodeFrame", () => {
  it("gives back every record, identical, from a buffer of many frames", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 20 }), (records) => {
        expect(decodeAll(concat(records.map(encodeFrame)))).toEqual(records);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("returns views into the buffer, not copies, and the offset past the frame", () => {
    const buffer = concat([new Uint8Array([9, 9, 9]), encodeFrame(new Uint8Array([1, 2, 3]))]);
    const f = decodeFrame(buffer, 3, { source, position: 3 });
    expect(f?.end).toBe(buffer.length);
    expect(f?.data.buffer).toBe(buffer.buffer);
    expect(f?.data.byteOffset).toBe(15);
  });

  it("returns null at every cut short of a whole frame, so the caller reads more", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (data, n) => {
        const frame = encodeFrame(data);
        const cut = n % frame.length;
        expect(decodeFrame(frame.subarray(0, cut), 0, { source, position: 0 })).toBeNull();
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("throws DataLossError naming the file and the record's byte offset for any corrupted byte, never wrong data", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(5000), (data, n, flip, position) => {
        const frame = encodeFrame(data);
        const i = n % frame.length;
        frame[i] = frame[i]! ^ flip;
        let error: unknown;
        try {
          decodeFrame(frame, 0, { source, position });
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(DataLossError);
        expect((error as Error).message).toContain(`"${source}", record at byte ${position}`);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("names what was expected and found on a data CRC mismatch, and the fix", () => {
    const frame = encodeFrame(new Uint8Array([1, 2, 3]));
    frame[13] = 7;
    expect(() => decodeFrame(frame, 0, { source, position: 1024 })).toThrowError(
      /^TFRecord file "data\/train.tfrecord", record at byte 1024: the masked CRC32C of its data should be 0x[0-9a-f]{8} \(as stored in the file\); found 0x[0-9a-f]{8}\. .*regenerate it, or skip bad records with ignoreErrors\(\)\.$/,
    );
  });

  it("skips CRC checks when verify is false", () => {
    const frame = encodeFrame(new Uint8Array([1, 2, 3]));
    frame[13] = 7;
    expect(decodeFrame(frame, 0, { source, position: 0, verify: false })?.data).toEqual(new Uint8Array([1, 7, 3]));
  });

  it("refuses a length beyond 2 GiB as DataLoss before allocating", () => {
    const header = new Uint8Array(12);
    const view = new DataView(header.buffer);
    view.setBigUint64(0, BigInt(MAX_RECORD_BYTES) + 1n, true);
    view.setUint32(8, maskedCrc32c(header.subarray(0, 8)), true);
    expect(() => decodeFrame(header, 0, { source, position: 0 })).toThrowError(DataLossError);
    expect(() => decodeFrame(header, 0, { source, position: 0 })).toThrowError(/at most 2147483648 bytes \(2 GiB\) was expected; found 2147483649/);
  });
});

describe("truncatedFrameError", () => {
  it("names the file, the offset, and what the file lacks", () => {
    const e = truncatedFrameError(source, 2048, 30, 157);
    expect(e).toBeInstanceOf(DataLossError);
    expect(e.code).toBe("DATA_LOSS");
    expect(e.message).toBe(
      'TFRecord file "data/train.tfrecord", record at byte 2048: the file ends inside a record; expected a 157-byte record, ' +
        "found 30 bytes. The file is truncated (was it still being written, or cut short by a copy?); regenerate it, " +
        "or skip the incomplete record with ignoreErrors().",
    );
    expect(truncatedFrameError(source, 0, 5, null).expected).toBe("a 12-byte record header");
  });
});
