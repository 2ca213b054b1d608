/**
 * StepCounterHook: logs and summarizes the training speed in global steps per second
 * (TensorFlow's `tf.train.StepCounterHook`, TF_REFERENCE.md §2).
 *
 * @module
 */
import { ValueError, invalidArgument } from "../../errors.js";
import { consoleLogger, type Logger } from "../logger.js";
import { SessionRunArgs, type SessionRunContext, type SessionRunHook, type SessionRunValues } from "../session-run-hook.js";
import type { SummaryWriter } from "../summary/summary-writer.js";
import type { Variable } from "../variable.js";
import { HookSummaryWriter } from "./hook-summary-writer.js";
import { requireGlobalStep } from "./require-global-step.js";
import { SecondOrStepTimer, systemClock, type Clock } from "./second-or-step-timer.js";

/** How many times a hook warns that the global step does not increase (TensorFlow's `log_first_n(..., 5)`). */
const MAX_STALL_WARNINGS = 5;

/** Options of `new StepCounterHook(options)`. */
export interface StepCounterHookOptions {
  /** Measure every this many global steps (default 100 when `everyNSecs` is not given). */
  readonly everyNSteps?: number | null | undefined;
  /** Measure every this many seconds, instead of every N steps. */
  readonly everyNSecs?: number | null | undefined;
  /** Write the rate to a TensorBoard event file in this directory (opened in `begin`, closed in `end`). */
  readonly outputDir?: string | null | undefined;
  /** Write the rate with this writer instead (flushed in `end`, never closed); wins over `outputDir`. */
  readonly summaryWriter?: SummaryWriter | null | undefined;
  /** Where the rate and warnings are logged (default the console logger). */
  readonly logger?: Logger | undefined;
  /** The time in seconds (default a monotonic clock); tests pass a fake one. */
  readonly clock?: Clock | undefined;
}

/**
 * Every N steps or seconds, computes `<global step name>/sec` (`global_step/sec`): the global
 * steps taken since the last measure divided by the seconds since then. Logs
 * `"global_step/sec: 12.5"` and, given `outputDir` or `summaryWriter`, writes it as a
 * TensorBoard scalar at the global step. The first measure only starts the clock.
 *
 * Warns (the first 5 times) when a run did not increase the global step.
 *
 * @example
 * const hooks = [new StepCounterHook({ everyNSteps: 100, outputDir: "runs/a" })];
 */
export class StepCounterHook implements SessionRunHook {
  private readonly timer: SecondOrStepTimer;
  private readonly out: HookSummaryWriter | null;
  private readonly logger: Logger;
  private globalStep: Variable<number> | null = null;
  private lastGlobalStep: number | null = null;
  private stallWarnings = 0;

  /**
   * @param options exactly one interval: `everyNSteps` (default 100, an integer ≥ 1) or
   *   `everyNSecs` (≥ 0); `outputDir` / `summaryWriter`; `logger`; `clock` (seconds).
   * @throws {ValueError} "Exactly one of every_n_steps and every_n_secs should be provided."
   *   when both are given, or `everyNSteps` is null without `everyNSecs`.
   * @throws {InvalidArgumentError} when `everyNSteps` is not an integer ≥ 1 or `everyNSecs` not a
   *   finite number ≥ 0.
   * @example
   * new StepCounterHook({ everyNSecs: 30, logger: silentLogger });
   */
  constructor(options: StepCounterHookOptions = {}) {
    const everyNSecs = options.everyNSecs ?? null;
    const everyNSteps = options.everyNSteps === undefined && everyNSecs === null ? 100 : (options.everyNSteps ?? null);
    if ((everyNSteps === null) === (everyNSecs === null)) {
      const fix = "Pass { everyNSteps } or { everyNSecs }, not both (everyNSteps defaults to 100 when everyNSecs is not given).";
      throw new ValueError(`Exactly one of every_n_steps and every_n_secs should be provided. ${fix}`, {
        expected: "one of everyNSteps and everyNSecs",
        received: everyNSteps === null ? "neither" : "both",
        fix,
      });
    }
    if (everyNSteps !== null && !(Number.isInteger(everyNSteps) && everyNSteps >= 1)) {
      throw invalidArgument("StepCounterHook({ everyNSteps })", "an integer ≥ 1", everyNSteps, "Pass a number of steps, e.g. 100.");
    }
    if (everyNSecs !== null && !(Number.isFinite(everyNSecs) && everyNSecs >= 0)) {
      throw invalidArgument("StepCounterHook({ everyNSecs })", "a finite number ≥ 0", everyNSecs, "Pass seconds, e.g. 30.");
    }
    const clock = options.clock ?? systemClock;
    this.timer = new SecondOrStepTimer(everyNSteps !== null ? { everySteps: everyNSteps } : { everySecs: everyNSecs }, clock);
    this.out = HookSummaryWriter.of(options);
    this.logger = options.logger ?? consoleLogger;
  }

