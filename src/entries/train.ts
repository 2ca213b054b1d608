/**
 * `checkpipe/train`: TensorFlow's training loop — graphs, sessions, `MonitoredSession` and its
 * hooks, `Estimator`, `RunConfig` and `CheckpointInputPipelineHook`, summaries.
 *
 * @packageDocumentation
 */
export { Graph, GraphKeys, type CollectionTypes, type CollectionValue } from "../session/graph.js";
export { Tensor, computed, constant, placeholder } from "../session/tensor.js";
export { Variable, assignAdd, globalVariablesInitializer, type VariableOptions } from "../session/variable.js";
export { Operation, group, noOp } from "../session/operation.js";
export type { RunScope } from "../session/run-scope.js";
export type { FeedDict, Fetch, FetchResult, Fetches } from "../session/fetches.js";
export { Session } from "../session/session.js";
export { getGlobalStep, getOrCreateGlobalStep } from "../session/global-step.js";
export { getNext } from "../session/get-next.js";
export { SessionRunArgs, SessionRunContext, SessionRunValues, type RunMetadata, type RunOptions, type SessionRunHook } from "../session/session-run-hook.js";
export { Coordinator, type CoordinatorOptions, type ErrorClass, type JoinOptions } from "../session/coordinator.js";
export { ChiefSessionCreator, Scaffold, type ChiefSessionCreatorOptions, type ScaffoldOptions, type SessionCreator } from "../session/scaffold.js";
export {
  MonitoredSession,
  SingularMonitoredSession,
  withMonitoredSession,
  type MonitoredSessionOptions,
  type StepContext,
} from "../session/monitored-session.js";
export { CheckpointSaverHook, type CheckpointSaverHookOptions, type CheckpointSaverListener } from "../session/hooks/checkpoint-saver-hook.js";
export { StopAtStepHook, type StopAtStepHookOptions } from "../session/hooks/stop-at-step-hook.js";
export { StepCounterHook, type StepCounterHookOptions } from "../session/hooks/step-counter-hook.js";
export { LoggingTensorHook, type LoggedTensors, type LoggingTensorHookOptions } from "../session/hooks/logging-tensor-hook.js";
export { NanTensorHook } from "../session/hooks/nan-tensor-hook.js";
export { SummarySaverHook, type SummarySaverHookOptions } from "../session/hooks/summary-saver-hook.js";
export { MonitoredTrainingSession, type MonitoredTrainingSessionOptions } from "../session/monitored-training-session.js";
export { scalarSummary, type ScalarSummary } from "../session/summary/scalar-summary.js";
export { SecondOrStepTimer, systemClock, type Clock, type ElapsedSinceTrigger, type SecondOrStepTimerOptions } from "../session/hooks/second-or-step-timer.js";
export { consoleLogger, silentLogger, type Logger, type LoggerOptions } from "../session/logger.js";
export type { Awaitable } from "../session/awaitable.js";
export { RunConfig, type RunConfigChanges, type RunConfigOptions } from "../estimator/run-config.js";
export { TaskType, type ClusterSpec, type TfConfigJson } from "../estimator/tf-config.js";
export { CheckpointInputPipelineHook, type CheckpointInputPipelineHookOptions, type EstimatorLike } from "../estimator/checkpoint-input-pipeline-hook.js";
export { EstimatorSpec, ModeKeys, type EstimatorSpecOptions, type MetricOp, type ModeKey } from "../estimator/estimator-spec.js";
export { metrics } from "../estimator/metrics.js";
export {
  Estimator,
  type EstimatorOptions,
  type EvaluateOptions,
  type InputFn,
  type Labeled,
  type ModelFn,
  type ModelFnArgs,
  type PredictOptions,
  type TrainOptions,
} from "../estimator/estimator.js";
export { SummaryWriter, type SummaryWriterOptions } from "../session/summary/summary-writer.js";
export { readEvents, scalarsOf, type ScalarEvent } from "../session/summary/read-events.js";
export * from "./errors.js";
