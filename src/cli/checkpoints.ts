/**
 * What `checkpipe inspect` and `checkpipe verify` report: the state files of a checkpoint
 * directory, the checkpoints each lists, and for each checkpoint whether it is whole (every
 * file there and every CRC right) and which iterator states it holds.
 *
 * @module
 */
import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DATA_SUFFIX, INDEX_SUFFIX, readBundle, readDataFileName } from "../checkpoint/bundle.js";
import { checkpointStep, getCheckpointState, type CheckpointState } from "../checkpoint/checkpoint-state.js";
import { ITERATOR_STATE_FORMAT, ITERATOR_STATE_VERSION, type JsonValue } from "../core/state.js";
import { attachBlobs, EncodedState } from "../core/value-codec.js";
import { CheckpipeError, describeValue } from "../errors.js";
import { openRegularFile, readAt } from "../io/regular-file.js";
import { opReport, type OpReport } from "./state-tree.js";

/** An iterator state found in a checkpoint. */
export interface IteratorReport {
  /** The entry's name, e.g. `"Iterator_STATE"`. */
  readonly entry: string;
  /** The pipeline that saved it, e.g. `"Range -> Shuffle(10) -> Batch(4)"`. */
  readonly pipeline: string;
  /** Its envelope's format version (this checkpipe reads {@link ITERATOR_STATE_VERSION}). */
  readonly version: number | null;
  /** The iterator's seed, from which shuffles given no seed derive theirs; null when it saved none. */
  readonly seed: number | null;
  /** Whether the iterator had reached its end. */
  readonly ended: boolean;
  /** Its ops, the one nearest the output first (null when it had ended). */
  readonly ops: OpReport | null;
}

/** One checkpoint. */
export interface CheckpointReport {
  /** Its prefix, e.g. `"runs/a/model.ckpt-200"`. */
  readonly prefix: string;
  /** The global step in its name, if any. */
  readonly step: number | null;
  /** When it was saved (ISO 8601), from the state file or else its manifest's modification time. */
  readonly time: string | null;
  /** The bytes of its manifest and data file. */
  readonly bytes: number;
  /**
   * Whether it can be restored: every file there, every CRC right, and every iterator state of an
   * envelope version this checkpipe reads.
   */
  readonly whole: boolean;
  /** What is wrong with it, when it is not whole. */
  readonly problem: string | null;
  /** The names of its entries (when whole). */
  readonly entries: readonly string[];
  /** The iterator states among them (when whole). */
  readonly iterators: readonly IteratorReport[];
}

/** One state file and the checkpoints it lists. */
export interface StateFileReport {
  /** The state file's path, e.g. `"runs/a/checkpoint_input"`. */
  readonly path: string;
  /**
   * What its checkpoints hold, read from them: `"input pipeline"` (iterator states only),
   * `"model"` (no iterator state), `"model and input pipeline"`, or null when none is readable.
   */
  readonly holds: string | null;
  /** The latest checkpoint it names. */
  readonly latest: string | null;
  /** The checkpoints it lists, oldest first. */
  readonly checkpoints: readonly CheckpointReport[];
  /** The newest whole one, null when none is. */
  readonly newestWhole: string | null;
  /** What is wrong with the state file itself, when it cannot be read. */
  readonly problem: string | null;
}

/** How far reading has come: `done` of `total` checkpoints, the one being read now. */
export type Progress = (done: number, total: number, prefix: string) => void;

const STATE_FILE_START = "model_checkpoint_path:";

/** Whether `path` is a regular file that starts as a checkpoint state file does (FIFOs and devices are never opened so as to block). */
async function looksLikeStateFile(path: string): Promise<boolean> {
  const purpose = `Looking for state files in ${dirname(path)}`;
  const file = await openRegularFile(path, { purpose }).catch(() => null);
  if (file === null) return false;
  try {
    const head = Buffer.alloc(STATE_FILE_START.length);
    const read = await readAt(file, path, head, 0, purpose).catch(() => 0);
    return head.toString("utf8", 0, read) === STATE_FILE_START;
  } finally {
    await file.handle.close();
  }
}

/** The names the library gives state files: `checkpoint`, `checkpoint_input`, `checkpoint_input_worker_0`. */
const STATE_FILE_NAME = /^checkpoint(_\w+)?$/;

/**
 * The state files of a directory, by name: every file that starts as a state file does (any
 * Saver's `latestFilename`), and the files named as the library names them even when they do
 * not (damaged ones, reported as unreadable).
 */
export async function stateFilesIn(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((name) => !/\.(index|lock)$|\.data-\d+-of-\d+|\.tmp-/.test(name)).sort();
  const found: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if ((await looksLikeStateFile(path)) || (STATE_FILE_NAME.test(name) && (await stat(path).catch(() => null))?.isFile() === true)) found.push(name);
  }
  return found;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads one checkpoint whole, checking every CRC, and describes it.
 *
 * @param prefix the checkpoint's prefix.
 * @param savedAt when the state file says it was saved (seconds since the epoch), if it says.
 */
