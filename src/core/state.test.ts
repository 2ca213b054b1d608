import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors.js";
import { decodeValue, encodeValue, expectState, stateNumber, type JsonValue, type OpState } from "./state.js";

function roundTrip(value: unknown): unknown {
  return decodeValue(JSON.parse(JSON.stringify(encodeValue(value))) as JsonValue);
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

  it("keeps Date, Map, Set and objects that use the tag key themselves", () => {
    const value = { when: new Date(5), m: new Map<unknown, unknown>([[1, "a"]]), s: new Set([2n]), o: { $type: "number", value: "NaN" } };
    expect(roundTrip(value)).toEqual(value);
  });

  it("round-trips any JSON-like value, nested to any depth", () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withTypedArray: true, withDate: true, withMap: true, withSet: true, withNullPrototype: false, withSparseArray: false, withBoxedValues: false }), (value) => {
        expect(roundTrip(value)).toEqual(value);
      }),
      { numRuns: 300 },
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

describe("saved state checks", () => {
  const state: OpState = { kind: "Range", version: 1, index: 3 };

  it("accepts the expected op and version", () => {
    expect(expectState(state, "Range", 1)).toBe(state);
    expect(stateNumber(state, "index")).toBe(3);
  });

  it("names the expected op and the one found", () => {
    expect(() => expectState(state, "Shuffle", 1)).toThrow(
      'Cannot restore Shuffle: the saved state at this place in the pipeline is of Range, not Shuffle.',
    );
  });

  it("names both versions when the version is unknown", () => {
    expect(() => expectState({ ...state, version: 7 }, "Range", 1)).toThrow(
      "Cannot restore Range: its saved state has version 7, and this version of checkpipe reads version 1.",
    );
  });

  it("names a damaged field", () => {
    expect(() => stateNumber({ ...state, index: "3" }, "index")).toThrow('field "index" of its saved state should be an integer; got "3"');
  });
});
