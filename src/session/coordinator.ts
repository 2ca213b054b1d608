/**
 * The Coordinator: lets concurrent tasks of a training job stop together and report the first
 * error (TensorFlow's `tf.train.Coordinator`, TF_REFERENCE.md §3). Threads are promises here.
 *
 * @module
 */
import { OutOfRangeError, RuntimeError, invalidArgument } from "../errors.js";
import type { Awaitable } from "./awaitable.js";
import { consoleLogger, type Logger, type LoggerOptions } from "./logger.js";

/** A class of errors, e.g. `OutOfRangeError`. */
export type ErrorClass = abstract new (...args: never[]) => object;

/** Options of `new Coordinator(options)`. */
export interface CoordinatorOptions extends LoggerOptions {
  /**
   * Errors that stop cleanly: reported to `requestStop`, they stop the tasks but are not
   * recorded, so `join` does not raise them (default `[OutOfRangeError]`).
   */
  readonly cleanStopExceptionTypes?: readonly ErrorClass[];
}

/** Options of {@link Coordinator.join}. */
export interface JoinOptions {
  /** How long tasks get to finish once stop is requested, in seconds (default 120). */
  readonly stopGracePeriodSecs?: number;
  /** Log (true) rather than throw (false, the default) when tasks outlive the grace period. */
  readonly ignoreLiveThreads?: boolean;
}

/**
 * Coordinates the termination of a set of tasks: any task can request a stop (with the error
 * that made it stop), every task watches `shouldStop()`, and `join` waits for them and raises
 * the first error reported.
 *
 * @example
 * const coord = new Coordinator();
 * const worker = coord.stopOnException(async () => {
 *   while (!coord.shouldStop()) await step();
 * });
 * await coord.join([worker]); // rethrows the first error a task reported
 */
export class Coordinator {
  private readonly cleanStopTypes: readonly ErrorClass[];
  private readonly logger: Logger;
  private stopped = false;
  private recorded: { readonly error: unknown } | null = null;
  private isJoined = false;
  private readonly waiters = new Set<() => void>();
  private readonly registered = new Set<Promise<unknown>>();

  /**
   * @param options `cleanStopExceptionTypes` (default `[OutOfRangeError]`) and `logger`.
   */
  constructor(options: CoordinatorOptions = {}) {
    this.cleanStopTypes = options.cleanStopExceptionTypes ?? [OutOfRangeError];
    this.logger = options.logger ?? consoleLogger;
  }

  /** Whether `join` has finished (and `clearStop` has not been called since). */
  get joined(): boolean {
    return this.isJoined;
  }

