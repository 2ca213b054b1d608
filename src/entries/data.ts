/**
 * `checkpipe/data`: the data layer alone — `Dataset` with its sources and transformations,
 * iterators and their saved states, tf.train.Example and TFRecord files, and the errors.
 *
 * @packageDocumentation
 */
export { Dataset, type BucketBySequenceLengthOptions, type ElementOf, type MapOptions, type Nested } from "../dataset/dataset.js";
export type { BatchOptions } from "../dataset/ops/batch.js";
export type { PaddedBatch, PaddedBatchOptions, PaddedShape, PaddedShapes, PaddingValue, PaddingValues } from "../dataset/ops/padded-batch.js";
export type { StackedBatch } from "../dataset/ops/stack-batch.js";
export type { StackedArray, TypedArray } from "../dataset/ops/stacked.js";
export type { WindowOptions } from "../dataset/ops/window.js";
export type { InterleaveOptions } from "../dataset/ops/interleave.js";
export type { MapFn } from "../dataset/ops/map.js";
export type { MapInWorkersOptions } from "../dataset/ops/map-in-workers.js";
export type { GroupKey } from "../dataset/ops/group-by-window.js";
export type { GlobalShuffleOptions } from "../dataset/ops/global-shuffle.js";
export type { FromWorkersOptions, WorkerShard } from "../dataset/sources/from-workers.js";
export type { Predicate } from "../dataset/ops/filter.js";
export type { ScanFn } from "../dataset/ops/scan.js";
export type { ReduceFn } from "../dataset/ops/reduce.js";
export type { ClassFn, RejectionResampleOptions } from "../dataset/ops/rejection-resample.js";
export type { SampleFromDatasetsOptions } from "../dataset/sources/sample-from-datasets.js";
export type { ChooseFromDatasetsOptions } from "../dataset/sources/choose-from-datasets.js";
export type { Column, RowOf, ShapedColumn } from "../dataset/sources/from-tensor-slices.js";
export type { RandomOptions } from "../dataset/sources/random.js";
export type { ShuffleOptions } from "../dataset/ops/shuffle.js";
export type { GeneratorFactory } from "../dataset/sources/from-generator.js";
export type { ListFilesOptions } from "../dataset/sources/list-files.js";
export type { TFRecordOptions } from "../dataset/sources/tfrecord.js";
export type { TextFileOptions } from "../dataset/sources/text-lines.js";
export type { JsonlOptions } from "../dataset/sources/jsonl.js";
export type { CsvColumn, CsvColumnType, CsvOptions, CsvRow, CsvValue } from "../dataset/sources/csv.js";
export type { RecordFileCompression } from "../dataset/sources/file-bytes.js";
export { DatasetIterator, type IteratorOptions, type SaveOptions } from "../core/dataset-iterator.js";
export type { DatasetNode, DatasetOptions, ExternalStatePolicy, OpIterator, Pull, SaveContext, IteratorContext } from "../core/iterator.js";
export { END } from "../core/iterator.js";
export { ITERATOR_STATE_FORMAT, ITERATOR_STATE_VERSION, type IteratorState, type JsonValue, type OpState } from "../core/state.js";
export { decodeValue, EncodedState, encodeValue, MAX_NESTING } from "../core/value-codec.js";
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
} from "../formats/example.js";
export { TFRecordWriter, type TFRecordCompression, type TFRecordWriterOptions } from "../formats/tfrecord-writer.js";
export type { IgnoreErrorsOptions } from "../dataset/ops/ignore-errors.js";
export * from "./errors.js";
