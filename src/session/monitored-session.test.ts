/**
 * MonitoredSession: the session-run contract of TF_REFERENCE.md §3 — hook order, merged
 * fetches and feeds, stop semantics, clean and failed closes, and recovery from preemption.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { latestCheckpoint } from "../checkpoint/checkpoint-state.js";
import { Dataset } from "../dataset/dataset.js";
import { AbortedError, OutOfRangeError, RuntimeError, UnavailableError } from "../errors.js";
import type { Coordinator } from "./coordinator.js";
import { getNext } from "./get-next.js";
import { getOrCreateGlobalStep } from "./global-step.js";
import { Graph } from "./graph.js";
import { silentLogger } from "./logger.js";
import { MonitoredSession, SingularMonitoredSession, withMonitoredSession } from "./monitored-session.js";
import { Operation } from "./operation.js";
import { ChiefSessionCreator, Scaffold } from "./scaffold.js";
import type { Session } from "./session.js";
import { SessionRunArgs, type SessionRunContext, type SessionRunHook, type SessionRunValues } from "./session-run-hook.js";
import { constant, placeholder, type Tensor } from "./tensor.js";
import { assignAdd, Variable } from "./variable.js";

/** A hook that records every call it gets into `log`, tagged with its name. */
class RecordingHook implements SessionRunHook {
  readonly results: unknown[] = [];
  sessions: Session[] = [];
  constructor(
    private readonly name: string,
    private readonly log: string[],
    private readonly request: SessionRunArgs | null = null,
  ) {}
  begin(): void {
    this.log.push(`${this.name}.begin`);
  }
  afterCreateSession(session: Session, _coord: Coordinator): void {
    this.sessions.push(session);
    this.log.push(`${this.name}.afterCreateSession`);
  }
  beforeRun(_ctx: SessionRunContext): SessionRunArgs | null {
    this.log.push(`${this.name}.beforeRun`);
    return this.request;
  }
  afterRun(_ctx: SessionRunContext, values: SessionRunValues): void {
    this.results.push(values.results);
    this.log.push(`${this.name}.afterRun`);
  }
  end(_session: Session): void {
    this.log.push(`${this.name}.end`);
  }
}

/** A graph with a global step, a train op that increments it, and a variable `w`. */
function model(): { graph: Graph; step: Variable<number>; train: Operation; w: Variable<number> } {
  const graph = new Graph();
  return graph.asDefault(() => {
    const step = getOrCreateGlobalStep();
    const w = new Variable("w", 0);
    const increment = assignAdd(step);
    const train = new Operation("train", async (run) => {
      await run.eval(increment);
      w.assign(w.value + 10);
    });
    return { graph, step, train, w };
  });
}

const quiet = { logger: silentLogger };

describe("MonitoredSession hooks", () => {
  it("calls begin once, afterCreateSession once, beforeRun and afterRun around each run in hook order, end at close", async () => {
    const { graph, train } = model();
    const log: string[] = [];
    const hooks = [new RecordingHook("a", log), new RecordingHook("b", log)];
    await withMonitoredSession(MonitoredSession.create({ graph, hooks, ...quiet }), async (sess) => {
      await sess.run(train);
      await sess.run(train);
    });
    expect(log).toEqual([
      "a.begin",
      "b.begin",
      "a.afterCreateSession",
      "b.afterCreateSession",
      ...["a.beforeRun", "b.beforeRun", "a.afterRun", "b.afterRun"],
      ...["a.beforeRun", "b.beforeRun", "a.afterRun", "b.afterRun"],
      "a.end",
      "b.end",
    ]);
  });

  it("runs each hook's fetches with the caller's and gives each hook its own results, null when it asked for none", async () => {
    const { graph, step, train } = model();
    const log: string[] = [];
    const asking = new RecordingHook("a", log, new SessionRunArgs({ gs: step }));
    const silent = new RecordingHook("b", log);
    const sess = await MonitoredSession.create({ graph, hooks: [asking, silent], ...quiet });
    expect(await sess.run([train, constant(7)])).toEqual([null, 7]);
    expect(asking.results).toEqual([{ gs: 1 }]);
    expect(silent.results).toEqual([null]);
    await sess.close();
  });

  it("merges the hooks' feeds with the caller's, and refuses a tensor fed twice", async () => {
    const { graph } = model();
    const [x, y] = graph.asDefault(() => [placeholder<number>("x"), placeholder<number>("y")] as const);
    const feedX: SessionRunHook = { beforeRun: () => new SessionRunArgs(null as never, new Map([[x, 2]])) };
    const sess = await MonitoredSession.create({ graph, hooks: [feedX], ...quiet });
    expect(await sess.run([x, y], new Map<Tensor<unknown>, unknown>([[y, 3]]))).toEqual([2, 3]);
    await expect(sess.run(x, new Map([[x, 5]]))).rejects.toThrow(
      expect.objectContaining({ name: "RuntimeError", message: "Same tensor is fed by a SessionRunHook and user. Conflict(s): x" }) as Error,
    );
    await sess.close();
    const { graph: g2 } = model();
    const z = g2.asDefault(() => placeholder<number>("z"));
    const feedZ: SessionRunHook = { beforeRun: () => new SessionRunArgs(null as never, new Map([[z, 1]])) };
    const both = await MonitoredSession.create({ graph: g2, hooks: [feedZ, feedZ], ...quiet });
    await expect(both.run(z)).rejects.toThrow("Same tensor is fed by two hooks. Conflict(s): z");
    await both.close();
  });

  it("calls no afterRun when a beforeRun or the run throws", async () => {
    const { graph } = model();
    const log: string[] = [];
    const failing = graph.asDefault(
      () =>
        new Operation("fail", () => {
          throw new Error("boom");
        }),
    );
    const sess = await MonitoredSession.create({ graph, hooks: [new RecordingHook("a", log)], ...quiet });
    await expect(sess.run(failing)).rejects.toThrow("boom");
    expect(log.filter((l) => l.endsWith("afterRun"))).toEqual([]);
    await sess.close(new Error("boom"));
    expect(log).not.toContain("a.end");
  });
});

