/**
 * CheckpointSaverHook: TensorFlow's CheckpointSaverHookTest scenarios (TF_REFERENCE.md §2),
 * driven by hand as TensorFlow's `_HookedSession` does, plus saver lookup and the hook inside a
 * SingularMonitoredSession.
 */
import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readBundle } from "../../checkpoint/bundle.js";
import { latestCheckpoint } from "../../checkpoint/checkpoint-state.js";
import { Saver } from "../../checkpoint/saver.js";
import { RuntimeError, ValueError } from "../../errors.js";
import { Coordinator } from "../coordinator.js";
import type { Fetches } from "../fetches.js";
import { getOrCreateGlobalStep } from "../global-step.js";
import { Graph, GraphKeys } from "../graph.js";
import { silentLogger, type Logger } from "../logger.js";
import { SingularMonitoredSession, withMonitoredSession } from "../monitored-session.js";
import type { Operation } from "../operation.js";
import { ChiefSessionCreator, Scaffold } from "../scaffold.js";
import { Session } from "../session.js";
import { SessionRunArgs, SessionRunContext, SessionRunValues, type SessionRunHook } from "../session-run-hook.js";
import { assignAdd, type Variable } from "../variable.js";
import { CheckpointSaverHook, type CheckpointSaverHookOptions, type CheckpointSaverListener } from "./checkpoint-saver-hook.js";

/** A realistic start time for the mocked clock, in seconds (TensorFlow's test uses this one). */
const START = 1484695987.209386;

/** TensorFlow's `MockCheckpointSaverListener`: counts calls; `askForStop` makes afterSave return true. */
class CountingListener implements CheckpointSaverListener {
  readonly counts = { begin: 0, beforeSave: 0, afterSave: 0, end: 0 };
  askForStop = false;
  begin(): void {
    this.counts.begin++;
  }
  beforeSave(): void {
    this.counts.beforeSave++;
  }
  afterSave(): boolean {
    this.counts.afterSave++;
    return this.askForStop;
  }
  end(): void {
    this.counts.end++;
  }
}

/** TensorFlow's `_HookedSession` for one hook: beforeRun, one run with the hook's fetches, afterRun. No afterCreateSession. */
class HookedSession {
  constructor(
    readonly session: Session,
    private readonly hook: SessionRunHook,
  ) {}

  /** Runs `fetches` with the hook around it; returns the run context (to see stop requests). */
  async run(fetches: Fetches): Promise<SessionRunContext> {
    const ctx = new SessionRunContext(new SessionRunArgs(fetches), this.session);
    const args = await this.hook.beforeRun?.(ctx);
    const hookFetches = args?.fetches ?? [];
    const out = await this.session.run({ caller: fetches, hook: hookFetches });
    await this.hook.afterRun?.(ctx, new SessionRunValues(args ? out.hook : null));
    return ctx;
  }
}

/** The fixture of TensorFlow's CheckpointSaverHookTest: a graph, its global step, a train op adding 1, a scaffold. */
interface Model {
  readonly graph: Graph;
  readonly globalStep: Variable<number>;
  readonly train: Operation;
  readonly scaffold: Scaffold;
}

function model(): Model {
  const graph = new Graph();
  return graph.asDefault(() => {
    const globalStep = getOrCreateGlobalStep();
    return { graph, globalStep, train: assignAdd(globalStep), scaffold: new Scaffold() };
  });
}

/** As TensorFlow's tests: `hook.begin()` under the graph, `scaffold.finalize()`, a session, the init op. */
async function start(m: Model, hook: CheckpointSaverHook): Promise<HookedSession> {
  await m.graph.asDefault(() => hook.begin());
  m.scaffold.finalize(m.graph);
  const session = new Session(m.graph);
  const init = m.scaffold.initOp;
  if (init !== null) await session.run(init);
  return new HookedSession(session, hook);
}

