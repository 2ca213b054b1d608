/**
 * TF_CONFIG: the JSON that tells each process of a cluster the cluster's tasks and which one
 * it is, read as TensorFlow's `RunConfig` reads it.
 *
 * @module
 */
import { describeValue, ValueError } from "../errors.js";

/** Task types with a meaning of their own in `TF_CONFIG` (any other job name is allowed too). */
export const TaskType = Object.freeze({
  /** The one worker that also restores, initializes, saves and summarizes. */
  CHIEF: "chief",
  /** A training worker. */
  WORKER: "worker",
  /** A parameter server. */
  PS: "ps",
  /** Evaluates checkpoints; not part of the training cluster. */
  EVALUATOR: "evaluator",
  /** The legacy name of the chief (a cluster has either `master` or `chief`). */
  MASTER: "master",
} as const);

/** The cluster: each job name with the addresses of its tasks, e.g. `{ worker: ["host1:2222"] }`. */
export type ClusterSpec = Readonly<Record<string, readonly string[]>>;

/** The JSON of `TF_CONFIG` (other keys, such as `session_master`, are ignored). */
export interface TfConfigJson {
  /** The job names and their task addresses; absent or `{}` means a single local process. */
  readonly cluster?: Readonly<Record<string, readonly string[]>>;
  /** This process: its job name and its index in that job. */
  readonly task?: { readonly type?: string; readonly index?: number | string };
  /** The model directory; must agree with the `modelDir` option when both are given. */
  readonly model_dir?: string;
}

/** Where this process sits in the cluster (see the `RunConfig` properties of the same names). */
export interface ClusterPlacement {
  readonly cluster: ClusterSpec;
  readonly taskType: string;
  readonly taskId: number;
  readonly numWorkerReplicas: number;
  readonly numPsReplicas: number;
  readonly isChief: boolean;
}

const EXAMPLE_TF_CONFIG = '{"cluster": {"chief": ["host0:2222"], "worker": ["host1:2222"]}, "task": {"type": "worker", "index": 0}}';

/**
 * The parsed TF_CONFIG; `{}` when there is none (unset or blank). An object is copied, so later
 * changes to it do not reach the config.
 *
 * @param raw the JSON text (e.g. `process.env.TF_CONFIG`) or its parsed object.
 * @param source where it came from, for messages, e.g. `"the TF_CONFIG environment variable"`.
 * @throws {ValueError} when the text is not JSON or not an object.
 * @example
 * parseTfConfig(process.env["TF_CONFIG"], "the TF_CONFIG environment variable");
 */
