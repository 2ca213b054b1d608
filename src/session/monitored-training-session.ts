/**
 * MonitoredTrainingSession: a MonitoredSession set up for training, with TensorFlow's default
 * hooks for the chief (TF_REFERENCE.md §3).
 *
 * @module
 */
import { ValueError } from "../errors.js";
import { Graph, GraphKeys } from "./graph.js";
import { CheckpointSaverHook } from "./hooks/checkpoint-saver-hook.js";
import { StepCounterHook } from "./hooks/step-counter-hook.js";
import { SummarySaverHook } from "./hooks/summary-saver-hook.js";
import { consoleLogger, type Logger } from "./logger.js";
import { MonitoredSession } from "./monitored-session.js";
import { ChiefSessionCreator, Scaffold } from "./scaffold.js";
import type { SessionRunHook } from "./session-run-hook.js";
import type { ScalarSummary } from "./summary/scalar-summary.js";
import type { Tensor } from "./tensor.js";

/** Options of {@link MonitoredTrainingSession.create}. */
export interface MonitoredTrainingSessionOptions {
  /** Whether this process is the chief, which restores, initializes, saves and summarizes (default true). */
  readonly isChief?: boolean;
  /** Where checkpoints are restored from and saved to. */
  readonly checkpointDir?: string;
  /** The scaffold (default: a new one). */
  readonly scaffold?: Scaffold;
  /** Hooks for every process, called after the chief's default hooks. */
  readonly hooks?: readonly SessionRunHook[];
  /** Hooks only the chief runs, called first. */
  readonly chiefOnlyHooks?: readonly SessionRunHook[];
  /** Save a checkpoint every this many seconds (default 600 when `saveCheckpointSteps` is not given; null: never). */
  readonly saveCheckpointSecs?: number | null;
  /** Save a checkpoint every this many steps (default: none). */
  readonly saveCheckpointSteps?: number | null;
  /** Write summaries every this many steps (default 100 when `saveSummariesSecs` is not given; null: never). */
  readonly saveSummariesSteps?: number | null;
  /** Write summaries every this many seconds (default: none). */
  readonly saveSummariesSecs?: number | null;
  /** Log and summarize the step rate every this many steps (default 100; 0 or null: never). */
  readonly logStepCountSteps?: number | null;
  /** Where summaries go (default: `checkpointDir`). */
  readonly summaryDir?: string;
  /** How long the coordinator gives background tasks to stop, in seconds (default 120). */
  readonly stopGracePeriodSecs?: number;
  /** The graph (default: the default graph). */
  readonly graph?: Graph;
  /** Where hooks log (default: the console logger). */
  readonly logger?: Logger;
}

/**
 * Creates a MonitoredSession for training (TensorFlow's `tf.train.MonitoredTrainingSession`).
 * On the chief it restores the latest checkpoint of `checkpointDir` (or initializes) and adds,
 * in this order: `chiefOnlyHooks`, a `StepCounterHook` and a `SummarySaverHook` writing to
 * `summaryDir`, a `CheckpointSaverHook` saving to `checkpointDir`, then `hooks`. Other
 * processes run `hooks` only and save nothing.
 *
 * @example
 * const sess = await MonitoredTrainingSession.create({ checkpointDir: "runs/a", saveCheckpointSteps: 100, hooks });
 */
export const MonitoredTrainingSession = {
  /**
   * @throws {ValueError} when an interval is not a positive number.
   * @throws what the hooks' `begin` and the session creation throw.
   */
  async create(options: MonitoredTrainingSessionOptions = {}): Promise<MonitoredSession> {
    const graph = options.graph ?? Graph.getDefault();
    const logger = options.logger ?? consoleLogger;
    const scaffold = options.scaffold ?? new Scaffold();
    const [summarySteps, summarySecs] = defaults(options.saveSummariesSteps, options.saveSummariesSecs, 100, null, "saveSummaries");
    const [checkpointSteps, checkpointSecs] = defaults(options.saveCheckpointSteps, options.saveCheckpointSecs, null, 600, "saveCheckpoint");
    const sessionCreator = new ChiefSessionCreator({
      scaffold,
      logger,
      ...(options.checkpointDir === undefined ? {} : { checkpointDir: options.checkpointDir }),
    });
    const common = {
      graph,
      sessionCreator,
      logger,
      ...(options.stopGracePeriodSecs === undefined ? {} : { stopGracePeriodSecs: options.stopGracePeriodSecs }),
    };
    if (options.isChief === false) return MonitoredSession.create({ ...common, hooks: options.hooks ?? [] });

    const hooks: SessionRunHook[] = [...(options.chiefOnlyHooks ?? [])];
    const summaryDir = options.summaryDir ?? options.checkpointDir;
    if (summaryDir !== undefined) {
      const logSteps = options.logStepCountSteps === undefined ? 100 : options.logStepCountSteps;
      if (logSteps !== null && logSteps > 0) hooks.push(new StepCounterHook({ everyNSteps: logSteps, outputDir: summaryDir, logger }));
      const scalars = scalarsOf(graph);
      if (Object.keys(scalars).length > 0 && (summarySteps !== null || summarySecs !== null)) {
        hooks.push(new SummarySaverHook({ ...interval(summarySteps, summarySecs), outputDir: summaryDir, scalars, logger }));
      }
    }
    if (options.checkpointDir !== undefined && (checkpointSteps !== null || checkpointSecs !== null)) {
      hooks.push(new CheckpointSaverHook(options.checkpointDir, { ...interval(checkpointSteps, checkpointSecs), scaffold, logger }));
    }
    hooks.push(...(options.hooks ?? []));
    return MonitoredSession.create({ ...common, hooks });
  },
};

/** TensorFlow's USE_DEFAULT rule: the default applies only when neither setting is given. */
function defaults(
  steps: number | null | undefined,
  secs: number | null | undefined,
  defaultSteps: number | null,
  defaultSecs: number | null,
  what: string,
): [number | null, number | null] {
  const both: [number | null, number | null] = steps === undefined && secs === undefined ? [defaultSteps, defaultSecs] : [steps ?? null, secs ?? null];
  for (const [value, name] of [
    [both[0], `${what}Steps`],
    [both[1], `${what}Secs`],
  ] as const) {
    if (value !== null && !(typeof value === "number" && value >= 0)) {
      throw new ValueError(`MonitoredTrainingSession ${name} must be a number ≥ 0 or null; got ${String(value)}.`, {
        expected: "a number ≥ 0 or null",
        received: String(value),
      });
    }
  }
  return [both[0] === 0 ? null : both[0], both[1] === 0 ? null : both[1]];
}

function interval(steps: number | null, secs: number | null): { saveSteps: number } | { saveSecs: number } {
  return steps !== null ? { saveSteps: steps } : { saveSecs: secs as number };
}

/** The scalar summaries of the graph, by tag. */
function scalarsOf(graph: Graph): Record<string, Tensor<number>> {
  const scalars: Record<string, Tensor<number>> = {};
  for (const summary of graph.getCollection(GraphKeys.SUMMARIES) as ScalarSummary[]) scalars[summary.tag] = summary.tensor;
  return scalars;
}
