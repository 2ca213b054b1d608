/**
 * LoggingTensorHook: logs tensors every N runs, every N seconds, and/or at the end
 * (TensorFlow's `tf.train.LoggingTensorHook`, TF_REFERENCE.md §2).
 *
 * @module
 */
import { ValueError, invalidArgument } from "../../errors.js";
import { consoleLogger, type Logger } from "../logger.js";
import type { Session } from "../session.js";
import { SessionRunArgs, type SessionRunContext, type SessionRunHook, type SessionRunValues } from "../session-run-hook.js";
import { Tensor } from "../tensor.js";
import { SecondOrStepTimer, systemClock, type Clock } from "./second-or-step-timer.js";

/** The tensors to log: tag → tensor, or tensors logged under their names. */
export type LoggedTensors = Readonly<Record<string, Tensor<unknown>>> | readonly Tensor<unknown>[];

/** Options of `new LoggingTensorHook(tensors, options)`. */
export interface LoggingTensorHookOptions {
  /** Log on the first run and then every this many runs of this hook (an integer ≥ 1). */
  readonly everyNIter?: number | null | undefined;
  /** Log on the first run and then every this many seconds. */
  readonly everyNSecs?: number | null | undefined;
  /** Also log in `end()`, running the tensors once more (default false). */
  readonly atEnd?: boolean | undefined;
  /** Makes the line from tag → value; replaces the default `"tag = value, ..."` line. */
  readonly formatter?: ((values: Readonly<Record<string, unknown>>) => string) | undefined;
  /** Where lines go (default the console logger, at info level). */
  readonly logger?: Logger | undefined;
  /** The time in seconds (default a monotonic clock); tests pass a fake one. */
  readonly clock?: Clock | undefined;
}

/**
 * Logs the values of tensors as `"tag = value, tag2 = value2 (0.123 sec)"`: a record's tags
 * sorted, an array's tensors in their order under their names; the seconds since the previous
 * line, except on the first. It logs on its first run and then every `everyNIter` runs it sees
 * (its own count, not the global step) or every `everyNSecs` seconds, and with `atEnd` in `end()`.
 *
 * With `atEnd`, the tensors are run once more in `end()`: do not log tensors that consume input.
 *
 * @example
 * const hook = new LoggingTensorHook({ loss, step: globalStep }, { everyNIter: 100 });
 * // INFO: loss = 0.25, step = 100 (1.203 sec)
 */
export class LoggingTensorHook implements SessionRunHook {
  private readonly tensors: Readonly<Record<string, Tensor<unknown>>>;
  private readonly tagOrder: readonly string[];
  /** Null when the hook logs only at the end (TensorFlow's NeverTriggerTimer). */
  private readonly timer: SecondOrStepTimer | null;
  private readonly atEnd: boolean;
  private readonly formatter: ((values: Readonly<Record<string, unknown>>) => string) | null;
  private readonly logger: Logger;
  private iterCount = 0;
  private shouldTrigger = false;

  /**
   * @param tensors a record of tag → Tensor, or an array of Tensors (tagged with their names).
   * @param options `atEnd` and/or exactly one of `everyNIter` and `everyNSecs`; `formatter`,
   *   `logger`, `clock` (seconds).
   * @throws {ValueError} "Either every_n_iter, every_n_secs or at_end should be set." when
   *   none is; "Exactly one of every_n_iter and every_n_secs must be provided." when both are;
   *   "invalid every_n_iter=0." for an `everyNIter` that is not an integer ≥ 1.
   * @throws {InvalidArgumentError} when `tensors` is not a record or array of Tensors, or
   *   `everyNSecs` is not a finite number ≥ 0.
   * @example
   * new LoggingTensorHook([loss], { atEnd: true });
   */
  constructor(tensors: LoggedTensors, options: LoggingTensorHookOptions = {}) {
    const everyNIter = options.everyNIter ?? null;
    const everyNSecs = options.everyNSecs ?? null;
    this.atEnd = options.atEnd ?? false;
    const onlyAtEnd = this.atEnd && everyNIter === null && everyNSecs === null;
    if (!onlyAtEnd && (everyNIter === null) === (everyNSecs === null)) {
      const neither = everyNIter === null;
      const fix = "Pass { everyNIter: 100 } or { everyNSecs: 60 }, and/or { atEnd: true }.";
      const message = neither ? "Either every_n_iter, every_n_secs or at_end should be set." : "Exactly one of every_n_iter and every_n_secs must be provided.";
      throw new ValueError(`${message} ${fix}`, { expected: "atEnd and/or one of everyNIter and everyNSecs", received: neither ? "none" : "both", fix });
    }
    if (everyNIter !== null && !(Number.isInteger(everyNIter) && everyNIter >= 1)) {
      const fix = "Pass how many runs between lines, an integer ≥ 1, e.g. { everyNIter: 100 }.";
      throw new ValueError(`invalid every_n_iter=${everyNIter}. ${fix}`, { expected: "an integer ≥ 1", received: String(everyNIter), fix });
    }
    if (everyNSecs !== null && !(Number.isFinite(everyNSecs) && everyNSecs >= 0)) {
      throw invalidArgument("LoggingTensorHook({ everyNSecs })", "a finite number ≥ 0", everyNSecs, "Pass seconds, e.g. 60.");
    }
    [this.tensors, this.tagOrder] = taggedTensors(tensors);
    this.timer = onlyAtEnd ? null : new SecondOrStepTimer({ everySteps: everyNIter, everySecs: everyNSecs }, options.clock ?? systemClock);
    this.formatter = options.formatter ?? null;
    this.logger = options.logger ?? consoleLogger;
  }

