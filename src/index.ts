/**
 * checkpipe: tf.data-style input pipelines for TypeScript whose every iterator can be saved
 * and restored exactly.
 *
 * @packageDocumentation
 */
export { Dataset, type BucketBySequenceLengthOptions, type ElementOf, type MapOptions, type Nested } from "./dataset/dataset.js";
export type { BatchOptions } from "./dataset/ops/batch.js";
export type { PaddedBatch, PaddedBatchOptions, PaddedShape, PaddedShapes, PaddingValue, PaddingValues } from "./dataset/ops/padded-batch.js";
export type { StackedBatch } from "./dataset/ops/stack-batch.js";
export type { StackedArray, TypedArray } from "./dataset/ops/stacked.js";
export type { WindowOptions } from "./dataset/ops/window.js";
export type { IgnoreErrorsOptions } from "./dataset/ops/ignore-errors.js";
export type { InterleaveOptions } from "./dataset/ops/interleave.js";
export type { MapFn } from "./dataset/ops/map.js";
export type { MapInWorkersOptions } from "./dataset/ops/map-in-workers.js";
export type { GroupKey } from "./dataset/ops/group-by-window.js";
export type { GlobalShuffleOptions } from "./dataset/ops/global-shuffle.js";
export type { FromWorkersOptions, WorkerShard } from "./dataset/sources/from-workers.js";
export type { Predicate } from "./dataset/ops/filter.js";
export type { ScanFn } from "./dataset/ops/scan.js";
export type { ReduceFn } from "./dataset/ops/reduce.js";
export type { ClassFn, RejectionResampleOptions } from "./dataset/ops/rejection-resample.js";
export type { SampleFromDatasetsOptions } from "./dataset/sources/sample-from-datasets.js";
export type { ChooseFromDatasetsOptions } from "./dataset/sources/choose-from-datasets.js";
export type { Column, RowOf, ShapedColumn } from "./dataset/sources/from-tensor-slices.js";
export type { RandomOptions } from "./dataset/sources/random.js";
export type { ShuffleOptions } from "./dataset/ops/shuffle.js";
export type { GeneratorFactory } from "./dataset/sources/from-generator.js";
export type { ListFilesOptions } from "./dataset/sources/list-files.js";
export type { TFRecordOptions } from "./dataset/sources/tfrecord.js";
export type { TextFileOptions } from "./dataset/sources/text-lines.js";
export type { JsonlOptions } from "./dataset/sources/jsonl.js";
export type { CsvColumn, CsvColumnType, CsvOptions, CsvRow, CsvValue } from "./dataset/sources/csv.js";
export type { RecordFileCompression } from "./dataset/sources/file-bytes.js";
export { DatasetIterator, type IteratorOptions, type SaveOptions } from "./core/dataset-iterator.js";
export type { DatasetNode, DatasetOptions, ExternalStatePolicy, OpIterator, Pull, SaveContext, IteratorContext } from "./core/iterator.js";
export { END } from "./core/iterator.js";
export { ITERATOR_STATE_FORMAT, ITERATOR_STATE_VERSION, type IteratorState, type JsonValue, type OpState } from "./core/state.js";
export { decodeValue, EncodedState, encodeValue, MAX_NESTING } from "./core/value-codec.js";
export {
  parseExample,
  serializeExample,
  type ExampleFeature,
  type ExampleRecord,
  type ExampleSpec,
  type FeatureDtype,
  type FeatureDtypes,
  type FeatureSpec,
  type FixedLenFeature,
  type ParsedExample,
  type SerializableExample,
  type SerializableFeature,
  type VarLenFeature,
} from "./formats/example.js";
export { makeSaveable, makeSaveableFromIterator, type Saveable } from "./checkpoint/saveable.js";
export { Saver, type RestoredCheckpoint, type SaveCheckpointOptions, type SaverOptions } from "./checkpoint/saver.js";
export { getCheckpointState, latestCheckpoint, type CheckpointState } from "./checkpoint/checkpoint-state.js";
export { Graph, GraphKeys, type CollectionTypes, type CollectionValue } from "./session/graph.js";
export { Tensor, computed, constant, placeholder } from "./session/tensor.js";
export { Variable, assignAdd, globalVariablesInitializer, type VariableOptions } from "./session/variable.js";
export { Operation, group, noOp } from "./session/operation.js";
export type { RunScope } from "./session/run-scope.js";
export type { FeedDict, Fetch, FetchResult, Fetches } from "./session/fetches.js";
export { Session } from "./session/session.js";
export { getGlobalStep, getOrCreateGlobalStep } from "./session/global-step.js";
export { getNext } from "./session/get-next.js";
export { SessionRunArgs, SessionRunContext, SessionRunValues, type RunMetadata, type RunOptions, type SessionRunHook } from "./session/session-run-hook.js";
export { Coordinator, type CoordinatorOptions, type ErrorClass, type JoinOptions } from "./session/coordinator.js";
export { ChiefSessionCreator, Scaffold, type ChiefSessionCreatorOptions, type ScaffoldOptions, type SessionCreator } from "./session/scaffold.js";
export {
  MonitoredSession,
  SingularMonitoredSession,
  withMonitoredSession,
  type MonitoredSessionOptions,
  type StepContext,
} from "./session/monitored-session.js";
export { CheckpointSaverHook, type CheckpointSaverHookOptions, type CheckpointSaverListener } from "./session/hooks/checkpoint-saver-hook.js";
export { StopAtStepHook, type StopAtStepHookOptions } from "./session/hooks/stop-at-step-hook.js";
export { StepCounterHook, type StepCounterHookOptions } from "./session/hooks/step-counter-hook.js";
export { LoggingTensorHook, type LoggedTensors, type LoggingTensorHookOptions } from "./session/hooks/logging-tensor-hook.js";
export { NanTensorHook } from "./session/hooks/nan-tensor-hook.js";
export { SummarySaverHook, type SummarySaverHookOptions } from "./session/hooks/summary-saver-hook.js";
export { MonitoredTrainingSession, type MonitoredTrainingSessionOptions } from "./session/monitored-training-session.js";
export { scalarSummary, type ScalarSummary } from "./session/summary/scalar-summary.js";
export { SecondOrStepTimer, systemClock, type Clock, type ElapsedSinceTrigger, type SecondOrStepTimerOptions } from "./session/hooks/second-or-step-timer.js";
export { consoleLogger, silentLogger, type Logger, type LoggerOptions } from "./session/logger.js";
export type { Awaitable } from "./session/awaitable.js";
export { RunConfig, type RunConfigChanges, type RunConfigOptions } from "./estimator/run-config.js";
export { TaskType, type ClusterSpec, type TfConfigJson } from "./estimator/tf-config.js";
export { CheckpointInputPipelineHook, type CheckpointInputPipelineHookOptions, type EstimatorLike } from "./estimator/checkpoint-input-pipeline-hook.js";
export { EstimatorSpec, ModeKeys, type EstimatorSpecOptions, type MetricOp, type ModeKey } from "./estimator/estimator-spec.js";
export { metrics } from "./estimator/metrics.js";
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
} from "./estimator/estimator.js";
export { FILE_VERSION, decodeEvent, encodeEvent, type TFEvent, type TFSummary, type TFSummaryValue } from "./session/summary/event-proto.js";
export { SummaryWriter, type SummaryWriterOptions } from "./session/summary/summary-writer.js";
export { readEvents, scalarsOf, type ScalarEvent } from "./session/summary/read-events.js";
export { TFRecordWriter, type TFRecordCompression, type TFRecordWriterOptions } from "./formats/tfrecord-writer.js";
export {
  AbortedError,
  CheckpipeError,
  DataLossError,
  FailedPreconditionError,
  InvalidArgumentError,
  NanLossDuringTrainingError,
  NotFoundError,
  OutOfRangeError,
  RuntimeError,
  UnavailableError,
  ValueError,
  type ErrorCode,
  type ErrorDetails,
} from "./errors.js";
