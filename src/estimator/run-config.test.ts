/**
 * RunConfig: TensorFlow's defaults and checkpoint-interval rules, option validation, and
 * TF_CONFIG read as TensorFlow's RunConfig reads it (run_config_test.py's clusters).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ValueError } from "../errors.js";
import { RunConfig, type RunConfigOptions } from "./run-config.js";
import type { TfConfigJson } from "./tf-config.js";

beforeEach(() => {
  vi.stubEnv("TF_CONFIG", undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** The cluster of TensorFlow's RunConfig docstring examples. */
const CLUSTER = {
  chief: ["host0:2222"],
  ps: ["host1:2222", "host2:2222"],
  worker: ["host3:2222", "host4:2222", "host5:2222"],
};

function placement(config: RunConfig): Pick<RunConfig, "taskType" | "taskId" | "isChief" | "numWorkerReplicas" | "numPsReplicas" | "cluster"> {
  const { taskType, taskId, isChief, numWorkerReplicas, numPsReplicas, cluster } = config;
  return { taskType, taskId, isChief, numWorkerReplicas, numPsReplicas, cluster };
}

/** Expects `make` to throw a ValueError whose message is exactly `message`. */
function expectValueError(make: () => unknown, message: string): void {
  expect(make).toThrow(ValueError);
  expect(make).toThrow(message);
  try {
    make();
  } catch (error) {
    expect((error as Error).message).toBe(message);
  }
}

describe("RunConfig defaults", () => {
  it("has TensorFlow's defaults: checkpoints every 600 s, keep 5, every 10 000 h, log and summaries every 100 steps", () => {
    const config = new RunConfig();
    expect(config).toMatchObject({
      modelDir: null,
      saveCheckpointsSteps: null,
      saveCheckpointsSecs: 600,
      keepCheckpointMax: 5,
      keepCheckpointEveryNHours: 10_000,
      logStepCountSteps: 100,
      saveSummarySteps: 100,
    });
  });

  it("without TF_CONFIG is the single local worker: worker 0, the chief, one worker replica, no ps", () => {
    expect(placement(new RunConfig())).toEqual({ taskType: "worker", taskId: 0, isChief: true, numWorkerReplicas: 1, numPsReplicas: 0, cluster: {} });
  });

  it("takes every option it is given", () => {
    const options: RunConfigOptions = {
      modelDir: "runs/a",
      saveCheckpointsSecs: 30,
      keepCheckpointMax: 0,
      keepCheckpointEveryNHours: 1.5,
      logStepCountSteps: 10,
      saveSummarySteps: 0,
    };
    expect(new RunConfig(options)).toMatchObject({ ...options, saveCheckpointsSteps: null });
  });

  it("null disables what can be disabled: keepCheckpointMax (keep all), logStepCountSteps, saveSummarySteps", () => {
    expect(new RunConfig({ keepCheckpointMax: null, logStepCountSteps: null, saveSummarySteps: null })).toMatchObject({
      keepCheckpointMax: null,
      logStepCountSteps: null,
      saveSummarySteps: null,
    });
  });
});

describe("RunConfig checkpoint interval (TensorFlow's _USE_DEFAULT rule)", () => {
  it("saveCheckpointsSteps alone turns the 600 s default off", () => {
    expect(new RunConfig({ saveCheckpointsSteps: 100 })).toMatchObject({ saveCheckpointsSteps: 100, saveCheckpointsSecs: null });
  });

  it("saveCheckpointsSecs alone is used as given", () => {
    expect(new RunConfig({ saveCheckpointsSecs: 60 })).toMatchObject({ saveCheckpointsSteps: null, saveCheckpointsSecs: 60 });
  });

  it("null for both disables checkpoints", () => {
    expect(new RunConfig({ saveCheckpointsSteps: null, saveCheckpointsSecs: null })).toMatchObject({ saveCheckpointsSteps: null, saveCheckpointsSecs: null });
  });

  it("one number and the other null is that number", () => {
    expect(new RunConfig({ saveCheckpointsSteps: 5, saveCheckpointsSecs: null })).toMatchObject({ saveCheckpointsSteps: 5, saveCheckpointsSecs: null });
  });

  it("raises ValueError when both are numbers", () => {
    expectValueError(
      () => new RunConfig({ saveCheckpointsSteps: 10, saveCheckpointsSecs: 60 }),
      "`saveCheckpointsSteps` and `saveCheckpointsSecs` cannot be both set. Pass only one of them: saveCheckpointsSteps (10) or saveCheckpointsSecs (60).",
    );
  });
});

