import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DataLossError, InvalidArgumentError } from "../errors.js";
import { parseExample, serializeExample, type ExampleRecord } from "./example.js";

const SEED = Number(process.env["FC_SEED"] ?? 20_240_611);
const bytesOf = (...b: number[]): Uint8Array => new Uint8Array(b);
const utf8 = (s: string): number[] => [...new TextEncoder().encode(s)];

/** Example{features{feature{key: name, value: <feature bytes>}}} built by hand. */
function exampleWith(entries: [string, number[]][]): Uint8Array {
  const features: number[] = [];
  for (const [name, feature] of entries) {
    const entry = [0x0a, name.length, ...utf8(name), 0x12, feature.length, ...feature];
    features.push(0x0a, entry.length, ...entry);
  }
  return new Uint8Array([0x0a, features.length, ...features]);
}

describe("serializeExample", () => {
  it("writes the bytes TensorFlow's protobuf code writes: packed lists, entries key then value", () => {
    // tf.train.Example(features=tf.train.Features(feature={"x": Feature(float_list=FloatList(value=[1.0]))}))
    expect(serializeExample({ x: [1] })).toEqual(bytesOf(0x0a, 0x0f, 0x0a, 0x0d, 0x0a, 0x01, 0x78, 0x12, 0x08, 0x12, 0x06, 0x0a, 0x04, 0, 0, 0x80, 0x3f));
    // int64_list value=[1, -1]: packed, -1 as ten bytes
    expect(serializeExample({ n: [1n, -1n] })).toEqual(
      bytesOf(0x0a, 0x16, 0x0a, 0x14, 0x0a, 0x01, 0x6e, 0x12, 0x0f, 0x1a, 0x0d, 0x0a, 0x0b, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
    );
    // bytes_list value=[b"ab", b""]
    expect(serializeExample({ s: ["ab", ""] })).toEqual(
      bytesOf(0x0a, 0x0f, 0x0a, 0x0d, 0x0a, 0x01, 0x73, 0x12, 0x08, 0x0a, 0x06, 0x0a, 0x02, 0x61, 0x62, 0x0a, 0x00),
    );
  });

  it("writes an empty record as an Example with empty Features, and [] as a Feature with no list", () => {
    expect(serializeExample({})).toEqual(bytesOf(0x0a, 0x00));
    expect(parseExample(serializeExample({ e: [] }))).toEqual({ e: [] });
    expect(parseExample(serializeExample({ f: new Float32Array(0) }))).toEqual({ f: [] });
  });

  it("round-trips random records through parseExample", () => {
    const feature = fc.oneof(
      fc.array(fc.float({ noDefaultInfinity: false }), { minLength: 1, maxLength: 8 }).map((v) => v.map(Math.fround)),
      fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.uint8Array({ maxLength: 20 }), { minLength: 1, maxLength: 4 }),
    );
    const name = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !/^\d+$/.test(k) && k !== "__proto__");
    fc.assert(
      fc.property(fc.dictionary(name, feature, { maxKeys: 6 }), (record) => {
        const parsed = parseExample(serializeExample(record as ExampleRecord));
        expect(parsed).toEqual(record);
        expect(Object.keys(parsed)).toEqual(Object.keys(record));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("accepts typed arrays and strings, and what parseExample with a spec returns", () => {
    const bytes = serializeExample({ f: new Float32Array([0.5, 2]), i: new BigInt64Array([-3n]), s: ["héllo"] });
    expect(parseExample(bytes)).toEqual({ f: [0.5, 2], i: [-3n], s: [new TextEncoder().encode("héllo")] });
  });

  it("rejects values of other types, naming the feature, with expected / got / fix", () => {
    expect(() => serializeExample({ x: 1 } as never)).toThrowError(InvalidArgumentError);
    expect(() => serializeExample({ x: 1 } as never)).toThrowError(
      'serializeExample: feature "x" needs number[] or Float32Array (float_list), bigint[] or BigInt64Array (int64_list), ' +
        "string[] or Uint8Array[] (bytes_list); got 1. Wrap single values in an array, e.g. [1.5]; write int64 values as bigints (3n).",
    );
    expect(() => serializeExample({ m: [1, 2n] } as never)).toThrowError(/feature "m" needs values of one type \(all numbers, like the first\); got 2n/);
    expect(() => serializeExample({ big: [2n ** 64n] })).toThrowError(/feature "big" needs int64 values/);
    expect(() => serializeExample(null as never)).toThrowError(InvalidArgumentError);
  });
});

describe("parseExample without a spec", () => {
  it("reads unpacked floats and int64s as well as packed ones", () => {
    const unpackedFloats = [0x12, 0x0a, 0x0d, 0, 0, 0x80, 0x3f, 0x0d, 0, 0, 0, 0x40]; // float_list{value: 1, value: 2}
    const unpackedInts = [0x1a, 0x0d, 0x08, 0x05, 0x08, ...[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]]; // int64_list{value: 5, value: -2}
    expect(
      parseExample(
        exampleWith([
          ["f", unpackedFloats],
          ["i", unpackedInts],
        ]),
      ),
    ).toEqual({ f: [1, 2], i: [5n, -2n] });
  });

  it("merges as protobuf does: later entry with the same key wins; lists of one kind concatenate", () => {
    const twoLists = [0x12, 0x06, 0x0a, 0x04, 0, 0, 0x80, 0x3f, 0x12, 0x06, 0x0a, 0x04, 0, 0, 0, 0x40];
    const bytes = exampleWith([
      ["a", [0x1a, 0x03, 0x0a, 0x01, 0x07]],
      ["b", twoLists],
      ["a", [0x1a, 0x03, 0x0a, 0x01, 0x09]],
    ]);
    expect(parseExample(bytes)).toEqual({ a: [9n], b: [1, 2] });
  });

  it("skips unknown fields", () => {
    const withUnknown = [0x12, 0x08, 0x0a, 0x04, 0, 0, 0x80, 0x3f, 0x10, 0x07]; // float_list{value: 1, <field 2 varint 7>}
    expect(parseExample(exampleWith([["f", [...withUnknown, 0x28, 0x01]]]))).toEqual({ f: [1] });
    expect(parseExample(new Uint8Array([0x10, 0x05, ...exampleWith([["g", []]])]))).toEqual({ g: [] });
    const lenUnknown = [0x12, 0x0a, 0x12, 0x02, 0xaa, 0xbb, 0x0a, 0x04, 0, 0, 0x80, 0x3f]; // float_list{<field 2: 2 bytes>, value: 1}
    expect(parseExample(new Uint8Array([0x1a, 0x02, 0xaa, 0xbb, ...exampleWith([["f", lenUnknown]])]))).toEqual({ f: [1] });
    expect(parseExample(exampleWith([["f", lenUnknown]]), { f: { kind: "fixed", dtype: "float32", shape: [1] } })).toEqual({ f: new Float32Array([1]) });
  });

  it("reads an empty buffer as an Example without features", () => {
    expect(parseExample(new Uint8Array(0))).toEqual({});
  });

  it("throws DataLossError naming the byte offset and feature on malformed bytes", () => {
    const bad = exampleWith([["f", [0x12, 0x05, 0x0a, 0x03, 1, 2, 3]]]); // packed floats of 3 bytes
    expect(() => parseExample(bad)).toThrowError(DataLossError);
    expect(() => parseExample(bad)).toThrowError(
      /^parseExample: malformed tf.train.Example at byte 12 of 16 \(feature "f"\): expected a packed float list whose length is a multiple of 4; found 3 bytes\. /,
    );
    expect(() => parseExample(new Uint8Array([0x0a, 0x20, 0x0a]))).toThrowError(/at byte 1 of 3: expected a length of at most 1 .*; found 32/);
    expect(() => parseExample(exampleWith([["f", [0x12, 0x02, 0x0b, 0x00]]]))).toThrowError(
      /feature "f"\): expected a list value of wire type 2 \(packed\) or 5; found wire type 3/,
    );
  });

  it("never throws anything but DataLossError, whatever the bytes", () => {
    const tf = serializeExample({ a: [1.5, 2], b: [3n, -4n], c: ["xyz"] });
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(), (n, flip, cut) => {
        const bytes = tf.slice(0, tf.length - (cut % 4));
        bytes[n % bytes.length] = bytes[n % bytes.length]! ^ flip;
        try {
          parseExample(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(DataLossError);
        }
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});

describe("parseExample with a spec", () => {
  const record = serializeExample({ x: [1, 2, 3, 4], n: [7n], s: ["a", "b"], raw: [bytesOf(0xff)], extra: [0] });

  it("returns typed values per dtype, only for the features in the spec", () => {
    const out = parseExample(record, {
      x: { kind: "fixed", dtype: "float32", shape: [2, 2] },
      n: { kind: "fixed", dtype: "int64", shape: [] },
      s: { kind: "var", dtype: "string" },
      raw: { kind: "fixed", dtype: "bytes", shape: [1] },
    });
    expect(out).toEqual({ x: new Float32Array([1, 2, 3, 4]), n: new BigInt64Array([7n]), s: ["a", "b"], raw: [bytesOf(0xff)] });
    const x: Float32Array = out.x;
    expect(x).toBeInstanceOf(Float32Array);
  });

  it("fills a missing fixed feature from its default, a scalar broadcast to the shape", () => {
    const out = parseExample(record, {
      y: { kind: "fixed", dtype: "float32", shape: [3], default: 0.5 },
      m: { kind: "fixed", dtype: "int64", shape: [2], default: [1, 2n] },
      t: { kind: "fixed", dtype: "string", shape: [], default: "none" },
      v: { kind: "var", dtype: "int64" },
    });
    expect(out).toEqual({ y: new Float32Array([0.5, 0.5, 0.5]), m: new BigInt64Array([1n, 2n]), t: ["none"], v: new BigInt64Array(0) });
  });

  it("names a missing feature that has no default", () => {
    expect(() => parseExample(record, { label: { kind: "fixed", dtype: "int64", shape: [1] } })).toThrowError(
      'parseExample: feature "label" (int64, shape [1]) is required but the record does not have it; it has "x", "n", "s", "raw", "extra". ' +
        'Give the spec a default for records that lack it, or read it as { kind: "var", dtype: "int64" }.',
    );
  });

  it("names the feature, expected and found count when the shape does not match", () => {
    expect(() => parseExample(record, { x: { kind: "fixed", dtype: "float32", shape: [3] } })).toThrowError(
      'parseExample: feature "x" should have 3 values (shape [3]); the record has 4. Give the spec the shape the data has, ' +
        'or read it as { kind: "var", dtype: "float32" }.',
    );
  });

  it("names the feature and both list types when the dtype does not match", () => {
    expect(() => parseExample(record, { n: { kind: "var", dtype: "float32" } })).toThrowError(
      'parseExample: feature "n" is specified as float32, which needs a float_list; the record has an int64_list. Change the spec\'s dtype to "int64".',
    );
  });

  it("rejects a malformed spec with expected / got / fix", () => {
    expect(() => parseExample(record, { x: { kind: "fixed", dtype: "float64", shape: [4] } as never })).toThrowError(
      'parseExample spec for feature "x", dtype needs one of "float32", "int64", "string", "bytes"; got "float64". Pick the type of the feature\'s values.',
    );
    expect(() => parseExample(record, { x: { kind: "fixed", dtype: "float32", shape: [-1] } })).toThrowError(/shape needs an array of integers ≥ 0/);
    expect(() => parseExample(record, { y: { kind: "fixed", dtype: "float32", shape: [2], default: [1, 2, 3] } })).toThrowError(
      /default needs one value or 2 \(the shape's size\); got an array of length 3/,
    );
  });

  it("refuses a shape with more elements than any record holds, before filling a default that no array could hold", () => {
    for (const [dtype, shape, fallback] of [
      ["float32", [1e6, 1e6], 0],
      ["string", [1e6, 1e6], "s"],
      ["int64", [2 ** 53, 2], 1n],
      ["bytes", [1e300, 1e300], bytesOf()],
      ["float32", [2 ** 31 + 1], 0],
    ] as const) {
      const spec = { y: { kind: "fixed", dtype, shape, default: fallback } } as never;
      expect(() => parseExample(record, spec), `${dtype} ${JSON.stringify(shape)}`).toThrowError(InvalidArgumentError);
    }
    expect(() => parseExample(record, { y: { kind: "fixed", dtype: "float32", shape: [1e6, 1e6], default: 0 } })).toThrowError(
      'parseExample spec for feature "y", shape [1000000, 1000000] has 1000000000000 elements; a fixed feature has at most 2147483648 ' +
        "(no record holds more values: a TFRecord record has at most 2 GiB). Give the spec the shape the data has, " +
        'or read the feature as { kind: "var", dtype: "float32" }.',
    );
    expect(parseExample(record, { y: { kind: "fixed", dtype: "float32", shape: [0, 1e300], default: 0 } }).y).toEqual(new Float32Array(0));
  });

  it("refuses invalid UTF-8 for dtype string, pointing to bytes", () => {
    expect(() => parseExample(record, { raw: { kind: "var", dtype: "string" } })).toThrowError(/not valid UTF-8\. Read binary values with dtype "bytes"\./);
  });
});