  /**
   * Requests that the tasks stop. The error, if any, is recorded when it is the first stop
   * request (later ones are ignored) and is not of a clean-stop type; `join` raises it.
   *
   * @param error why the task stopped, e.g. the error it caught.
   * @throws the error itself when the coordinator was already joined, since nothing would
   *   report it otherwise.
   * @example
   * try { await step(); } catch (e) { coord.requestStop(e); }
   */
  requestStop(error?: unknown): void {
    const reported = error === undefined || error === null || this.isCleanStop(error) ? null : { error };
    if (this.isJoined && reported !== null) throw reported.error;
    if (this.stopped) return;
    this.recorded = reported;
    this.stopped = true;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /**
   * Whether a stop was requested.
   *
   * @example
   * while (!coord.shouldStop()) await step();
   */
  shouldStop(): boolean {
    return this.stopped;
  }

  /**
   * Forgets the stop request and the recorded error, so the coordinator can be used again.
   *
   * @example
   * coord.clearStop();
   */
  clearStop(): void {
    this.isJoined = false;
    this.recorded = null;
    this.stopped = false;
  }

  /**
   * Throws the recorded error, if any.
   *
   * @throws the first error reported with `requestStop`.
   * @example
   * coord.raiseRequestedException();
   */
  raiseRequestedException(): void {
    if (this.recorded !== null) throw this.recorded.error;
  }

  /**
   * Waits until a stop is requested: resolves true then, or false after `timeoutSecs`.
   *
   * @param timeoutSecs how long to wait, in seconds (default: as long as it takes).
   * @throws {InvalidArgumentError} when `timeoutSecs` is negative or not a number.
   * @example
   * if (await coord.waitForStop(1)) return;
   */
  waitForStop(timeoutSecs?: number): Promise<boolean> {
    if (timeoutSecs !== undefined && !(timeoutSecs >= 0)) {
      return Promise.reject(invalidArgument("waitForStop(timeoutSecs)", "a number ≥ 0", timeoutSecs, "Pass seconds, or nothing to wait as long as it takes."));
    }
    if (this.stopped) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer =
        timeoutSecs === undefined
          ? undefined
          : setTimeout(() => {
              this.waiters.delete(wake);
              resolve(false);
            }, timeoutSecs * 1000);
      this.waiters.add(wake);
    });
  }

  /**
   * Adds a task that `join` waits for even when not passed to it.
   *
   * @param task the task's promise.
   * @example
   * coord.registerThread(runQueue());
   */
  registerThread(task: Promise<unknown>): void {
    this.registered.add(task);
  }

  /**
   * Runs `fn` and reports an error it throws to `requestStop` instead of throwing it
   * (TensorFlow's `with coord.stop_on_exception():`); resolves to undefined then.
   *
   * @param fn the task's work; may be async.
   * @example
   * const task = coord.stopOnException(async () => { while (!coord.shouldStop()) await step(); });
   */
  async stopOnException<R>(fn: () => Awaitable<R>): Promise<R | undefined> {
    try {
      return await fn();
    } catch (error) {
      this.requestStop(error);
      return undefined;
    }
  }

  /**
   * Waits until every task settled or a stop is requested; then gives the remaining tasks
   * `stopGracePeriodSecs` to settle. A task that rejects counts as `requestStop(error)`.
   * Waits for `tasks` plus the registered ones.
   *
   * @param tasks the tasks' promises (default: the registered ones only).
   * @param options `stopGracePeriodSecs` (default 120) and `ignoreLiveThreads` (default false).
   * @throws the first error reported with `requestStop`.
   * @throws {RuntimeError} when tasks are still running after the grace period, unless
   *   `ignoreLiveThreads` (then it logs them).
   * @throws {InvalidArgumentError} when `stopGracePeriodSecs` is negative or not a number.
   * @example
   * await coord.join([reader, writer], { stopGracePeriodSecs: 5 });
   */
  async join(tasks: Iterable<Promise<unknown>> = [], options: JoinOptions = {}): Promise<void> {
    const { stopGracePeriodSecs = 120, ignoreLiveThreads = false } = options;
    if (!(stopGracePeriodSecs >= 0)) {
      throw invalidArgument("join(tasks, { stopGracePeriodSecs })", "a number ≥ 0", stopGracePeriodSecs, "Pass seconds, e.g. 120.");
    }
    const list = [...new Set([...this.registered, ...tasks])];
    const settled = list.map(() => false);
    const all = Promise.all(
      list.map((task, i) =>
        task.then(
          () => {
            settled[i] = true;
          },
          (error: unknown) => {
            settled[i] = true;
            if (!this.isJoined) this.requestStop(error);
            else this.logger.warn(`A task failed after the coordinator was joined: ${String(error)}`);
          },
        ),
      ),
    );
    await this.untilStoppedOr(all);
    if (settled.includes(false)) await within(all, stopGracePeriodSecs);
    const stragglers = list.flatMap((_, i) => (settled[i] === true ? [] : [`task ${i}`]));
    this.isJoined = true;
    this.registered.clear();
    this.raiseRequestedException();
    if (stragglers.length === 0) return;
    const message = `Coordinator stopped with threads still running: ${stragglers.join(", ")}.`;
    if (ignoreLiveThreads) {
      this.logger.info(message);
      return;
    }
    const fix = "Make the tasks return once coord.shouldStop() is true, allow more stopGracePeriodSecs, or pass ignoreLiveThreads: true.";
    throw new RuntimeError(`${message} ${fix}`, { expected: "every task settled", received: stragglers.join(", "), fix });
  }

  private isCleanStop(error: unknown): boolean {
    return this.cleanStopTypes.some((type) => error instanceof type);
  }

  /** Waits until `promise` settles or a stop is requested, whichever comes first. */
  private async untilStoppedOr(promise: Promise<unknown>): Promise<void> {
    if (this.stopped) return;
    let wake = (): void => undefined;
    const stop = new Promise<void>((resolve) => {
      wake = resolve;
    });
    this.waiters.add(wake);
    try {
      await Promise.race([promise, stop]);
    } finally {
      this.waiters.delete(wake);
    }
  }
}

/** Waits until `promise` settles, or at most `secs` seconds. */
async function within(promise: Promise<unknown>, secs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, secs * 1000)))]);
  } finally {
    clearTimeout(timer);
  }
}
