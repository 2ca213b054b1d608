/**
 * `checkpipe inspect` and `checkpipe verify`: what they read and what they print. The argument
 * parsing is in main.ts.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { basename, dirname, relative } from "node:path";
import { INDEX_SUFFIX } from "../checkpoint/bundle.js";
import {
  inspectCheckpoint,
  inspectStateFile,
  listedCheckpoints,
  readStateFile,
  stateFilesIn,
  type CheckpointReport,
  type StateFileRead,
  type StateFileReport,
} from "./checkpoints.js";
import { bytesInWords, paintFor, progressOn, timeInWords, type OutStream, type Paint } from "./output.js";
import { treeLines } from "./state-words.js";

/** Exit codes: everything whole; a newest checkpoint damaged (or none whole); the command was used wrongly. */
export const EXIT = { OK: 0, DAMAGED: 1, USAGE: 2 } as const;

/** Where the command writes. */
export interface Io {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
}

/** A usage error: the message says what was expected and how to fix it. */
export class UsageError extends Error {}

/** What a path names: a checkpoint directory's state files, or one checkpoint. */
type Target =
  { readonly kind: "directory"; readonly dir: string; readonly names: readonly string[] } | { readonly kind: "checkpoint"; readonly prefix: string };

async function targetOf(path: string): Promise<Target> {
  const found = await stat(path).catch(() => null);
  if (found?.isDirectory() === true) {
    const names = await stateFilesIn(path);
    if (names.length === 0)
      throw new UsageError(
        `${path} holds no checkpoint state file (such as "checkpoint"). Pass a checkpoint directory, or a checkpoint's prefix such as ${path}/model.ckpt-100.`,
      );
    return { kind: "directory", dir: path, names };
  }
  if ((await stat(path + INDEX_SUFFIX).catch(() => null)) !== null) return { kind: "checkpoint", prefix: path };
  if (found !== null && path.endsWith(INDEX_SUFFIX)) return { kind: "checkpoint", prefix: path.slice(0, -INDEX_SUFFIX.length) };
  throw new UsageError(
    `${path} is neither a checkpoint directory nor a checkpoint prefix (no ${path}${INDEX_SUFFIX}). Pass a directory such as runs/a, or a prefix such as runs/a/model.ckpt-100.`,
  );
}

/** Reads what the path names, with progress on standard error. */
async function read(path: string, io: Io): Promise<{ stateFiles: StateFileReport[]; checkpoints: CheckpointReport[] }> {
  const target = await targetOf(path);
  const progress = progressOn(io.stderr);
  try {
    if (target.kind === "checkpoint") {
      progress.update(0, 1, target.prefix);
      return { stateFiles: [], checkpoints: [await inspectCheckpoint(target.prefix)] };
    }
    const reads = await Promise.all(target.names.map((name) => readStateFile(target.dir, name)));
    const total = reads.reduce((n, read) => n + (read.state === null ? 0 : listedCheckpoints(read.state).length), 0);
    const stateFiles: StateFileReport[] = [];
    let done = 0;
    for (const [i, name] of target.names.entries()) {
      const report = await inspectStateFile(target.dir, name, reads[i] as StateFileRead, progress.update, done, total);
      done += report.checkpoints.length;
      stateFiles.push(report);
    }
    return { stateFiles, checkpoints: [] };
  } finally {
    progress.end();
  }
}

const short = (prefix: string, dir: string): string => relative(dir, prefix) || basename(prefix);

function checkpointLines(c: CheckpointReport, dir: string, paint: Paint, withStates: boolean): string[] {
  const status = c.whole ? paint.good("whole") : paint.bad(`DAMAGED: ${c.problem ?? "unreadable"}`);
  const step = c.step === null ? "" : `step ${c.step}   `;
  const lines = [`  ${paint.bold(short(c.prefix, dir))}   ${step}${timeInWords(c.time)}   ${bytesInWords(c.bytes)}   ${status}`];
  if (!withStates) return lines;
  for (const it of c.iterators) {
    const seed = it.seed === null ? "" : `, iterator seed ${it.seed}`;
    lines.push(`    ${it.entry}: ${it.pipeline}${paint.dim(`${it.ended ? " (ended)" : ""}${seed}`)}`);
    if (it.ops !== null) lines.push(...treeLines(it.ops, "      "));
  }
  const others = c.entries.filter((e) => !c.iterators.some((it) => it.entry === e));
  if (others.length > 0) lines.push(paint.dim(`    other entries: ${others.join(", ")}`));
  return lines;
}