describe("MonitoredSession stopping", () => {
  it("stops after the run in which a hook asked to, and refuses to run again", async () => {
    const { graph, step, train } = model();
    const stopAt2: SessionRunHook = {
      beforeRun: () => new SessionRunArgs(step),
      afterRun: (ctx, values) => {
        if ((values.results as number) >= 2) ctx.requestStop();
      },
    };
    const sess = await MonitoredSession.create({ graph, hooks: [stopAt2], ...quiet });
    let runs = 0;
    while (!sess.shouldStop()) {
      await sess.run(train);
      runs++;
    }
    expect(runs).toBe(2);
    expect(() => sess.run(train)).toThrow(expect.objectContaining({ name: "RuntimeError", message: "Run called even after should_stop requested." }) as Error);
    await sess.close();
  });

  it("stops when the coordinator is asked to, and raises the error a background task reported", async () => {
    const { graph, train } = model();
    let coord: Coordinator | null = null;
    const grab: SessionRunHook = {
      afterCreateSession: (_s, c) => {
        coord = c;
      },
    };
    const sess = await MonitoredSession.create({ graph, hooks: [grab], ...quiet });
    await sess.run(train);
    (coord as Coordinator | null)?.requestStop(new Error("reader failed"));
    expect(() => sess.shouldStop()).toThrow("reader failed");
    await sess.close(new Error("reader failed"));
  });

  it("ends cleanly when the input runs out: OutOfRangeError calls every hook's end", async () => {
    const graph = new Graph();
    const next = graph.asDefault(() => getNext(Dataset.range(3).iterator()));
    const log: string[] = [];
    const seen: number[] = [];
    const result = await withMonitoredSession(MonitoredSession.create({ graph, hooks: [new RecordingHook("a", log)], ...quiet }), async (sess) => {
      for (;;) seen.push(await sess.run(next));
    });
    expect(result).toBeUndefined();
    expect(seen).toEqual([0, 1, 2]);
    expect(log.at(-1)).toBe("a.end");
  });

  it("propagates any other error without calling end, and closes the session", async () => {
    const { graph } = model();
    const log: string[] = [];
    const hook = new RecordingHook("a", log);
    await expect(
      withMonitoredSession(MonitoredSession.create({ graph, hooks: [hook], ...quiet }), () => {
        throw new Error("bug");
      }),
    ).rejects.toThrow("bug");
    expect(log).not.toContain("a.end");
    expect(hook.sessions[0]?.closed).toBe(true);
  });

  it('refuses a second close: "Session is already closed."', async () => {
    const sess = await MonitoredSession.create({ graph: model().graph, ...quiet });
    await sess.close();
    expect(sess.shouldStop()).toBe(true);
    await expect(sess.close()).rejects.toThrow(expect.objectContaining({ name: "RuntimeError", message: "Session is already closed." }) as Error);
  });
});

