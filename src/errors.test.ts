import { describe, expect, it } from "vitest";
import {
  AbortedError,
  CheckpipeError,
  DataLossError,
  ERROR_CLASSES,
  FailedPreconditionError,
  InvalidArgumentError,
  NanLossDuringTrainingError,
  NotFoundError,
  OutOfRangeError,
  RuntimeError,
  UnavailableError,
  ValueError,
  describeValue,
  invalidArgument,
} from "./errors.js";

describe("errors", () => {
  it("gives every class TensorFlow's name and a stable code", () => {
    const expected: [new (message: string) => CheckpipeError, string][] = [
      [ValueError, "VALUE_ERROR"],
      [RuntimeError, "RUNTIME_ERROR"],
      [OutOfRangeError, "OUT_OF_RANGE"],
      [AbortedError, "ABORTED"],
      [UnavailableError, "UNAVAILABLE"],
      [FailedPreconditionError, "FAILED_PRECONDITION"],
      [InvalidArgumentError, "INVALID_ARGUMENT"],
      [NotFoundError, "NOT_FOUND"],
      [DataLossError, "DATA_LOSS"],
      [NanLossDuringTrainingError, "NAN_LOSS"],
    ];
    for (const [ErrorClass, code] of expected) {
      const error = new ErrorClass("m");
      expect(error).toBeInstanceOf(CheckpipeError);
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe(code);
      expect(error.name).toBe(ErrorClass.name);
      expect(ERROR_CLASSES[code as keyof typeof ERROR_CLASSES]).toBe(ErrorClass);
    }
  });

  it("builds messages that say what was expected, what was got, and the fix", () => {
    const error = invalidArgument("batch(size)", "an integer ≥ 1", 0, "Pass how many elements to put in each batch.");
    expect(error.message).toBe("batch(size) needs an integer ≥ 1; got 0. Pass how many elements to put in each batch.");
    expect(error.expected).toBe("an integer ≥ 1");
    expect(error.received).toBe("0");
    expect(error.fix).toBe("Pass how many elements to put in each batch.");
  });

  it("keeps the cause", () => {
    const cause = new Error("disk");
    expect(new DataLossError("bad", { cause }).cause).toBe(cause);
  });

  it("describes values readably", () => {
    expect(describeValue("a")).toBe('"a"');
    expect(describeValue(-0)).toBe("-0");
    expect(describeValue(3n)).toBe("3n");
    expect(describeValue([1, 2])).toBe("an array of length 2");
    expect(describeValue(new Float32Array(2))).toBe("a Float32Array");
    expect(describeValue(new Map())).toBe("an instance of Map");
    expect(describeValue({})).toBe("an object");
    expect(describeValue(undefined)).toBe("undefined");
  });
});