/** The global step in the latest checkpoint of `dir` (TensorFlow's `load_variable(model_dir, "global_step")`). */
async function savedStep(dir: string): Promise<unknown> {
  const prefix = await latestCheckpoint(dir);
  if (prefix === null) return null;
  return (await readBundle(prefix)).get("global_step");
}

function recordingLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => void lines.push(m), warn: (m) => void lines.push(`WARN ${m}`) };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpoint-saver-hook-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A hook on `dir` with a silent logger. */
function saverHook(options: CheckpointSaverHookOptions): CheckpointSaverHook {
  return new CheckpointSaverHook(dir, { logger: silentLogger, ...options });
}

describe("CheckpointSaverHook construction", () => {
  it("raises ValueError when both saver and scaffold are given (before checking the interval)", () => {
    const m = model();
    const saver = new Saver([m.globalStep]);
    const make = (): CheckpointSaverHook => new CheckpointSaverHook(dir, { saver, scaffold: m.scaffold });
    expect(make).toThrow(ValueError);
    expect(make).toThrow(/^You cannot provide both saver and scaffold\. /);
  });

  it("raises the timer's ValueError when both saveSecs and saveSteps are given", () => {
    const make = (): CheckpointSaverHook => new CheckpointSaverHook(dir, { saveSecs: 10, saveSteps: 20 });
    expect(make).toThrow(ValueError);
    expect(make).toThrow(/^Can not provide both every_secs and every_steps\. /);
  });

  it("raises the timer's ValueError when neither saveSecs nor saveSteps is given", () => {
    const make = (): CheckpointSaverHook => new CheckpointSaverHook(dir);
    expect(make).toThrow(ValueError);
    expect(make).toThrow(/^Either every_secs or every_steps should be provided\. /);
  });
});

describe("CheckpointSaverHook.begin", () => {
  it("raises RuntimeError when the default graph has no global step", async () => {
    const hook = saverHook({ saveSteps: 1 });
    const begin = new Graph().asDefault(() => hook.begin());
    await expect(begin).rejects.toThrow(RuntimeError);
    await expect(new Graph().asDefault(() => hook.begin())).rejects.toThrow(/^Global step should be created to use CheckpointSaverHook\. /);
  });

  it("calls every listener's begin, in order, once", async () => {
    const m = model();
    const log: string[] = [];
    const listeners = ["a", "b"].map((name): CheckpointSaverListener => ({ begin: () => void log.push(name) }));
    await m.graph.asDefault(() => saverHook({ saveSteps: 1, listeners }).begin());
    expect(log).toEqual(["a", "b"]);
  });
});

