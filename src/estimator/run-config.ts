/**
 * RunConfig: how an Estimator runs — where it keeps checkpoints, how often it saves, and where
 * this process sits in a cluster, read from `TF_CONFIG` as TensorFlow's
 * `tf.estimator.RunConfig` reads it.
 *
 * @module
 */
import { describeValue, ValueError } from "../errors.js";
import { parseTfConfig, placementOf, tfConfigError, type ClusterSpec, type TfConfigJson } from "./tf-config.js";

/** Options of `new RunConfig(options)`. `undefined` means "not given" for every option. */
export interface RunConfigOptions {
  /** Where checkpoints and summaries go (default: `TF_CONFIG`'s `model_dir`, else null: the Estimator picks one). */
  readonly modelDir?: string | null | undefined;
  /**
   * Save a model checkpoint every this many global steps (an integer ≥ 0). Not with
   * `saveCheckpointsSecs`; giving neither means every 600 seconds, null for both means never.
   */
  readonly saveCheckpointsSteps?: number | null | undefined;
  /** Save a model checkpoint every this many seconds (≥ 0). Not with `saveCheckpointsSteps`. */
  readonly saveCheckpointsSecs?: number | null | undefined;
  /** How many recent checkpoints to keep (an integer ≥ 0; 0 or null keeps all; default 5). */
  readonly keepCheckpointMax?: number | null | undefined;
  /** Also keep one checkpoint every this many hours (> 0; default 10 000: never). */
  readonly keepCheckpointEveryNHours?: number | undefined;
  /** Log the loss and the step rate every this many global steps (an integer > 0, or null: never; default 100). */
  readonly logStepCountSteps?: number | null | undefined;
  /** Write summaries every this many global steps (an integer ≥ 0, or null: never; default 100). */
  readonly saveSummarySteps?: number | null | undefined;
  /**
   * The cluster configuration, as a JSON string or its parsed object, instead of the
   * `TF_CONFIG` environment variable (for tests and programs that configure themselves).
   */
  readonly tfConfig?: string | TfConfigJson | undefined;
}

/** What {@link RunConfig.replace} may change: every option but `tfConfig`. */
export type RunConfigChanges = Omit<RunConfigOptions, "tfConfig">;

const OPTION_NAMES: readonly (keyof RunConfigOptions)[] = [
  "modelDir",
  "saveCheckpointsSteps",
  "saveCheckpointsSecs",
  "keepCheckpointMax",
  "keepCheckpointEveryNHours",
  "logStepCountSteps",
  "saveSummarySteps",
  "tfConfig",
];

/**
 * The configuration of an Estimator run (TensorFlow's `tf.estimator.RunConfig`).
 *
 * The cluster properties come from the `TF_CONFIG` environment variable (or the `tfConfig`
 * option): `{ "cluster": { "chief": [...], "worker": [...], "ps": [...] }, "task": { "type":
 * "worker", "index": 1 } }`. Without it the process is a single local worker: `taskType`
 * `"worker"`, `taskId` 0, `isChief` true, `numWorkerReplicas` 1.
 *
 * Deviations from TensorFlow: a cluster without a `chief` job is accepted and worker 0 is the
 * chief (the rule of `tf.distribute`, where TensorFlow's RunConfig raises); a cluster with
 * neither `chief`/`master` nor `worker` is refused; an empty `TF_CONFIG` means none; cluster
 * jobs must be arrays of address strings (not TensorFlow's sparse `{index: address}` maps).
 *
 * @example
 * const config = new RunConfig({ modelDir: "runs/a", saveCheckpointsSteps: 100 });
 * config.saveCheckpointsSecs; // null
 * config.isChief;             // true without TF_CONFIG
 */
export class RunConfig {
  /** Where checkpoints and summaries go; null when the Estimator is to choose. */
  readonly modelDir: string | null;
  /** Save a model checkpoint every this many global steps, or null. */
  readonly saveCheckpointsSteps: number | null;
  /** Save a model checkpoint every this many seconds, or null. */
  readonly saveCheckpointsSecs: number | null;
  /** How many recent checkpoints to keep; 0 or null keeps all. */
  readonly keepCheckpointMax: number | null;
  /** Also keep one checkpoint every this many hours. */
  readonly keepCheckpointEveryNHours: number;
  /** Log the loss and step rate every this many global steps, or null for never. */
  readonly logStepCountSteps: number | null;
  /** Write summaries every this many global steps, or null for never. */
  readonly saveSummarySteps: number | null;
  /** The training cluster, by job name; `{}` for a local process and for the evaluator. */
  readonly cluster: ClusterSpec;
  /** This process's job: `"chief"`, `"worker"`, `"ps"`, `"evaluator"`, ... (`"worker"` locally). */
  readonly taskType: string;
  /** This process's index in its job (0 locally). */
  readonly taskId: number;
  /** How many processes train: the chief (or master) and the workers; 1 locally, 0 for the evaluator. */
  readonly numWorkerReplicas: number;
  /** How many parameter servers the cluster has. */
  readonly numPsReplicas: number;
  /** Whether this process is the chief: it restores, initializes, saves and summarizes. */
  readonly isChief: boolean;
  /** The parsed TF_CONFIG, kept for {@link replace}. */
  readonly #tfConfig: TfConfigJson;