export function parseTfConfig(raw: string | TfConfigJson | undefined, source: string): TfConfigJson {
  if (raw === undefined) return {};
  let parsed: unknown = raw;
  if (typeof raw === "string") {
    if (raw.trim() === "") return {};
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      const fix = `Set it to a JSON object such as ${EXAMPLE_TF_CONFIG}.`;
      throw new ValueError(`TF_CONFIG (from ${source}) is not valid JSON: ${(error as Error).message}. ${fix}`, {
        expected: "a JSON object",
        received: JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}...` : raw),
        fix,
        cause: error,
      });
    }
  }
  if (typeof raw !== "string") {
    try {
      parsed = structuredClone(raw); // later changes to the caller's object do not reach the config
    } catch {
      // Not plain data (e.g. holds a function): checked below, field by field.
    }
  }
  if (!isRecord(parsed))
    throw tfConfigError(source, "TF_CONFIG", 'an object with "cluster" and "task"', describeValue(parsed), `Set it to e.g. ${EXAMPLE_TF_CONFIG}.`);
  return parsed;
}

/**
 * Where this process sits in the cluster TF_CONFIG describes (TensorFlow's
 * `_init_distributed_setting_from_environment_var`, except that a cluster without a chief
 * makes worker 0 the chief, as `tf.distribute` does, instead of raising).
 *
 * @param tfConfig the parsed TF_CONFIG.
 * @param source where it came from, for messages.
 * @throws {ValueError} naming the field, what it needs and what it holds, when the cluster or
 *   the task is malformed or the task is not in the cluster.
 * @example
 * placementOf({ cluster: { worker: ["a:1", "b:1"] }, task: { type: "worker", index: 1 } }, "the tfConfig option");
 * // { taskType: "worker", taskId: 1, numWorkerReplicas: 2, numPsReplicas: 0, isChief: false, cluster }
 */
export function placementOf(tfConfig: TfConfigJson, source: string): ClusterPlacement {
  const cluster = clusterOf(tfConfig.cluster, source);
  const task: unknown = tfConfig.task ?? {};
  if (!isRecord(task))
    throw tfConfigError(
      source,
      "TF_CONFIG.task",
      'an object { "type": ..., "index": ... }',
      describeValue(task),
      'Set it to e.g. {"type": "worker", "index": 0}.',
    );
  const jobs = Object.keys(cluster);

  if (jobs.length === 0) {
    // Local mode: a single worker.
    const taskType = task["type"] === undefined ? TaskType.WORKER : taskTypeOf(task["type"], source);
    const taskId = task["index"] === undefined ? 0 : taskIdOf(task["index"], source);
    if (taskType !== TaskType.WORKER) {
      throw tfConfigError(
        source,
        "TF_CONFIG.task.type",
        '"worker" when "cluster" is not set',
        describeValue(taskType),
        'Add a "cluster" naming every task, or remove "task" to run as the single local worker.',
        'If "cluster" is not set in TF_CONFIG, task type must be WORKER.',
      );
    }
    if (taskId !== 0) {
      throw tfConfigError(
        source,
        "TF_CONFIG.task.index",
        '0 when "cluster" is not set',
        describeValue(taskId),
        'Add a "cluster" naming every task, or remove "task" to run as the single local worker.',
        'If "cluster" is not set in TF_CONFIG, task index must be 0.',
      );
    }
    return { cluster: {}, taskType, taskId, numWorkerReplicas: 1, numPsReplicas: 0, isChief: true };
  }

  const chiefJob = jobs.includes(TaskType.MASTER) ? TaskType.MASTER : TaskType.CHIEF;
  if (chiefJob === TaskType.MASTER && jobs.includes(TaskType.CHIEF)) {
    throw tfConfigError(
      source,
      "TF_CONFIG.cluster",
      'either a "master" or a "chief" job',
      "both",
      'Rename "master" to "chief" (the current name).',
      "If `master` node exists in `cluster`, job `chief` is not supported.",
    );
  }
  if ((cluster[chiefJob]?.length ?? 0) > 1) {
    throw tfConfigError(
      source,
      `TF_CONFIG.cluster.${chiefJob}`,
      "exactly one address",
      `${cluster[chiefJob]?.length ?? 0} addresses`,
      `List the other tasks under "worker".`,
      `The "cluster" in TF_CONFIG must have only one "${chiefJob}" node.`,
    );
  }
  if (!jobs.includes(chiefJob) && !jobs.includes(TaskType.WORKER)) {
    throw tfConfigError(
      source,
      "TF_CONFIG.cluster",
      'a "chief" or a "worker" job',
      `jobs ${jobs.map((j) => JSON.stringify(j)).join(", ")}`,
      'Add the training tasks, e.g. "chief": ["host0:2222"], "worker": ["host1:2222"].',
      "A cluster needs a process that trains.",
    );
  }
  if (task["type"] === undefined || task["type"] === "") {
    throw tfConfigError(
      source,
      "TF_CONFIG.task.type",
      `one of the cluster's jobs (${jobs.map((j) => JSON.stringify(j)).join(", ")})`,
      describeValue(task["type"]),
      'Set "task": {"type": ..., "index": ...} for this process.',
      'If "cluster" is set in TF_CONFIG, task type must be set.',
    );
  }
  if (task["index"] === undefined || task["index"] === null) {
    throw tfConfigError(
      source,
      "TF_CONFIG.task.index",
      "this process's index in its job",
      describeValue(task["index"]),
      'Set "task": {"type": ..., "index": ...} for this process.',
      'If "cluster" is set in TF_CONFIG, task index must be set.',
    );
  }
  const taskType = taskTypeOf(task["type"], source);
  const taskId = taskIdOf(task["index"], source);

  if (taskType === TaskType.EVALUATOR) {
    if (chiefJob === TaskType.MASTER) {
      throw tfConfigError(
        source,
        "TF_CONFIG.task.type",
        'a job other than "evaluator" in a cluster with "master"',
        describeValue(taskType),
        'Rename "master" to "chief" to run an evaluator.',
        "If `master` node exists in `cluster`, task_type `evaluator` is not supported.",
      );
    }
    // The evaluator is not part of the training cluster.
    return { cluster: {}, taskType, taskId, numWorkerReplicas: 0, numPsReplicas: 0, isChief: false };
  }
  const addresses = cluster[taskType];
  if (addresses === undefined) {
    throw tfConfigError(
      source,
      "TF_CONFIG.task.type",
      `one of the cluster's jobs (${jobs.map((j) => JSON.stringify(j)).join(", ")})`,
      describeValue(taskType),
      "Set it to this process's job, or add the job to TF_CONFIG.cluster.",
      `${taskType} is not a valid task_type in the cluster_spec.`,
    );
  }
  if (taskId >= addresses.length) {
    throw tfConfigError(
      source,
      "TF_CONFIG.task.index",
      addresses.length === 0
        ? `an index into job "${taskType}", which has no tasks`
        : `an index from 0 to ${addresses.length - 1} (job "${taskType}" has ${addresses.length} task${addresses.length === 1 ? "" : "s"})`,
      describeValue(taskId),
      `Set it to this process's position in TF_CONFIG.cluster.${taskType}, or list this process there.`,
      `${taskId} is not a valid task_id for task_type ${taskType} in the cluster_spec.`,
    );
  }
  const numWorkerReplicas = (cluster[TaskType.WORKER]?.length ?? 0) + (cluster[chiefJob]?.length ?? 0);
  const isChief = jobs.includes(chiefJob) ? taskType === chiefJob : taskType === TaskType.WORKER && taskId === 0;
  return { cluster, taskType, taskId, numWorkerReplicas, numPsReplicas: cluster[TaskType.PS]?.length ?? 0, isChief };
}