describe("CheckpointSaverHook saves (TensorFlow's CheckpointSaverHookTest)", () => {
  it("saves in the first step with neither saver nor scaffold, using the graph's savers collection", async () => {
    const m = model();
    const hooked = await start(m, saverHook({ saveSteps: 1 })); // scaffold.finalize puts its saver in `savers`
    await hooked.run(m.train);
    expect(await savedStep(dir)).toBe(1);
  });

  it("saveSecs=2 saves in the first step", async () => {
    const m = model();
    const hooked = await start(m, saverHook({ saveSecs: 2, scaffold: m.scaffold }));
    await hooked.run(m.train);
    expect(await savedStep(dir)).toBe(1);
  });

  it("saveSecs=2 calls the listeners at begin, on the first run, and at end: begin 1, beforeSave 2, afterSave 2, end 1", async () => {
    const m = model();
    const listener = new CountingListener();
    const hook = saverHook({ saveSecs: 2, scaffold: m.scaffold, listeners: [listener] });
    const hooked = await start(m, hook);
    await hooked.run(m.train); // saves here
    await hooked.run(m.train); // not here, so it does at end
    await hook.end(hooked.session); // saves here
    expect(listener.counts).toEqual({ begin: 1, beforeSave: 2, afterSave: 2, end: 1 });
  });

  it("saveSecs=2 with time 0, 0.5, 2.5, 2.6, 2.7, 10 saves at global steps 1, 3 and 6", async () => {
    let now = START;
    const m = model();
    const hooked = await start(m, saverHook({ saveSecs: 2, scaffold: m.scaffold, clock: () => now }));
    now = START;
    await hooked.run(m.train); // saved (1)
    now = START + 0.5;
    await hooked.run(m.train); // not saved (2)
    expect(await savedStep(dir)).toBe(1);
    now = START + 2.5;
    await hooked.run(m.train); // saved (3)
    now = START + 2.6;
    await hooked.run(m.train); // not saved (4)
    now = START + 2.7;
    await hooked.run(m.train); // not saved (5)
    expect(await savedStep(dir)).toBe(3);
    now = START + 10;
    await hooked.run(m.train); // saved (6)
    expect(await savedStep(dir)).toBe(6);
  });

  it("saveSecs=2 calls the listeners periodically: beforeSave 4, afterSave 4 over seven runs and end", async () => {
    let now = START;
    const m = model();
    const listener = new CountingListener();
    const hook = saverHook({ saveSecs: 2, scaffold: m.scaffold, listeners: [listener], clock: () => now });
    const hooked = await start(m, hook);
    for (const [t, saves] of [
      [0.5, true],
      [0.5, false],
      [3.0, true],
      [3.5, false],
      [4.0, false],
      [6.5, true],
      [7.0, false], // not here, so it does at end
    ] as const) {
      now = START + t;
      const before = listener.counts.afterSave;
      await hooked.run(m.train);
      expect(listener.counts.afterSave - before, `at ${t} s`).toBe(saves ? 1 : 0);
    }
    now = START + 7.5;
    await hook.end(hooked.session);
    expect(listener.counts).toEqual({ begin: 1, beforeSave: 4, afterSave: 4, end: 1 });
    expect(await savedStep(dir)).toBe(7);
  });

  it("saveSteps=2 saves in the first step", async () => {
    const m = model();
    const hooked = await start(m, saverHook({ saveSteps: 2, scaffold: m.scaffold }));
    await hooked.run(m.train);
    expect(await savedStep(dir)).toBe(1);
  });

  it("saveSteps=2: the saved global step after each of five runs is 1, 1, 3, 3, 5", async () => {
    const m = model();
    const hooked = await start(m, saverHook({ saveSteps: 2, scaffold: m.scaffold }));
    const saved: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      await hooked.run(m.train);
      saved.push(await savedStep(dir));
    }
    expect(saved).toEqual([1, 1, 3, 3, 5]);
  });

  it("end() after two steps saves global step 2", async () => {
    const m = model();
    const hook = saverHook({ saveSecs: 2, scaffold: m.scaffold });
    const hooked = await start(m, hook);
    await hooked.run(m.train);
    await hooked.run(m.train);
    expect(await savedStep(dir)).toBe(1);
    await hook.end(hooked.session);
    expect(await savedStep(dir)).toBe(2);
  });

  it("end() does not save again when the last step was just saved, and gives the listeners the last step", async () => {
    const m = model();
    const steps: string[] = [];
    const listener: CheckpointSaverListener = {
      beforeSave: (_s, step) => void steps.push(`beforeSave ${step}`),
      end: (_s, step) => void steps.push(`end ${step}`),
    };
    const hook = saverHook({ saveSteps: 1, scaffold: m.scaffold, listeners: [listener] });
    const hooked = await start(m, hook);
    await hooked.run(m.train);
    await hooked.run(m.train);
    await hook.end(hooked.session);
    expect(steps).toEqual(["beforeSave 1", "beforeSave 2", "end 2"]);
  });

  it("afterCreateSession saves global step 0 before the first train step; saveSteps=2 then saves at 2, not 1", async () => {
    const m = model();
    const hook = saverHook({ saveSteps: 2, scaffold: m.scaffold });
    const hooked = await start(m, hook);
    await hook.afterCreateSession(hooked.session, new Coordinator({ logger: silentLogger }));
    expect(await savedStep(dir)).toBe(0);
    await hooked.run(m.train);
    expect(await savedStep(dir)).toBe(0);
    await hooked.run(m.train);
    expect(await savedStep(dir)).toBe(2);
  });
});

