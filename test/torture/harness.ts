/**
 * The preemption torture: trainers (test/torture/trainer.ts) are killed with SIGKILL at seeded
 * random instants — while they start up, restore, train and save — again and again in the same
 * directory, then left to finish; the model each chain ends with must be the one an
 * uninterrupted run ends with, in every way of training. `npm run torture` runs the long
 * version (test/torture/main.ts), `npm test` a short one (test/torture.test.ts).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";
import { chainGenerators, LineChild } from "../kill-harness.js";
import { ELEMENTS, type Mode } from "./trainer.js";

const trainer = fileURLToPath(new URL("./trainer.ts", import.meta.url));

/** What to torture, and how hard. */
export interface TortureOptions {
  readonly modes: readonly Mode[];
  /** The global step every chain trains to (a whole number of epochs). */
  readonly steps: number;
  /** Directories per mode, each killed `killsPerChain` times in a row, then left to finish. */
  readonly chainsPerMode: number;
  readonly killsPerChain: number;
  readonly seed: number;
  /** Trainers running at once. */
  readonly parallel: number;
  /** Called with a line of progress. */
  readonly progress?: (line: string) => void;
}

/** What one mode's chains did, and whether their models are right. */
export interface ModeReport {
  readonly mode: Mode;
  readonly kills: number;
  /** Runs that found a model checkpoint to restore. */
  readonly resumes: number;
  /** Kills by the moment they were planned for. */
  readonly killsByMoment: Readonly<Record<KillMoment, number>>;
  /** Chains whose finished model differs from the uninterrupted run's (hash of batches, or weights). */
  readonly drifted: number;
  /** Elements trained fewer times than in the uninterrupted run, and more times, over all chains. */
  readonly lost: number;
  readonly doubled: number;
  /** Runs that ended by themselves without finishing, with what they printed on stderr. */
  readonly failures: readonly string[];
  /** Warnings about checkpoints that could not be read or an input that resumed elsewhere than the model. */
  readonly warnings: readonly string[];
  readonly seconds: number;
}

/** The moments a kill is aimed at. */
export type KillMoment = "start-up" | "restore" | "save" | "step";

type KillPlan =
  | { readonly moment: "start-up"; readonly delayMs: number }
  | { readonly moment: "restore"; readonly delayMs: number }
  | { readonly moment: "save"; readonly saves: number; readonly delayMs: number }
  | { readonly moment: "step"; readonly steps: number; readonly delayMs: number };

function planKill(rng: RandomGenerator): KillPlan {
  const pick = uniformInt(rng, 0, 9);
  if (pick === 0) return { moment: "start-up", delayMs: uniformInt(rng, 50, 900) };
  if (pick <= 2) return { moment: "restore", delayMs: uniformInt(rng, 0, 40) };
  if (pick <= 5) return { moment: "save", saves: uniformInt(rng, 1, 3), delayMs: uniformInt(rng, 0, 4) };
  return { moment: "step", steps: uniformInt(rng, 1, 12), delayMs: uniformInt(rng, 0, 5) };
}

/** What the model of a finished run holds. */
interface Final {
  readonly step: number;
  readonly hash: string;
  readonly counts: readonly number[];
  readonly weights: string | null;
}

class TrainerRun extends LineChild {
  started = false;
  resumed = false;
  saves = 0;
  steps = 0;
  final: Final | null = null;
  readonly warnings: string[] = [];

  constructor(mode: Mode, dir: string, steps: number) {
    super(`the ${mode} trainer in ${dir}`, trainer, [mode, dir, String(steps)]);
  }

  protected override onLine(line: string): boolean {
    const [word, ...rest] = line.split(" ");
    if (word === "start") {
      this.started = true;
      this.resumed = rest[0] !== "none";
    } else if (word === "saving") this.saves++;
    else if (word === "step") this.steps++;
    else if (word === "warning") this.warnings.push(rest.join(" "));
    else if (word === "final") {
      const [step, hash, counts, weights] = rest;
      this.final = { step: Number(step), hash: hash ?? "", counts: (counts ?? "").split(",").map(Number), weights: weights ?? null };
    } else return false;
    return true;
  }

  /** Waits for the planned moment, kills the run, and waits until it is gone; false when it finished first. */
  async killAt(plan: KillPlan): Promise<boolean> {
    try {
      if (plan.moment === "restore") await this.until(() => this.started, "its start line");
      if (plan.moment === "save") await this.until(() => this.saves >= plan.saves, `its save ${plan.saves}`);
      if (plan.moment === "step") await this.until(() => this.steps >= plan.steps, `${plan.steps} steps`);
    } catch (error) {
      if (this.final !== null) return false;
      throw error;
    }
    if (this.final !== null) return false;
    await this.killAfter(plan.delayMs).catch((error: unknown) => {
      if (this.final === null) throw error;
    });
    return this.final === null;
  }
}

/** One chain: a directory killed again and again, then a run that finishes. */
interface ChainResult {
  kills: number;
  resumes: number;
  readonly moments: KillMoment[];
  final: Final | null;
  readonly failures: string[];
  readonly warnings: string[];
}

