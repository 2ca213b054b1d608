import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32c, maskCrc, maskedCrc32c } from "./crc32c.js";

const SEED = Number(process.env["FC_SEED"] ?? 20_240_611);

/** A bitwise CRC32C, slow and obviously right, to check the fast ones against. */
function referenceCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe("crc32c", () => {
  it('matches the standard check value: crc32c("123456789") = 0xe3069283', () => {
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
  });

  it("matches RFC 3720's vector: 32 zero bytes → 0x8a9136aa", () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });

  it("gives 0 for no bytes and an unsigned value always", () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });

  it("agrees with a bitwise reference on both sides of the native threshold, and on views", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 2000 }), fc.nat(16), (bytes, skip) => {
        const view = bytes.subarray(Math.min(skip, bytes.length));
        expect(crc32c(view)).toBe(referenceCrc32c(view));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe("maskCrc", () => {
  it("rotates right by 15 and adds 0xa282ead8, as TFRecord does", () => {
    expect(maskCrc(0)).toBe(0xa282ead8);
    expect(maskCrc(0xe3069283)).toBe(((((0xe3069283 >>> 15) | (0xe3069283 << 17)) >>> 0) + 0xa282ead8) >>> 0);
    expect(maskedCrc32c(new Uint8Array(8))).toBe(maskCrc(crc32c(new Uint8Array(8))));
  });

  it("masks the length of a 141-byte record as TensorFlow wrote it in the Iris fixture", () => {
    const length = new Uint8Array([0x8d, 0, 0, 0, 0, 0, 0, 0]);
    expect(maskedCrc32c(length)).toBe(0x61800f3f);
  });
});