describe("CheckpointSaverHook listeners and logging", () => {
  it("calls beforeSave before the checkpoint is written and afterSave after, in listener order", async () => {
    const m = model();
    const log: string[] = [];
    const listener = (name: string): CheckpointSaverListener => ({
      beforeSave: async (_s, step) => void log.push(`${name}.beforeSave ${step}: latest ${String(await savedStep(dir))}`),
      afterSave: async (_s, step) => void log.push(`${name}.afterSave ${step}: latest ${String(await savedStep(dir))}`),
    });
    const hooked = await start(m, saverHook({ saveSteps: 1, scaffold: m.scaffold, listeners: [listener("a"), listener("b")] }));
    await hooked.run(m.train);
    expect(log).toEqual(["a.beforeSave 1: latest null", "b.beforeSave 1: latest null", "a.afterSave 1: latest 1", "b.afterSave 1: latest 1"]);
  });

  it("requests a stop when a listener's afterSave returns true, still calling every listener", async () => {
    const m = model();
    const first = new CountingListener();
    const second = new CountingListener();
    const hooked = await start(m, saverHook({ saveSteps: 1, scaffold: m.scaffold, listeners: [first, second] }));
    expect((await hooked.run(m.train)).stopRequested).toBe(false);
    first.askForStop = true;
    expect((await hooked.run(m.train)).stopRequested).toBe(true);
    expect(second.counts.afterSave).toBe(2);
    expect(await savedStep(dir)).toBe(2);
  });

  it("logs each save through its logger, naming the step and the path", async () => {
    const m = model();
    const logger = recordingLogger();
    const hooked = await start(m, new CheckpointSaverHook(dir, { saveSteps: 1, scaffold: m.scaffold, logger }));
    await hooked.run(m.train);
    expect(logger.lines).toEqual([
      "Calling checkpoint listeners before saving checkpoint 1...",
      `Saving checkpoints for 1 into ${join(dir, "model.ckpt")}.`,
      "Calling checkpoint listeners after saving checkpoint 1...",
    ]);
  });

  it("creates a missing checkpoint directory and names files after checkpointBasename", async () => {
    const m = model();
    const nested = join(dir, "a", "b");
    const hook = new CheckpointSaverHook(nested, { saveSteps: 1, scaffold: m.scaffold, checkpointBasename: "input.ckpt", logger: silentLogger });
    const hooked = await start(m, hook);
    await hooked.run(m.train);
    expect(await latestCheckpoint(nested)).toBe(join(nested, "input.ckpt-1"));
    await expect(access(join(nested, "input.ckpt-1.index"))).resolves.toBeUndefined();
  });
});

