/**
 * MonitoredSession: a session that calls hooks around every run, stops when asked, and
 * recovers from preemption by creating a new session (TF_REFERENCE.md §3, DESIGN.md "The
 * training loop").
 *
 * @module
 */
import { AbortedError, OutOfRangeError, RuntimeError, UnavailableError } from "../errors.js";
import { Coordinator } from "./coordinator.js";
import type { FeedDict, Fetches, FetchResult } from "./fetches.js";
import { Graph } from "./graph.js";
import { consoleLogger, type Logger } from "./logger.js";
import { ChiefSessionCreator, type SessionCreator } from "./scaffold.js";
import type { Session } from "./session.js";
import { SessionRunArgs, SessionRunContext, SessionRunValues, type SessionRunHook } from "./session-run-hook.js";

/** Options of {@link MonitoredSession.create}. */
export interface MonitoredSessionOptions {
  /** Makes each session (default: a `ChiefSessionCreator` with no checkpoint directory). */
  readonly sessionCreator?: SessionCreator;
  /** The hooks, called in this order. */
  readonly hooks?: readonly SessionRunHook[];
  /** How long the coordinator gives background tasks to stop, in seconds (default 120). */
  readonly stopGracePeriodSecs?: number;
  /** The graph (default: the default graph). */
  readonly graph?: Graph;
  /** Where recovery messages go (default: the console logger). */
  readonly logger?: Logger;
}

/** What a step function gets from {@link MonitoredSession.runStepFn}. */
export interface StepContext {
  /** The raw session: runs without hooks. */
  readonly session: Session;
  /** Runs with every hook, as `MonitoredSession.run`. */
  runWithHooks<const F extends Fetches>(fetches: F, feedDict?: FeedDict | null): Promise<FetchResult<F>>;
  /** Ends the step function at once and makes `shouldStop()` true. */
  requestStop(): never;
}

/** Errors a monitored session recovers from by creating a new session. */
function isPreemption(error: unknown): boolean {
  return error instanceof AbortedError || error instanceof UnavailableError;
}

/** Thrown by `StepContext.requestStop()` to leave the step function. */
class StopStep extends Error {}

/**
 * A session with hooks (TensorFlow's `tf.train.MonitoredSession`). Creating it calls every
 * hook's `begin()`, creates a session (restoring the latest checkpoint or initializing) and
 * calls every hook's `afterCreateSession()`. Each `run` calls the hooks' `beforeRun`, runs
 * their fetches with the caller's, and calls their `afterRun`. On `AbortedError` or
 * `UnavailableError` it creates a new session, calls `afterCreateSession` on every hook again,
 * and retries the run.
 *
 * Use it inside {@link withMonitoredSession} (the `with ... as sess:` of Python), or call
 * `close()` yourself: a clean close calls every hook's `end()`.
 *
 * @example
 * await withMonitoredSession(MonitoredSession.create({ hooks }), async (sess) => {
 *   while (!sess.shouldStop()) await sess.run(trainOp);
 * });
 */
export class MonitoredSession {
  /** The graph the session runs. */
  readonly graph: Graph;
  private readonly hooks: readonly SessionRunHook[];
  private readonly creator: SessionCreator;
  private readonly recover: boolean;
  private readonly logger: Logger;
  private readonly stopGracePeriodSecs: number;
  private session: Session | null = null;
  private coord: Coordinator | null = null;
  private stopRequested = false;
  private closed = false;

  /** Use {@link MonitoredSession.create}. */
  protected constructor(options: MonitoredSessionOptions, recover: boolean) {
    this.graph = options.graph ?? Graph.getDefault();
    this.hooks = [...(options.hooks ?? [])];
    this.creator = options.sessionCreator ?? new ChiefSessionCreator();
    this.recover = recover;
    this.logger = options.logger ?? consoleLogger;
    this.stopGracePeriodSecs = options.stopGracePeriodSecs ?? 120;
  }

  /**
   * Creates the monitored session: `begin()` on every hook, then a session and
   * `afterCreateSession()` on every hook.
   *
   * @throws what a hook or the session creator throws.
   */
  static async create(options: MonitoredSessionOptions = {}): Promise<MonitoredSession> {
    const session = new MonitoredSession(options, true);
    await session.start();
    return session;
  }

  /** The raw session of the moment (it changes after a recovery). */
  get rawSession(): Session {
    if (this.session === null) throw alreadyClosed();
    return this.session;
  }

  protected async start(): Promise<void> {
    await this.graph.asDefault(async () => {
      for (const hook of this.hooks) await hook.begin?.();
    });
    await this.createSession();
  }

