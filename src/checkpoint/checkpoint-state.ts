/**
 * The `checkpoint` state file: which checkpoints of a directory exist and which is the latest,
 * in TensorFlow's text format, so that TensorFlow tools and users read it as they always have.
 *
 * ```
 * model_checkpoint_path: "model.ckpt-10"
 * all_model_checkpoint_paths: "model.ckpt-5"
 * all_model_checkpoint_paths: "model.ckpt-10"
 * ```
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { CheckpipeError, DataLossError, InvalidArgumentError, ValueError } from "../errors.js";
import { errnoCode, fileSystemError } from "../io/fs-errors.js";
import { readRegularFile } from "../io/regular-file.js";
import { INDEX_SUFFIX } from "./bundle.js";

/** The state of a checkpoint directory, as its state file records it. */
export interface CheckpointState {
  /** The latest checkpoint's prefix, joined to the directory. */
  readonly modelCheckpointPath: string;
  /** Every checkpoint kept, oldest first, joined to the directory. */
  readonly allModelCheckpointPaths: string[];
  /** When each of those was saved, in seconds since the epoch (empty when not recorded). */
  readonly allModelCheckpointTimestamps: number[];
  /** When the last checkpoint kept for `keepCheckpointEveryNHours` was saved, if recorded. */
  readonly lastPreservedTimestamp: number | null;
}

/** The default name of the state file. */
export const DEFAULT_STATE_FILENAME = "checkpoint";

/**
 * State files larger than this are refused unread: one listing 100 000 checkpoints has about
 * 6 MB.
 */
export const MAX_STATE_BYTES = 16 * 1024 * 1024;

/**
 * Reads the state file of a checkpoint directory.
 *
 * @param dir the checkpoint directory.
 * @param latestFilename the state file's name (default `"checkpoint"`; the input pipeline hook
 *   uses `"checkpoint_input"`).
 * @returns the state, or null when there is no state file or it cannot be parsed (with a
 *   warning saying why).
 * @throws {ValueError} when the file names no latest checkpoint ("Invalid checkpoint state").
 * @throws {InvalidArgumentError} when it names a path outside `dir`.
 * @throws {FailedPreconditionError} naming the file, when it is not a regular file (a
 *   directory, a FIFO, a socket, a device: never opened so as to block), is larger than
 *   `MAX_STATE_BYTES`, or cannot be read (permissions: EACCES; the file system's error is
 *   the `cause`).
 * @throws {DataLossError} naming the file, when the disk fails reading it (EIO).
 * @example
 * const state = await getCheckpointState("runs/a");
 * state?.modelCheckpointPath; // "runs/a/model.ckpt-200"
 */
export async function getCheckpointState(dir: string, latestFilename = DEFAULT_STATE_FILENAME): Promise<CheckpointState | null> {
  const file = join(dir, latestFilename);
  let text: string;
  try {
    text = (await readRegularFile(file, { purpose: `Reading the state file of ${dir}`, maxBytes: MAX_STATE_BYTES, what: "state file" })).toString("utf8");
  } catch (error) {
    const code = error instanceof CheckpipeError ? errnoCode(error.cause) : undefined;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw error;
  }
  let parsed: ParsedState;
  try {
    parsed = parseStateText(text);
  } catch (error) {
    process.emitWarning(`${file}: checkpoint state ignored: ${error instanceof Error ? error.message : String(error)}`, {
      code: "CHECKPIPE_CHECKPOINT_STATE",
    });
    return null;
  }
  if (parsed.modelCheckpointPath === "") {
    throw new ValueError(`Invalid checkpoint state loaded from ${dir}: ${file} names no model_checkpoint_path.`, {
      expected: 'a line model_checkpoint_path: "..."',
      received: "none",
      fix: "Delete the state file, or restore it from a backup.",
    });
  }
  const inside = (path: string): string => insideDirectory(dir, path, file);
  return {
    modelCheckpointPath: inside(parsed.modelCheckpointPath),
    allModelCheckpointPaths: parsed.allModelCheckpointPaths.map(inside),
    allModelCheckpointTimestamps: parsed.allModelCheckpointTimestamps,
    lastPreservedTimestamp: parsed.lastPreservedTimestamp,
  };
}

/**
 * The latest checkpoint of a directory: its prefix, if its files exist. When a writer's
 * retention deletes that checkpoint between the reading of the state file and the look at its
 * files, the state file is read again and its new latest checkpoint is the answer.
 *
 * @param dir the checkpoint directory.
 * @param latestFilename the state file's name (default `"checkpoint"`).
 * @returns the prefix (e.g. `"runs/a/model.ckpt-200"`), or null when there is no state file
 *   or the checkpoint it names has no `.index` file (or one that is not a regular file).
 * @throws {ValueError} / {InvalidArgumentError} as {@link getCheckpointState}.
 * @example
 * const prefix = await latestCheckpoint("runs/a");
 * if (prefix !== null) await saver.restore(prefix);
 */