/**
 * `checkpipe inspect <dir | prefix> [--json]`: every state file of a directory and the
 * checkpoints it lists (prefix, step, time, size, whole or damaged), each iterator state as a
 * tree of ops.
 *
 * @returns the exit code: {@link EXIT}.OK, or DAMAGED when a state file's newest checkpoint is damaged.
 */
export async function inspect(path: string, options: { readonly json?: boolean }, io: Io): Promise<number> {
  const { stateFiles, checkpoints } = await read(path, io);
  const damaged = stateFiles.some((f) => f.problem !== null || f.newestWhole !== f.latest) || checkpoints.some((c) => !c.whole);
  if (options.json === true) {
    io.stdout.write(`${JSON.stringify({ path, stateFiles, checkpoints }, null, 2)}\n`);
    return damaged ? EXIT.DAMAGED : EXIT.OK;
  }
  const paint = paintFor(io.stdout);
  const lines: string[] = [];
  for (const file of stateFiles) {
    const dir = dirname(file.path);
    if (file.problem !== null) {
      lines.push(`${paint.bold(file.path)}: ${paint.bad(`unreadable: ${file.problem}`)}`, "");
      continue;
    }
    const holds = file.holds === null ? "" : ` (${file.holds})`;
    lines.push(`${paint.bold(file.path)}${holds}: ${file.checkpoints.length} checkpoint(s), latest ${file.latest === null ? "none" : short(file.latest, dir)}`);
    for (const c of file.checkpoints) lines.push(...checkpointLines(c, dir, paint, true));
    lines.push("");
  }
  for (const c of checkpoints) lines.push(...checkpointLines(c, dirname(c.prefix), paint, true));
  io.stdout.write(`${lines.join("\n").trimEnd()}\n`);
  return damaged ? EXIT.DAMAGED : EXIT.OK;
}

/**
 * `checkpipe verify <dir | prefix> [--json]`: checks every file and CRC of every checkpoint.
 *
 * @returns {@link EXIT}.OK when the newest checkpoint of every state file (or the one given) is
 *   whole, DAMAGED otherwise.
 */
export async function verify(path: string, options: { readonly json?: boolean }, io: Io): Promise<number> {
  const { stateFiles, checkpoints } = await read(path, io);
  const verdicts = [
    ...stateFiles.map((f) => ({
      stateFile: f.path,
      latest: f.latest,
      ok: f.problem === null && f.latest !== null && f.newestWhole === f.latest,
      newestWhole: f.newestWhole,
      damaged: f.checkpoints.filter((c) => !c.whole).map((c) => ({ prefix: c.prefix, problem: c.problem })),
      checked: f.checkpoints.length,
      problem: f.problem,
    })),
    ...checkpoints.map((c) => ({
      stateFile: null,
      latest: c.prefix,
      ok: c.whole,
      newestWhole: c.whole ? c.prefix : null,
      damaged: c.whole ? [] : [{ prefix: c.prefix, problem: c.problem }],
      checked: 1,
      problem: null,
    })),
  ];
  const ok = verdicts.every((v) => v.ok);
  if (options.json === true) {
    io.stdout.write(`${JSON.stringify({ path, ok, verdicts }, null, 2)}\n`);
    return ok ? EXIT.OK : EXIT.DAMAGED;
  }
  const paint = paintFor(io.stdout);
  const lines: string[] = [];
  for (const v of verdicts) {
    const where = v.stateFile ?? v.latest ?? path;
    if (v.problem !== null) {
      lines.push(`${where}: ${paint.bad(`unreadable state file: ${v.problem}`)}`);
      continue;
    }
    const dir = v.stateFile === null ? dirname(v.latest ?? ".") : dirname(v.stateFile);
    const head = v.ok
      ? `${where}: ${paint.good("whole")} — newest ${short(v.latest ?? "", dir)}, ${v.checked} checkpoint(s) checked`
      : `${where}: ${paint.bad("DAMAGED")} — newest ${v.latest === null ? "none" : short(v.latest, dir)} is not whole; newest whole: ${v.newestWhole === null ? "none" : short(v.newestWhole, dir)}`;
    lines.push(head);
    for (const d of v.damaged) lines.push(`  ${paint.bad("damaged")} ${short(d.prefix, dir)}: ${d.problem ?? "unreadable"}`);
  }
  io.stdout.write(`${lines.join("\n")}\n`);
  return ok ? EXIT.OK : EXIT.DAMAGED;
}