/** The cluster, checked and frozen; `{}` when absent. */
function clusterOf(raw: unknown, source: string): ClusterSpec {
  if (raw === undefined || raw === null) return Object.freeze({});
  if (!isRecord(raw)) {
    throw tfConfigError(
      source,
      "TF_CONFIG.cluster",
      "an object mapping job names to lists of addresses",
      describeValue(raw),
      'Set it to e.g. {"chief": ["host0:2222"], "worker": ["host1:2222"]}.',
    );
  }
  const cluster: Record<string, readonly string[]> = {};
  for (const [job, addresses] of Object.entries(raw)) {
    const where = `TF_CONFIG.cluster.${job}`;
    if (!Array.isArray(addresses))
      throw tfConfigError(source, where, 'an array of "host:port" addresses', describeValue(addresses), `Set it to e.g. ["host1:2222"].`);
    for (const [i, address] of addresses.entries()) {
      if (typeof address !== "string" || address === "") {
        throw tfConfigError(source, `${where}[${i}]`, 'a "host:port" address', describeValue(address), "List each task's address as a string.");
      }
    }
    cluster[job] = Object.freeze([...(addresses as string[])]);
  }
  return Object.freeze(cluster);
}

function taskTypeOf(raw: unknown, source: string): string {
  if (typeof raw !== "string" || raw === "")
    throw tfConfigError(source, "TF_CONFIG.task.type", 'a job name such as "worker"', describeValue(raw), "Set it to this process's job.");
  return raw;
}

/** The task index: an integer ≥ 0, or a string of digits (TensorFlow applies `int()`). */
function taskIdOf(raw: unknown, source: string): number {
  const id = typeof raw === "string" && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : raw;
  if (typeof id !== "number" || !Number.isSafeInteger(id)) {
    throw tfConfigError(source, "TF_CONFIG.task.index", "an integer ≥ 0", describeValue(raw), "Set it to this process's position in its job, e.g. 0.");
  }
  if (id < 0)
    throw tfConfigError(
      source,
      "TF_CONFIG.task.index",
      "an integer ≥ 0",
      describeValue(raw),
      "Set it to this process's position in its job, e.g. 0.",
      "Task index must be non-negative number.",
    );
  return id;
}

/**
 * The ValueError "`where` (from `source`) needs `expected`; got `received`. [TensorFlow's
 * words.] `fix`".
 *
 * @param received the value as the message shows it (e.g. from `describeValue`).
 * @param tensorflowSays TensorFlow's message for the same problem, for those who search it.
 * @example
 * throw tfConfigError(source, "TF_CONFIG.model_dir", "a non-empty path", '""', "Leave it out.");
 */
export function tfConfigError(source: string, where: string, expected: string, received: string, fix: string, tensorflowSays?: string): ValueError {
  const said = tensorflowSays === undefined ? "" : ` ${tensorflowSays}`;
  return new ValueError(`${where} (from ${source}) needs ${expected}; got ${received}.${said} ${fix}`, { expected, received, fix });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