export async function latestCheckpoint(dir: string, latestFilename = DEFAULT_STATE_FILENAME): Promise<string | null> {
  let state = await getCheckpointState(dir, latestFilename);
  for (let attempt = 0; state !== null; attempt++) {
    if (await isRegularFile(state.modelCheckpointPath + INDEX_SUFFIX)) return state.modelCheckpointPath;
    const now = await getCheckpointState(dir, latestFilename);
    if (attempt >= MAX_REREADS || sameCheckpointState(now, state)) return null;
    state = now;
  }
  return null;
}

/**
 * The global step a checkpoint prefix ends with (`.../model.ckpt-200` → 200), or null when it
 * ends with none.
 *
 * @param prefix a checkpoint prefix.
 * @example
 * checkpointStep("runs/a/model.ckpt-200"); // 200
 */
export function checkpointStep(prefix: string): number | null {
  const match = /-(\d+)$/.exec(prefix);
  return match === null ? null : Number(match[1]);
}

/**
 * How many times a reader reads a state file again because a writer changed it while the
 * checkpoint it named was being read: far more than a writer saving without pause makes happen.
 */
export const MAX_REREADS = 100;

/** Whether two readings of a state file say the same (so that no save came between them). */
export function sameCheckpointState(a: CheckpointState | null, b: CheckpointState | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether `path` is a regular file; false when there is none (or a directory, a FIFO...). */
async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    throw fileSystemError(error, { access: "read", doing: "checking", path });
  }
}

/**
 * Resolves a path of the state file against its directory, refusing paths that lead outside
 * it: a state file is data, and data must not send a restore to arbitrary files.
 */
function insideDirectory(dir: string, path: string, file: string): string {
  const rel = relative(resolve(dir), resolve(dir, path));
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new InvalidArgumentError(
      `${file} names the checkpoint ${JSON.stringify(path)}, which is outside ${dir}; checkpoints are read only from ` + `their own directory.`,
      {
        expected: "a checkpoint path inside the directory",
        received: JSON.stringify(path),
        fix: "If the directory was copied from elsewhere, rewrite the state file with paths relative to it.",
      },
    );
  }
  return isAbsolute(path) ? path : join(dir, path);
}

// ---------------------------------------------------------------------------------------------
// TensorFlow's text format, as `text_format.MessageToString(CheckpointState)` writes it.

interface ParsedState {
  modelCheckpointPath: string;
  allModelCheckpointPaths: string[];
  allModelCheckpointTimestamps: number[];
  lastPreservedTimestamp: number | null;
}

/** Formats a state as TensorFlow writes it: one `field: value` per line, strings C-escaped. */
export function formatStateText(state: {
  readonly modelCheckpointPath: string;
  readonly allModelCheckpointPaths: readonly string[];
  readonly allModelCheckpointTimestamps: readonly number[];
  readonly lastPreservedTimestamp: number | null;
}): string {
  const lines = [`model_checkpoint_path: ${quote(state.modelCheckpointPath)}`];
  for (const path of state.allModelCheckpointPaths) lines.push(`all_model_checkpoint_paths: ${quote(path)}`);
  for (const time of state.allModelCheckpointTimestamps) lines.push(`all_model_checkpoint_timestamps: ${formatDouble(time)}`);
  if (state.lastPreservedTimestamp !== null) lines.push(`last_preserved_timestamp: ${formatDouble(state.lastPreservedTimestamp)}`);
  return lines.join("\n") + "\n";
}

/**
 * Quotes a string as protobuf's text format does by default: UTF-8 bytes, with `\n`, `\r`,
 * `\t`, `"`, `'` and `\` escaped and every other byte outside printable ASCII in octal.
 */
function quote(text: string): string {
  if (PLAIN.test(text)) return `"${text}"`;
  let out = '"';
  for (const byte of Buffer.from(text, "utf8")) {
    const escape = ESCAPES.get(byte);
    if (escape !== undefined) out += escape;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += "\\" + byte.toString(8).padStart(3, "0");
  }
  return out + '"';
}

/** Printable ASCII but `"`, `'` and `\`: needs no escape (the common case, checked natively). */
const PLAIN = /^[\x20\x21\x23-\x26\x28-\x5b\x5d-\x7e]*$/;

const ESCAPES = new Map<number, string>([
  [0x0a, "\\n"],
  [0x0d, "\\r"],
  [0x09, "\\t"],
  [0x22, '\\"'],
  [0x27, "\\'"],
  [0x5c, "\\\\"],
]);

/** Python's `repr` of a float, which protobuf's text format uses for doubles. */
function formatDouble(value: number): string {
  return Number.isInteger(value) && Math.abs(value) < 1e16 ? value.toFixed(1) : String(value);
}

/**
 * Parses the state file's text: `field: value` pairs, strings in single or double quotes (with
 * C escapes, adjacent strings joined), numbers, and `#` comments.
 *
 * @throws {DataLossError} saying where the text stops making sense, what was expected there and
 *   what was found.
 */