  /** Creates a session and calls every hook's `afterCreateSession`; retried on preemption. */
  private async createSession(): Promise<void> {
    for (;;) {
      try {
        const session = await this.graph.asDefault(() => this.creator.createSession(this.graph));
        const coord = new Coordinator({ logger: this.logger });
        this.session = session;
        this.coord = coord;
        await this.graph.asDefault(async () => {
          for (const hook of this.hooks) await hook.afterCreateSession?.(session, coord);
        });
        return;
      } catch (error) {
        if (!this.recover || !isPreemption(error)) throw error;
        this.logger.warn(`An error occurred while creating the session; creating a new one. Error: ${String(error)}`);
        this.closeInner();
      }
    }
  }

  /**
   * Runs `fetches` with every hook, in one run.
   *
   * @param fetches a Tensor, an Operation, or an array or record of them.
   * @param feedDict values that replace tensors in this run.
   * @returns the results of `fetches`, in their structure.
   * @throws {RuntimeError} "Run called even after should_stop requested." once stopped, and
   *   "Same tensor is fed ..." when two feeds of one tensor conflict.
   * @throws {OutOfRangeError} when the input is exhausted (a clean end: see {@link withMonitoredSession}).
   */
  run<const F extends Fetches>(fetches: F, feedDict: FeedDict | null = null): Promise<FetchResult<F>> {
    if (this.shouldStop()) {
      throw new RuntimeError("Run called even after should_stop requested.", {
        expected: "a session that has not stopped",
        received: "a stopped session",
        fix: "Loop with while (!session.shouldStop()).",
      });
    }
    return this.withRecovery(() => this.runWithHooks(fetches, feedDict));
  }

  /**
   * Runs `stepFn` with a {@link StepContext}; preemption inside it recreates the session and
   * runs it again. `stepContext.requestStop()` ends it and makes `shouldStop()` true.
   *
   * @returns what `stepFn` returns, or null when it requested a stop.
   */
  runStepFn<R>(stepFn: (step: StepContext) => Promise<R> | R): Promise<R | null> {
    return this.withRecovery(async () => {
      const step: StepContext = {
        session: this.rawSession,
        runWithHooks: (fetches, feedDict) => this.runWithHooks(fetches, feedDict ?? null),
        requestStop: () => {
          throw new StopStep();
        },
      };
      try {
        return await stepFn(step);
      } catch (error) {
        if (!(error instanceof StopStep)) throw error;
        this.stopRequested = true;
        return null;
      }
    });
  }

  /**
   * Whether the loop should end: the session is closed, a hook or step asked to stop, or the
   * coordinator was asked to (an error a background task reported is thrown here).
   */
  shouldStop(): boolean {
    if (this.closed || this.session === null) return true;
    this.coord?.raiseRequestedException();
    return this.stopRequested || (this.coord?.shouldStop() ?? false);
  }

  /**
   * Closes the session. A clean close (no error, or an `OutOfRangeError`: the input ran out)
   * first calls every hook's `end(session)`; after another error the hooks' `end` is not
   * called.
   *
   * @param error the error that ended the loop, if any.
   * @throws {RuntimeError} "Session is already closed." on a second close.
   */
  async close(error?: unknown): Promise<void> {
    if (this.closed) {
      throw new RuntimeError("Session is already closed.", { expected: "an open session", received: "a closed session" });
    }
    const session = this.session;
    try {
      if ((error === undefined || error instanceof OutOfRangeError) && session !== null) {
        await this.graph.asDefault(async () => {
          for (const hook of this.hooks) await hook.end?.(session);
        });
      }
    } finally {
      this.closed = true;
      await this.coord?.join([], { stopGracePeriodSecs: this.stopGracePeriodSecs, ignoreLiveThreads: true }).catch(() => undefined);
      this.closeInner();
    }
  }

  private async withRecovery<R>(call: () => Promise<R>): Promise<R> {
    for (;;) {
      try {
        return await this.coordinated(call);
      } catch (error) {
        if (!this.recover || !isPreemption(error)) throw error;
        this.logger.warn(
          "An error was raised. This may be due to a preemption in a connected worker or parameter server. The current " +
            `session will be closed and a new session will be created. Error: ${String(error)}`,
        );
        this.closeInner();
        await this.createSession();
      }
    }
  }

  /** Runs `call`; when it fails, a preemption error the coordinator holds is raised instead. */
  private async coordinated<R>(call: () => Promise<R>): Promise<R> {
    try {
      return await call();
    } catch (error) {
      if (!isPreemption(error)) {
        try {
          this.coord?.raiseRequestedException();
        } catch (held) {
          if (isPreemption(held)) throw held;
        }
      }
      throw error;
    }
  }