  /**
   * Looks up the global step and opens the event file of `outputDir`.
   *
   * @throws {RuntimeError} "Global step should be created to use StepCounterHook."
   * @throws the errors of `SummaryWriter.open`.
   * @example
   * await hook.begin();
   */
  async begin(): Promise<void> {
    this.globalStep = requireGlobalStep("StepCounterHook");
    await this.out?.open();
  }

  /**
   * Fetches the global step.
   *
   * @param _ctx unused.
   * @example
   * hook.beforeRun(ctx); // SessionRunArgs(globalStep)
   */
  beforeRun(_ctx: SessionRunContext): SessionRunArgs {
    return new SessionRunArgs(this.step());
  }

  /**
   * When the timer triggers for the fetched global step plus one, reads the global step again
   * and, if the timer triggers for it too, logs and writes the rate since the last trigger.
   *
   * @param ctx the run's context.
   * @param values the fetched global step.
   * @throws the errors of `SummaryWriter.addScalars`.
   * @example
   * await hook.afterRun(ctx, new SessionRunValues(100));
   */
  async afterRun(ctx: SessionRunContext, values: SessionRunValues): Promise<void> {
    const stale = values.results as number;
    if (this.timer.shouldTriggerForStep(stale + 1)) {
      const globalStep = await ctx.session.run(this.step());
      if (this.timer.shouldTriggerForStep(globalStep)) {
        const [elapsedSecs, elapsedSteps] = this.timer.updateLastTriggeredStep(globalStep);
        // A clock that did not move (a coarse or fake one) gives no rate rather than Infinity.
        if (elapsedSecs !== null && elapsedSecs > 0) await this.record(elapsedSteps / elapsedSecs, globalStep);
      }
    }
    if (stale === this.lastGlobalStep && this.stallWarnings < MAX_STALL_WARNINGS) {
      this.stallWarnings += 1;
      this.logger.warn(
        `It seems that global step (getGlobalStep()) has not been increased. Current value (could be stable): ${stale} ` +
          `vs previous value: ${this.lastGlobalStep}. You could increase the global step by running assignAdd(getGlobalStep()) ` +
          "in the train op, e.g. group(update, assignAdd(getOrCreateGlobalStep())).",
      );
    }
    this.lastGlobalStep = stale;
  }

  /**
   * Closes the event file the hook opened (or flushes the `summaryWriter` it was given).
   *
   * @throws the errors of `SummaryWriter.close` / `flush`.
   * @example
   * await hook.end();
   */
  async end(): Promise<void> {
    await this.out?.end();
  }

  private async record(stepsPerSec: number, globalStep: number): Promise<void> {
    const tag = `${this.step().name}/sec`;
    await this.out?.addScalars({ [tag]: stepsPerSec }, globalStep);
    this.logger.info(`${tag}: ${formatG(stepsPerSec)}`);
  }

  private step(): Variable<number> {
    return this.globalStep ?? (this.globalStep = requireGlobalStep("StepCounterHook"));
  }
}

/**
 * A number as C's `%g` prints it: 6 significant digits, trailing zeros dropped, exponent form
 * below 1e-4 and from 1e6 on.
 *
 * @param x the number.
 * @example
 * formatG(12.5); // "12.5"
 * formatG(1234567); // "1.23457e+06"
 */
export function formatG(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return "0";
  const [mantissa = "", exponent = "0"] = x.toExponential(5).split("e");
  const exp = Number(exponent);
  const trim = (s: string): string => (s.includes(".") ? s.replace(/\.?0+$/, "") : s);
  if (exp < -4 || exp >= 6) return `${trim(mantissa)}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return trim(x.toFixed(5 - exp));
}
