/**
 * The Estimator killed in training: a child process (test/fixtures/estimator-trainer.ts) trains
 * with a CheckpointInputPipelineHook and is SIGKILLed at seeded random points, several times in
 * a row in each model directory, several directories at once; each new child resumes from what
 * the killed one left. From the children's output this process follows which model and input
 * checkpoints the saves left (with the savers' timing rules), and checks each resumed run
 * against an uninterrupted run of the input pipeline.
 *
 * What must hold is exactness relative to the input checkpoint: a resumed run reads, from its
 * first step, exactly the batches that follow the position its restored input checkpoint holds.
 * What need not hold is that this position matches the model's global step. The model saver
 * and the input hook save in the same `afterRun`, the model's first, and after a restore the
 * hook saves at the next step (TensorFlow does not reset its timer on restore) while the model
 * saver keeps its own interval; so a kill can leave the input checkpoint a save period behind
 * the model's, or one step ahead of it, and from then on the position and the global step
 * differ by what that restart restored.
 *
 * Set CHECKPIPE_CRASH_REPORT=1 to print every run.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatasetIterator } from "../src/index.js";
import { buildInput, SAVE_CHECKPOINTS_STEPS as K, type Element } from "./fixtures/estimator-trainer.js";
import { chainGenerators, LineChild } from "./kill-harness.js";

const SEED = 0xe57_c4a5;
const CHAINS = 3;
const KILLS_PER_CHAIN = 6;
const KILLS = CHAINS * KILLS_PER_CHAIN;
/** How many steps the run after the last kill of a chain trains before it ends by itself. */
const FINAL_STEPS = 5;
/** The steps a killed run is asked to train: more than it reaches before its kill. */
const MANY_STEPS = 1_000_000;
/** How far into the uninterrupted run a batch read out of place is looked for, to say where it came from. */
const SEARCH_LIMIT = 20_000;

const trainer = fileURLToPath(new URL("./fixtures/estimator-trainer.ts", import.meta.url));

/**
 * When to kill a run: `delayMs` after it was spawned (most land while it starts up), after it
 * printed its `start` line (so the kill lands while the session is created: the model saver's
 * first save, the hook's restore or first save), or after it printed `steps` step lines (so most
 * kills land in or near that step's saves).
 */
type KillPlan =
  | { readonly after: "spawn"; readonly delayMs: number }
  | { readonly after: "start"; readonly delayMs: number }
  | { readonly after: "steps"; readonly steps: number; readonly delayMs: number };

function planKill(rng: RandomGenerator): KillPlan {
  const pick = uniformInt(rng, 0, 9);
  if (pick === 0) return { after: "spawn", delayMs: uniformInt(rng, 300, 1500) };
  if (pick < 3) return { after: "start", delayMs: uniformInt(rng, 0, 30) };
  return { after: "steps", steps: uniformInt(rng, 1, 30), delayMs: uniformInt(rng, 0, 5) };
}

function describePlan(plan: KillPlan): string {
  return plan.after === "steps" ? `${plan.delayMs} ms after ${plan.steps} steps` : `${plan.delayMs} ms after ${plan.after}`;
}

/** The steps of the latest checkpoints a run found before training (null: none). */
interface Start {
  readonly model: number | null;
  readonly input: number | null;
}

/** One step line: the global step after the step, and the ids of the batch it read. */
interface StepLine {
  readonly globalStep: number;
  readonly ids: readonly number[];
}

/** One run of the trainer, from spawn to its end, and what it printed. */
class TrainerRun extends LineChild {
  start: Start | undefined = undefined;
  readonly steps: StepLine[] = [];
  /** The global steps whose `afterRun` hooks (saves included) completed. */
  readonly done = new Set<number>();

  constructor(
    readonly dir: string,
    trainSteps: number,
  ) {
    super(`the trainer in ${dir}`, trainer, [dir, String(trainSteps)]);
  }

  protected override onLine(line: string): boolean {
    const [word, a, b] = line.split(" ");
    const stepOrNull = (value: string | undefined): number | null => (value === "none" ? null : Number(value));
    if (word === "start" && b !== undefined) this.start = { model: stepOrNull(a), input: stepOrNull(b) };
    else if (word === "step" && b !== undefined) this.steps.push({ globalStep: Number(a), ids: b.split(",").map(Number) });
    else if (word === "done") this.done.add(Number(a));
    else return false;
    return true;
  }

  /** Waits as planned, kills the run with SIGKILL, and waits until it is gone. */
  async killAsPlanned(plan: KillPlan): Promise<void> {
    if (plan.after === "start") await this.until(() => this.start !== undefined, "its start line");
    if (plan.after === "steps") await this.until(() => this.steps.length >= plan.steps, `${plan.steps} steps`);
    await this.killAfter(plan.delayMs);
  }
}

