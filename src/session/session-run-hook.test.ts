import { describe, expect, it } from "vitest";
import { Session } from "./session.js";
import { SessionRunArgs, SessionRunContext, SessionRunValues, type SessionRunHook } from "./session-run-hook.js";
import { constant } from "./tensor.js";

describe("the SessionRunHook protocol", () => {
  it("gives SessionRunArgs null feeds and options by default", () => {
    const x = constant(1);
    const args = new SessionRunArgs([x]);
    expect(args.fetches).toEqual([x]);
    expect(args.feedDict).toBeNull();
    expect(args.options).toBeNull();
  });

  it("gives SessionRunValues the results, and null options and metadata by default", () => {
    const values = new SessionRunValues({ step: 3 });
    expect(values.results).toEqual({ step: 3 });
    expect([values.options, values.runMetadata]).toEqual([null, null]);
  });

  it("lets a hook request a stop through the run context", () => {
    const session = new Session();
    const args = new SessionRunArgs(constant(1));
    const ctx = new SessionRunContext(args, session);
    expect(ctx.originalArgs).toBe(args);
    expect(ctx.session).toBe(session);
    expect(ctx.stopRequested).toBe(false);
    ctx.requestStop();
    expect(ctx.stopRequested).toBe(true);
  });

  it("lets every hook method be omitted, and each be sync or async", async () => {
    const empty: SessionRunHook = {};
    const x = constant(1);
    const hook: SessionRunHook = {
      begin: () => undefined,
      beforeRun: async () => new SessionRunArgs(x),
      afterRun: (ctx, values) => {
        if (values.results === 1) ctx.requestStop();
      },
    };
    const ctx = new SessionRunContext(new SessionRunArgs(x), new Session());
    expect(empty.beforeRun).toBeUndefined();
    const args = await hook.beforeRun?.(ctx);
    const session = new Session();
    await hook.afterRun?.(ctx, new SessionRunValues(await session.run(args instanceof SessionRunArgs ? args.fetches : [])));
    expect(ctx.stopRequested).toBe(true);
  });
});
