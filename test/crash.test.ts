/**
 * Crash safety of the Saver: a child process saving a checkpoint at every step
 * (test/fixtures/checkpoint-writer.ts) is killed with SIGKILL at seeded random instants, in
 * several directories at once, each new child resuming from what the killed one left. After
 * every kill this process restores the latest checkpoint and checks it against the pure
 * functions of its step, including the iterator, against an uninterrupted run of the pipeline.
 *
 * Set CHECKPIPE_CRASH_REPORT=1 to print where the kills landed (which phase of a save).
 */
import { mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getCheckpointState, latestCheckpoint, Saver } from "../src/index.js";
import { takeN } from "./harness.js";
import { chainGenerators, LineChild } from "./kill-harness.js";
import {
  buildPipeline,
  CHECKPOINT_BASENAME,
  counterAt,
  MAX_TO_KEEP,
  payloadAt,
  stepOf,
  treeAt,
  weightsAt,
  WriterModel,
} from "./fixtures/checkpoint-writer.js";

const SEED = 0x5eed_c4a5;
const DIRECTORIES = 4;
const KILLS_PER_DIRECTORY = 13;
const KILLS = DIRECTORIES * KILLS_PER_DIRECTORY;
/** The step a writer starts at when its directory has no checkpoint. */
const FIRST_STEP = 1;
/** How many batches of a restored iterator are compared with the uninterrupted run. */
const CONTINUATION = 3;

const writer = fileURLToPath(new URL("./fixtures/checkpoint-writer.ts", import.meta.url));

/** `<final name>.tmp-<pid>-<hex>`, as src/io/atomic-file.ts names its temporary files. */
const TEMPORARY = /^(.+)\.tmp-(\d+)-[0-9a-f]{8}$/;
const PREFIX = CHECKPOINT_BASENAME.replaceAll(".", "\\.");
const INDEX = new RegExp(`^${PREFIX}-(\\d+)\\.index$`);
const DATA = new RegExp(`^${PREFIX}-(\\d+)\\.data-00000-of-00001$`);

/**
 * When to kill a writer: `delayMs` after it was spawned (so some kills land before it saved
 * anything, or while it restores), after it printed `resumed` (so the kill lands in its first
 * save, which also cleans up), or after it printed its first `saved` line.
 */
interface KillPlan {
  readonly after: "spawn" | "resumed" | "first save";
  readonly delayMs: number;
}

function planKill(rng: RandomGenerator): KillPlan {
  const pick = uniformInt(rng, 0, 12);
  if (pick < 2) return { after: "spawn", delayMs: uniformInt(rng, 100, 1500) };
  if (pick < 5) return { after: "resumed", delayMs: uniformInt(rng, 0, 40) };
  return { after: "first save", delayMs: uniformInt(rng, 5, 150) };
}

/** One run of the writer, from spawn to SIGKILL, and what it printed. */
class WriterRun extends LineChild {
  /** The step it resumed from (null: none), or undefined before it said. */
  resumed: number | null | undefined = undefined;
  /** The steps it printed as saved, in order. */
  readonly saved: number[] = [];
  /** Milliseconds from spawn to its `resumed` line (null: killed before). */
  startupMs: number | null = null;
  /** The temporary files of other processes in the directory just after its first save. */
  straysAfterFirstSave: Promise<string[]> | null = null;

  constructor(readonly dir: string) {
    super(`the writer in ${dir}`, writer, [dir, String(FIRST_STEP)]);
  }

  protected override onLine(line: string): boolean {
    const [word, value] = line.split(" ");
    if (word === "resumed") {
      this.resumed = value === "none" ? null : Number(value);
      this.startupMs = performance.now() - this.spawnedAt;
    } else if (word === "saved") {
      this.saved.push(Number(value));
      if (this.saved.length === 1) this.straysAfterFirstSave = straysOf(this.dir, this.pid);
    } else return false;
    return true;
  }

  /** Waits as planned, kills the writer with SIGKILL, and waits until it is gone. */
  async killAsPlanned(plan: KillPlan): Promise<void> {
    if (plan.after === "resumed") await this.until(() => this.resumed !== undefined, "its resumed line");
    if (plan.after === "first save") await this.until(() => this.saved.length > 0, "its first save");
    await this.killAfter(plan.delayMs);
  }
}