export async function inspectCheckpoint(prefix: string, savedAt: number | null = null): Promise<CheckpointReport> {
  const index = await stat(prefix + INDEX_SUFFIX).catch(() => null);
  const dataName = await readDataFileName(prefix);
  const data = await stat(join(dirname(prefix), dataName ?? basename(prefix) + DATA_SUFFIX)).catch(() => null);
  const time = savedAt !== null ? new Date(savedAt * 1000) : index !== null ? index.mtime : null;
  const base = { prefix, step: checkpointStep(prefix), time: time === null ? null : time.toISOString(), bytes: (index?.size ?? 0) + (data?.size ?? 0) };
  try {
    const values = await readBundle(prefix);
    const iterators: IteratorReport[] = [];
    const problems: string[] = [];
    for (const [entry, value] of values) {
      const tree: unknown = value instanceof EncodedState ? attachBlobs(value) : value;
      if (typeof tree !== "object" || tree === null || (tree as { format?: unknown }).format !== ITERATOR_STATE_FORMAT) continue;
      const state = tree as { version?: JsonValue; pipeline?: JsonValue; seed?: JsonValue; ended?: JsonValue; root?: JsonValue };
      const pipeline = typeof state.pipeline === "string" ? state.pipeline : null;
      const version = typeof state.version === "number" ? state.version : null;
      if (version !== ITERATOR_STATE_VERSION) {
        problems.push(
          `Entry "${entry}" is an iterator state of envelope version ${describeValue(state.version)}; this checkpipe reads version ${ITERATOR_STATE_VERSION}. Read it with the checkpipe that saved it, or restore an older checkpoint.`,
        );
      }
      iterators.push({
        entry,
        pipeline: pipeline ?? "?",
        version,
        seed: typeof state.seed === "number" ? state.seed : null,
        ended: state.ended === true,
        ops: state.root === null || state.root === undefined ? null : opReport(state.root, pipeline),
      });
    }
    const problem = problems.length === 0 ? null : problems.join(" ");
    return { ...base, whole: problem === null, problem, entries: [...values.keys()], iterators };
  } catch (error) {
    if (!(error instanceof CheckpipeError)) throw error;
    return { ...base, whole: false, problem: message(error), entries: [], iterators: [] };
  }
}

/** What the readable ones of `checkpoints` hold: iterator states, other entries (a model's variables), or both. */
function holdsOf(checkpoints: readonly CheckpointReport[]): string | null {
  const read = checkpoints.filter((c) => c.entries.length > 0);
  if (read.length === 0) return null;
  const input = read.some((c) => c.iterators.length > 0);
  const model = read.some((c) => c.entries.length > c.iterators.length);
  return input && model ? "model and input pipeline" : input ? "input pipeline" : "model";
}

/** A state file as read: its state, or what is wrong with it. */
export type StateFileRead = { readonly state: CheckpointState; readonly problem: null } | { readonly state: null; readonly problem: string };

/** Reads the state file `name` of `dir`. */
export async function readStateFile(dir: string, name: string): Promise<StateFileRead> {
  try {
    const state = await getCheckpointState(dir, name);
    return state === null ? { state: null, problem: "it is not a readable checkpoint state file" } : { state, problem: null };
  } catch (error) {
    if (!(error instanceof CheckpipeError)) throw error;
    return { state: null, problem: message(error) };
  }
}

/** The checkpoints a state lists, oldest first, the latest last. */
export function listedCheckpoints(state: CheckpointState): string[] {
  return [...new Set([...state.allModelCheckpointPaths.filter((p) => p !== state.modelCheckpointPath), state.modelCheckpointPath])];
}

/**
 * Reads every checkpoint a state file lists (as {@link readStateFile} read it).
 *
 * @param onProgress called before each checkpoint is read, with `done` counting from `done`.
 */
export async function inspectStateFile(
  dir: string,
  name: string,
  read: StateFileRead,
  onProgress: Progress = () => {},
  done = 0,
  total = 0,
): Promise<StateFileReport> {
  const path = join(dir, name);
  const { state } = read;
  if (state === null) return { path, holds: null, latest: null, checkpoints: [], newestWhole: null, problem: read.problem };
  const paths = listedCheckpoints(state);
  const checkpoints: CheckpointReport[] = [];
  for (const [i, prefix] of paths.entries()) {
    onProgress(done + i, total || paths.length, prefix);
    const at = state.allModelCheckpointPaths.indexOf(prefix);
    checkpoints.push(await inspectCheckpoint(prefix, at >= 0 ? (state.allModelCheckpointTimestamps[at] ?? null) : null));
  }
  // The latest comes last: the newest whole one is the last whole one.
  const newestWhole = [...checkpoints].reverse().find((c) => c.whole)?.prefix ?? null;
  return { path, holds: holdsOf(checkpoints), latest: state.modelCheckpointPath, checkpoints, newestWhole, problem: null };
}
