/**
 * The SessionRunHook protocol: how hooks take part in a monitored session's runs
 * (TF_REFERENCE.md §3).
 *
 * @module
 */
import type { Awaitable } from "./awaitable.js";
import type { Coordinator } from "./coordinator.js";
import type { FeedDict, Fetches } from "./fetches.js";
import type { Session } from "./session.js";

/** Options of a run, passed through to hooks (free-form; TensorFlow's `RunOptions`). */
export type RunOptions = Readonly<Record<string, unknown>>;

/** What a run reports besides its results (free-form; TensorFlow's `RunMetadata`). */
export type RunMetadata = Readonly<Record<string, unknown>>;

/**
 * Takes part in a monitored session's life. Every method is optional (a no-op when absent) and
 * may be async. The order: `begin` once; `afterCreateSession` after each session is created
 * (again after a recovery); around each run `beforeRun` then `afterRun`; `end` at a clean
 * close.
 *
 * @example
 * const countRuns: SessionRunHook = {
 *   beforeRun: () => new SessionRunArgs(globalStep),
 *   afterRun: (ctx, values) => { if (values.results === 100) ctx.requestStop(); },
 * };
 */
export interface SessionRunHook {
  /** Called once, before the session is created; the graph can still be changed. */
  begin?(): Awaitable<void>;
  /** Called after each session is created (and restored or initialized); the graph is final. */
  afterCreateSession?(session: Session, coord: Coordinator): Awaitable<void>;
  /** Called before each run; what it returns is run alongside the caller's fetches. */
  beforeRun?(runContext: SessionRunContext): Awaitable<SessionRunArgs | null | void>;
  /** Called after each successful run with the results of this hook's own fetches. */
  afterRun?(runContext: SessionRunContext, runValues: SessionRunValues): Awaitable<void>;
  /** Called at a clean close (also when the input ran out), before the session closes. */
  end?(session: Session): Awaitable<void>;
}

/**
 * What a hook (or the caller) asks a run for: fetches, feeds and options.
 *
 * @example
 * beforeRun() { return new SessionRunArgs({ step: globalStep }); }
 */
export class SessionRunArgs<F extends Fetches = Fetches> {
  /**
   * @param fetches what to fetch: a Tensor, an Operation, or an array or record of them.
   * @param feedDict values that replace tensors in the run (default null: none).
   * @param options run options (default null).
   */
  constructor(
    readonly fetches: F,
    readonly feedDict: FeedDict | null = null,
    readonly options: RunOptions | null = null,
  ) {}
}

/**
 * What a hook gets after a run: the results of its own fetches (null when it asked for none).
 *
 * @example
 * afterRun(ctx, values) { const step = values.results as { step: number }; }
 */
export class SessionRunValues<R = unknown> {
  /**
   * @param results the results of the hook's fetches, in their structure; null when none.
   * @param options the run's options (default null).
   * @param runMetadata what the run reported (default null).
   */
  constructor(
    readonly results: R,
    readonly options: RunOptions | null = null,
    readonly runMetadata: RunMetadata | null = null,
  ) {}
}

/**
 * What a hook sees of the current run: the caller's arguments, the session, and a way to ask
 * the monitored session to stop after this run.
 *
 * @example
 * afterRun(ctx) { if (done) ctx.requestStop(); }
 */
export class SessionRunContext {
  private stop = false;

  /**
   * @param originalArgs what the caller of `run` asked for.
   * @param session the session that runs.
   */
  constructor(
    readonly originalArgs: SessionRunArgs,
    readonly session: Session,
  ) {}

  /** Whether a hook asked to stop during this run. */
  get stopRequested(): boolean {
    return this.stop;
  }

  /**
   * Asks the monitored session to stop: its `shouldStop()` becomes true after this run.
   *
   * @example
   * ctx.requestStop();
   */
  requestStop(): void {
    this.stop = true;
  }
}
