/**
 * Scaffold and session creators: what a monitored session needs to make (and remake, after a
 * preemption) a ready session — the model saver, how to initialize, and where to restore from.
 *
 * @module
 */
import { getCheckpointState } from "../checkpoint/checkpoint-state.js";
import { Saver } from "../checkpoint/saver.js";
import type { Saveable } from "../checkpoint/saveable.js";
import { RuntimeError, ValueError } from "../errors.js";
import { type Graph, GraphKeys } from "./graph.js";
import type { Logger } from "./logger.js";
import { consoleLogger } from "./logger.js";
import type { Operation } from "./operation.js";
import { Session } from "./session.js";
import { globalVariablesInitializer } from "./variable.js";

/** Options of {@link Scaffold}. */
export interface ScaffoldOptions {
  /** The model saver (default: the graph's `savers` collection, else one over every variable and saveable object). */
  readonly saver?: Saver;
  /** Run to initialize a model that has no checkpoint (default: every variable to its initial value). */
  readonly initOp?: Operation;
  /** Called after `initOp`, with the scaffold and the session. */
  readonly initFn?: (scaffold: Scaffold, session: Session) => unknown;
}

/**
 * The pieces a model needs around it to run in a monitored session (TensorFlow's
 * `tf.train.Scaffold`): its saver and its initialization. `finalize(graph)` completes them
 * from the graph and finalizes it.
 *
 * @example
 * const scaffold = new Scaffold({ saver: new Saver([...]) });
 * const session = await MonitoredSession.create({ sessionCreator: new ChiefSessionCreator({ scaffold, checkpointDir }) });
 */
export class Scaffold {
  private savers: Saver | null | undefined;
  private init: Operation | undefined;
  /** What to call after the init op. */
  readonly initFn: ((scaffold: Scaffold, session: Session) => unknown) | undefined;
  private finalized = false;

  constructor(options: ScaffoldOptions = {}) {
    this.savers = options.saver;
    this.init = options.initOp;
    this.initFn = options.initFn;
  }

  /** The API's factory form of the constructor. */
  static create(options: ScaffoldOptions = {}): Promise<Scaffold> {
    return Promise.resolve(new Scaffold(options));
  }

  /** The model saver; null when the graph has nothing to save. Known after {@link finalize}. */
  get saver(): Saver | null {
    return this.savers ?? null;
  }

  /** The init op, known after {@link finalize}. */
  get initOp(): Operation | null {
    return this.init ?? null;
  }

  /**
   * Completes the scaffold from `graph` — the saver (the one in the `savers` collection, or a
   * new one over the `variables` and `saveable_objects` collections, put in `savers`) and the
   * init op — then finalizes the graph. Idempotent.
   *
   * @throws {RuntimeError} when the `savers` collection holds more than one saver.
   */
  finalize(graph: Graph): void {
    if (this.finalized) return;
    if (this.savers === undefined) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the assertion reads better than the call's type argument
      const savers = graph.getCollection(GraphKeys.SAVERS) as Saver[];
      if (savers.length > 1) {
        throw new RuntimeError("More than one item in collection savers. Please indicate which one to use by passing it to the Scaffold.", {
          expected: "at most one saver",
          received: `${savers.length}`,
        });
      }
      this.savers = savers[0] ?? defaultSaver(graph);
      if (this.savers !== null && savers.length === 0) graph.addToCollection(GraphKeys.SAVERS, this.savers);
    }
    this.init ??= graph.asDefault(() => globalVariablesInitializer(graph));
    graph.finalize();
    this.finalized = true;
  }
}

/** A saver over every variable and saveable object of the graph, or null when there are none. */
function defaultSaver(graph: Graph): Saver | null {
  const saveables: Saveable[] = [...graph.getCollection(GraphKeys.GLOBAL_VARIABLES), ...graph.getCollection(GraphKeys.SAVEABLE_OBJECTS)];
  return saveables.length === 0 ? null : new Saver(saveables);
}

/** Makes the sessions a monitored session runs (TensorFlow's `SessionCreator`). */
export interface SessionCreator {
  /** A new session, restored or initialized, ready to run. */
  createSession(graph: Graph): Promise<Session>;
}

/** Options of {@link ChiefSessionCreator}. */
export interface ChiefSessionCreatorOptions {
  /** The scaffold (default: a new one). */
  readonly scaffold?: Scaffold;
  /** Where to look for the latest checkpoint to restore. */
  readonly checkpointDir?: string;
  /** A checkpoint to restore instead of the directory's latest. */
  readonly checkpointFilenameWithPath?: string;
  /** Where "Restoring ..." goes (default: the console logger). */
  readonly logger?: Logger;
}

/**
 * Creates sessions for the chief: finalizes the scaffold and the graph, then restores the
 * newest whole checkpoint of `checkpointDir` (falling back past damaged ones, with a warning)
 * or, when there is none, runs the init op.
 *
 * @example
 * const creator = new ChiefSessionCreator({ checkpointDir: "runs/a" });
 */
export class ChiefSessionCreator implements SessionCreator {
  /** The scaffold it completes and uses. */
  readonly scaffold: Scaffold;
  private readonly checkpointDir: string | undefined;
  private readonly checkpointPath: string | undefined;
  private readonly logger: Logger;

  constructor(options: ChiefSessionCreatorOptions = {}) {
    if (options.checkpointDir !== undefined && options.checkpointFilenameWithPath !== undefined) {
      throw new ValueError("Can not provide both checkpointDir and checkpointFilenameWithPath.", {
        expected: "checkpointDir or checkpointFilenameWithPath",
        received: "both",
      });
    }
    this.scaffold = options.scaffold ?? new Scaffold();
    this.checkpointDir = options.checkpointDir;
    this.checkpointPath = options.checkpointFilenameWithPath;
    this.logger = options.logger ?? consoleLogger;
  }

  /** The API's factory form of the constructor. */
  static create(options: ChiefSessionCreatorOptions = {}): Promise<ChiefSessionCreator> {
    return Promise.resolve(new ChiefSessionCreator(options));
  }

  async createSession(graph: Graph): Promise<Session> {
    this.scaffold.finalize(graph);
    const session = new Session(graph);
    if (!(await this.restore())) {
      const init = this.scaffold.initOp;
      if (init !== null) await session.run(init);
      await this.scaffold.initFn?.(this.scaffold, session);
    }
    return session;
  }

  /** Restores a checkpoint if there is one; says whether it did. */
  private async restore(): Promise<boolean> {
    const saver = this.scaffold.saver;
    if (saver === null) return false;
    if (this.checkpointPath !== undefined) {
      this.logger.info(`Restoring parameters from ${this.checkpointPath}`);
      await saver.restore(this.checkpointPath);
      return true;
    }
    if (this.checkpointDir === undefined) return false;
    const restored = await saver.restoreLatest(this.checkpointDir);
    if (restored === null) return false;
    this.logger.info(`Restoring parameters from ${restored.path}`);
    const state = await getCheckpointState(this.checkpointDir);
    if (state !== null) await saver.recoverLastCheckpoints(state.allModelCheckpointPaths);
    return true;
  }
}
