import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DataLossError, InvalidArgumentError, ValueError } from "../../errors.js";
import { FILE_VERSION, decodeEvent, encodeEvent, type TFEvent } from "./event-proto.js";

const SEED = Number(process.env["FC_SEED"] ?? 20_240_611);

/** Bytes from hex pairs, spaces ignored: hex("0a 04"). */
function hex(text: string): Uint8Array {
  const pairs = text.replace(/\s+/g, "").match(/../g) ?? [];
  return Uint8Array.from(pairs, (pair) => parseInt(pair, 16));
}

function utf8Hex(text: string): string {
  return Buffer.from(text, "utf8").toString("hex");
}

// Event{wall_time: 1.5, step: 300, summary{value{tag: "loss", simple_value: 0.25}}}, by hand:
//   09 <1.5 as little-endian double: 3FF8000000000000>   field 1, wire type 1 (fixed64)
//   10 AC 02                                             field 2, varint 300 = 0b10_0101100
//   2A 0D                                                field 5, 13 bytes of Summary
//     0A 0B                                              Summary.value, 11 bytes of Value
//       0A 04 6C 6F 73 73                                Value.tag = "loss"
//       15 <0.25 as little-endian float: 3E800000>       Value.simple_value, wire type 5 (fixed32)
const SCALAR_EVENT: TFEvent = { wallTime: 1.5, step: 300, summary: { value: [{ tag: "loss", simpleValue: 0.25 }] } };
const SCALAR_BYTES = "09 0000000000 00F83F  10 AC02  2A 0D  0A 0B  0A 04 6C6F7373  15 0000803E";

// Event{wall_time: 1024, file_version: "brain.Event:2"}: 1024 = 2^10 is 4090000000000000.
const VERSION_EVENT: TFEvent = { wallTime: 1024, step: 0, fileVersion: FILE_VERSION };
const VERSION_BYTES = `09 0000000000009040  1A 0D ${utf8Hex("brain.Event:2")}`;

describe("encodeEvent", () => {
  it("writes the bytes TensorFlow's protobuf code writes for a scalar summary event", () => {
    expect(encodeEvent(SCALAR_EVENT)).toEqual(hex(SCALAR_BYTES));
  });

  it("writes the bytes of the file-version event that starts every file", () => {
    expect(FILE_VERSION).toBe("brain.Event:2");
    expect(encodeEvent(VERSION_EVENT)).toEqual(hex(VERSION_BYTES));
  });

  it("writes the step as an int64 varint: above 2^31, up to 2^53 − 1, and negative in ten bytes", () => {
    expect(encodeEvent({ wallTime: 0, step: 2 ** 32 })).toEqual(hex("10 8080808010"));
    expect(encodeEvent({ wallTime: 0, step: Number.MAX_SAFE_INTEGER })).toEqual(hex("10 FFFFFFFFFFFFFF0F"));
    expect(encodeEvent({ wallTime: 0, step: -1 })).toEqual(hex("10 FFFFFFFFFFFFFFFFFF01"));
  });

  it("leaves out proto3 defaults (zero wall_time and step, empty tag) but always writes oneof members", () => {
    expect(encodeEvent({ wallTime: 0, step: 0 })).toEqual(new Uint8Array(0));
    expect(encodeEvent({ wallTime: 0, step: 0, fileVersion: "" })).toEqual(hex("1A 00"));
    expect(encodeEvent({ wallTime: 0, step: 0, summary: { value: [{ tag: "", simpleValue: 0 }] } })).toEqual(hex("2A 07 0A 05 15 00000000"));
    expect(encodeEvent({ wallTime: 0, step: 0, summary: { value: [] } })).toEqual(hex("2A 00"));
  });

  it("refuses a step a number cannot hold exactly, both oneof members, and values of the wrong type", () => {
    expect(() => encodeEvent({ wallTime: 0, step: 2 ** 53 })).toThrow(InvalidArgumentError);
    expect(() => encodeEvent({ wallTime: 0, step: 1.5 })).toThrow(
      "encodeEvent(event).step needs an integer with |step| ≤ 2⁵³ − 1 (Number.MAX_SAFE_INTEGER); got 1.5. Pass the global step as a whole number.",
    );
    expect(() => encodeEvent({ wallTime: 0, step: 0, fileVersion: FILE_VERSION, summary: { value: [] } })).toThrow(
      "encodeEvent(event) needs at most one of fileVersion and summary (a oneof); got an object. Write the file version and each summary as events of their own.",
    );
    const badValue = { wallTime: 0, step: 0, summary: { value: [{ tag: "x", simpleValue: "1" }] } } as unknown as TFEvent;
    expect(() => encodeEvent(badValue)).toThrow('encodeEvent(event).summary.value[0].simpleValue needs a number or nothing; got "1".');
  });
});