  /**
   * @param options see {@link RunConfigOptions}; every one is optional.
   * @throws {ValueError} "`saveCheckpointsSteps` and `saveCheckpointsSecs` cannot be both
   *   set." when both are numbers; when an option is out of range or unknown; when `TF_CONFIG`
   *   is not valid JSON or does not describe this process in its cluster (the message names the
   *   field and what is wrong).
   */
  constructor(options: RunConfigOptions = {}) {
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw optionError("options", "an object of options", options, 'Pass e.g. new RunConfig({ modelDir: "runs/a" }).');
    }
    checkOptionNames(options);
    const [steps, secs] = checkpointInterval(options.saveCheckpointsSteps, options.saveCheckpointsSecs);
    this.saveCheckpointsSteps = steps;
    this.saveCheckpointsSecs = secs;
    this.keepCheckpointMax = check(
      "keepCheckpointMax",
      options.keepCheckpointMax,
      5,
      isIntegerAtLeast(0),
      "an integer ≥ 0, or null to keep every checkpoint",
      "Pass how many recent checkpoints to keep, e.g. 5.",
    );
    const hours = options.keepCheckpointEveryNHours;
    if (hours !== undefined && !(typeof hours === "number" && hours > 0)) {
      throw optionError("keepCheckpointEveryNHours", "a number of hours > 0", hours, "Pass e.g. 10000 (the default) to keep only the recent ones.");
    }
    this.keepCheckpointEveryNHours = hours ?? 10_000;
    this.logStepCountSteps = check(
      "logStepCountSteps",
      options.logStepCountSteps,
      100,
      isIntegerAtLeast(1),
      "an integer > 0, or null",
      "Pass e.g. 100, or null to not log the step rate.",
    );
    this.saveSummarySteps = check(
      "saveSummarySteps",
      options.saveSummarySteps,
      100,
      isIntegerAtLeast(0),
      "an integer ≥ 0, or null",
      "Pass e.g. 100, or null to write no summaries.",
    );

