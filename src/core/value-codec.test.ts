import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors.js";
import type { JsonValue } from "./state.js";
import { attachBlobs, decodeValue, EncodedState, encodeValue, MAX_NESTING } from "./value-codec.js";

function roundTrip(value: unknown): unknown {
  return decodeValue(JSON.parse(JSON.stringify(encodeValue(value))) as JsonValue);
}

/** An array nested `depth` deep around 1: [[[1]]] is 3 deep. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe("element codec", () => {
  it("keeps numbers JSON cannot hold: NaN, ±Infinity and -0", () => {
    const out = roundTrip([NaN, Infinity, -Infinity, -0, 0, 1.5]) as number[];
    expect(out[0]).toBeNaN();
    expect(out[1]).toBe(Infinity);
    expect(out[2]).toBe(-Infinity);
    expect(Object.is(out[3], -0)).toBe(true);
    expect(Object.is(out[4], 0)).toBe(true);
    expect(out[5]).toBe(1.5);
  });

  it("keeps bigint, undefined, null, strings and booleans", () => {
    expect(roundTrip([12345678901234567890n, undefined, null, "x", true])).toEqual([12345678901234567890n, undefined, null, "x", true]);
  });

  it("keeps typed arrays with their type and bytes, Uint8Array included", () => {
    const values = [
      new Float32Array([1.5, NaN, -0]),
      new Float64Array([Math.PI]),
      new Int32Array([-1, 2 ** 31 - 1]),
      new Uint8Array([0, 255]),
      new BigInt64Array([-5n]),
      new Uint16Array(new Uint16Array([1, 2, 3, 4]).buffer, 2, 2),
    ];
    const out = roundTrip(values) as ArrayBufferView[];
    out.forEach((v, i) => {
      expect(v.constructor).toBe(values[i]?.constructor);
      expect(v).toEqual(values[i]);
    });
  });

  it("gives a Buffer back as a Uint8Array with the same bytes", () => {
    const out = roundTrip(Buffer.from("hi"));
    expect(out).toBeInstanceOf(Uint8Array);
    expect(Array.from(out as Uint8Array)).toEqual([104, 105]);
  });

  it("keeps Date, Map, Set, objects that use the tag key themselves, and __proto__ as an own key", () => {
    const value = { when: new Date(5), m: new Map<unknown, unknown>([[1, "a"]]), s: new Set([2n]), o: { $type: "number", value: "NaN" } };
    expect(roundTrip(value)).toEqual(value);
    const proto = roundTrip(JSON.parse('{"__proto__": {"polluted": 1}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("round-trips any JSON-like value", () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withTypedArray: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: false,
          withSparseArray: false,
          withBoxedValues: false,
        }),
        (value) => {
          expect(roundTrip(value)).toEqual(value);
        },
      ),
      { numRuns: 300, seed: 20261203 },
    );
  });

  it("refuses functions, symbols and class instances, naming where the value sits", () => {
    class Point {}
    expect(() => encodeValue({ a: [1, () => 1] })).toThrow(/Cannot save element\.a\[1\]: a saved element must be plain data .* got a function/);
    expect(() => encodeValue(Symbol("s"))).toThrow(/got a symbol/);
    expect(() => encodeValue({ p: new Point() }, "shuffle buffer[3]")).toThrow(/Cannot save shuffle buffer\[3\]\.p: .* got an instance of Point/);
    expect(() => encodeValue(() => 1)).toThrow(InvalidArgumentError);
  });
});

describe("nesting", () => {
  it(`saves and reads back values nested ${MAX_NESTING} deep`, () => {
    expect(roundTrip(nested(MAX_NESTING))).toEqual(nested(MAX_NESTING));
  });

  it(`refuses to save a value nested deeper than ${MAX_NESTING}, naming it and the limit, before the stack runs out`, () => {
    for (const depth of [MAX_NESTING + 1, 5_000, 100_000]) {
      expect(() => encodeValue({ x: nested(depth) }, "shuffle buffer[7]")).toThrow(InvalidArgumentError);
    }
    expect(() => encodeValue({ x: nested(5_000) }, "shuffle buffer[7]")).toThrow(
      /^Cannot save shuffle buffer\[7\]: it nests arrays, objects, maps or sets more than 1000 deep \(at shuffle buffer\[7\]\.x\[0\]/,
    );
  });

  it(`refuses to read a value nested deeper than ${MAX_NESTING}, as a typed error`, () => {
    let deep: JsonValue = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => decodeValue(deep)).toThrow(InvalidArgumentError);
    expect(() => attachBlobs(new EncodedState(deep, []))).toThrow(/A saved iterator state is damaged: .* nested at most 2000 deep/);
  });
});

describe("reading a damaged encoding", () => {
  const bad: [string, JsonValue, RegExp][] = [
    ["an unknown tag", { $type: "zz" }, /element\.\$type should be a known type tag; got "zz"/],
    ["a Map whose entries are not pairs", { $type: "Map", entries: 5 }, /element\.entries should be an array of \[key, value\] pairs; got 5/],
    ["a Map entry of one item", { $type: "Map", entries: [[1]] }, /element\.entries\[0\] should be a \[key, value\] pair/],
    ["a bigint that is not digits", { $type: "bigint", value: "zz" }, /element\.value should be the digits of an integer; got "zz"/],
    ["an Object without entries", { $type: "Object", entries: null }, /element\.entries should be a record; got null/],
    ["a special number that is not one", { $type: "number", value: "12" }, /element\.value should be "-0", "NaN", "Infinity" or "-Infinity"/],
    ["bytes that are not base64", { $type: "Float32Array", base64: "%%%%" }, /element\.base64 should be bytes in base64/],
    ["bytes of the wrong length", { $type: "Float32Array", base64: "AAA=" }, /should be a multiple of 4 bytes for a Float32Array; got "2 bytes"/],
    ["a missing binary part", { $type: "string", blob: 3 }, /element\.blob should be the index of one of the 0 binary parts; got 3/],
    ["a field a tag does not have", { $type: "undefined", x: 1 }, /element\.x should be absent from a "undefined" value/],
    ["a Date of no number", { $type: "Date", value: "soon" }, /element\.value should be a time in milliseconds/],
  ];
  it.each(bad)("refuses %s with an InvalidArgumentError naming the path", (_what, encoded, message) => {
    expect(() => decodeValue(encoded)).toThrow(InvalidArgumentError);
    expect(() => decodeValue(encoded)).toThrow(message);
  });

  it("names the path given, inside the value", () => {
    expect(() => decodeValue({ a: [{ $type: "zz" }] }, [], "root.buffer[3].value")).toThrow(
      /^Cannot decode a saved element: root\.buffer\[3\]\.value\.a\[0\]\.\$type should be a known type tag/,
    );
  });

  it("throws nothing but InvalidArgumentError for any JSON tree", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (tree) => {
        try {
          decodeValue(tree as JsonValue);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidArgumentError);
        }
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});