export function parseStateText(text: string): ParsedState {
  const state: ParsedState = { modelCheckpointPath: "", allModelCheckpointPaths: [], allModelCheckpointTimestamps: [], lastPreservedTimestamp: null };
  const tokens = tokenize(text);
  let i = 0;
  const take = (): Token => {
    const token = tokens[i++];
    if (token === undefined)
      throw unparsable(
        'the text ends in the middle of a field; expected a field name, ":" and a value, got the end of the text',
        'a field name, ":" and a value',
        "the end of the text",
      );
    return token;
  };
  while (i < tokens.length) {
    const field = take();
    if (field.kind !== "name") throw unparsable(`line ${field.line}: expected a field name, got ${field.text}`, "a field name", field.text);
    const colon = take();
    if (colon.kind !== "colon") throw unparsable(`line ${colon.line}: expected ":" after ${field.text}, got ${colon.text}`, '":"', colon.text);
    const value = take();
    switch (field.text) {
      case "model_checkpoint_path":
        state.modelCheckpointPath = expectString(value, field.text);
        break;
      case "all_model_checkpoint_paths":
        state.allModelCheckpointPaths.push(expectString(value, field.text));
        break;
      case "all_model_checkpoint_timestamps":
        state.allModelCheckpointTimestamps.push(expectNumber(value, field.text));
        break;
      case "last_preserved_timestamp":
        state.lastPreservedTimestamp = expectNumber(value, field.text);
        break;
      default:
        throw unparsable(`line ${field.line}: unknown field ${field.text} of CheckpointState; expected one of ${FIELDS}`, `one of ${FIELDS}`, field.text);
    }
  }
  return state;
}

/** The fields of a CheckpointState, for messages. */
const FIELDS = "model_checkpoint_path, all_model_checkpoint_paths, all_model_checkpoint_timestamps, last_preserved_timestamp";

/** The error for state file text that does not parse: `problem` says where and why. */
function unparsable(problem: string, expected: string, received: string): DataLossError {
  const fix = 'Restore the state file from a backup, or rewrite it (one field per line, e.g. model_checkpoint_path: "model.ckpt-200").';
  return new DataLossError(`${problem}. The state file is damaged or not a CheckpointState. ${fix}`, { expected, received, fix });
}

type Token =
  | { readonly kind: "name" | "number"; readonly text: string; readonly line: number }
  | { readonly kind: "colon"; readonly text: ":"; readonly line: number }
  | { readonly kind: "string"; readonly text: string; readonly value: string; readonly line: number };

function expectString(token: Token, field: string): string {
  if (token.kind !== "string") throw unparsable(`line ${token.line}: ${field} needs a quoted string, got ${token.text}`, "a quoted string", token.text);
  return token.value;
}

function expectNumber(token: Token, field: string): number {
  const value = token.kind === "number" ? Number(token.text.replace(/[fF]$/, "")) : Number.NaN;
  if (Number.isNaN(value)) throw unparsable(`line ${token.line}: ${field} needs a number, got ${token.text}`, "a number", token.text);
  return value;
}

const TOKEN = /\s+|#[^\n]*|([A-Za-z_][A-Za-z0-9_]*)|(:)|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[fF]?)|("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')/gy;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (m === null) {
      const found = JSON.stringify(text.slice(at, at + 20));
      throw unparsable(
        `line ${line}: unexpected ${found}; expected a field name, ":", a number or a quoted string`,
        'a field name, ":", a number or a quoted string',
        found,
      );
    }
    const [whole, name, colon, number, string] = m;
    if (string !== undefined) {
      const value = unescape(string.slice(1, -1), line);
      const last = tokens[tokens.length - 1];
      // Adjacent strings are one string, as in C.
      if (last?.kind === "string") tokens[tokens.length - 1] = { ...last, value: last.value + value };
      else tokens.push({ kind: "string", text: string, value, line });
    } else if (number !== undefined) tokens.push({ kind: "number", text: number, line });
    else if (name !== undefined) tokens.push({ kind: "name", text: name, line });
    else if (colon !== undefined) tokens.push({ kind: "colon", text: ":", line });
    line += (whole.match(/\n/g) ?? []).length;
  }
  return tokens;
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92, "'": 39, '"': 34, "?": 63 };

/** Undoes C escapes into bytes, then reads the bytes as UTF-8. */
function unescape(body: string, line: number): string {
  const parts: Buffer[] = [];
  const ESCAPE = /\\(?:([abfnrtv\\'"?])|([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.?))/gs;
  let last = 0;
  for (const m of body.matchAll(ESCAPE)) {
    parts.push(Buffer.from(body.slice(last, m.index), "utf8"));
    last = m.index + m[0].length;
    const [, simple, octal, hex, unknown] = m;
    if (simple !== undefined) parts.push(Buffer.of(SIMPLE_ESCAPES[simple] as number));
    else if (octal !== undefined) parts.push(Buffer.of(parseInt(octal, 8) & 0xff));
    else if (hex !== undefined) parts.push(Buffer.of(parseInt(hex, 16)));
    else {
      const expected = "a C escape (\\n, \\t, \\\\, \\\", \\' and the like, octal \\NNN or hex \\xNN)";
      throw unparsable(`line ${line}: unknown escape \\${unknown ?? ""}; expected ${expected}`, expected, `\\${unknown ?? ""}`);
    }
  }
  parts.push(Buffer.from(body.slice(last), "utf8"));
  return Buffer.concat(parts).toString("utf8");
}