describe("RunConfig option validation", () => {
  it.each<[string, RunConfigOptions, string]>([
    [
      "saveCheckpointsSteps < 0",
      { saveCheckpointsSteps: -1 },
      "RunConfig saveCheckpointsSteps needs an integer ≥ 0, or null; got -1. Pass a number of global steps, e.g. 100.",
    ],
    [
      "saveCheckpointsSteps not an integer",
      { saveCheckpointsSteps: 1.5 },
      "RunConfig saveCheckpointsSteps needs an integer ≥ 0, or null; got 1.5. Pass a number of global steps, e.g. 100.",
    ],
    [
      "saveCheckpointsSecs < 0",
      { saveCheckpointsSecs: -1 },
      "RunConfig saveCheckpointsSecs needs a number of seconds ≥ 0, or null; got -1. Pass a number of seconds, e.g. 600.",
    ],
    [
      "keepCheckpointMax < 0",
      { keepCheckpointMax: -1 },
      "RunConfig keepCheckpointMax needs an integer ≥ 0, or null to keep every checkpoint; got -1. Pass how many recent checkpoints to keep, e.g. 5.",
    ],
    [
      "keepCheckpointEveryNHours 0",
      { keepCheckpointEveryNHours: 0 },
      "RunConfig keepCheckpointEveryNHours needs a number of hours > 0; got 0. Pass e.g. 10000 (the default) to keep only the recent ones.",
    ],
    [
      "logStepCountSteps 0",
      { logStepCountSteps: 0 },
      "RunConfig logStepCountSteps needs an integer > 0, or null; got 0. Pass e.g. 100, or null to not log the step rate.",
    ],
    [
      "saveSummarySteps < 0",
      { saveSummarySteps: -5 },
      "RunConfig saveSummarySteps needs an integer ≥ 0, or null; got -5. Pass e.g. 100, or null to write no summaries.",
    ],
    [
      "modelDir empty",
      { modelDir: "" },
      'RunConfig modelDir needs a non-empty path, or null; got "". Pass the directory to keep checkpoints in, e.g. "runs/a".',
    ],
  ])("raises ValueError for %s, saying what it needs, what it got and the fix", (_name, options, message) => {
    expectValueError(() => new RunConfig(options), message);
  });

  it("raises ValueError for a misspelt option, suggesting the right name", () => {
    expectValueError(
      () => new RunConfig({ saveCheckpointSteps: 5 } as RunConfigOptions),
      'RunConfig has no option "saveCheckpointSteps". Did you mean saveCheckpointsSteps?',
    );
  });

  it("raises ValueError for an unknown option, listing the known ones", () => {
    expectValueError(
      () => new RunConfig({ seed: 5 } as RunConfigOptions),
      'RunConfig has no option "seed". Known options: modelDir, saveCheckpointsSteps, saveCheckpointsSecs, keepCheckpointMax, keepCheckpointEveryNHours, logStepCountSteps, saveSummarySteps, tfConfig.',
    );
  });
});

describe("RunConfig.replace", () => {
  it("changes the options given and keeps the others and the cluster", () => {
    const config = new RunConfig({ modelDir: "runs/a", keepCheckpointMax: 3, tfConfig: { cluster: CLUSTER, task: { type: "worker", index: 2 } } });
    const changed = config.replace({ modelDir: "runs/b", saveSummarySteps: 7 });
    expect(changed).toMatchObject({ modelDir: "runs/b", keepCheckpointMax: 3, saveSummarySteps: 7, saveCheckpointsSecs: 600 });
    expect(placement(changed)).toEqual(placement(config));
    expect(config.modelDir).toBe("runs/a");
  });

  it("setting one checkpoint interval to a number clears the other, as TensorFlow's replace does", () => {
    const config = new RunConfig();
    expect(config.replace({ saveCheckpointsSteps: 10 })).toMatchObject({ saveCheckpointsSteps: 10, saveCheckpointsSecs: null });
    expect(config.replace({ saveCheckpointsSteps: 10 }).replace({ saveCheckpointsSecs: 5 })).toMatchObject({
      saveCheckpointsSteps: null,
      saveCheckpointsSecs: 5,
    });
  });

  it("raises ValueError when both intervals are set to numbers, and when asked to change tfConfig", () => {
    const config = new RunConfig();
    expect(() => config.replace({ saveCheckpointsSteps: 10, saveCheckpointsSecs: 5 })).toThrow(
      /^`saveCheckpointsSteps` and `saveCheckpointsSecs` cannot be both set\./,
    );
    expectValueError(
      () => config.replace({ tfConfig: "{}" } as RunConfigOptions),
      "RunConfig.replace cannot change tfConfig: the cluster is read once. Make a new RunConfig({ tfConfig }) instead.",
    );
  });
});

