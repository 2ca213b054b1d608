/**
 * The `checkpoint` state file: TensorFlow's text format both ways, and what reading it refuses.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DataLossError } from "../errors.js";
import { formatStateText, getCheckpointState, latestCheckpoint, parseStateText } from "./checkpoint-state.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-state-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const none = { allModelCheckpointTimestamps: [], lastPreservedTimestamp: null };

describe("the state file's text", () => {
  it("is written as TensorFlow's text_format writes a CheckpointState", () => {
    const text = formatStateText({ modelCheckpointPath: "model.ckpt-10", allModelCheckpointPaths: ["model.ckpt-5", "model.ckpt-10"], ...none });
    expect(text).toBe('model_checkpoint_path: "model.ckpt-10"\nall_model_checkpoint_paths: "model.ckpt-5"\nall_model_checkpoint_paths: "model.ckpt-10"\n');
  });

  it("escapes quotes, backslashes, control characters and non-ASCII bytes as TensorFlow does (octal UTF-8 bytes)", () => {
    const text = formatStateText({ modelCheckpointPath: `a"b'c\\d\ne\tf\x01é`, allModelCheckpointPaths: [], ...none });
    expect(text).toBe(`model_checkpoint_path: "a\\"b\\'c\\\\d\\ne\\tf\\001\\303\\251"\n`);
    expect(parseStateText(text).modelCheckpointPath).toBe(`a"b'c\\d\ne\tf\x01é`);
  });

  it("reads what TensorFlow writes, with timestamps, comments, single quotes, hex escapes and joined strings", () => {
    const state = parseStateText(
      [
        "# written by TensorFlow",
        "model_checkpoint_path: 'model.ckpt-\\x32' \"0\"",
        'all_model_checkpoint_paths: "model.ckpt-10"',
        'all_model_checkpoint_paths:"model.ckpt-20"',
        "all_model_checkpoint_timestamps: 1.7e9",
        "all_model_checkpoint_timestamps: 1700000001.25",
        "last_preserved_timestamp: 1699999999",
      ].join("\n"),
    );
    expect(state).toEqual({
      modelCheckpointPath: "model.ckpt-20",
      allModelCheckpointPaths: ["model.ckpt-10", "model.ckpt-20"],
      allModelCheckpointTimestamps: [1.7e9, 1700000001.25],
      lastPreservedTimestamp: 1699999999,
    });
  });

  it("round-trips any path", () => {
    for (const path of ["plain", "spaces in name", "ünïcödé/路径", "tab\tnew\nline", "😀", "\\", "'\""]) {
      const text = formatStateText({ modelCheckpointPath: path, allModelCheckpointPaths: [path], ...none });
      expect(parseStateText(text)).toEqual({ modelCheckpointPath: path, allModelCheckpointPaths: [path], ...none });
    }
  });

  it("refuses unknown fields and malformed lines, saying where", () => {
    expect(() => parseStateText('model_path: "x"')).toThrow("line 1: unknown field model_path of CheckpointState");
    expect(() => parseStateText('model_checkpoint_path "x"')).toThrow('line 1: expected ":" after model_checkpoint_path');
    expect(() => parseStateText("model_checkpoint_path: 12")).toThrow("line 1: model_checkpoint_path needs a quoted string, got 12");
    expect(() => parseStateText('\nmodel_checkpoint_path: "x\\q"')).toThrow("line 2: unknown escape \\q");
    expect(() => parseStateText("model_checkpoint_path:")).toThrow("the text ends in the middle of a field");
  });

  it("refuses text that does not parse with a DataLossError, as every checkpipe error, saying what was expected and got", () => {
    const cases: [string, RegExp][] = [
      ["lu", /^the text ends in the middle of a field; expected a field name, ":" and a value, got the end of the text\. /],
      ["~~", /^line 1: unexpected "~~"; expected a field name, ":", a number or a quoted string\. /],
      ["model_checkpoint_path: 'x\\q'", /^line 1: unknown escape \\q; expected .*octal.*\. /],
      ["last_preserved_timestamp: 'x'", /^line 1: last_preserved_timestamp needs a number, got 'x'\. /],
      ['model_checkpoint_path "x"', /^line 1: expected ":" after model_checkpoint_path, got "x"\. /],
      [": 1", /^line 1: expected a field name, got :\. /],
      ["model_path: 'x'", /^line 1: unknown field model_path of CheckpointState; expected one of model_checkpoint_path, /],
    ];
    for (const [text, message] of cases) {
      const error = (() => {
        try {
          parseStateText(text);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(error, text).toBeInstanceOf(DataLossError);
      expect((error as Error).message, text).toMatch(message);
      expect((error as Error).message, text).toContain("Restore the state file from a backup, or rewrite it");
    }
  });
});

describe("getCheckpointState", () => {
  it("returns null when the directory has no state file", async () => {
    expect(await getCheckpointState(dir)).toBeNull();
    expect(await getCheckpointState(join(dir, "missing"))).toBeNull();
  });

  it("joins relative paths to the directory and keeps absolute paths inside it", async () => {
    await writeFile(
      join(dir, "checkpoint"),
      `model_checkpoint_path: "m-2"\nall_model_checkpoint_paths: "${join(dir, "m-1")}"\nall_model_checkpoint_paths: "m-2"\n`,
    );
    expect(await getCheckpointState(dir)).toEqual({
      modelCheckpointPath: join(dir, "m-2"),
      allModelCheckpointPaths: [join(dir, "m-1"), join(dir, "m-2")],
      ...none,
    });
  });

  it("returns null with a warning when the file cannot be parsed", async () => {
    await writeFile(join(dir, "checkpoint"), "this is not a checkpoint state");
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      expect(await getCheckpointState(dir)).toBeNull();
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(`${join(dir, "checkpoint")}: checkpoint state ignored: line 1`), {
        code: "CHECKPIPE_CHECKPOINT_STATE",
      });
    } finally {
      warn.mockRestore();
    }
  });

  it('raises ValueError "Invalid checkpoint state" when no latest checkpoint is named', async () => {
    await writeFile(join(dir, "checkpoint"), 'all_model_checkpoint_paths: "m-1"\n');
    await expect(getCheckpointState(dir)).rejects.toThrow(
      expect.objectContaining({
        name: "ValueError",
        message: `Invalid checkpoint state loaded from ${dir}: ${join(dir, "checkpoint")} names no model_checkpoint_path.`,
      }) as Error,
    );
  });

  for (const path of ["../elsewhere/model.ckpt-1", "/etc/passwd", "sub/../../x", "."]) {
    it(`refuses a state file naming ${JSON.stringify(path)}, outside the checkpoint directory`, async () => {
      await writeFile(join(dir, "checkpoint"), `model_checkpoint_path: ${JSON.stringify(path)}\n`);
      await expect(getCheckpointState(dir)).rejects.toThrow(
        expect.objectContaining({
          name: "InvalidArgumentError",
          message: `${join(dir, "checkpoint")} names the checkpoint ${JSON.stringify(path)}, which is outside ${dir}; checkpoints are read only from their own directory.`,
        }) as Error,
      );
    });
  }
});

describe("latestCheckpoint", () => {
  it("returns the latest checkpoint only when its .index file exists", async () => {
    await writeFile(join(dir, "checkpoint_input"), 'model_checkpoint_path: "input.ckpt-4"\n');
    expect(await latestCheckpoint(dir, "checkpoint_input")).toBeNull();
    await writeFile(join(dir, "input.ckpt-4.index"), "{}");
    expect(await latestCheckpoint(dir, "checkpoint_input")).toBe(join(dir, "input.ckpt-4"));
    expect(await latestCheckpoint(dir)).toBeNull();
  });

  it("accepts names inside the directory that merely start with two dots", async () => {
    await writeFile(join(dir, "checkpoint"), 'model_checkpoint_path: "..ckpt-1"\n');
    await writeFile(join(dir, "..ckpt-1.index"), "{}");
    expect(await latestCheckpoint(dir)).toBe(join(dir, "..ckpt-1"));
  });
});