    const source = options.tfConfig === undefined ? "the TF_CONFIG environment variable" : "the tfConfig option";
    this.#tfConfig = parseTfConfig(options.tfConfig === undefined ? process.env["TF_CONFIG"] : options.tfConfig, source);
    this.modelDir = modelDirOf(options.modelDir, this.#tfConfig, source);
    const placement = placementOf(this.#tfConfig, source);
    this.cluster = placement.cluster;
    this.taskType = placement.taskType;
    this.taskId = placement.taskId;
    this.numWorkerReplicas = placement.numWorkerReplicas;
    this.numPsReplicas = placement.numPsReplicas;
    this.isChief = placement.isChief;
  }

  /**
   * A copy with some options changed; the cluster stays as this config read it. Setting one
   * checkpoint interval to a number clears the other, as TensorFlow's `replace` does.
   *
   * @param changes the options to change.
   * @throws {ValueError} as the constructor, e.g. when both checkpoint intervals are set to numbers.
   * @example
   * const everyStep = config.replace({ saveCheckpointsSteps: 1 }); // saveCheckpointsSecs: null
   */
  replace(changes: RunConfigChanges): RunConfig {
    if (typeof changes !== "object" || changes === null || Array.isArray(changes)) {
      throw optionError("replace(changes)", "an object of options", changes, 'Pass e.g. config.replace({ modelDir: "runs/b" }).');
    }
    if ("tfConfig" in changes) {
      const fix = "Make a new RunConfig({ tfConfig }) instead.";
      throw new ValueError(`RunConfig.replace cannot change tfConfig: the cluster is read once. ${fix}`, {
        expected: "options other than tfConfig",
        received: "tfConfig",
        fix,
      });
    }
    checkOptionNames(changes);
    let steps = this.saveCheckpointsSteps;
    let secs = this.saveCheckpointsSecs;
    const stepsGiven = changes.saveCheckpointsSteps !== undefined;
    const secsGiven = changes.saveCheckpointsSecs !== undefined;
    if (stepsGiven) steps = changes.saveCheckpointsSteps ?? null;
    if (secsGiven) secs = changes.saveCheckpointsSecs ?? null;
    if (stepsGiven && !secsGiven && steps !== null) secs = null;
    if (secsGiven && !stepsGiven && secs !== null) steps = null;
    return new RunConfig({
      modelDir: this.modelDir,
      keepCheckpointMax: this.keepCheckpointMax,
      keepCheckpointEveryNHours: this.keepCheckpointEveryNHours,
      logStepCountSteps: this.logStepCountSteps,
      saveSummarySteps: this.saveSummarySteps,
      ...definedOnly(changes),
      saveCheckpointsSteps: steps,
      saveCheckpointsSecs: secs,
      tfConfig: this.#tfConfig,
    });
  }
}

/** TensorFlow's `_USE_DEFAULT` rule for the two checkpoint intervals. */
function checkpointInterval(steps: number | null | undefined, secs: number | null | undefined): [number | null, number | null] {
  const s = check("saveCheckpointsSteps", steps, null, isIntegerAtLeast(0), "an integer ≥ 0, or null", "Pass a number of global steps, e.g. 100.");
  const t = check(
    "saveCheckpointsSecs",
    secs,
    null,
    (v) => typeof v === "number" && v >= 0 && Number.isFinite(v),
    "a number of seconds ≥ 0, or null",
    "Pass a number of seconds, e.g. 600.",
  );
  if (steps === undefined && secs === undefined) return [null, 600];
  if (s !== null && t !== null) {
    const fix = `Pass only one of them: saveCheckpointsSteps (${s}) or saveCheckpointsSecs (${t}).`;
    throw new ValueError(`\`saveCheckpointsSteps\` and \`saveCheckpointsSecs\` cannot be both set. ${fix}`, {
      expected: "at most one of saveCheckpointsSteps and saveCheckpointsSecs",
      received: "both",
      fix,
    });
  }
  return [s, t];
}

function checkOptionNames(options: object): void {
  for (const key of Object.keys(options)) {
    if ((OPTION_NAMES as readonly string[]).includes(key)) continue;
    const close = OPTION_NAMES.find((name) => name.toLowerCase().replace(/s/g, "") === key.toLowerCase().replace(/s/g, ""));
    const fix = close !== undefined ? `Did you mean ${close}?` : `Known options: ${OPTION_NAMES.join(", ")}.`;
    throw new ValueError(`RunConfig has no option ${JSON.stringify(key)}. ${fix}`, {
      expected: `one of ${OPTION_NAMES.join(", ")}`,
      received: JSON.stringify(key),
      fix,
    });
  }
}

/** The option's value, its default when undefined, null when null; throws when `valid` says no. */
function check(
  name: string,
  value: number | null | undefined,
  fallback: number | null,
  valid: (v: unknown) => boolean,
  expected: string,
  fix: string,
): number | null {
  if (value === undefined) return fallback;
  if (value === null) return null;
  if (!valid(value)) throw optionError(name, expected, value, fix);
  return value;
}

function isIntegerAtLeast(min: number): (v: unknown) => boolean {
  return (v) => typeof v === "number" && Number.isInteger(v) && v >= min;
}

function optionError(name: string, expected: string, got: unknown, fix: string): ValueError {
  const received = describeValue(got);
  return new ValueError(`RunConfig ${name} needs ${expected}; got ${received}. ${fix}`, { expected, received, fix });
}

function definedOnly(changes: RunConfigChanges): RunConfigChanges {
  return Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
}
/** TensorFlow's `_get_model_dir`: the option, else TF_CONFIG's `model_dir`; both must agree. */
function modelDirOf(option: string | null | undefined, tfConfig: TfConfigJson, source: string): string | null {
  if (option !== undefined && option !== null && (typeof option !== "string" || option === "")) {
    throw optionError("modelDir", "a non-empty path, or null", option, 'Pass the directory to keep checkpoints in, e.g. "runs/a".');
  }
  const fromTfConfig: unknown = tfConfig.model_dir;
  if (fromTfConfig !== undefined && fromTfConfig !== null && (typeof fromTfConfig !== "string" || fromTfConfig === "")) {
    throw tfConfigError(source, "TF_CONFIG.model_dir", "a non-empty path", describeValue(fromTfConfig), "Set it to the model directory, or leave it out.");
  }
  if (typeof fromTfConfig === "string" && typeof option === "string" && option !== fromTfConfig) {
    const fix = "Pass the same directory, or leave modelDir out to use TF_CONFIG's.";
    throw new ValueError(
      `RunConfig modelDir ${JSON.stringify(option)} differs from TF_CONFIG.model_dir ${JSON.stringify(fromTfConfig)} (from ${source}); when both are set they must be the same. ${fix}`,
      { expected: JSON.stringify(fromTfConfig), received: JSON.stringify(option), fix },
    );
  }
  return option ?? (typeof fromTfConfig === "string" ? fromTfConfig : null);
}