describe("RunConfig TF_CONFIG", () => {
  it("reads the TF_CONFIG environment variable: worker 1 of chief + 3 workers + 2 ps", () => {
    vi.stubEnv("TF_CONFIG", JSON.stringify({ cluster: CLUSTER, task: { type: "worker", index: 1 } }));
    expect(placement(new RunConfig())).toEqual({ taskType: "worker", taskId: 1, isChief: false, numWorkerReplicas: 4, numPsReplicas: 2, cluster: CLUSTER });
  });

  it("the chief of that cluster is the chief", () => {
    const config = new RunConfig({ tfConfig: { cluster: CLUSTER, task: { type: "chief", index: 0 } } });
    expect(placement(config)).toEqual({ taskType: "chief", taskId: 0, isChief: true, numWorkerReplicas: 4, numPsReplicas: 2, cluster: CLUSTER });
  });

  it("worker 0 is not the chief when the cluster has a chief", () => {
    expect(new RunConfig({ tfConfig: { cluster: CLUSTER, task: { type: "worker", index: 0 } } }).isChief).toBe(false);
  });

  it("a parameter server is not the chief", () => {
    expect(placement(new RunConfig({ tfConfig: { cluster: CLUSTER, task: { type: "ps", index: 1 } } }))).toMatchObject({
      taskType: "ps",
      taskId: 1,
      isChief: false,
    });
  });

  it("the evaluator is outside the training cluster: not the chief, no workers, no ps, an empty cluster", () => {
    const config = new RunConfig({ tfConfig: { cluster: CLUSTER, task: { type: "evaluator", index: 0 } } });
    expect(placement(config)).toEqual({ taskType: "evaluator", taskId: 0, isChief: false, numWorkerReplicas: 0, numPsReplicas: 0, cluster: {} });
  });

  it("without a chief job, worker 0 is the chief and the others are not (deviation: TensorFlow's RunConfig raises)", () => {
    const cluster = { worker: ["host3:2222", "host4:2222"] };
    expect(placement(new RunConfig({ tfConfig: { cluster, task: { type: "worker", index: 0 } } }))).toEqual({
      taskType: "worker",
      taskId: 0,
      isChief: true,
      numWorkerReplicas: 2,
      numPsReplicas: 0,
      cluster,
    });
    expect(new RunConfig({ tfConfig: { cluster, task: { type: "worker", index: 1 } } }).isChief).toBe(false);
  });

  it("a legacy master is the chief and counts as a worker replica", () => {
    const config = new RunConfig({ tfConfig: { cluster: { master: ["h0:1"], worker: ["h1:1"], ps: ["h2:1"] }, task: { type: "master", index: 0 } } });
    expect(placement(config)).toMatchObject({ taskType: "master", isChief: true, numWorkerReplicas: 2, numPsReplicas: 1 });
  });

  it("accepts the tfConfig option as a JSON string, and a task index written as a string (TensorFlow applies int())", () => {
    const config = new RunConfig({ tfConfig: JSON.stringify({ cluster: CLUSTER, task: { type: "worker", index: "2" } }) });
    expect(config.taskId).toBe(2);
  });

  it("prefers the tfConfig option to the environment variable", () => {
    vi.stubEnv("TF_CONFIG", JSON.stringify({ cluster: CLUSTER, task: { type: "worker", index: 1 } }));
    expect(new RunConfig({ tfConfig: {} }).taskType).toBe("worker");
    expect(new RunConfig({ tfConfig: {} }).numWorkerReplicas).toBe(1);
  });

  it("an empty TF_CONFIG or one without a cluster is the local worker", () => {
    vi.stubEnv("TF_CONFIG", "");
    expect(new RunConfig().isChief).toBe(true);
    expect(placement(new RunConfig({ tfConfig: { task: { type: "worker", index: 0 } } }))).toMatchObject({
      taskType: "worker",
      taskId: 0,
      numWorkerReplicas: 1,
    });
  });

  it("takes model_dir from TF_CONFIG, and accepts the same modelDir in the options", () => {
    expect(new RunConfig({ tfConfig: { model_dir: "runs/tf" } }).modelDir).toBe("runs/tf");
    expect(new RunConfig({ modelDir: "runs/tf", tfConfig: { model_dir: "runs/tf" } }).modelDir).toBe("runs/tf");
  });

  it("keeps its own copy of the cluster: changing the object passed in changes nothing", () => {
    const tfConfig = { cluster: { worker: ["a:1", "b:1"] }, task: { type: "worker", index: 1 } };
    const config = new RunConfig({ tfConfig });
    tfConfig.cluster.worker.push("c:1");
    expect(config.numWorkerReplicas).toBe(2);
    expect(config.cluster).toEqual({ worker: ["a:1", "b:1"] });
    expect(Object.isFrozen(config.cluster)).toBe(true);
  });
});

