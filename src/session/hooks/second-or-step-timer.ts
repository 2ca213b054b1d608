/**
 * SecondOrStepTimer: decides when a hook acts, every N seconds or every N steps
 * (TensorFlow's `tf.estimator.SecondOrStepTimer`, TF_REFERENCE.md §2).
 *
 * @module
 */
import { ValueError, invalidArgument } from "../../errors.js";

/** The current time in seconds; any origin, as long as it only moves forward. */
export type Clock = () => number;

/**
 * The default clock: a monotonic time in seconds (`performance.now() / 1000`).
 *
 * @example
 * const t0 = systemClock();
 */
export const systemClock: Clock = () => performance.now() / 1000;

/** Options of `new SecondOrStepTimer(options)`: exactly one of the two. */
export interface SecondOrStepTimerOptions {
  /** Trigger when at least this many seconds passed since the last trigger (≥ 0). */
  readonly everySecs?: number | null | undefined;
  /** Trigger when at least this many steps passed since the last trigger (an integer ≥ 1). */
  readonly everySteps?: number | null | undefined;
}

/**
 * What {@link SecondOrStepTimer.updateLastTriggeredStep} returns: the seconds and steps since
 * the previous trigger, or both null the first time.
 */
export type ElapsedSinceTrigger = readonly [elapsedSecs: number, elapsedSteps: number] | readonly [elapsedSecs: null, elapsedSteps: null];

/**
 * Triggers every `everySecs` seconds or every `everySteps` steps, counted from the last step
 * it was told it triggered at.
 *
 * @example
 * const timer = new SecondOrStepTimer({ everySteps: 100 });
 * if (timer.shouldTriggerForStep(step)) {
 *   const [secs, steps] = timer.updateLastTriggeredStep(step);
 *   if (secs !== null) log(`${steps / secs} steps/sec`);
 * }
 */
export class SecondOrStepTimer {
  private readonly everySecs: number | null;
  private readonly everySteps: number | null;
  private lastStep: number | null = null;
  private lastTime: number | null = null;

  /**
   * @param options exactly one of `everySecs` and `everySteps` (null and undefined mean unset).
   * @param clock the time in seconds (default {@link systemClock}); tests pass a fake one.
   * @throws {ValueError} when neither or both of `everySecs` and `everySteps` are given.
   * @throws {InvalidArgumentError} when `everySecs` is negative or `everySteps` not an integer ≥ 1.
   */
  constructor(
    options: SecondOrStepTimerOptions,
    private readonly clock: Clock = systemClock,
  ) {
    this.everySecs = options.everySecs ?? null;
    this.everySteps = options.everySteps ?? null;
    if (this.everySecs === null && this.everySteps === null) {
      const fix = "Pass everySecs or everySteps, e.g. new SecondOrStepTimer({ everySteps: 100 }) or ({ everySecs: 600 }).";
      throw new ValueError(`Either everySecs or everySteps should be provided. ${fix}`, {
        expected: "one of everySecs and everySteps",
        received: "neither",
        fix,
      });
    }
    if (this.everySecs !== null && this.everySteps !== null) {
      const fix = "Pass only one of everySecs and everySteps.";
      throw new ValueError(`Can not provide both everySecs and everySteps. ${fix}`, {
        expected: "one of everySecs and everySteps",
        received: "both",
        fix,
      });
    }
    if (this.everySecs !== null && !(this.everySecs >= 0 && Number.isFinite(this.everySecs))) {
      throw invalidArgument("SecondOrStepTimer({ everySecs })", "a finite number ≥ 0", this.everySecs, "Pass seconds, e.g. 600.");
    }
    if (this.everySteps !== null && !(Number.isInteger(this.everySteps) && this.everySteps >= 1)) {
      throw invalidArgument("SecondOrStepTimer({ everySteps })", "an integer ≥ 1", this.everySteps, "Pass a number of steps, e.g. 100.");
    }
  }

  /**
   * Whether the timer triggers at `step`: always the first time; never at the step it last
   * triggered at; otherwise when `everySecs` passed or `everySteps` steps were taken since.
   *
   * @param step the current global step.
   * @example
   * if (timer.shouldTriggerForStep(globalStep)) save();
   */
  shouldTriggerForStep(step: number): boolean {
    if (this.lastStep === null || this.lastTime === null) return true;
    if (step === this.lastStep) return false;
    if (this.everySecs !== null && this.clock() >= this.lastTime + this.everySecs) return true;
    if (this.everySteps !== null && step >= this.lastStep + this.everySteps) return true;
    return false;
  }

  /**
   * Records that the timer triggered at `step`, now, and returns the seconds and steps since
   * the previous trigger (`[null, null]` the first time).
   *
   * @param step the current global step.
   * @example
   * const [elapsedSecs, elapsedSteps] = timer.updateLastTriggeredStep(step);
   */
  updateLastTriggeredStep(step: number): ElapsedSinceTrigger {
    const now = this.clock();
    const elapsed: ElapsedSinceTrigger = this.lastStep === null || this.lastTime === null ? [null, null] : [now - this.lastTime, step - this.lastStep];
    this.lastTime = now;
    this.lastStep = step;
    return elapsed;
  }

  /**
   * The step the timer last triggered at, or null.
   *
   * @example
   * timer.lastTriggeredStep(); // null before the first update
   */
  lastTriggeredStep(): number | null {
    return this.lastStep;
  }

  /**
   * Forgets the last trigger: the next `shouldTriggerForStep` is true (TensorFlow's `reset()`).
   *
   * @example
   * timer.resetLastTriggeredStep();
   */
  resetLastTriggeredStep(): void {
    this.lastStep = null;
    this.lastTime = null;
  }
}