describe("CheckpointSaverHook saver lookup", () => {
  /** A graph with a global step and a train op, no scaffold; `savers` savers put in the collection. */
  function bare(savers: number): { graph: Graph; globalStep: Variable<number>; train: Operation } {
    const graph = new Graph();
    return graph.asDefault(() => {
      const globalStep = getOrCreateGlobalStep();
      for (let i = 0; i < savers; i++) graph.addToCollection(GraphKeys.SAVERS, new Saver([globalStep]));
      return { graph, globalStep, train: assignAdd(globalStep) };
    });
  }

  async function runOnce(graph: Graph, train: Operation, hook: CheckpointSaverHook): Promise<void> {
    await graph.asDefault(() => hook.begin());
    await new HookedSession(new Session(graph), hook).run(train);
  }

  it("uses the saver it was given, ahead of the collection", async () => {
    const { graph, globalStep, train } = bare(2);
    const saver = new Saver([globalStep]);
    await runOnce(graph, train, saverHook({ saveSteps: 1, saver }));
    expect(saver.lastCheckpoints).toEqual([join(dir, "model.ckpt-1")]);
  });

  it("reads scaffold.saver at save time, not at construction or begin", async () => {
    const { graph, globalStep, train } = bare(0);
    const scaffold: { saver: Saver | null } = { saver: null };
    const hook = saverHook({ saveSteps: 1, scaffold });
    await graph.asDefault(() => hook.begin());
    const saver = new Saver([globalStep]);
    scaffold.saver = saver;
    await new HookedSession(new Session(graph), hook).run(train);
    expect(saver.lastCheckpoints).toEqual([join(dir, "model.ckpt-1")]);
  });

  it("uses the single saver of the graph's savers collection", async () => {
    const { graph, train } = bare(1);
    const [saver] = graph.getCollection(GraphKeys.SAVERS);
    await runOnce(graph, train, saverHook({ saveSteps: 1 }));
    expect(saver?.lastCheckpoints).toEqual([join(dir, "model.ckpt-1")]);
  });

  it("raises RuntimeError at the first save when the savers collection is empty", async () => {
    const { graph, train } = bare(0);
    const save = runOnce(graph, train, saverHook({ saveSteps: 1 }));
    await expect(save).rejects.toThrow(RuntimeError);
    await expect(runOnce(graph, train, saverHook({ saveSteps: 1 }))).rejects.toThrow(
      "No items in collection savers. Please add a saver to the collection or provide a saver or scaffold.",
    );
  });

  it("raises RuntimeError at the first save when the savers collection holds two savers", async () => {
    const { graph, train } = bare(2);
    const save = runOnce(graph, train, saverHook({ saveSteps: 1 }));
    await expect(save).rejects.toThrow(RuntimeError);
    await expect(runOnce(graph, train, saverHook({ saveSteps: 1 }))).rejects.toThrow(
      "More than one item in collection savers. Please indicate which one to use by passing it to the constructor.",
    );
  });
});

describe("CheckpointSaverHook in a SingularMonitoredSession", () => {
  it("saves at creation and after each run: begin 1, beforeSave 3, afterSave 3, end 1 for two runs", async () => {
    const m = model();
    const listener = new CountingListener();
    const hook = saverHook({ saveSteps: 1, scaffold: m.scaffold, listeners: [listener] });
    const sessionCreator = new ChiefSessionCreator({ scaffold: m.scaffold, checkpointDir: dir, logger: silentLogger });
    const step = await withMonitoredSession(
      SingularMonitoredSession.create({ graph: m.graph, hooks: [hook], sessionCreator, logger: silentLogger }),
      async (sess) => {
        await sess.run(m.train);
        await sess.run(m.train);
        return sess.rawSession.run(m.globalStep);
      },
    );
    expect(step).toBe(2);
    expect(listener.counts).toEqual({ begin: 1, beforeSave: 3, afterSave: 3, end: 1 });
  });

  it("stops training when a listener's afterSave returns true", async () => {
    const m = model();
    const listener = new CountingListener();
    const hook = saverHook({ saveSteps: 1, scaffold: m.scaffold, listeners: [listener] });
    const sessionCreator = new ChiefSessionCreator({ scaffold: m.scaffold, checkpointDir: dir, logger: silentLogger });
    await withMonitoredSession(SingularMonitoredSession.create({ graph: m.graph, hooks: [hook], sessionCreator, logger: silentLogger }), async (sess) => {
      await sess.run(m.train);
      expect(sess.shouldStop()).toBe(false);
      await sess.run(m.train);
      expect(sess.shouldStop()).toBe(false);
      listener.askForStop = true;
      await sess.run(m.train);
      expect(sess.shouldStop()).toBe(true);
    });
  });

  it("with neither saver nor scaffold, saves with the monitored session's default saver; a new session restores step 2", async () => {
    const m = model();
    const listener = new CountingListener();
    const hook = saverHook({ saveSteps: 1, listeners: [listener] });
    const creator = (): ChiefSessionCreator => new ChiefSessionCreator({ checkpointDir: dir, logger: silentLogger });
    await withMonitoredSession(SingularMonitoredSession.create({ graph: m.graph, hooks: [hook], sessionCreator: creator(), logger: silentLogger }), async (sess) => {
      await sess.run(m.train);
      await sess.run(m.train);
    });
    expect(listener.counts).toEqual({ begin: 1, beforeSave: 3, afterSave: 3, end: 1 });
    const again = model();
    const restored = await withMonitoredSession(
      SingularMonitoredSession.create({ graph: again.graph, sessionCreator: creator(), logger: silentLogger }),
      (sess) => sess.run(again.globalStep),
    );
    expect(restored).toBe(2);
  });
});