describe("RunConfig malformed TF_CONFIG", () => {
  const WORKERS = { chief: ["a:1"], worker: ["b:1", "c:1"] };
  const bad =
    (tfConfig: unknown): (() => RunConfig) =>
    () =>
      new RunConfig({ tfConfig: tfConfig as TfConfigJson });

  it("raises ValueError for an environment variable that is not JSON, naming where it came from", () => {
    vi.stubEnv("TF_CONFIG", "{cluster");
    expect(() => new RunConfig()).toThrow(ValueError);
    expect(() => new RunConfig()).toThrow(
      /^TF_CONFIG \(from the TF_CONFIG environment variable\) is not valid JSON: .+\. Set it to a JSON object such as \{"cluster": \{"chief": \["host0:2222"\], "worker": \["host1:2222"\]\}, "task": \{"type": "worker", "index": 0\}\}\.$/,
    );
  });

  it.each<[string, unknown, string]>([
    [
      "JSON that is not an object",
      "[]",
      'TF_CONFIG (from the tfConfig option) needs an object with "cluster" and "task"; got an array of length 0. Set it to e.g. {"cluster": {"chief": ["host0:2222"], "worker": ["host1:2222"]}, "task": {"type": "worker", "index": 0}}.',
    ],
    [
      "a cluster that is not an object",
      { cluster: ["a:1"] },
      'TF_CONFIG.cluster (from the tfConfig option) needs an object mapping job names to lists of addresses; got an array of length 1. Set it to e.g. {"chief": ["host0:2222"], "worker": ["host1:2222"]}.',
    ],
    [
      "a job that is not an array",
      { cluster: { worker: "a:1" } },
      'TF_CONFIG.cluster.worker (from the tfConfig option) needs an array of "host:port" addresses; got "a:1". Set it to e.g. ["host1:2222"].',
    ],
    [
      "an address that is not a string",
      { cluster: { worker: ["a:1", 5] } },
      'TF_CONFIG.cluster.worker[1] (from the tfConfig option) needs a "host:port" address; got 5. List each task\'s address as a string.',
    ],
    [
      "a task that is not an object",
      { cluster: WORKERS, task: "worker" },
      'TF_CONFIG.task (from the tfConfig option) needs an object { "type": ..., "index": ... }; got "worker". Set it to e.g. {"type": "worker", "index": 0}.',
    ],
    [
      "a cluster without task type",
      { cluster: WORKERS, task: { index: 0 } },
      'TF_CONFIG.task.type (from the tfConfig option) needs one of the cluster\'s jobs ("chief", "worker"); got undefined. If "cluster" is set in TF_CONFIG, task type must be set. Set "task": {"type": ..., "index": ...} for this process.',
    ],
    [
      "a cluster without task index",
      { cluster: WORKERS, task: { type: "worker" } },
      'TF_CONFIG.task.index (from the tfConfig option) needs this process\'s index in its job; got undefined. If "cluster" is set in TF_CONFIG, task index must be set. Set "task": {"type": ..., "index": ...} for this process.',
    ],
    [
      "a task type that is not a string",
      { cluster: WORKERS, task: { type: 3, index: 0 } },
      'TF_CONFIG.task.type (from the tfConfig option) needs a job name such as "worker"; got 3. Set it to this process\'s job.',
    ],
    [
      "a task type not in the cluster",
      { cluster: WORKERS, task: { type: "ps", index: 0 } },
      'TF_CONFIG.task.type (from the tfConfig option) needs one of the cluster\'s jobs ("chief", "worker"); got "ps". ps is not a valid task_type in the cluster_spec. Set it to this process\'s job, or add the job to TF_CONFIG.cluster.',
    ],
    [
      "a task index out of range",
      { cluster: WORKERS, task: { type: "worker", index: 2 } },
      'TF_CONFIG.task.index (from the tfConfig option) needs an index from 0 to 1 (job "worker" has 2 tasks); got 2. 2 is not a valid task_id for task_type worker in the cluster_spec. Set it to this process\'s position in TF_CONFIG.cluster.worker, or list this process there.',
    ],
    [
      "a negative task index",
      { cluster: WORKERS, task: { type: "worker", index: -1 } },
      "TF_CONFIG.task.index (from the tfConfig option) needs an integer ≥ 0; got -1. Task index must be non-negative number. Set it to this process's position in its job, e.g. 0.",
    ],
    [
      "a fractional task index",
      { cluster: WORKERS, task: { type: "worker", index: 0.5 } },
      "TF_CONFIG.task.index (from the tfConfig option) needs an integer ≥ 0; got 0.5. Set it to this process's position in its job, e.g. 0.",
    ],
    [
      "a boolean task index",
      { cluster: WORKERS, task: { type: "worker", index: true } },
      "TF_CONFIG.task.index (from the tfConfig option) needs an integer ≥ 0; got true. Set it to this process's position in its job, e.g. 0.",
    ],
    [
      "two chiefs",
      { cluster: { chief: ["a:1", "d:1"], worker: ["b:1"] }, task: { type: "chief", index: 0 } },
      'TF_CONFIG.cluster.chief (from the tfConfig option) needs exactly one address; got 2 addresses. The "cluster" in TF_CONFIG must have only one "chief" node. List the other tasks under "worker".',
    ],
    [
      "a cluster with no chief and no worker",
      { cluster: { ps: ["a:1"] }, task: { type: "ps", index: 0 } },
      'TF_CONFIG.cluster (from the tfConfig option) needs a "chief" or a "worker" job; got jobs "ps". A cluster needs a process that trains. Add the training tasks, e.g. "chief": ["host0:2222"], "worker": ["host1:2222"].',
    ],
    [
      "both master and chief",
      { cluster: { master: ["a:1"], chief: ["b:1"] }, task: { type: "master", index: 0 } },
      'TF_CONFIG.cluster (from the tfConfig option) needs either a "master" or a "chief" job; got both. If `master` node exists in `cluster`, job `chief` is not supported. Rename "master" to "chief" (the current name).',
    ],
    [
      "an evaluator in a cluster with master",
      { cluster: { master: ["a:1"], worker: ["b:1"] }, task: { type: "evaluator", index: 0 } },
      'TF_CONFIG.task.type (from the tfConfig option) needs a job other than "evaluator" in a cluster with "master"; got "evaluator". If `master` node exists in `cluster`, task_type `evaluator` is not supported. Rename "master" to "chief" to run an evaluator.',
    ],
    [
      "a task other than worker without a cluster",
      { task: { type: "chief", index: 0 } },
      'TF_CONFIG.task.type (from the tfConfig option) needs "worker" when "cluster" is not set; got "chief". If "cluster" is not set in TF_CONFIG, task type must be WORKER. Add a "cluster" naming every task, or remove "task" to run as the single local worker.',
    ],
    [
      "a task index other than 0 without a cluster",
      { task: { type: "worker", index: 1 } },
      'TF_CONFIG.task.index (from the tfConfig option) needs 0 when "cluster" is not set; got 1. If "cluster" is not set in TF_CONFIG, task index must be 0. Add a "cluster" naming every task, or remove "task" to run as the single local worker.',
    ],
    [
      "an empty model_dir",
      { model_dir: "" },
      'TF_CONFIG.model_dir (from the tfConfig option) needs a non-empty path; got "". Set it to the model directory, or leave it out.',
    ],
  ])("raises ValueError for %s, saying exactly what is wrong and where", (_name, tfConfig, message) => {
    expectValueError(bad(tfConfig), message);
  });

  it("raises ValueError when modelDir and TF_CONFIG.model_dir differ", () => {
    expectValueError(
      () => new RunConfig({ modelDir: "runs/a", tfConfig: { model_dir: "runs/b" } }),
      'RunConfig modelDir "runs/a" differs from TF_CONFIG.model_dir "runs/b" (from the tfConfig option); when both are set they must be the same. Pass the same directory, or leave modelDir out to use TF_CONFIG\'s.',
    );
  });
});