/** The batches (their ids) of one uninterrupted run of the input pipeline, computed as far as asked. */
class UninterruptedRun {
  private readonly iterator: DatasetIterator<Element> = buildInput().iterator();
  private readonly batches: string[] = [];
  private pending: Promise<unknown> = Promise.resolve();

  /** The ids of batch `position` (counting from 0), joined with commas. */
  at(position: number): Promise<string> {
    return this.serially(async () => {
      await this.extendTo(position + 1);
      return this.batches[position] as string;
    });
  }

  /** The position of the batch with these ids among the first {@link SEARCH_LIMIT}, or null. */
  locate(ids: readonly number[]): Promise<number | null> {
    return this.serially(async () => {
      await this.extendTo(SEARCH_LIMIT);
      const at = this.batches.indexOf(ids.join(","));
      return at === -1 ? null : at;
    });
  }

  private async extendTo(length: number): Promise<void> {
    while (this.batches.length < length) {
      const result = await this.iterator.next();
      if (result.done === true) throw new Error(`the uninterrupted run ended after ${this.batches.length} batches`);
      this.batches.push(result.value[0].join(","));
    }
  }

  private serially<R>(call: () => Promise<R>): Promise<R> {
    const run = this.pending.then(call);
    this.pending = run.catch(() => undefined);
    return run;
  }
}

/**
 * A checkpoint a chain knows of: its step and, for an input checkpoint, the positions (batches
 * read) it may hold — one, unless a kill cut short a save that replaced a checkpoint of the same
 * step. Empty positions: unknown, after a run read something this test cannot place.
 */
interface Known {
  readonly step: number;
  readonly positions: readonly number[];
}

/** What a chain knows of one kind of checkpoint: the latest whole save, and a save a kill may have cut short. */
interface Ledger {
  latest: Known | null;
  cut: Known | null;
}

/** What one run found, read and saved, for the checks and the report. */
interface RunRecord {
  readonly label: string;
  readonly run: TrainerRun;
  /** The model step the ledger allowed the run to restore (null: none), and the input's. */
  readonly modelAllowed: readonly (number | null)[];
  readonly inputAllowed: readonly (number | null)[];
  /** The positions the restored input checkpoint may hold. */
  readonly positions: readonly number[];
  /** The position of the first batch the run read, if it read one and it was found. */
  readonly firstPosition: number | null;
  readonly problems: { readonly model: string[]; readonly input: string[]; readonly elements: string[]; readonly steps: string[] };
}

const reference = new UninterruptedRun();
const records: RunRecord[] = [];
/** Runs that failed by themselves (e.g. could not restore); each ends its chain. */
const runFailures: string[] = [];
let scratch: string | undefined;
let elapsedMs = 0;

/** Which model checkpoints a run saves: at session creation (its start step), then every K steps from there. */
function modelSavesAt(start: number, globalStep: number): boolean {
  return globalStep > start && (globalStep - start) % K === 0;
}

/**
 * Which input checkpoints a run saves after a step: with no input checkpoint it saved one at its
 * start step before the first step, then every K steps; after a restore the timer is untouched,
 * so the first step saves, then every K steps from there.
 */
function inputSavesAt(start: number, restored: boolean, globalStep: number): boolean {
  const first = restored ? start + 1 : start + K;
  return globalStep >= first && (globalStep - first) % K === 0;
}

/** The steps a ledger allows the next run to find as latest: the latest whole save, or the one cut short. */
function allowed(ledger: Ledger): (number | null)[] {
  const steps = [ledger.latest?.step ?? null];
  if (ledger.cut !== null && ledger.cut.step !== ledger.latest?.step) steps.push(ledger.cut.step);
  return steps;
}

/** The positions the checkpoint of `step` may hold, by the ledger. */
function positionsOf(ledger: Ledger, step: number | null): number[] {
  if (step === null) return [0];
  const matches = [ledger.latest, ledger.cut].filter((known): known is Known => known?.step === step);
  return [...new Set(matches.flatMap((known) => known.positions))].sort((a, b) => a - b);
}

/**
 * Checks one run against what the chain knew before it, and returns what the chain knows after
 * it: which checkpoints its saves left, by the savers' timing and the lines it printed.
 */