describe("CheckpointSaverHook composition surface (hasSaver, useSaver, saveAt)", () => {
  it("hasSaver is false without saver and scaffold, true with either", () => {
    const m = model();
    expect(saverHook({ saveSteps: 1 }).hasSaver).toBe(false);
    expect(saverHook({ saveSteps: 1, saver: new Saver([m.globalStep]) }).hasSaver).toBe(true);
    expect(saverHook({ saveSteps: 1, scaffold: m.scaffold }).hasSaver).toBe(true);
  });

  it("useSaver gives a hook made without one the saver it saves with, ahead of the savers collection", async () => {
    const graph = new Graph();
    const { globalStep, train } = graph.asDefault(() => {
      const step = getOrCreateGlobalStep();
      graph.addToCollection(GraphKeys.SAVERS, new Saver([step]));
      return { globalStep: step, train: assignAdd(step) };
    });
    const hook = saverHook({ saveSteps: 1 });
    const saver = new Saver([globalStep], { latestFilename: "checkpoint_other" });
    hook.useSaver(saver);
    expect(hook.hasSaver).toBe(true);
    await graph.asDefault(() => hook.begin());
    await new HookedSession(new Session(graph), hook).run(train);
    expect(saver.lastCheckpoints).toEqual([join(dir, "model.ckpt-1")]);
    expect(await latestCheckpoint(dir, "checkpoint_other")).toBe(join(dir, "model.ckpt-1"));
  });

  it("useSaver raises ValueError when the hook already has a saver or a scaffold", () => {
    const m = model();
    const saver = new Saver([m.globalStep]);
    expect(() => saverHook({ saveSteps: 1, saver }).useSaver(saver)).toThrow(
      /^CheckpointSaverHook already has a saver\. Call useSaver only on a hook made without saver and scaffold; check hasSaver first\.$/,
    );
    expect(() => saverHook({ saveSteps: 1, scaffold: m.scaffold }).useSaver(saver)).toThrow(/^CheckpointSaverHook already has a scaffold\. /);
  });

  it("saveAt saves at the step with the listeners around it and counts the next interval from there", async () => {
    const m = model();
    const listener = new CountingListener();
    const hook = saverHook({ saveSteps: 2, saver: new Saver([m.globalStep]), listeners: [listener] });
    const hooked = await start(m, hook);
    expect(await hook.saveAt(hooked.session, 0)).toBe(false);
    expect(await savedStep(dir)).toBe(0);
    expect(listener.counts).toMatchObject({ beforeSave: 1, afterSave: 1 });
    await hooked.run(m.train); // step 1: within two steps of 0, no save
    expect(await savedStep(dir)).toBe(0);
    await hooked.run(m.train); // step 2: saves
    expect(await savedStep(dir)).toBe(2);
  });

  it("saveAt returns true when a listener's afterSave asks to stop", async () => {
    const m = model();
    const listener = new CountingListener();
    listener.askForStop = true;
    const hook = saverHook({ saveSteps: 2, saver: new Saver([m.globalStep]), listeners: [listener] });
    const hooked = await start(m, hook);
    expect(await hook.saveAt(hooked.session, 0)).toBe(true);
  });
});