describe("decodeEvent", () => {
  it("reads back the golden bytes", () => {
    expect(decodeEvent(hex(SCALAR_BYTES))).toEqual(SCALAR_EVENT);
    expect(decodeEvent(hex(VERSION_BYTES))).toEqual(VERSION_EVENT);
    expect(decodeEvent(new Uint8Array(0))).toEqual({ wallTime: 0, step: 0 });
  });

  it("round-trips any event, scalars to float32 precision (Math.fround) and steps above 2^31 exactly", () => {
    const value = fc.record({ tag: fc.string(), simpleValue: fc.double() });
    const event = fc.record({
      wallTime: fc.double(),
      step: fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 }), fc.maxSafeInteger(), fc.constant(2 ** 53 - 1), fc.constant(2 ** 31)),
      summary: fc.record({ value: fc.array(value, { maxLength: 4 }) }),
    });
    fc.assert(
      fc.property(event, (e) => {
        const expected = { ...e, summary: { value: e.summary.value.map((v) => ({ tag: v.tag, simpleValue: Math.fround(v.simpleValue) })) } };
        expect(decodeEvent(encodeEvent(e))).toEqual(expected);
      }),
      { seed: SEED, numRuns: 300 },
    );
    expect(decodeEvent(encodeEvent({ wallTime: 0, step: 0, summary: { value: [{ tag: "x", simpleValue: 0.1 }] } })).summary?.value[0]?.simpleValue).toBe(
      Math.fround(0.1),
    );
    expect(decodeEvent(hex("10 8080808010")).step).toBe(2 ** 32);
    expect(decodeEvent(hex("10 FFFFFFFFFFFFFFFFFF01")).step).toBe(-1);
  });

  it("skips unknown fields of every wire type, groups included, and known fields of another wire type", () => {
    const value = `0A 04 6C6F7373  3A 01 6E  4A 00  78 96 01  15 0000803E`; // + node_name = 7, metadata = 9, field 15
    const summary = `10 07  0A ${(value.replace(/\s+/g, "").length / 2).toString(16).padStart(2, "0")} ${value}  1D 01020304`;
    const event =
      "09 000000000000F83F" +
      " 08 05" + // wall_time as a varint: not a double, so an unknown field
      " 78 9601" + // field 15, varint
      " 8101 0102030405060708" + // field 16, fixed64
      ` 8A01 03 ${utf8Hex("abc")}` + // field 17, length-delimited
      " 9501 01020304" + // field 18, fixed32
      " 9B01 0801 13 0802 14 9C01" + // group 19 holding a varint and a nested group 2
      " 10 AC02" +
      ` 2A ${(summary.replace(/\s+/g, "").length / 2).toString(16).padStart(2, "0")} ${summary}`;
    expect(decodeEvent(hex(event))).toEqual(SCALAR_EVENT);
  });

  it("keeps the last member of a oneof, clears it for a member it does not model, and merges repeated summaries", () => {
    const summary = hex(SCALAR_BYTES).subarray(12); // 2A 0D …
    const summaryHex = Buffer.from(summary).toString("hex");
    expect(decodeEvent(hex(`1A 01 78 ${summaryHex}`))).toEqual({ wallTime: 0, step: 0, summary: SCALAR_EVENT.summary });
    expect(decodeEvent(hex(`${summaryHex} 1A 01 78`))).toEqual({ wallTime: 0, step: 0, fileVersion: "x" });
    expect(decodeEvent(hex(`${summaryHex} 22 00`))).toEqual({ wallTime: 0, step: 0 }); // graph_def = 4
    expect(decodeEvent(hex(`${summaryHex} ${summaryHex}`)).summary?.value).toHaveLength(2);
    // Value{tag: "t", simple_value: 1, tensor (8): {}}: the tensor replaces the simple value.
    expect(decodeEvent(hex("2A 0C 0A 0A 0A 01 74 15 0000803F 42 00")).summary).toEqual({ value: [{ tag: "t" }] });
  });

  it("throws DataLossError naming the message, the byte and what was expected on malformed bytes", () => {
    const cases: Array<[string, string]> = [
      ["09 000000", "malformed Event at byte 1 of 4: expected an 8-byte double (wall_time); found 3 bytes left in the message."],
      ["10 AC", "malformed Event at byte 1 of 2: expected a varint of at most 64 bits; found the end of the message inside it."],
      ["10 FFFFFFFFFFFFFFFFFF7F", "malformed Event at byte 1 of 11: expected a varint of at most 64 bits; found a longer one."],
      ["2A 0D 0A", "malformed Event at byte 1 of 3: expected a length of at most 1 (the bytes left in the message); found 13."],
      ["8A01 05 00", "malformed Event at byte 2 of 4: expected a length of at most 1 (the bytes left in the message); found 5."],
      ["0F", "malformed Event at byte 1 of 1: expected a field of wire type 0, 1, 2, 3 or 5; found wire type 7 (field 1)."],
      ["0E", "malformed Event at byte 1 of 1: expected a field of wire type 0, 1, 2, 3 or 5; found wire type 6 (field 1)."],
      ["0C", "malformed Event at byte 1 of 1: expected a field; found the end of group 1, which was never started."],
      ["0B 0801", "malformed Event at byte 1 of 3: expected the end of group 1; found the end of the message."],
      ["00 00", "malformed Event at byte 0 of 2: expected a field key with a field number from 1 to 2²⁹ − 1; found key 0."],
      ["2A 05 0A 03 0A 01 FF", "malformed Summary.Value at byte 5 of 7: expected a string of valid UTF-8; found 1 bytes that are not."],
      ["2A 04 0A 02 15 00", "malformed Summary.Value at byte 5 of 6: expected a 4-byte float (simple_value); found 1 bytes left in the message."],
    ];
    for (const [bytes, message] of cases) {
      expect(() => decodeEvent(hex(bytes), "record 7")).toThrow(DataLossError);
      expect(() => decodeEvent(hex(bytes), "record 7")).toThrow(
        `record 7: ${message} The record is corrupt or is not a TensorFlow Event; regenerate the file.`,
      );
    }
  });

  it("either decodes or throws DataLossError for every truncation of a valid event", () => {
    const full = hex(SCALAR_BYTES);
    for (let n = 0; n < full.length; n++) {
      try {
        decodeEvent(full.subarray(0, n));
      } catch (error) {
        expect(error).toBeInstanceOf(DataLossError);
      }
    }
    expect(() => decodeEvent(full.subarray(0, full.length - 1))).toThrow(DataLossError);
  });

  it("refuses a step beyond 2^53 − 1 with ValueError rather than lose precision", () => {
    expect(() => decodeEvent(hex("10 80808080808080 10"), "record 1")).toThrow(ValueError);
    expect(() => decodeEvent(hex("10 80808080808080 10"), "record 1")).toThrow(
      "record 1: Event at byte 0: a step with |step| ≤ 2⁵³ − 1 was expected, so that a number holds it exactly; found 9007199254740992.",
    );
  });
});