async function follow(label: string, run: TrainerRun, model: Ledger, input: Ledger): Promise<{ model: Ledger; input: Ledger }> {
  const problems: RunRecord["problems"] = { model: [], input: [], elements: [], steps: [] };
  const modelAllowed = allowed(model);
  const inputAllowed = allowed(input);
  const start = run.start;
  if (start === undefined) {
    // Killed before it printed its start line: it had not begun to train, so it saved nothing.
    if (run.steps.length > 0) problems.steps.push(`${label}: read before it printed its start line`);
    records.push({ label, run, modelAllowed, inputAllowed, positions: [], firstPosition: null, problems });
    return { model, input };
  }
  if (!modelAllowed.includes(start.model)) problems.model.push(`${label}: found model checkpoint ${start.model}; expected ${modelAllowed.join(" or ")}`);
  if (!inputAllowed.includes(start.input)) problems.input.push(`${label}: found input checkpoint ${start.input}; expected ${inputAllowed.join(" or ")}`);
  const positions = positionsOf(input, start.input);

  // The global step continues from the model checkpoint, one step per run.
  const startStep = start.model ?? 0;
  run.steps.forEach((line, i) => {
    if (line.globalStep !== startStep + 1 + i) problems.steps.push(`${label}: step line ${i + 1} has global step ${line.globalStep}; expected ${startStep + 1 + i}`);
  });

  // The first batch follows the restored input checkpoint exactly; every later one follows it.
  let firstPosition: number | null = null;
  const first = run.steps[0];
  if (first !== undefined) {
    const ids = first.ids.join(",");
    for (const position of positions) if ((await reference.at(position)) === ids) firstPosition = position;
    if (firstPosition === null) {
      const found = await reference.locate(first.ids);
      const where = found === null ? `not among the first ${SEARCH_LIMIT} batches` : `batch ${found}`;
      const holds = positions.length === 0 ? "an unknown position" : `position ${positions.join(" or ")}`;
      problems.elements.push(`${label}: restored input checkpoint ${start.input} (${holds}) but first read ${where} of the uninterrupted run, ids ${ids}`);
      firstPosition = found;
    }
  }
  if (firstPosition !== null) {
    for (const [i, line] of run.steps.entries()) {
      if (i === 0) continue;
      const want = await reference.at(firstPosition + i);
      if (line.ids.join(",") !== want) {
        problems.elements.push(`${label}: step ${line.globalStep} read ${line.ids.join(",")}; the uninterrupted run's batch ${firstPosition + i} is ${want}`);
        break;
      }
    }
  }
  records.push({ label, run, modelAllowed, inputAllowed, positions, firstPosition, problems });

  // What the run's saves left. A save is whole once the run went on past it; the last one it
  // began may have been cut short by the kill.
  const began = run.steps.length > 0;
  const nextModel: Ledger = { latest: start.model === null ? null : { step: start.model, positions: [] }, cut: null };
  const nextInput: Ledger = { latest: start.input === null ? null : { step: start.input, positions }, cut: null };
  // Session creation: the model saver saves at the start step; without an input checkpoint the
  // hook saves one, of the unread input, before the first step.
  nextModel[began ? "latest" : "cut"] = { step: startStep, positions: [] };
  if (start.input === null) nextInput[began ? "latest" : "cut"] = { step: startStep, positions: [0] };
  for (const [i, line] of run.steps.entries()) {
    const whole = run.done.has(line.globalStep) || i < run.steps.length - 1;
    const after = firstPosition === null ? [] : [firstPosition + i + 1];
    if (modelSavesAt(startStep, line.globalStep)) nextModel[whole ? "latest" : "cut"] = { step: line.globalStep, positions: [] };
    if (inputSavesAt(startStep, start.input !== null, line.globalStep)) nextInput[whole ? "latest" : "cut"] = { step: line.globalStep, positions: after };
  }
  return { model: nextModel, input: nextInput };
}

/** Runs and kills trainers in `dir` one after another, then one that ends by itself. */
async function killRepeatedly(dir: string, chain: number, rng: RandomGenerator): Promise<void> {
  await mkdir(dir);
  let model: Ledger = { latest: null, cut: null };
  let input: Ledger = { latest: null, cut: null };
  for (let kill = 0; kill <= KILLS_PER_CHAIN; kill++) {
    const final = kill === KILLS_PER_CHAIN;
    const plan = planKill(rng);
    const label = final ? `directory ${chain}, run after the last kill` : `directory ${chain}, run ${kill + 1} (killed ${describePlan(plan)})`;
    const run = new TrainerRun(dir, final ? FINAL_STEPS : MANY_STEPS);
    try {
      await (final ? run.endsCleanly() : run.killAsPlanned(plan));
    } catch (error) {
      runFailures.push(`${label}: ${error instanceof Error ? error.message : String(error)}`);
      run.stop();
      await run.ended;
      return;
    }
    ({ model, input } = await follow(label, run, model, input));
  }
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "checkpipe-estimator-kill-"));
  const started = performance.now();
  const rngs = chainGenerators(SEED, CHAINS);
  // Settle every chain before anything is reported, so that no trainer outlives the test.
  const chains = await Promise.allSettled(rngs.map((r, chain) => killRepeatedly(join(scratch as string, `model-${chain}`), chain, r)));
  for (const chain of chains) if (chain.status === "rejected") throw chain.reason;
  elapsedMs = performance.now() - started;
  if (process.env["CHECKPIPE_CRASH_REPORT"] === "1") printReport();
}, 120_000);

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** The runs that restored both a model and an input checkpoint, with the steps of the two. */
function restoredBoth(): { readonly label: string; readonly model: number; readonly input: number }[] {
  return records.flatMap((r) => {
    const start = r.run.start;
    return start?.model == null || start.input === null ? [] : [{ label: r.label, model: start.model, input: start.input }];
  });
}

