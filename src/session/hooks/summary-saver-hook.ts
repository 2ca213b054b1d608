/**
 * SummarySaverHook: writes scalar tensors to a TensorBoard event file every N steps or seconds
 * (TensorFlow's `tf.train.SummarySaverHook`, for scalar summaries).
 *
 * @module
 */
import { ValueError, invalidArgument } from "../../errors.js";
import type { Logger } from "../logger.js";
import { SessionRunArgs, type SessionRunContext, type SessionRunHook, type SessionRunValues } from "../session-run-hook.js";
import type { SummaryWriter } from "../summary/summary-writer.js";
import { Tensor } from "../tensor.js";
import type { Variable } from "../variable.js";
import { HookSummaryWriter } from "./hook-summary-writer.js";
import { requireGlobalStep } from "./require-global-step.js";
import { SecondOrStepTimer, systemClock, type Clock } from "./second-or-step-timer.js";

/** Options of `new SummarySaverHook(options)`. */
export interface SummarySaverHookOptions {
  /** Write every this many global steps (an integer ≥ 1); exactly one of this and `saveSecs`. */
  readonly saveSteps?: number | null | undefined;
  /** Write every this many seconds. */
  readonly saveSecs?: number | null | undefined;
  /** Write to a TensorBoard event file in this directory (opened in `begin`, closed in `end`). */
  readonly outputDir?: string | null | undefined;
  /** Write with this writer instead (flushed in `end`, never closed); wins over `outputDir`. */
  readonly summaryWriter?: SummaryWriter | null | undefined;
  /** Tag → scalar tensor to evaluate and write, e.g. `{ loss }`. */
  readonly scalars: Readonly<Record<string, Tensor<number>>>;
  /** Accepted for symmetry with the other hooks; this hook logs nothing. */
  readonly logger?: Logger | undefined;
  /** The time in seconds (default a monotonic clock); tests pass a fake one. */
  readonly clock?: Clock | undefined;
}

/** What the hook fetches: the global step, plus the scalars in a run that writes. */
type Request = { readonly globalStep: Variable<number>; readonly scalars?: Readonly<Record<string, Tensor<number>>> };

/**
 * Evaluates `scalars` in the first run and then every `saveSteps` global steps or `saveSecs`
 * seconds, and writes them, as one event, at the global step the run reached. The tensors are
 * fetched only in the runs that write (so a tensor with an effect, e.g. a streaming metric's
 * update, runs only then).
 *
 * @example
 * const hook = new SummarySaverHook({ saveSteps: 100, outputDir: "runs/a", scalars: { loss } });
 */
export class SummarySaverHook implements SessionRunHook {
  private readonly timer: SecondOrStepTimer;
  private readonly out: HookSummaryWriter;
  private readonly scalars: Readonly<Record<string, Tensor<number>>>;
  private globalStep: Variable<number> | null = null;
  /** The global step the next run will reach, or null before the first run. */
  private nextStep: number | null = null;
  private requestSummary = false;

  /**
   * @param options exactly one of `saveSteps` and `saveSecs`; `outputDir` or `summaryWriter`;
   *   `scalars`; `clock` (seconds).
   * @throws {ValueError} "Either everySecs or everySteps should be provided." / "Can not
   *   provide both everySecs and everySteps." (the timer's wording) for the intervals; and
   *   when neither `outputDir` nor `summaryWriter` is given.
   * @throws {InvalidArgumentError} when `scalars` is not a record of Tensors, `saveSteps` not an
   *   integer ≥ 1 or `saveSecs` not a finite number ≥ 0.
   * @example
   * new SummarySaverHook({ saveSecs: 60, summaryWriter: writer, scalars: { loss, accuracy } });
   */
  constructor(options: SummarySaverHookOptions) {
    const saveSteps = options.saveSteps ?? null;
    const saveSecs = options.saveSecs ?? null;
    if ((saveSteps === null) === (saveSecs === null)) {
      const neither = saveSteps === null;
      const fix = neither ? "Pass { saveSteps: 100 } or { saveSecs: 60 }." : "Pass only one of saveSteps and saveSecs.";
      const message = neither ? "Either everySecs or everySteps should be provided." : "Can not provide both everySecs and everySteps.";
      throw new ValueError(`${message} ${fix}`, { expected: "one of saveSteps and saveSecs", received: neither ? "neither" : "both", fix });
    }
    if (saveSteps !== null && !(Number.isInteger(saveSteps) && saveSteps >= 1)) {
      throw invalidArgument("SummarySaverHook({ saveSteps })", "an integer ≥ 1", saveSteps, "Pass a number of steps, e.g. 100.");
    }
    if (saveSecs !== null && !(Number.isFinite(saveSecs) && saveSecs >= 0)) {
      throw invalidArgument("SummarySaverHook({ saveSecs })", "a finite number ≥ 0", saveSecs, "Pass seconds, e.g. 60.");
    }
    const out = HookSummaryWriter.of(options);
    if (out === null) {
      const fix = 'Pass { outputDir: "runs/a" } (a directory for the event file) or { summaryWriter } (an open SummaryWriter).';
      throw new ValueError(`SummarySaverHook needs outputDir or summaryWriter: where to write the summaries; got neither. ${fix}`, {
        expected: "outputDir or summaryWriter",
        received: "neither",
        fix,
      });
    }
    this.out = out;
    this.scalars = checkScalars(options.scalars);
    this.timer = new SecondOrStepTimer({ everySteps: saveSteps, everySecs: saveSecs }, options.clock ?? systemClock);
  }