  /** One run with every hook (TensorFlow's `_HookedSession.run`). */
  private async runWithHooks<const F extends Fetches>(fetches: F, feedDict: FeedDict | null): Promise<FetchResult<F>> {
    const session = this.rawSession;
    const hooks = this.hooks;
    if (hooks.length === 0) return session.run(fetches, feedDict);
    const context = new SessionRunContext(new SessionRunArgs(fetches, feedDict), session);
    // A hook's result is awaited only when it is a Promise: most calls are synchronous, and
    // every Promise costs a step time.
    // The fetches of the hooks that asked for some, in hook order, and which hook asked.
    const hookFetches: Fetches[] = [];
    const askedBy: number[] = [];
    let hookFeeds: Map<unknown, unknown> | null = null;
    for (let i = 0; i < hooks.length; i++) {
      const hook = hooks[i] as SessionRunHook;
      if (hook.beforeRun === undefined) continue;
      let request = hook.beforeRun(context);
      if (isThenable(request)) request = await request;
      if (request === undefined || request === null) continue;
      if (request.fetches !== null && request.fetches !== undefined) {
        hookFetches.push(request.fetches);
        askedBy.push(i);
      }
      if (request.feedDict !== null) mergeFeeds((hookFeeds ??= new Map()), request.feedDict, "Same tensor is fed by two hooks.");
    }
    let feeds: FeedDict | null = feedDict;
    if (hookFeeds !== null) {
      const merged = new Map(hookFeeds);
      if (feedDict !== null) mergeFeeds(merged, feedDict, "Same tensor is fed by a SessionRunHook and user.");
      feeds = merged as FeedDict;
    }
    const [callerResults, hookResults] = (await session.run([fetches, hookFetches], feeds)) as [FetchResult<F>, unknown[]];
    for (let i = 0, asked = 0; i < hooks.length; i++) {
      const hook = hooks[i] as SessionRunHook;
      const results = askedBy[asked] === i ? hookResults[asked++] : null;
      if (hook.afterRun === undefined) continue;
      const done = hook.afterRun(context, new SessionRunValues(results));
      if (isThenable(done)) await done;
    }
    if (context.stopRequested) this.stopRequested = true;
    return callerResults;
  }

  private closeInner(): void {
    this.session?.close();
    this.session = null;
  }
}

function mergeFeeds(into: Map<unknown, unknown>, feeds: FeedDict, message: string): void {
  const entries = feeds instanceof Map ? [...feeds] : [...(feeds as readonly (readonly [unknown, unknown])[])];
  const conflicts = entries.filter(([tensor]) => into.has(tensor)).map(([tensor]) => (tensor as { name?: string }).name ?? String(tensor));
  if (conflicts.length > 0) {
    throw new RuntimeError(`${message} Conflict(s): ${conflicts.join(", ")}`, {
      expected: "each tensor fed once",
      received: `${conflicts.join(", ")} fed twice`,
    });
  }
  for (const [tensor, value] of entries) into.set(tensor, value);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

function alreadyClosed(): RuntimeError {
  return new RuntimeError("Session is already closed.", { expected: "an open session", received: "a closed session" });
}

/**
 * A monitored session that does not recover: a preemption error ends it
 * (TensorFlow's `SingularMonitoredSession`).
 *
 * @example
 * const sess = await SingularMonitoredSession.create({ hooks, sessionCreator });
 */
export class SingularMonitoredSession extends MonitoredSession {
  /** As {@link MonitoredSession.create}, without recovery. */
  static override async create(options: MonitoredSessionOptions = {}): Promise<SingularMonitoredSession> {
    const session = new SingularMonitoredSession(options, false);
    await session.start();
    return session;
  }
}

/**
 * Runs `body` with a monitored session and closes it as Python's `with ... as sess:` does: a
 * clean end — `body` returns, or the input runs out (`OutOfRangeError`, swallowed) — calls
 * every hook's `end`; any other error closes the session without `end` and is rethrown.
 *
 * @param session the session, or the Promise `create()` returns.
 * @param body the training loop.
 * @returns what `body` returned, or undefined when the input ran out.
 * @example
 * await withMonitoredSession(MonitoredSession.create({ hooks }), async (sess) => {
 *   while (!sess.shouldStop()) await sess.run(trainOp);
 * });
 */
export async function withMonitoredSession<S extends MonitoredSession, R>(
  session: S | Promise<S>,
  body: (session: S) => Promise<R> | R,
): Promise<R | undefined> {
  const sess = await session;
  let result: R;
  try {
    result = await body(sess);
  } catch (error) {
    await sess.close(error);
    if (error instanceof OutOfRangeError) return undefined;
    throw error;
  }
  await sess.close();
  return result;
}