function printReport(): void {
  const lags = new Map<number, number>();
  for (const r of restoredBoth()) lags.set(r.input - r.model, (lags.get(r.input - r.model) ?? 0) + 1);
  const lines = [
    `${records.filter((r) => !r.label.includes("after the last kill")).length} kills in ${(elapsedMs / 1000).toFixed(1)} s; ${records.reduce((n, r) => n + r.run.steps.length, 0)} steps read`,
    `  input step − model step at restore: ${[...lags].sort(([a], [b]) => a - b).map(([d, n]) => `${d}: ${n}`).join(", ")}`,
    `  restores of a checkpoint whose last save a kill may have cut short: model ${records.filter((r) => r.modelAllowed.length > 1).length}, input ${records.filter((r) => r.inputAllowed.length > 1).length}; input saves with two possible positions: ${records.filter((r) => r.positions.length > 1).length}`,
    ...records.map((r) => {
      const s = r.run.start;
      const steps = r.run.steps;
      const read = steps.length === 0 ? "read nothing" : `steps ${steps[0]?.globalStep}–${steps.at(-1)?.globalStep} read batches ${r.firstPosition}–${r.firstPosition === null ? "?" : r.firstPosition + steps.length - 1}`;
      return `  ${r.label}: ${s === undefined ? "killed before start" : `model ${s.model} (allowed ${r.modelAllowed.join("/")}), input ${s.input} (allowed ${r.inputAllowed.join("/")}, position ${r.positions.join("/")}); ${read}${steps.length > 0 && !r.run.done.has(steps.at(-1)?.globalStep ?? -1) ? ", killed in the last step's saves" : ""}`}`;
    }),
  ];
  console.info(lines.join("\n"));
}

describe("an Estimator with a CheckpointInputPipelineHook whose process is killed with SIGKILL at random steps", () => {
  it(`after each of ${KILLS} SIGKILLs the restarted Estimator restores the last model checkpoint the killed run saved (or the one it was saving), and its global step continues from it`, () => {
    expect(runFailures).toEqual([]);
    expect(records.flatMap((r) => [...r.problems.model, ...r.problems.steps])).toEqual([]);
    expect(records).toHaveLength(KILLS + CHAINS);
  });

  it("the restarted hook restores the last input checkpoint the killed run saved (or the one it was saving); it saves one at the first step without one, after a restore at the first step, then every saveCheckpointsSteps", () => {
    expect(records.flatMap((r) => r.problems.input)).toEqual([]);
  });

  it("the elements each resumed run reads continue exactly from the position of the input checkpoint it restored: none skipped, none read twice", () => {
    expect(records.flatMap((r) => r.problems.elements)).toEqual([]);
    // Not vacuous: most runs resumed from an input checkpoint and read from it.
    const resumedAndRead = records.filter((r) => r.run.start?.input != null && r.run.steps.length > 0);
    expect(resumedAndRead.length).toBeGreaterThanOrEqual(KILLS / 2);
  });

  it(`the input checkpoint a restart restores is at most one save period (${K} steps) behind the model's and at most one step ahead of it`, () => {
    const out = restoredBoth().flatMap((r) => {
      const lead = r.input - r.model;
      return lead >= -K && lead <= 1 ? [] : [`${r.label}: input checkpoint ${r.input}, model checkpoint ${r.model}`];
    });
    expect(out).toEqual([]);
    // Not vacuous: some restarts restored an input checkpoint of another step than the model's.
    expect(restoredBoth().some((r) => r.input !== r.model)).toBe(true);
  });

  it(`after the last kill, a run of ${FINAL_STEPS} steps resumes the same way and ends by itself`, () => {
    const finals = records.filter((r) => r.label.endsWith("run after the last kill"));
    expect(finals.map((r) => r.run.steps.length)).toEqual(Array.from({ length: CHAINS }, () => FINAL_STEPS));
  });
});