async function runChain(mode: Mode, dir: string, options: TortureOptions, rng: RandomGenerator, slots: Slots): Promise<ChainResult> {
  await mkdir(dir, { recursive: true });
  const result: ChainResult = { kills: 0, resumes: 0, moments: [], final: null, failures: [], warnings: [] };
  for (let run = 0; ; run++) {
    const last = result.kills >= options.killsPerChain;
    const plan = planKill(rng);
    const trainerRun = await slots.run(async () => {
      const child = new TrainerRun(mode, dir, options.steps);
      try {
        if (last) await child.endsCleanly();
        else if (await child.killAt(plan)) {
          result.kills++;
          result.moments.push(plan.moment);
          if (++slots.kills % 20 === 0) options.progress?.(`${slots.kills} kills so far`);
        } else await child.endsCleanly();
      } catch (error) {
        child.stop();
        await child.ended;
        result.failures.push(`${mode}, run ${run + 1} in ${dir}: ${error instanceof Error ? error.message : String(error)}`);
      }
      return child;
    });
    if (trainerRun.resumed) result.resumes++;
    result.warnings.push(...trainerRun.warnings.map((w) => `${mode}, run ${run + 1}: ${w}`));
    if (trainerRun.final !== null || result.failures.length > 0) {
      const end = trainerRun.final === null ? "failed" : `finished at step ${trainerRun.final.step}`;
      options.progress?.(`${mode} in ${dir}: ${result.kills} kills, ${result.resumes} resumes, ${end}`);
      return { ...result, final: trainerRun.final };
    }
  }
}

/** A limit on the trainers running at once; it also counts the kills, for progress. */
class Slots {
  kills = 0;
  private free: number;
  private readonly queue: (() => void)[] = [];
  constructor(count: number) {
    this.free = count;
  }
  async run<R>(call: () => Promise<R>): Promise<R> {
    if (this.free === 0) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.free--;
    try {
      return await call();
    } finally {
      const next = this.queue.shift();
      if (next === undefined) this.free++;
      else next();
    }
  }
}

/** Runs an uninterrupted trainer of `mode` in a fresh directory and returns its model. */
async function uninterrupted(mode: Mode, dir: string, steps: number, slots: Slots): Promise<Final> {
  await mkdir(dir, { recursive: true });
  const child = await slots.run(async () => {
    const run = new TrainerRun(mode, dir, steps);
    await run.endsCleanly();
    return run;
  });
  if (child.final === null) throw new Error(`the uninterrupted ${mode} trainer printed no final line`);
  return child.final;
}

/**
 * Tortures every mode: its chains and one uninterrupted run, all `parallel` trainers at a time.
 *
 * @returns one report per mode.
 */
export async function torture(options: TortureOptions): Promise<ModeReport[]> {
  const scratch = await mkdtemp(join(tmpdir(), "checkpipe-torture-"));
  const slots = new Slots(options.parallel);
  try {
    const rngs = chainGenerators(options.seed, options.modes.length * options.chainsPerMode);
    return await Promise.all(
      options.modes.map(async (mode, m) => {
        const started = performance.now();
        const reference = uninterrupted(mode, join(scratch, `${mode}-uninterrupted`), options.steps, slots);
        const chains = await Promise.all(
          Array.from({ length: options.chainsPerMode }, (_, c) =>
            runChain(mode, join(scratch, `${mode}-${c}`), options, rngs[m * options.chainsPerMode + c] as RandomGenerator, slots),
          ),
        );
        return summarize(mode, await reference, chains, (performance.now() - started) / 1000);
      }),
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function summarize(mode: Mode, want: Final, chains: readonly ChainResult[], seconds: number): ModeReport {
  const killsByMoment: Record<KillMoment, number> = { "start-up": 0, restore: 0, save: 0, step: 0 };
  let drifted = 0;
  let lost = 0;
  let doubled = 0;
  const failures: string[] = [];
  for (const chain of chains) {
    for (const moment of chain.moments) killsByMoment[moment]++;
    failures.push(...chain.failures);
    const got = chain.final;
    if (got === null) continue;
    if (got.step !== want.step || got.hash !== want.hash || got.weights !== want.weights) drifted++;
    for (let id = 0; id < ELEMENTS; id++) {
      const difference = (got.counts[id] ?? 0) - (want.counts[id] ?? 0);
      if (difference < 0) lost -= difference;
      else doubled += difference;
    }
  }
  return {
    mode,
    kills: chains.reduce((n, c) => n + c.kills, 0),
    resumes: chains.reduce((n, c) => n + c.resumes, 0),
    killsByMoment,
    drifted,
    lost,
    doubled,
    failures,
    warnings: chains.flatMap((c) => c.warnings),
    seconds,
  };
}

/** Whether a mode's chains all ended with the uninterrupted model, untouched by unreadable checkpoints. */
export function passed(report: ModeReport): boolean {
  return report.failures.length === 0 && report.drifted === 0 && report.lost === 0 && report.doubled === 0 && report.warnings.length === 0;
}

/** A report in one line, then its failures and warnings. */
export function describeReport(r: ModeReport): string {
  const moments = Object.entries(r.killsByMoment)
    .map(([moment, n]) => `${n} ${moment}`)
    .join(", ");
  const lines = [
    `${r.mode.padEnd(18)} ${String(r.kills).padStart(4)} kills (${moments}), ${r.resumes} resumes, ` +
      `${r.drifted} drifted, ${r.lost} lost and ${r.doubled} doubled elements, ${r.failures.length} failed runs, ` +
      `${r.warnings.length} unreadable checkpoints or misaligned resumes, ${r.seconds.toFixed(1)} s: ${passed(r) ? "PASS" : "FAIL"}`,
    ...r.failures.map((f) => `  failed: ${f}`),
    ...r.warnings.map((w) => `  warning: ${w}`),
  ];
  return lines.join("\n");
}