/** The temporary files in `dir` that a process other than `pid` wrote. */
async function straysOf(dir: string, pid: number): Promise<string[]> {
  return (await readdir(dir)).filter((name) => {
    const match = TEMPORARY.exec(name);
    return match !== null && Number(match[2]) !== pid;
  });
}

/** The batches of one uninterrupted run of the pipeline, computed as far as asked. */
class UninterruptedRun {
  private readonly iterator = buildPipeline().iterator();
  private readonly batches: number[][] = [];
  private pending: Promise<unknown> = Promise.resolve();

  /** Batches `from` to `from + count - 1` (counting from 0). */
  slice(from: number, count: number): Promise<number[][]> {
    const run = this.pending.then(async () => {
      if (this.batches.length < from + count) this.batches.push(...(await takeN(this.iterator, from + count - this.batches.length)));
      return this.batches.slice(from, from + count);
    });
    this.pending = run.catch(() => undefined);
    return run;
  }
}

/** Where a kill landed, as the files it left show. */
type Phase =
  | "before any save"
  | "writing a data file"
  | "between data and index"
  | "writing an index"
  | "between index and state file"
  | "writing the state file"
  | "after the state file, before an old checkpoint was deleted"
  | "between saves";

/**
 * The checkpoints on disk (with an index or a data file) that the state file does not list,
 * by where their steps lie: newer than the latest, between the listed ones, or older.
 */
interface Unlisted {
  readonly newer: number[];
  readonly between: number[];
  readonly older: number[];
}

/** What one kill left and what restoring it showed. */
interface KillRecord {
  readonly label: string;
  readonly plan: KillPlan;
  readonly run: WriterRun;
  /** The step of the latest checkpoint before the writer ran (null: none). */
  readonly before: number | null;
  /** Whether any writer of this directory had printed a saved step, this one included. */
  readonly anySaved: boolean;
  readonly latest: string | null;
  readonly phase: Phase;
  /** What was wrong with the restored checkpoint; empty when it holds the values of its step. */
  readonly restoreProblems: string[];
  /** The checkpoints the state file names whose files are missing. */
  readonly missingListed: string[];
  /** The steps of the checkpoints on disk with an index, and of the data files on disk. */
  readonly indexSteps: number[];
  readonly dataSteps: number[];
  readonly listedSteps: number[];
  readonly unlisted: Unlisted;
  /** The old checkpoints left on disk by this kill: unlisted, older, and not there before. */
  readonly newlyOrphaned: number[];
  readonly strays: string[];
  /** Milliseconds this process spent checking what the kill left. */
  readonly checkMs: number;
}

const reference = new UninterruptedRun();
const records: KillRecord[] = [];
/** Writers that failed by themselves (e.g. could not restore); each ends its directory's chain. */
const writerFailures: string[] = [];
const warnings: string[] = [];
let scratch: string;
let elapsedMs = 0;

function onWarning(warning: Error): void {
  warnings.push(`${warning.name}: ${warning.message}`);
}

/** Compares two typed arrays byte for byte; describes the first difference. */
function differenceOf(name: string, got: ArrayBufferView, want: ArrayBufferView): string | null {
  const a = Buffer.from(got.buffer, got.byteOffset, got.byteLength);
  const b = Buffer.from(want.buffer, want.byteOffset, want.byteLength);
  if (got.constructor !== want.constructor) return `${name} is a ${got.constructor.name}, not a ${want.constructor.name}`;
  if (a.byteLength !== b.byteLength) return `${name} has ${a.byteLength} bytes, not ${b.byteLength}`;
  const at = a.findIndex((byte, i) => byte !== b[i]);
  return at === -1 ? null : `${name} differs at byte ${at}`;
}

/** JSON with bigints shown as `123n`: enough to compare and show the values saved here. */
function show(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
}

function unequal(name: string, got: unknown, want: unknown): string | null {
  return show(got) === show(want) ? null : `${name} is ${show(got)}, not ${show(want)}`;
}

/**
 * Restores `prefix` into a fresh model (as a restarted process would) and lists every way in
 * which it differs from the values of its step and from the uninterrupted run's batches.
 */
