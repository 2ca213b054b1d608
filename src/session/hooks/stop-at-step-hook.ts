/**
 * StopAtStepHook: asks the monitored session to stop at a global step (TensorFlow's
 * `tf.train.StopAtStepHook`, TF_REFERENCE.md §2).
 *
 * @module
 */
import { ValueError, invalidArgument } from "../../errors.js";
import type { Coordinator } from "../coordinator.js";
import type { Session } from "../session.js";
import { SessionRunArgs, type SessionRunContext, type SessionRunHook, type SessionRunValues } from "../session-run-hook.js";
import type { Variable } from "../variable.js";
import { requireGlobalStep } from "./require-global-step.js";

/** Options of `new StopAtStepHook(options)`: exactly one of the two. */
export interface StopAtStepHookOptions {
  /** Stop after this many more steps, counted from the global step when the session starts. */
  readonly numSteps?: number | null | undefined;
  /** Stop once the global step reaches this value. */
  readonly lastStep?: number | null | undefined;
}

/**
 * Requests a stop once the global step reaches `lastStep`, or `numSteps` steps after the
 * global step the session started at.
 *
 * `numSteps` is turned into a last step in the first `afterCreateSession` after each
 * `begin()`: a session recovered after a preemption keeps the target (as TensorFlow), a new
 * monitored session using the hook again counts `numSteps` from its own start.
 *
 * @example
 * const sess = await MonitoredSession.create({ hooks: [new StopAtStepHook({ lastStep: 1000 })] });
 * while (!sess.shouldStop()) await sess.run(trainOp);
 */
export class StopAtStepHook implements SessionRunHook {
  private readonly numSteps: number | null;
  private readonly fixedLastStep: number | null;
  private lastStep: number | null;
  private globalStep: Variable<number> | null = null;

  /**
   * @param options exactly one of `numSteps` (an integer ≥ 0) and `lastStep` (an integer);
   *   null and undefined mean unset.
   * @throws {ValueError} "One of num_steps or last_step must be specified." /
   *   "Only one of num_steps or last_step can be specified." (TensorFlow's wording).
   * @throws {InvalidArgumentError} when `numSteps` is not an integer ≥ 0 or `lastStep` not an integer.
   * @example
   * new StopAtStepHook({ numSteps: 100 });
   */
  constructor(options: StopAtStepHookOptions) {
    const numSteps = options.numSteps ?? null;
    const lastStep = options.lastStep ?? null;
    if (numSteps === null && lastStep === null) {
      const fix = "Pass { numSteps } (steps to run from the start) or { lastStep } (the global step to stop at).";
      throw new ValueError(`One of num_steps or last_step must be specified. ${fix}`, { expected: "numSteps or lastStep", received: "neither", fix });
    }
    if (numSteps !== null && lastStep !== null) {
      const fix = "Pass only one of numSteps and lastStep.";
      throw new ValueError(`Only one of num_steps or last_step can be specified. ${fix}`, { expected: "numSteps or lastStep", received: "both", fix });
    }
    if (numSteps !== null && !(Number.isInteger(numSteps) && numSteps >= 0)) {
      throw invalidArgument("StopAtStepHook({ numSteps })", "an integer ≥ 0", numSteps, "Pass how many steps to run, e.g. 1000.");
    }
    if (lastStep !== null && !Number.isInteger(lastStep)) {
      throw invalidArgument("StopAtStepHook({ lastStep })", "an integer", lastStep, "Pass the global step to stop at, e.g. 1000.");
    }
    this.numSteps = numSteps;
    this.fixedLastStep = lastStep;
    this.lastStep = lastStep;
  }

  /**
   * Looks up the global step, and forgets a last step computed from `numSteps` earlier.
   *
   * @throws {RuntimeError} "Global step should be created to use StopAtStepHook."
   * @example
   * await hook.begin();
   */
  begin(): void {
    this.globalStep = requireGlobalStep("StopAtStepHook");
    this.lastStep = this.fixedLastStep;
  }

  /**
   * With `numSteps`, sets the last step to the current global step plus `numSteps`, unless it
   * is set already.
   *
   * @param session the new session.
   * @param _coord unused.
   * @example
   * await hook.afterCreateSession(session, coord);
   */
  async afterCreateSession(session: Session, _coord: Coordinator): Promise<void> {
    if (this.lastStep !== null || this.numSteps === null) return;
    this.lastStep = (await session.run(this.step())) + this.numSteps;
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
   * When the fetched global step plus one reaches the last step, reads the global step again
   * and requests a stop if it reached the last step.
   *
   * @param ctx the run's context.
   * @param values the fetched global step.
   * @example
   * await hook.afterRun(ctx, new SessionRunValues(9));
   */
  async afterRun(ctx: SessionRunContext, values: SessionRunValues): Promise<void> {
    const lastStep = this.lastStep;
    const stale = values.results;
    if (lastStep === null || (typeof stale === "number" && stale + 1 < lastStep)) return;
    const step = await ctx.session.run(this.step());
    if (step >= lastStep) ctx.requestStop();
  }

  private step(): Variable<number> {
    // begin() sets it; MonitoredSession always calls begin() first.
    return this.globalStep ?? (this.globalStep = requireGlobalStep("StopAtStepHook"));
  }
}
