/**
 * Test helpers for hooks: drives hooks by hand the way TensorFlow's tests do with
 * `monitored_session._HookedSession`, plus a capturing logger and a fake clock.
 *
 * @module
 */
import { Coordinator } from "../coordinator.js";
import type { FeedDict, Fetches } from "../fetches.js";
import type { Graph } from "../graph.js";
import type { Logger } from "../logger.js";
import { Session } from "../session.js";
import { SessionRunArgs, SessionRunContext, SessionRunValues, type SessionRunHook } from "../session-run-hook.js";
import type { Clock } from "./second-or-step-timer.js";

/**
 * A session whose runs call the hooks around them (TensorFlow's `_HookedSession`): each hook's
 * `beforeRun`, one run of the caller's fetches plus the hooks' fetches, each hook's `afterRun`
 * with its own results. `shouldStop` becomes true once a hook requested a stop; tests may
 * reset it, as TensorFlow's tests set `mon_sess._should_stop = False`.
 */
export class HookedSession {
  shouldStop = false;

  constructor(
    readonly session: Session,
    readonly hooks: readonly SessionRunHook[],
  ) {}

  /** Runs `fetches` with the hooks and returns their results. */
  async run(fetches: Fetches, feedDict: FeedDict | null = null): Promise<unknown> {
    const ctx = new SessionRunContext(new SessionRunArgs(fetches, feedDict), this.session);
    const requests = [];
    for (const hook of this.hooks) requests.push((await hook.beforeRun?.(ctx)) ?? null);
    const hookFetches: Record<string, Fetches> = {};
    requests.forEach((request, i) => {
      if (request !== null) hookFetches[i] = request.fetches;
    });
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the assertion reads better than the call's type argument
    const out = (await this.session.run({ caller: fetches, hooks: hookFetches }, feedDict)) as { caller: unknown; hooks: Record<string, unknown> };
    for (const [i, hook] of this.hooks.entries()) await hook.afterRun?.(ctx, new SessionRunValues(i in hookFetches ? out.hooks[i] : null));
    if (ctx.stopRequested) this.shouldStop = true;
    return out.caller;
  }
}

/**
 * Calls `begin()` on every hook under `graph`, creates a Session and (unless told not to)
 * calls every hook's `afterCreateSession`; returns the hooked session.
 */
export async function startHooks(graph: Graph, hooks: readonly SessionRunHook[], { afterCreateSession = true } = {}): Promise<HookedSession> {
  await graph.asDefault(async () => {
    for (const hook of hooks) await hook.begin?.();
  });
  const session = new Session(graph);
  if (afterCreateSession) {
    const coord = new Coordinator();
    await graph.asDefault(async () => {
      for (const hook of hooks) await hook.afterCreateSession?.(session, coord);
    });
  }
  return new HookedSession(session, hooks);
}

/** Calls `end(session)` on every hook under `graph`. */
export async function endHooks(graph: Graph, hooked: HookedSession): Promise<void> {
  await graph.asDefault(async () => {
    for (const hook of hooked.hooks) await hook.end?.(hooked.session);
  });
}

/** A logger that keeps every message. */
export function capturingLogger(): Logger & { readonly infos: string[]; readonly warnings: string[] } {
  const infos: string[] = [];
  const warnings: string[] = [];
  return { infos, warnings, info: (m) => void infos.push(m), warn: (m) => void warnings.push(m) };
}

/** A clock the test moves by hand, in seconds. */
export function fakeClock(start = 1484695987.209386): { readonly now: Clock; advance(secs: number): void } {
  let t = start;
  return { now: () => t, advance: (secs) => void (t += secs) };
}