async function restoreProblems(dir: string, prefix: string): Promise<string[]> {
  const step = stepOf(prefix);
  const model = new WriterModel();
  try {
    await new Saver(model.saveables).restore(prefix);
  } catch (error) {
    return [`restore failed: ${String(error)}`];
  }
  const [last, ...next] = await reference.slice(step - 1, 1 + CONTINUATION);
  const continuation = await takeN(model.iterator, CONTINUATION);
  const problems = [
    differenceOf("weights", model.weights, weightsAt(step)),
    unequal("counter", model.counter, counterAt(step)),
    unequal("tree", model.tree, treeAt(step)),
    unequal("payload step", model.payload.step, step),
    differenceOf("payload values", model.payload.values, payloadAt(step).values),
    unequal("the last batch pulled before the save", model.lastBatch, last),
    unequal(`the ${CONTINUATION} batches after restore`, continuation, next),
  ].filter((p): p is string => p !== null);

  const other = new WriterModel();
  const restored = await new Saver(other.saveables).restoreLatest(dir);
  if (restored?.path !== prefix || restored.skipped.length > 0) {
    problems.push(`restoreLatest restored ${restored?.path ?? "nothing"}, skipping ${JSON.stringify(restored?.skipped ?? [])}`);
  }
  return problems;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function stepsMatching(names: readonly string[], pattern: RegExp): number[] {
  const steps = names.flatMap((name) => {
    const match = pattern.exec(name);
    return match === null ? [] : [Number(match[1])];
  });
  return steps.sort((a, b) => a - b);
}

/** Reads where a kill landed from the files the killed writer `pid` left in `dir`. */
function phaseOf(names: readonly string[], pid: number, latest: number | null, unlisted: Unlisted, newlyOrphaned: readonly number[]): Phase {
  for (const name of names) {
    const match = TEMPORARY.exec(name);
    if (match === null || Number(match[2]) !== pid) continue;
    const final = match[1] as string;
    if (final === "checkpoint") return "writing the state file";
    if (final.endsWith(".index")) return "writing an index";
    return "writing a data file";
  }
  const newer = unlisted.newer[0];
  if (newer !== undefined) return names.some((name) => INDEX.exec(name)?.[1] === String(newer)) ? "between index and state file" : "between data and index";
  if (newlyOrphaned.length > 0) return "after the state file, before an old checkpoint was deleted";
  return latest === null ? "before any save" : "between saves";
}

function unlistedOf(onDisk: readonly number[], listed: readonly number[], latest: number | null): Unlisted {
  const unlisted = [...new Set(onDisk)].filter((step) => !listed.includes(step)).sort((a, b) => a - b);
  const oldest = listed[0] ?? Number.POSITIVE_INFINITY;
  const newest = latest ?? FIRST_STEP - 1;
  return {
    newer: unlisted.filter((step) => step > newest),
    between: unlisted.filter((step) => step >= oldest && step <= newest),
    older: unlisted.filter((step) => step < oldest && step <= newest),
  };
}

/**
 * Runs and kills writers in `dir` one after another, recording what each kill left. A writer
 * that fails by itself, or a directory this process cannot read, ends the chain as a failure.
 */
async function killRepeatedly(dir: string, chain: number, rng: RandomGenerator): Promise<void> {
  await mkdir(dir);
  let anySaved = false;
  let before: number | null = null;
  let orphaned: number[] = [];
  for (let kill = 0; kill < KILLS_PER_DIRECTORY; kill++) {
    const plan = planKill(rng);
    const run = new WriterRun(dir);
    try {
      await run.killAsPlanned(plan);
    } catch (error) {
      writerFailures.push(`directory ${chain}, kill ${kill + 1}: ${error instanceof Error ? error.message : String(error)}`);
      run.stop();
      await run.ended;
      return;
    }
    try {
      ({ before, orphaned, anySaved } = await inspect(dir, chain, kill, plan, run, { before, orphaned, anySaved }));
    } catch (error) {
      writerFailures.push(`directory ${chain}, kill ${kill + 1}: inspecting ${dir} failed: ${error instanceof Error ? error.stack : String(error)}`);
      return;
    }
  }
}

interface ChainState {
  readonly before: number | null;
  readonly orphaned: number[];
  readonly anySaved: boolean;
}

/** Records what the kill of `run` left in `dir`; returns the chain's state for the next kill. */
async function inspect(dir: string, chain: number, kill: number, plan: KillPlan, run: WriterRun, previous: ChainState): Promise<ChainState> {
  const { before, orphaned } = previous;
  const strays = (await run.straysAfterFirstSave) ?? [];
  const checkStarted = performance.now();
  const anySaved = previous.anySaved || run.saved.length > 0;

  const latest = await latestCheckpoint(dir);
  const state = await getCheckpointState(dir);
  const listed = state === null ? [] : [state.modelCheckpointPath, ...state.allModelCheckpointPaths];
  const missingListed: string[] = [];
  for (const prefix of new Set(listed)) {
    for (const suffix of [".index", ".data-00000-of-00001"]) {
      if (!(await exists(prefix + suffix))) missingListed.push(prefix + suffix);
    }
  }
  const names = await readdir(dir);
  const indexSteps = stepsMatching(names, INDEX);
  const dataSteps = stepsMatching(names, DATA);
  const listedSteps = (state?.allModelCheckpointPaths ?? []).map(stepOf);
  const latestStep = latest === null ? null : stepOf(latest);
  const unlisted = unlistedOf([...indexSteps, ...dataSteps], listedSteps, latestStep);
  const newlyOrphaned = unlisted.older.filter((step) => !orphaned.includes(step));
  records.push({
    label: `directory ${chain}, kill ${kill + 1} (${plan.delayMs} ms after ${plan.after}, pid ${run.pid})`,
    plan,
    run,
    before,
    anySaved,
    latest,
    phase: phaseOf(names, run.pid, latestStep, unlisted, newlyOrphaned),
    restoreProblems: latest === null ? [] : await restoreProblems(dir, latest),
    missingListed,
    indexSteps,
    dataSteps,
    listedSteps,
    unlisted,
    newlyOrphaned,
    strays,
    checkMs: performance.now() - checkStarted,
  });
  return { before: latestStep, orphaned: unlisted.older, anySaved };
}

beforeAll(async () => {
  process.on("warning", onWarning);
  scratch = await mkdtemp(join(tmpdir(), "checkpipe-crash-"));
  const started = performance.now();
  const rngs = chainGenerators(SEED, DIRECTORIES);
  // Settle every chain before anything is reported, so that no writer outlives the test.
  const chains = await Promise.allSettled(rngs.map((r, chain) => killRepeatedly(join(scratch, `run-${chain}`), chain, r)));
  for (const chain of chains) if (chain.status === "rejected") throw chain.reason;
  elapsedMs = performance.now() - started;
  if (process.env["CHECKPIPE_CRASH_REPORT"] === "1") printReport();
}, 180_000);

afterAll(async () => {
  process.off("warning", onWarning);
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

function mean(values: readonly number[]): number {
  return Math.round(values.reduce((sum, v) => sum + v, 0) / Math.max(values.length, 1));
}

function printReport(): void {
  const phases = new Map<string, number>();
  for (const r of records) phases.set(r.phase, (phases.get(r.phase) ?? 0) + 1);
  const lines = [
    `${records.length} kills in ${(elapsedMs / 1000).toFixed(1)} s; ${records.reduce((n, r) => n + r.run.saved.length, 0)} saves printed`,
    ...[...phases].map(([phase, n]) => `  ${phase}: ${n}`),
    `  temporary files of killed writers found after the kill: ${records.filter((r) => r.phase.startsWith("writing")).length}`,
    `  most index files on disk: ${Math.max(...records.map((r) => r.indexSteps.length))}, data files: ${Math.max(...records.map((r) => r.dataSteps.length))}`,
    `  mean startup to the resumed line: ${mean(records.flatMap((r) => (r.run.startupMs === null ? [] : [r.run.startupMs])))} ms; mean check after a kill: ${mean(records.map((r) => r.checkMs))} ms`,
    `  old checkpoints orphaned by kills: ${records.reduce((n, r) => n + r.newlyOrphaned.length, 0)}`,
    ...records.map((r) => `  ${r.label}: before ${r.before}, resumed ${r.run.resumed}, saved [${r.run.saved.join(",")}], latest ${r.latest === null ? null : stepOf(r.latest)}, index [${r.indexSteps.join(",")}], data [${r.dataSteps.join(",")}] — ${r.phase}`),
  ];
  console.info(lines.join("\n"));
}

describe("a checkpoint directory whose writer is killed with SIGKILL at random instants", () => {
  it(`after each of ${KILLS} SIGKILLs at random instants, the latest checkpoint restores the values saved at its step`, () => {
    const problems = records.flatMap((r) => {
      const out = r.restoreProblems.map((p) => `${r.label}: ${p}`);
      if (r.latest === null && (r.anySaved || r.before !== null)) out.push(`${r.label}: no latest checkpoint, though a save completed`);
      if (r.latest === null) return out;
      // The state file is written before the save returns, and the step printed right after:
      // the latest is the last step printed, or the next one if the kill came in between.
      const floor = r.run.saved.at(-1) ?? r.before;
      const allowed = floor === null ? [FIRST_STEP] : [floor, floor + 1];
      if (!allowed.includes(stepOf(r.latest))) out.push(`${r.latest} is the latest; expected step ${allowed.join(" or ")}`);
      return out;
    });
    expect([...problems, ...writerFailures]).toEqual([]);
    expect(warnings).toEqual([]);
    expect(records).toHaveLength(KILLS);
  });

  it("a writer restarted after a SIGKILL resumes at the step after the latest checkpoint and saves every step from there", () => {
    const problems = records.flatMap((r) => {
      const { resumed, saved } = r.run;
      if (resumed === undefined) return saved.length === 0 ? [] : [`${r.label}: saved before it said where it resumed`];
      const out = resumed === r.before ? [] : [`${r.label}: resumed from ${resumed}; the latest checkpoint was ${r.before}`];
      const first = resumed === null ? FIRST_STEP : resumed + 1;
      const expected = saved.map((_, i) => first + i);
      if (unequal("saved", saved, expected) !== null) out.push(`${r.label}: saved steps ${saved.join(",")}; expected ${expected.join(",")}`);
      return out;
    });
    expect(problems).toEqual([]);
    // Not vacuous: every writer killed after its first save resumed from a checkpoint and saved
    // (all but the first in each directory), and the seed plans many such kills.
    const resumedAndSaved = records.filter((r) => typeof r.run.resumed === "number" && r.run.saved.length > 0);
    expect(resumedAndSaved.length).toBeGreaterThanOrEqual(records.filter((r) => r.plan.after === "first save" && r.before !== null).length);
    expect(resumedAndSaved.length).toBeGreaterThanOrEqual(KILLS / 3);
  });

  it("the state file names only checkpoints whose index and data files exist", () => {
    expect(records.flatMap((r) => r.missingListed.map((path) => `${r.label}: ${path}`))).toEqual([]);
  });

  it("the first save of a restarted writer removes the temporary files the killed one left", () => {
    expect(records.flatMap((r) => r.strays.map((name) => `${r.label}: ${name}`))).toEqual([]);
    // Some kills did leave temporary files, so the check above is not vacuous.
    expect(records.filter((r) => r.phase.startsWith("writing")).length).toBeGreaterThan(0);
  });

  // A kill after the state file is replaced and before the checkpoint it dropped is deleted
  // leaves that checkpoint on disk for good: no later state file lists it, so no Saver deletes
  // it (as with TensorFlow's Saver). What is pinned here is that each kill orphans at most one.
  it(`lists at most ${MAX_TO_KEEP} checkpoints; a kill leaves on disk beyond them only the save under way and at most one old checkpoint it was deleting`, () => {
    const problems = records.flatMap((r) => {
      const out: string[] = [];
      const latest = r.latest === null ? FIRST_STEP - 1 : stepOf(r.latest);
      if (r.listedSteps.length > MAX_TO_KEEP) out.push(`the state file lists ${r.listedSteps.join(",")}`);
      if (r.unlisted.newer.some((step) => step !== latest + 1)) out.push(`unlisted checkpoints ${r.unlisted.newer.join(",")} are newer than the latest, ${latest}`);
      if (r.unlisted.between.length > 0) out.push(`checkpoints ${r.unlisted.between.join(",")} are on disk among the listed ${r.listedSteps.join(",")} but not listed`);
      if (r.newlyOrphaned.length > 1) out.push(`old checkpoints ${r.newlyOrphaned.join(",")} were left behind by one kill`);
      return out.map((p) => `${r.label}: ${p}`);
    });
    expect(problems).toEqual([]);
  });
});