  /**
   * Starts counting runs from 0 and forgets the last line's time.
   *
   * @example
   * hook.begin();
   */
  begin(): void {
    this.timer?.resetLastTriggeredStep();
    this.iterCount = 0;
  }

  /**
   * Fetches the tensors when this run logs.
   *
   * @param _ctx unused.
   * @example
   * hook.beforeRun(ctx); // SessionRunArgs({ loss }) or null
   */
  beforeRun(_ctx: SessionRunContext): SessionRunArgs | null {
    this.shouldTrigger = this.timer?.shouldTriggerForStep(this.iterCount) ?? false;
    return this.shouldTrigger ? new SessionRunArgs(this.tensors) : null;
  }

  /**
   * Logs the fetched values when this run logs, and counts the run.
   *
   * @param _ctx unused.
   * @param values the fetched tag → value record, or null.
   * @example
   * hook.afterRun(ctx, new SessionRunValues({ loss: 0.25 }));
   */
  afterRun(_ctx: SessionRunContext, values: SessionRunValues): void {
    if (this.shouldTrigger) this.log(values.results as Readonly<Record<string, unknown>>);
    this.iterCount += 1;
  }

  /**
   * With `atEnd`, runs the tensors in `session` and logs them.
   *
   * @param session the session that ends.
   * @example
   * await hook.end(session);
   */
  async end(session: Session): Promise<void> {
    if (this.atEnd) this.log(await session.run(this.tensors));
  }

  private log(values: Readonly<Record<string, unknown>>): void {
    const [elapsedSecs] = this.timer?.updateLastTriggeredStep(this.iterCount) ?? [null];
    if (this.formatter !== null) {
      this.logger.info(this.formatter(values));
      return;
    }
    const stats = this.tagOrder.map((tag) => `${tag} = ${formatValue(values[tag])}`).join(", ");
    this.logger.info(elapsedSecs === null ? stats : `${stats} (${elapsedSecs.toFixed(3)} sec)`);
  }
}

function taggedTensors(tensors: LoggedTensors): [Record<string, Tensor<unknown>>, string[]] {
  const fix = "Pass a record of tag → tensor, e.g. { loss }, or an array of tensors, e.g. [loss, globalStep].";
  if (Array.isArray(tensors)) {
    const list = tensors as readonly unknown[];
    list.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw invalidArgument(`new LoggingTensorHook(tensors)[${i}]`, "a Tensor", t, fix);
    });
    const typed = list as readonly Tensor<unknown>[];
    return [Object.fromEntries(typed.map((t) => [t.name, t])), typed.map((t) => t.name)];
  }
  if (tensors === null || typeof tensors !== "object") throw invalidArgument("new LoggingTensorHook(tensors)", "a record or an array of Tensors", tensors, fix);
  // Not an array (checked above), so the record form.
  const record = tensors as Readonly<Record<string, unknown>>;
  for (const [tag, t] of Object.entries(record)) {
    if (!(t instanceof Tensor)) throw invalidArgument(`new LoggingTensorHook(tensors).${tag}`, "a Tensor", t, fix);
  }
  return [{ ...(record as Readonly<Record<string, Tensor<unknown>>>) }, Object.keys(record).sort()];
}

/** A value in a log line: numbers and strings as themselves, arrays as `[1, 2, 3]`. */
function formatValue(value: unknown): string {
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    return `[${Array.from(value as ArrayLike<unknown>, formatValue).join(", ")}]`;
  }
  if (value !== null && typeof value === "object") {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}
