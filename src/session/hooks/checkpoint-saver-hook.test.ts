/**
 * CheckpointSaverHook: TensorFlow's CheckpointSaverHookTest scenarios (TF_REFERENCE.md §2),
 * driven by hand as TensorFlow's `_HookedSession` does, plus saver lookup and the hook inside a
 * SingularMonitoredSession.
 */
import { access, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { INDEX_SUFFIX, readBundle } from "../../checkpoint/bundle.js";
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
    expect(make).toThrow(/^Can not provide both everySecs and everySteps\. /);
  });

  it("raises the timer's ValueError when neither saveSecs nor saveSteps is given", () => {
    const make = (): CheckpointSaverHook => new CheckpointSaverHook(dir);
    expect(make).toThrow(ValueError);
    expect(make).toThrow(/^Either everySecs or everySteps should be provided\. /);
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

  it("end() releases the saver's writer lock of the directory (checkpoint.lock), so that another process may train there", async () => {
    const m = model();
    const hook = saverHook({ saveSteps: 1, scaffold: m.scaffold });
    const hooked = await start(m, hook);
    await hooked.run(m.train);
    expect(await readdir(dir)).toContain("checkpoint.lock");
    await hook.end(hooked.session);
    expect(await readdir(dir)).not.toContain("checkpoint.lock");
    expect(await savedStep(dir)).toBe(1);
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
    await withMonitoredSession(
      SingularMonitoredSession.create({ graph: m.graph, hooks: [hook], sessionCreator: creator(), logger: silentLogger }),
      async (sess) => {
        await sess.run(m.train);
        await sess.run(m.train);
      },
    );
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

describe("CheckpointSaverHook async", () => {
  /** Lets the event loop turn, so that every Promise settled by then has run its callbacks. */
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  /** A saver over the global step whose clock stands still, so that two runs write the same state files. */
  function stillSaver(m: Model, maxToKeep: number | null = 5): Saver {
    return new Saver([m.globalStep], { maxToKeep, clock: () => START });
  }

  /** Between runs: waits until every checkpoint taken is on disk and the afterSave calls it led to are done. */
  const writesDone = (saver: Saver) => async (): Promise<void> => {
    await saver.sync();
    await tick();
  };

  /**
   * A SingularMonitoredSession with `hook`, running `m.train` until it should stop or `steps`
   * runs were made (`between` called after each), then closed; the global step reached.
   */
  async function train(m: Model, hook: CheckpointSaverHook, steps: number, between: () => Promise<void> = tick): Promise<number> {
    const sessionCreator = new ChiefSessionCreator({ scaffold: m.scaffold, logger: silentLogger });
    const session = SingularMonitoredSession.create({ graph: m.graph, hooks: [hook], sessionCreator, logger: silentLogger });
    let step = 0;
    await withMonitoredSession(session, async (sess) => {
      for (let i = 0; i < steps && !sess.shouldStop(); i++) {
        await sess.run(m.train);
        await between();
      }
      step = await sess.rawSession.run(m.globalStep);
    });
    return step;
  }

  async function filesOf(at: string): Promise<Record<string, Buffer>> {
    const files: Record<string, Buffer> = {};
    for (const name of (await readdir(at)).sort()) files[name] = await readFile(join(at, name));
    return files;
  }

  for (const [steps, saveSteps] of [
    [23, 3],
    [12, 1],
    [7, 10],
  ] as const) {
    it(`leaves the same checkpoints and state file as without async: ${steps} steps, saveSteps=${saveSteps}`, async () => {
      const found: Record<string, Record<string, Buffer>> = {};
      for (const async of [false, true]) {
        const m = model();
        const at = join(dir, String(async));
        const hook = new CheckpointSaverHook(at, { saveSteps, saver: stillSaver(m), async, logger: silentLogger });
        expect(await train(m, hook, steps, async () => undefined)).toBe(steps); // no turn of the event loop between runs
        found[String(async)] = await filesOf(at);
      }
      expect(Object.keys(found["true"] ?? {})).toContain("checkpoint");
      expect(found["true"]).toEqual(found["false"]);
      expect(await savedStep(join(dir, "true"))).toBe(steps);
    });
  }

  it("calls afterSave once its checkpoint's .index is on disk, in step order, every one by the end", async () => {
    const m = model();
    const seen: { step: number; onDisk: boolean }[] = [];
    const listener: CheckpointSaverListener = {
      afterSave: async (_s, step) => {
        const onDisk = await access(join(dir, `model.ckpt-${step}${INDEX_SUFFIX}`)).then(
          () => true,
          () => false,
        );
        seen.push({ step, onDisk });
      },
    };
    const hook = saverHook({ saveSteps: 2, saver: stillSaver(m, null), listeners: [listener], async: true });
    await train(m, hook, 9);
    expect(seen).toEqual([0, 2, 4, 6, 8, 9].map((step) => ({ step, onDisk: true })));
  });

  it("calls the listeners in order: beforeSave at the save, afterSave after it, end last", async () => {
    const m = model();
    const log: string[] = [];
    const listener = (name: string): CheckpointSaverListener => ({
      beforeSave: (_s, step) => void log.push(`${name}.beforeSave ${step}`),
      afterSave: (_s, step) => void log.push(`${name}.afterSave ${step}`),
      end: (_s, step) => void log.push(`${name}.end ${step}`),
    });
    const hook = saverHook({ saveSteps: 3, saver: stillSaver(m), listeners: [listener("a"), listener("b")], async: true });
    await train(m, hook, 4);
    const calls = (kind: string): string[] => log.filter((line) => line.includes(`.${kind} `));
    expect(calls("beforeSave")).toEqual(["a.beforeSave 0", "b.beforeSave 0", "a.beforeSave 3", "b.beforeSave 3", "a.beforeSave 4", "b.beforeSave 4"]);
    expect(calls("afterSave")).toEqual(["a.afterSave 0", "b.afterSave 0", "a.afterSave 3", "b.afterSave 3", "a.afterSave 4", "b.afterSave 4"]);
    expect(log.slice(-2)).toEqual(["a.end 4", "b.end 4"]);
    for (const step of [0, 3, 4]) expect(log.indexOf(`a.afterSave ${step}`)).toBeGreaterThan(log.indexOf(`b.beforeSave ${step}`));
  });

  it("applies a stop an afterSave asks for at a later run, not in the run that saved", async () => {
    const m = model();
    const saver = stillSaver(m);
    const listener: CheckpointSaverListener = { afterSave: (_s, step) => step === 4 };
    const hook = saverHook({ saveSteps: 2, saver, listeners: [listener], async: true });
    // The writes done between runs: the afterSave of step 4 has run before the fifth run, which stops.
    expect(await train(m, hook, 100, writesDone(saver))).toBe(5);
  });

  it("keeps training while the afterSave that asks to stop has not run, and stops at the run after it did", async () => {
    const m = model();
    let called!: () => void;
    const asked = new Promise<void>((resolve) => (called = resolve));
    const listener: CheckpointSaverListener = {
      afterSave: (_s, step) => {
        if (step !== 2) return false;
        called();
        return true;
      },
    };
    const hook = saverHook({ saveSteps: 2, saver: stillSaver(m), listeners: [listener], async: true });
    const sessionCreator = new ChiefSessionCreator({ scaffold: m.scaffold, logger: silentLogger });
    await withMonitoredSession(SingularMonitoredSession.create({ graph: m.graph, hooks: [hook], sessionCreator, logger: silentLogger }), async (sess) => {
      await sess.run(m.train);
      await sess.run(m.train); // saves step 2 in the background: no stop in this run
      expect(sess.shouldStop()).toBe(false);
      await asked;
      await tick();
      expect(sess.shouldStop()).toBe(false); // applied by a run's afterRun
      await sess.run(m.train);
      expect(sess.shouldStop()).toBe(true);
    });
  });

  it("throws the error of a background afterSave from a later run", async () => {
    const m = model();
    const saver = stillSaver(m);
    const failure = new Error("listener failed at step 4");
    const listener: CheckpointSaverListener = {
      afterSave: (_s, step) => {
        if (step === 4) throw failure;
      },
    };
    const hook = saverHook({ saveSteps: 2, saver, listeners: [listener], async: true });
    const sessionCreator = new ChiefSessionCreator({ scaffold: m.scaffold, logger: silentLogger });
    const session = SingularMonitoredSession.create({ graph: m.graph, hooks: [hook], sessionCreator, logger: silentLogger });
    const done: number[] = [];
    const training = withMonitoredSession(session, async (sess) => {
      for (;;) {
        done.push(await sess.run([m.train, m.globalStep]).then(([, step]) => step));
        await writesDone(saver)();
      }
    });
    await expect(training).rejects.toBe(failure);
    expect(done).toEqual([1, 2, 3, 4]); // the run that saved step 4 completed; the next one threw
  });

  it("throws the error of the last afterSave from close (the hook's end), and calls no listener's end", async () => {
    const m = model();
    const failure = new Error("listener failed at the last save");
    const ended: number[] = [];
    const listener: CheckpointSaverListener = {
      afterSave: (_s, step) => {
        if (step === 3) throw failure;
      },
      end: (_s, step) => void ended.push(step),
    };
    const hook = saverHook({ saveSteps: 2, saver: stillSaver(m), listeners: [listener], async: true });
    await expect(train(m, hook, 3)).rejects.toBe(failure);
    expect(ended).toEqual([]);
    expect(await savedStep(dir)).toBe(3);
  });

  it("throws a failed background write from end, and calls no afterSave for it", async () => {
    const m = model();
    const steps: number[] = [];
    const sub = join(dir, "sub");
    await mkdir(sub);
    const hook = new CheckpointSaverHook(sub, {
      saveSteps: 1,
      saver: stillSaver(m),
      listeners: [{ afterSave: (_s, step) => void steps.push(step) }],
      async: true,
      logger: silentLogger,
    });
    const hooked = await start(m, hook);
    await hook.afterCreateSession(hooked.session, new Coordinator({ logger: silentLogger }));
    await hooked.run(m.train); // step 1
    await hook.end(hooked.session); // waits for the writes: 0 and 1 on disk
    expect(steps).toEqual([0, 1]);
    await rm(sub, { recursive: true, force: true });
    await hooked.run(m.train); // step 2: the write fails in the background
    await expect(hook.end(hooked.session)).rejects.toMatchObject({ code: "NOT_FOUND", cause: { code: "ENOENT" } });
    expect(steps).toEqual([0, 1]);
  });

  it("ignores a stop asked by the afterSave of the session-start save, as without async", async () => {
    // CheckpointSaverListener.afterSave says a stop is "not honoured at session start"; with
    // async, save() records the stop of every background save, afterCreateSession's included,
    // and the next afterRun applies it: training stops after 2 steps instead of running 5.
    const reached: Record<string, number> = {};
    for (const async of [false, true]) {
      const m = model();
      const saver = stillSaver(m);
      const listener: CheckpointSaverListener = { afterSave: (_s, step) => step === 0 };
      const hook = new CheckpointSaverHook(join(dir, String(async)), { saveSteps: 100, saver, listeners: [listener], async, logger: silentLogger });
      reached[String(async)] = await train(m, hook, 5, writesDone(saver));
    }
    expect(reached).toEqual({ false: 5, true: 5 });
  });
});