  /**
   * Looks up the global step, opens the event file of `outputDir`, and writes again at the
   * next run.
   *
   * @throws {RuntimeError} "Global step should be created to use SummarySaverHook."
   * @throws the errors of `SummaryWriter.open`.
   * @example
   * await hook.begin();
   */
  async begin(): Promise<void> {
    this.globalStep = requireGlobalStep("SummarySaverHook");
    this.nextStep = null;
    await this.out.open();
  }

  /**
   * Fetches the global step, and the scalars when this run writes.
   *
   * @param _ctx unused.
   * @example
   * hook.beforeRun(ctx); // SessionRunArgs({ globalStep, scalars })
   */
  beforeRun(_ctx: SessionRunContext): SessionRunArgs<Request> {
    this.requestSummary = this.nextStep === null || this.timer.shouldTriggerForStep(this.nextStep);
    const globalStep = this.step();
    return new SessionRunArgs<Request>(this.requestSummary ? { globalStep, scalars: this.scalars } : { globalStep });
  }

  /**
   * Writes the fetched scalars at the global step, when this run wrote.
   *
   * Our runs read fetched tensors after the run's operations, so the fetched global step is the
   * step this run reached (TensorFlow reads it before and adds 1); it is read again before
   * writing, as TensorFlow does.
   *
   * @param ctx the run's context.
   * @param values the fetched `{ globalStep, scalars? }`.
   * @throws the errors of `SummaryWriter.addScalars`, e.g. for a value that is not a number.
   * @example
   * await hook.afterRun(ctx, new SessionRunValues({ globalStep: 1, scalars: { loss: 0.5 } }));
   */
  async afterRun(ctx: SessionRunContext, values: SessionRunValues): Promise<void> {
    const results = values.results as { globalStep: number; scalars?: Record<string, number> };
    let globalStep = results.globalStep;
    if (this.requestSummary) {
      globalStep = await ctx.session.run(this.step());
      this.timer.updateLastTriggeredStep(globalStep);
      if (results.scalars !== undefined && Object.keys(results.scalars).length > 0) await this.out.addScalars(results.scalars, globalStep);
    }
    this.nextStep = globalStep + 1;
  }

  /**
   * Flushes the event file, and closes it when the hook opened it.
   *
   * @throws the errors of `SummaryWriter.flush` / `close`.
   * @example
   * await hook.end();
   */
  async end(): Promise<void> {
    await this.out.end();
  }

  private step(): Variable<number> {
    return this.globalStep ?? (this.globalStep = requireGlobalStep("SummarySaverHook"));
  }
}

function checkScalars(scalars: unknown): Readonly<Record<string, Tensor<number>>> {
  const fix = "Pass a record of tag → scalar tensor, e.g. { scalars: { loss } }.";
  if (scalars === null || typeof scalars !== "object" || Array.isArray(scalars)) {
    throw invalidArgument("SummarySaverHook({ scalars })", "a record of tag → Tensor", scalars, fix);
  }
  for (const [tag, tensor] of Object.entries(scalars)) {
    if (!(tensor instanceof Tensor)) throw invalidArgument(`SummarySaverHook({ scalars }).${tag}`, "a Tensor", tensor, fix);
  }
  return { ...(scalars as Record<string, Tensor<number>>) };
}