describe("MonitoredSession recovery", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "checkpipe-monitored-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const PreemptionError of [AbortedError, UnavailableError]) {
    it(`on ${PreemptionError.name} mid-run recreates the session, restores the latest checkpoint, calls afterCreateSession again and retries the run`, async () => {
      const { graph, step, train, w } = model();
      let preempt = false;
      const flaky = graph.asDefault(
        () =>
          new Operation("flaky", async (run) => {
            await run.eval(train);
            if (preempt) {
              preempt = false;
              throw new PreemptionError("worker preempted");
            }
          }),
      );
      const scaffold = new Scaffold();
      const log: string[] = [];
      const hook = new RecordingHook("a", log);
      const sess = await MonitoredSession.create({
        graph,
        hooks: [hook],
        sessionCreator: new ChiefSessionCreator({ scaffold, checkpointDir: dir, ...quiet }),
        ...quiet,
      });
      await sess.run(flaky);
      await sess.run(flaky);
      await scaffold.saver?.save(join(dir, "model.ckpt"), { globalStep: step.value }); // a checkpoint at step 2, w = 20
      await sess.run(flaky); // step 3, w = 30, not saved
      preempt = true;
      log.length = 0;
      await sess.run(flaky); // fails after step 4; recovery restores step 2 and retries: step 3
      expect(step.value).toBe(3);
      expect(w.value).toBe(30);
      expect(log).toEqual(["a.beforeRun", "a.afterCreateSession", "a.beforeRun", "a.afterRun"]);
      expect(hook.sessions).toHaveLength(2);
      expect(hook.sessions[0]?.closed).toBe(true);
      expect(await latestCheckpoint(dir)).toBe(join(dir, "model.ckpt-2"));
      await sess.close();
      expect(log.at(-1)).toBe("a.end");
    });
  }

  it("SingularMonitoredSession does not recover: the preemption error ends it", async () => {
    const { graph } = model();
    const preempted = graph.asDefault(
      () =>
        new Operation("p", () => {
          throw new AbortedError("preempted");
        }),
    );
    const sess = await SingularMonitoredSession.create({ graph, ...quiet });
    await expect(sess.run(preempted)).rejects.toBeInstanceOf(AbortedError);
    await sess.close(new AbortedError("preempted"));
  });

  it("prefers a preemption error the coordinator holds over the error the run raised", async () => {
    const { graph } = model();
    let coord: Coordinator | null = null;
    let calls = 0;
    const op = graph.asDefault(
      () =>
        new Operation("op", () => {
          calls++;
          if (calls === 1) {
            coord?.requestStop(new UnavailableError("parameter server gone"));
            throw new Error("symptom");
          }
        }),
    );
    const grab: SessionRunHook = {
      afterCreateSession: (_s, c) => {
        coord = c;
      },
    };
    const sess = await MonitoredSession.create({ graph, hooks: [grab], ...quiet });
    await sess.run(op);
    expect(calls).toBe(2);
    await sess.close();
  });

  it("recreates the session when creating it is preempted", async () => {
    const { graph } = model();
    let attempts = 0;
    const creator = {
      createSession: async (g: Graph) => {
        attempts++;
        if (attempts === 1) throw new AbortedError("not ready");
        return new ChiefSessionCreator(quiet).createSession(g);
      },
    };
    const sess = await MonitoredSession.create({ graph, sessionCreator: creator, ...quiet });
    expect(attempts).toBe(2);
    await sess.close();
  });
});

describe("MonitoredSession.runStepFn", () => {
  it("gives the step the raw session and runWithHooks, and requestStop ends it and the loop", async () => {
    const { graph, step, train } = model();
    const log: string[] = [];
    const sess = await MonitoredSession.create({ graph, hooks: [new RecordingHook("a", log)], ...quiet });
    expect(await sess.runStepFn(async (ctx) => ctx.session.run(step))).toBe(0);
    expect(log.filter((l) => l.endsWith("Run"))).toEqual([]);
    await sess.runStepFn(async (ctx) => ctx.runWithHooks(train));
    expect(log.filter((l) => l.endsWith("Run"))).toEqual(["a.beforeRun", "a.afterRun"]);
    expect(
      await sess.runStepFn((ctx) => {
        ctx.requestStop();
      }),
    ).toBeNull();
    expect(sess.shouldStop()).toBe(true);
    await sess.close();
  });
});

describe("an OutOfRangeError from a run", () => {
  it("is what the caller sees; only withMonitoredSession turns it into a clean end", async () => {
    const graph = new Graph();
    const next = graph.asDefault(() => getNext(Dataset.range(0).iterator()));
    const sess = await MonitoredSession.create({ graph, ...quiet });
    await expect(sess.run(next)).rejects.toBeInstanceOf(OutOfRangeError);
    await sess.close(new OutOfRangeError("end"));
    await expect(sess.close()).rejects.toBeInstanceOf(RuntimeError);
  });
});
