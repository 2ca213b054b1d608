/**
 * `Dataset<T>`: a reusable recipe of an input pipeline, tf.data style. Every iterator made from
 * it can be saved and restored exactly.
 *
 * @module
 */
import { outsideScope } from "../core/context.js";
import { DatasetIterator, type IteratorOptions } from "../core/dataset-iterator.js";
import type { DatasetNode, DatasetOptions } from "../core/iterator.js";
import { invalidArgument } from "../errors.js";
import { BATCH_OPTIONS, BatchNode, type BatchOptions } from "./ops/batch.js";
import { PaddedBatchNode, type PaddedBatch, type PaddedBatchOptions, type PaddedShapes, type PaddingValues } from "./ops/padded-batch.js";
import { RebatchNode } from "./ops/rebatch.js";
import { StackBatchNode, type StackedBatch } from "./ops/stack-batch.js";
import { TakeWhileNode } from "./ops/take-while.js";
import { UniqueNode } from "./ops/unique.js";
import { WindowNode, type WindowOptions } from "./ops/window.js";
import { CacheNode } from "./ops/cache.js";
import { ConcatenateNode } from "./ops/concatenate.js";
import { EnumerateNode } from "./ops/enumerate.js";
import { FilterNode, type Predicate } from "./ops/filter.js";
import { IgnoreErrorsNode, type IgnoreErrorsOptions } from "./ops/ignore-errors.js";
import { InterleaveNode, type InterleaveOptions } from "./ops/interleave.js";
import { MapNode, type MapFn } from "./ops/map.js";
import { PrefetchNode } from "./ops/prefetch.js";
import { RepeatNode } from "./ops/repeat.js";
import { ScanNode, type ScanFn } from "./ops/scan.js";
import { ShardNode } from "./ops/shard.js";
import { ShuffleNode, type ShuffleOptions } from "./ops/shuffle.js";
import { SkipNode } from "./ops/skip.js";
import { TakeNode } from "./ops/take.js";
import { UnbatchNode } from "./ops/unbatch.js";
import { WithOptionsNode } from "./ops/with-options.js";
import { FromArrayNode } from "./sources/from-array.js";
import { FromGeneratorNode, type GeneratorFactory } from "./sources/from-generator.js";
import { ListFilesNode, type ListFilesOptions } from "./sources/list-files.js";
import { RangeNode } from "./sources/range.js";
import { tfrecordNode, type TFRecordOptions } from "./sources/tfrecord.js";
import { csvNode, type CsvOptions, type CsvRow, type CsvValue } from "./sources/csv.js";
import { jsonlNode, type JsonlOptions } from "./sources/jsonl.js";
import { textLinesNode, type TextFileOptions } from "./sources/text-lines.js";
import { ZipNode } from "./sources/zip.js";
import { requireFunction, requireInteger, requireOptions } from "./validate.js";
import { CHOOSE_FROM_DATASETS_OPTIONS, ChooseFromDatasetsNode, type ChooseFromDatasetsOptions } from "./sources/choose-from-datasets.js";
import { CounterNode } from "./sources/counter.js";
import { FromTensorSlicesNode, type Column, type RowOf, type ShapedColumn } from "./sources/from-tensor-slices.js";
import type { TypedArray } from "./ops/stacked.js";
import { RANDOM_OPTIONS, RandomNode, type RandomOptions } from "./sources/random.js";
import { SAMPLE_FROM_DATASETS_OPTIONS, SampleFromDatasetsNode, type SampleFromDatasetsOptions } from "./sources/sample-from-datasets.js";
import { REJECTION_RESAMPLE_OPTIONS, RejectionResampleNode, type ClassFn, type RejectionResampleOptions } from "./ops/rejection-resample.js";
import { reduceIterator, type ReduceFn } from "./ops/reduce.js";
import { MapInWorkersNode, type MapInWorkersOptions } from "./ops/map-in-workers.js";
import { FromWorkersNode, type FromWorkersOptions } from "./sources/from-workers.js";
import { FileCacheNode } from "./ops/file-cache.js";
import { GroupByWindowNode, type GroupKey } from "./ops/group-by-window.js";
import { GlobalShuffleNode, type GlobalShuffleOptions } from "./ops/global-shuffle.js";
import { ELASTIC_RESUME } from "./elastic.js";

/** Options of `bucketBySequenceLength`. */
export interface BucketBySequenceLengthOptions {
  /** Increasing lengths where buckets part: bucket i holds lengths in [boundaries[i - 1], boundaries[i]). */
  readonly bucketBoundaries: readonly number[];
  /** The batch size of each bucket: one more than the boundaries. */
  readonly bucketBatchSizes: readonly number[];
  /** As `paddedBatch`'s (ignored with `padToBucketBoundary`). */
  readonly paddedShapes?: PaddedShapes;
  /** As `paddedBatch`'s. */
  readonly paddingValues?: PaddingValues;
  /** Pad sequences to their bucket's boundary − 1 instead of the longest in the batch (default false). */
  readonly padToBucketBoundary?: boolean;
  /** Drop the last, smaller batch of each bucket (default false). */
  readonly dropRemainder?: boolean;
}

/** The options every text reader takes. */
const TEXT_OPTIONS = ["compression", "maxRecordBytes", "index"] as const;

/** Options of `dataset.map`. */
export interface MapOptions {
  /**
   * How many calls of an async `fn` may run at once (default 1), or `"auto"`: start at 2 and
   * double (up to 64) each time the consumer has to wait for the oldest call. Results are
   * still delivered in input order, whatever the choice; saving waits for running calls and
   * keeps their results.
   */
  readonly parallel?: number | "auto";
}

/** What a function given to `flatMap` or `interleave` may return: a dataset or an array. */
export type Nested<U> = Dataset<U> | readonly U[];

/** The element type of a dataset. */
export type ElementOf<D> = D extends Dataset<infer T> ? T : never;

/**
 * A recipe of an input pipeline: a source followed by transformations. It holds no position;
 * each `iterator()` (or `for await` loop) is one fresh run over it, and every such run can be
 * saved and restored exactly, with no replay from the start.
 *
 * @example
 * const ds = Dataset.range(1000).shuffle(100, { seed: 7 }).map((x) => x * 2).batch(32);
 * const it = ds.iterator();
 * const first = await it.next();
 * const state = await it.save();            // JSON-compatible
 * const resumed = ds.iterator({ state });   // continues with the second batch
 */
export class Dataset<T> implements AsyncIterable<T> {
  /** Wraps an op's recipe; sources and transformations make these for you. */
  constructor(readonly node: DatasetNode<T>) {}

  // ---- sources -------------------------------------------------------------------------------

  /**
   * The numbers `0, 1, ...` below `stop`.
   *
   * @param stop End, not included.
   * @throws {InvalidArgumentError} for a non-numeric bound.
   * @example Dataset.range(5)          // 0, 1, 2, 3, 4
   */
  static range(stop: number): Dataset<number>;
  /**
   * The numbers `start, start + step, ...` below `stop` (above it for a negative step).
   *
   * @param start First value (default 0 when only `stop` is given).
   * @param stop End, not included.
   * @param step Increment, non-zero (default 1).
   * @throws {InvalidArgumentError} for a zero or non-finite step, or non-numeric bounds.
   * @example Dataset.range(5)          // 0, 1, 2, 3, 4
   * @example Dataset.range(10, 0, -3)  // 10, 7, 4, 1
   */
  static range(start: number, stop: number, step?: number): Dataset<number>;
  static range(a: number, b?: number, step = 1): Dataset<number> {
    return b === undefined ? new Dataset(new RangeNode(0, a, 1)) : new Dataset(new RangeNode(a, b, step));
  }

  /**
   * The items of an array, in order. The array is copied: later changes to it do not affect
   * the dataset.
   *
   * @throws {InvalidArgumentError} when `items` is not an array.
   * @example Dataset.fromArray([{ x: 1 }, { x: 2 }])
   */
  static fromArray<T>(items: readonly T[]): Dataset<T> {
    return new Dataset(new FromArrayNode(items));
  }

  /**
   * The elements of a (sync or async) generator, or of any iterable a factory returns. A
   * generator's position cannot be saved: saving fails with `FailedPreconditionError` unless
   * the pipeline's external state policy is `"warn"` or `"ignore"`, in which case a restored
   * iterator restarts the generator from its beginning.
   *
   * @param factory Called once per iterator to make a fresh generator.
   * @example Dataset.fromGenerator(async function* () { yield* await fetchRows(); })
   */
  static fromGenerator<T>(factory: GeneratorFactory<T>): Dataset<T> {
    return new Dataset(new FromGeneratorNode(factory));
  }

  /**
   * One element from each dataset per step: an array of datasets gives tuples, a record of
   * datasets gives records. Ends with the shortest input.
   *
   * @throws {InvalidArgumentError} for no datasets, or an entry that is not a Dataset.
   * @example Dataset.zip([Dataset.range(3), Dataset.fromArray(["a", "b", "c"])])  // [0, "a"], ...
   * @example Dataset.zip({ x: features, y: labels })                            // { x, y }, ...
   */
  static zip<const D extends readonly Dataset<unknown>[]>(datasets: D): Dataset<{ -readonly [K in keyof D]: ElementOf<D[K]> }>;
  static zip<R extends Record<string, Dataset<unknown>>>(datasets: R): Dataset<{ [K in keyof R]: ElementOf<R[K]> }>;
  static zip(datasets: readonly Dataset<unknown>[] | Record<string, Dataset<unknown>>): Dataset<unknown> {
    if (typeof datasets !== "object" || datasets === null) {
      throw invalidArgument("zip(datasets)", "an array or a record of datasets", datasets, "Pass e.g. zip([a, b]) or zip({ x: a, y: b }).");
    }
    const keys = Array.isArray(datasets) ? null : Object.keys(datasets);
    const list: unknown[] = Array.isArray(datasets) ? datasets : Object.values(datasets);
    const nodes = list.map((d, i) => {
      if (!(d instanceof Dataset)) {
        const where = keys === null ? `[${i}]` : `.${keys[i]}`;
        throw invalidArgument(`zip(datasets)${where}`, "a Dataset", d, "Pass datasets only, e.g. zip([Dataset.range(3), other]).");
      }
      return d.node;
    });
    return new Dataset(new ZipNode(nodes, keys));
  }

  /**
   * Each element from a dataset chosen at random, `weights[i]` being the relative probability
   * of `datasets[i]` (tf.data's `sample_from_datasets`). Each dataset's elements keep their
   * order. When a dataset ends it leaves the choice and the weights of the others are
   * renormalized; the sequence ends when all have ended — or, with `stopOnEmptyDataset`, at
   * the first choice of one that has ended. The random generator's position and every
   * dataset's state are saved with the iterator. (A seed makes other choices than it does in
   * TensorFlow: the generators differ.)
   *
   * @param datasets The datasets to draw from, at least one.
   * @param options `weights` (default equal; non-negative, not all zero, one per dataset; a
   *   dataset of weight 0 is never read), `seed` (an integer; without one each iterator makes
   *   its own choices, derived from the iterator's seed), `stopOnEmptyDataset` (default false),
   *   `rerandomizeEachIteration` (default false: each epoch of a `repeat` makes the same choices).
   * @throws {InvalidArgumentError} for no datasets, an entry that is not a Dataset, bad weights,
   *   a non-integer seed or an unknown option.
   * @example
   * Dataset.sampleFromDatasets([Dataset.range(0, 3), Dataset.range(100, 103)], { weights: [0.5, 0.5], seed: 1 })
   * // some interleaving of 0, 1, 2 and 100, 101, 102, each in order
   */
  static sampleFromDatasets<const D extends readonly Dataset<unknown>[]>(datasets: D, options?: SampleFromDatasetsOptions): Dataset<ElementOf<D[number]>> {
    const opts = requireOptions("Dataset.sampleFromDatasets(datasets, options)", options, SAMPLE_FROM_DATASETS_OPTIONS);
    return new Dataset(new SampleFromDatasetsNode(datasetNodes<ElementOf<D[number]>>("Dataset.sampleFromDatasets(datasets)", datasets), opts));
  }

  /**
   * Each element from the dataset that the next element of `choiceDataset` names by index
   * (tf.data's `choose_from_datasets`). Ends when the choices end; when a chosen dataset has
   * ended, the sequence ends too (`stopOnEmptyDataset`, the default), or that choice is
   * skipped. The choice dataset's state and every dataset's state are saved with the iterator.
   *
   * @param datasets The datasets to choose from, at least one.
   * @param choiceDataset Integers from 0 to `datasets.length - 1`.
   * @param options `stopOnEmptyDataset` (default true).
   * @throws {InvalidArgumentError} for no datasets, an entry that is not a Dataset or an unknown
   *   option; while iterating, for a choice that is not an index of `datasets`, naming it.
   * @example
   * const datasets = [Dataset.fromArray(["foo"]).repeat(), Dataset.fromArray(["bar"]).repeat(), Dataset.fromArray(["baz"]).repeat()];
   * Dataset.chooseFromDatasets(datasets, Dataset.range(3).repeat(3))
   * // "foo", "bar", "baz", "foo", "bar", "baz", "foo", "bar", "baz"
   */
  static chooseFromDatasets<const D extends readonly Dataset<unknown>[]>(
    datasets: D,
    choiceDataset: Dataset<number>,
    options?: ChooseFromDatasetsOptions,
  ): Dataset<ElementOf<D[number]>> {
    const opts = requireOptions("Dataset.chooseFromDatasets(datasets, choiceDataset, options)", options, CHOOSE_FROM_DATASETS_OPTIONS);
    if (!(choiceDataset instanceof Dataset)) {
      throw invalidArgument(
        "Dataset.chooseFromDatasets(datasets, choiceDataset)",
        "a Dataset of indices",
        choiceDataset,
        "Pass e.g. Dataset.range(3).repeat().",
      );
    }
    return new Dataset(
      new ChooseFromDatasetsNode(datasetNodes<ElementOf<D[number]>>("Dataset.chooseFromDatasets(datasets)", datasets), choiceDataset.node, opts),
    );
  }

  /**
   * One element per row of equal-length columns (tf.data's `from_tensor_slices`): a record of
   * columns gives records of row values, an array of columns gives tuples (JavaScript has no
   * tuple type: a plain array of columns here is tf.data's tuple, not a 2-D tensor), and one
   * typed array, `{ data, shape }`, or plain array of which no item is a column (a 1-D list)
   * gives its rows. An array column's rows are its items (arrays of arrays
   * give arrays), a typed array's are numbers (bigints for 64-bit integer arrays), and a
   * `{ data, shape }` column's are typed arrays of the values of each row (row-major, flat),
   * or numbers for a one-entry shape. The columns are copied. Random access: the saved state
   * is the row index.
   *
   * @param columns A record or an array of columns; or one typed array, `{ data, shape }` or list of values.
   * @throws {InvalidArgumentError} for no columns, a value that is not a column, a shape that
   *   does not fit its data, or columns of different lengths (naming each with its length).
   * @example Dataset.fromTensorSlices({ a: [1, 2], b: [3, 4] })     // { a: 1, b: 3 }, { a: 2, b: 4 }
   * @example Dataset.fromTensorSlices([[1, 2], [3, 4], [5, 6]])      // [1, 3, 5], [2, 4, 6]
   * @example Dataset.fromTensorSlices({ data: Int32Array.of(1, 2, 3, 4), shape: [2, 2] })  // Int32Array [1, 2], [3, 4]
   */
  static fromTensorSlices<C extends TypedArray | ShapedColumn>(columns: C): Dataset<RowOf<C>>;
  static fromTensorSlices<const C extends readonly (string | number | boolean | bigint | null | Record<string, unknown>)[]>(columns: C): Dataset<C[number]>;
  static fromTensorSlices<const C extends readonly Column[]>(columns: C): Dataset<{ -readonly [K in keyof C]: RowOf<C[K]> }>;
  static fromTensorSlices<R extends Record<string, Column>>(columns: R): Dataset<{ [K in keyof R]: RowOf<R[K]> }>;
  static fromTensorSlices(columns: unknown): Dataset<unknown> {
    return new Dataset(new FromTensorSlicesNode(columns));
  }

  /**
   * `start, start + step, start + 2 * step, ...` forever (tf.data's `Dataset.counter`);
   * cardinality `Infinity`. The saved state is how many values it has handed out.
   *
   * @param start First value (default 0).
   * @param step Increment (default 1), any finite number.
   * @throws {InvalidArgumentError} for a non-finite start or step.
   * @example Dataset.counter().take(5)         // 0, 1, 2, 3, 4
   * @example Dataset.counter(2, 5).take(3)     // 2, 7, 12
   */
  static counter(start = 0, step = 1): Dataset<number> {
    return new Dataset(new CounterNode(start, step));
  }

  /**
   * Uniformly distributed 32-bit unsigned integers (0 to 2^32 - 1) forever, from a seeded
   * generator (tf.data's `Dataset.random`, which yields int64s: these are 32-bit, and a seed
   * gives other numbers than TensorFlow's); cardinality `Infinity`. Without a seed, each
   * iterator draws its own sequence, derived from the iterator's seed as an unseeded `shuffle`
   * does. The generator's position is saved with the iterator.
   *
   * @param options `seed` (an integer), `rerandomizeEachIteration` (default false: each epoch
   *   of a `repeat` yields the same sequence).
   * @throws {InvalidArgumentError} for a non-integer seed or an unknown option.
   * @example Dataset.random({ seed: 4 }).take(2)   // two integers, the same on every run
   * @example Dataset.random({ seed: 4 }).map((x) => x / 2 ** 32)  // uniform in [0, 1)
   */
  static random(options?: RandomOptions): Dataset<number> {
    return new Dataset(new RandomNode(requireOptions("Dataset.random(options)", options, RANDOM_OPTIONS)));
  }

  /**
   * The paths of the files matching a glob pattern (tf.data's `Dataset.list_files`), sorted
   * by code unit so the order is the same on every machine; with `shuffle: true`, in an order
   * shuffled by `seed`. Relative patterns give paths relative to the working directory,
   * absolute patterns absolute paths; directories never match.
   *
   * The files are listed when iteration starts (at the first `next()`), not when the dataset
   * is made, and the list is saved with the iterator's state: a restored iterator goes on
   * through exactly the files the saving one listed, even if files were added or removed
   * since. A state saved before the first `next()` holds no list; that iterator lists anew.
   *
   * @param pattern A glob (`*`, `?`, `**`, `{a,b}`, `[0-9]`), e.g. `"data/*.tfrecord"` or
   *   `"data/**\/part-*"`, or an array of globs: the union of their matches, each file once.
   * @param options `shuffle`: shuffle the sorted list (default false); `seed`: an integer, for
   *   a reproducible shuffle (without it, the order derives from the iterator's seed).
   * @throws {InvalidArgumentError} for an empty or non-string pattern, a non-boolean `shuffle`
   *   or a non-integer `seed`.
   * @throws {NotFoundError} while iterating, when no file matches, naming the pattern.
   * @example
   * Dataset.listFiles("data/*.tfrecord", { shuffle: true, seed: 7 })
   *   .interleave((f) => Dataset.tfrecord(f), { cycleLength: 4 })
   */
  static listFiles(pattern: string | readonly string[], options?: ListFilesOptions): Dataset<string> {
    return new Dataset(
      new ListFilesNode(pattern, requireOptions("Dataset.listFiles(pattern, options)", options, ["shuffle", "seed"], "{ shuffle: true, seed: 1 }")),
    );
  }

  /**
   * The records of TFRecord files (TensorFlow's `tf.data.TFRecordDataset`), each a
   * `Uint8Array`, file after file. Files are streamed with large buffered reads, so memory
   * stays bounded however large they are. Both CRCs of every record are verified by default.
   *
   * The saved state is the file index and the byte offset of the next record: restoring seeks
   * there, at a cost that does not grow with the offset. Compressed files cannot seek:
   * restoring decompresses the current file from its start up to the offset (earlier files
   * are not read again).
   *
   * A data CRC mismatch raises a `DataLossError` for that record only; after `ignoreErrors()`
   * reading goes on with the next record. A bad length or a truncated record spoils the rest
   * of its file: the error is raised once, and reading goes on with the next file.
   *
   * @param files A path, an array of paths, or a Dataset of paths (read one after another,
   *   as `files.flatMap((f) => Dataset.tfrecord(f, options))`).
   * @param options `compression`: `"none"` (default), `"gzip"` or `"zlib"`; `verifyCrc`:
   *   check the masked CRC32C of each length and data (default true); `maxRecordBytes`: the
   *   largest frame accepted (default 256 MiB), checked from its header before it is buffered.
   * @throws {InvalidArgumentError} for a path that is not a non-empty string, an unknown
   *   compression or a non-boolean `verifyCrc`; while iterating, for a path that is a directory.
   * @throws {NotFoundError} while iterating, for a missing file, naming it.
   * @throws {DataLossError} while iterating, for a CRC mismatch, a truncated record or one
   *   over `maxRecordBytes`, naming the file and the record's byte offset.
   * @example
   * const examples = Dataset.tfrecord(["train-0.tfrecord", "train-1.tfrecord"], { compression: "gzip" })
   *   .map((bytes) => parseExample(bytes, spec));
   * @example
   * Dataset.fromArray(paths).interleave((f) => Dataset.tfrecord(f), { cycleLength: 4 })
   */
  static tfrecord(files: string | readonly string[] | Dataset<string>, options?: TFRecordOptions): Dataset<Uint8Array> {
    const opts = requireOptions(
      "Dataset.tfrecord(files, options)",
      options,
      ["compression", "verifyCrc", "maxRecordBytes", "index"],
      '{ compression: "gzip" }',
    );
    if (files instanceof Dataset) {
      tfrecordNode([], opts); // checks the options now, not per file
      return files.flatMap((file) => Dataset.tfrecord(file, opts));
    }
    if (typeof files !== "string" && !Array.isArray(files)) {
      throw invalidArgument(
        "Dataset.tfrecord(files)",
        "a path, an array of paths, or a Dataset of paths",
        files,
        'Pass e.g. "data/train.tfrecord" or ["a.tfrecord", "b.tfrecord"].',
      );
    }
    return new Dataset(tfrecordNode(typeof files === "string" ? [files] : (files as readonly unknown[]), opts));
  }

  /**
   * Elements made on worker threads: worker `i` of `workers` calls the module's export (default
   * `"default"`) with `{ workerIndex: i, numWorkers }`, which returns (or resolves to) that
   * worker's own `Dataset` — typically its shard of the files, read, parsed and mapped there —
   * and this dataset yields their elements in a fixed round-robin order (worker 0's first, worker
   * 1's first, …), skipping workers that ended. File reading and parsing then use every core.
   *
   * Elements cross by structured clone, the buffers of typed arrays an element owns whole
   * moved (`transfer: false` copies). An element's error arrives at its place. A module that
   * cannot load, an export that returns no Dataset, or a thread that dies
   * (`UnavailableError`, naming the module and the worker) fail every later pull: restore from a
   * checkpoint to go on. Threads start at the first pull and never keep the process alive when idle.
   *
   * The state holds each worker's own iterator state, the turn, and the elements received but
   * not yet handed out; restoring re-creates the workers there. The workers' pipelines must be
   * deterministic for exact resume, and the dataset must be rebuilt with the same `workers`.
   *
   * @param module The path of an ES module, or a `file:` or `data:` URL.
   * @param options `export`, `workers` (default one per core), `transfer` (default true).
   * @throws {InvalidArgumentError} for a bad module, export, thread count or an unknown option.
   * @throws {NotFoundError} when the module file does not exist.
   * @example
   * // shards.mjs:
   * // export default ({ workerIndex, numWorkers }) =>
   * //   Dataset.tfrecord(files.filter((_, i) => i % numWorkers === workerIndex)).map(parse);
   * const examples = Dataset.fromWorkers(new URL("./shards.mjs", import.meta.url), { workers: 4 }).batch(32);
   */
  static fromWorkers<T = unknown>(module: string | URL, options?: FromWorkersOptions): Dataset<T> {
    return new Dataset(new FromWorkersNode<T>(module, requireOptions("Dataset.fromWorkers(module, options)", options)));
  }

  /**
   * Reads the lines of UTF-8 text files, file after file: each line without its `\n` or
   * `\r\n`. A last line without a newline is a line; an empty file yields nothing. Malformed
   * UTF-8 becomes U+FFFD. Files are streamed with large buffered reads.
   *
   * The saved state is the file index, the byte offset and the line number of the next line:
   * restoring seeks there (a compressed file is decompressed from its start up to the offset).
   *
   * @param files A path, an array of paths, or a Dataset of paths (read one after another).
   * @param options `compression`: `"none"` (default), `"gzip"` or `"zlib"`; `maxRecordBytes`:
   *   the most bytes a line may span (default 256 MiB) — a longer one is a `DataLossError`
   *   naming file, byte and line, and the rest of that file is not read.
   * @throws {InvalidArgumentError} for a path that is not a non-empty string or an unknown
   *   compression; while iterating, for a path that is a directory.
   * @throws {NotFoundError} while iterating, for a missing file, naming it.
   * @example
   * const lines = Dataset.textLines(["a.txt", "b.txt"]).filter((line) => line !== "");
   */
  static textLines(files: string | readonly string[] | Dataset<string>, options?: TextFileOptions): Dataset<string> {
    const opts = requireOptions("Dataset.textLines(files, options)", options, TEXT_OPTIONS, '{ compression: "gzip" }');
    return Dataset.textFiles(
      "Dataset.textLines",
      files,
      () => textLinesNode([], opts),
      (f) => new Dataset(textLinesNode(f, opts)),
    );
  }

  /**
   * Reads JSON Lines files: one JSON value per line (blank lines and a UTF-8 byte order mark
   * are skipped), file after file. `T` is what you promise the values are; nothing checks it.
   *
   * A line that is not JSON raises an `InvalidArgumentError` (as tf.data does for malformed
   * text input) naming the file and the 1-based line number, for that line only: after
   * `ignoreErrors()` reading goes on with the next line. The saved state is the file index,
   * byte offset and line number of the next line, so line numbers stay right after a restore.
   *
   * @param files A path, an array of paths, or a Dataset of paths.
   * @param options `compression`: `"none"` (default), `"gzip"` or `"zlib"`; `maxRecordBytes`:
   *   the most bytes a line may span (default 256 MiB) — a longer one is a `DataLossError`
   *   naming file, byte and line, and the rest of that file is not read.
   * @throws {InvalidArgumentError} for a bad path or compression; while iterating, for a
   *   malformed line (`JSONL file "x.jsonl", line 7: expected one JSON value; …`).
   * @throws {NotFoundError} while iterating, for a missing file, naming it.
   * @example
   * const events = Dataset.jsonl<{ user: string; ms: number }>("events.jsonl").ignoreErrors().batch(128);
   */
  static jsonl<T = unknown>(files: string | readonly string[] | Dataset<string>, options?: JsonlOptions): Dataset<T> {
    const opts = requireOptions("Dataset.jsonl(files, options)", options, TEXT_OPTIONS, '{ compression: "gzip" }');
    return Dataset.textFiles(
      "Dataset.jsonl",
      files,
      () => jsonlNode([], opts),
      (f) => new Dataset(jsonlNode(f, opts) as DatasetNode<T>),
    );
  }

  /**
   * Reads RFC 4180 CSV files: fields separated by `delimiter` (default `","`), quoted fields
   * with `""` for a quote and line ends inside quotes, rows ended by `\n` or `\r\n`; empty
   * lines and a UTF-8 byte order mark are skipped. With `header: true` (the first row of each file) or `columnNames`, each
   * row is a record by column name; otherwise an array. `selectCols` picks columns (names or
   * 0-based indices) in the order given.
   *
   * Fields are strings unless `columns` gives a type, like tf.data's `record_defaults`:
   * `{ type: "number" | "int" | "boolean" | "string", default? }`. An empty field takes the
   * default; without one the column is required.
   *
   * Every row must have as many fields as the header, the names, or (without names) the first
   * row of its file. A row with the wrong count, a required field left empty or a field not of
   * its type raises an `InvalidArgumentError` naming the file, the line the row starts on and
   * the counts or column, for that row only (`ignoreErrors()` skips exactly it).
   *
   * @param files A path, an array of paths, or a Dataset of paths.
   * @param options See {@link CsvOptions}; `compression` as for `textLines`.
   * @throws {InvalidArgumentError} for bad options; while iterating, for a bad row
   *   (`CSV file "a.csv", line 4: expected 3 fields; got 2. …`) or a selected or typed column
   *   the file does not have.
   * @throws {NotFoundError} while iterating, for a missing file, naming it.
   * @example
   * const rows = Dataset.csv("iris.csv", {
   *   header: true,
   *   selectCols: ["sepal_length", "species"],
   *   columns: { sepal_length: { type: "number", default: 0 } },
   * }); // Dataset of { sepal_length: number, species: string } (typed as Record<string, CsvValue>)
   */
  static csv(
    files: string | readonly string[] | Dataset<string>,
    options: CsvOptions & ({ readonly header: true } | { readonly columnNames: readonly string[] }),
  ): Dataset<Record<string, CsvValue>>;
  static csv(
    files: string | readonly string[] | Dataset<string>,
    options?: CsvOptions & { readonly header?: false; readonly columnNames?: undefined },
  ): Dataset<CsvValue[]>;
  static csv(files: string | readonly string[] | Dataset<string>, options?: CsvOptions): Dataset<CsvRow>;
  static csv(files: string | readonly string[] | Dataset<string>, options?: CsvOptions): Dataset<CsvRow> {
    const opts = requireOptions(
      "Dataset.csv(files, options)",
      options,
      ["compression", "maxRecordBytes", "delimiter", "header", "columnNames", "selectCols", "columns"],
      "{ header: true }",
    );
    return Dataset.textFiles(
      "Dataset.csv",
      files,
      () => csvNode([], opts),
      (f) => new Dataset(csvNode(f, opts)),
    );
  }

  /** What the text readers share: `files` as a path, paths or a Dataset of paths (options checked now). */
  private static textFiles<T>(
    op: string,
    files: string | readonly string[] | Dataset<string>,
    check: () => unknown,
    read: (paths: readonly unknown[]) => Dataset<T>,
  ): Dataset<T> {
    if (files instanceof Dataset) {
      check();
      return files.flatMap((file) => read([file]));
    }
    if (typeof files !== "string" && !Array.isArray(files)) {
      throw invalidArgument(`${op}(files)`, "a path, an array of paths, or a Dataset of paths", files, `Pass e.g. "data/train.txt" or ["a.txt", "b.txt"].`);
    }
    return read(typeof files === "string" ? [files] : (files as readonly unknown[]));
  }

  // ---- transformations -----------------------------------------------------------------------

  /**
   * Applies `fn` to each element. `fn` may be async; with `parallel: n`, up to `n` calls run
   * at once and results still come in input order.
   *
   * @throws {InvalidArgumentError} when `fn` is not a function or `parallel` is not an integer ≥ 1.
   * @example ds.map((x) => x * 2)
   * @example ds.map(async (path) => readFile(path), { parallel: 8 })
   */
  map<U>(fn: MapFn<T, U>, options?: MapOptions): Dataset<U> {
    const opts = requireOptions("map(fn, options)", options, ["parallel"], "{ parallel: 8 }");
    const parallel =
      opts.parallel === "auto"
        ? "auto"
        : requireInteger("map(fn, { parallel })", opts.parallel ?? 1, 1, 'Pass how many calls may run at once, e.g. { parallel: 8 }, or "auto".');
    return new Dataset(new MapNode(this.node, fn, parallel));
  }

  /**
   * Applies a function to each element on worker threads — for CPU-heavy work (parsing,
   * augmenting, tokenizing) that `map(fn, { parallel })` cannot spread, since that only
   * overlaps async waits on the one JavaScript thread. The function is named by module, since
   * a closure cannot cross threads: the module's export (default `"default"`),
   * `(element) => result` (or a Promise of one), must be pure and deterministic for exact
   * resume. Results come in input order whatever finishes first.
   *
   * Elements and results cross by structured clone (plain data, typed arrays, Map, Set, Date;
   * class instances arrive as plain objects); elements go in batches sized from the
   * function's cost, and the buffers of typed arrays a result owns whole move back without a
   * copy (`transfer: false` copies). An error thrown for one element is that element's error,
   * of the same class and with the worker's stack: the iterator goes on, `ignoreErrors()`
   * skips it. A module that cannot load fails every pull; a thread that dies (`process.exit`,
   * out of memory) fails the elements it held with an `UnavailableError` naming the module and
   * the elements, and a new thread takes over. Threads start at the first pull, are shared by
   * iterators and never keep the process alive when idle; `close()` lets them go.
   *
   * Saving waits for the batches under way and keeps the results not yet handed out.
   *
   * @param module The path of an ES module, or a `file:` or `data:` URL.
   * @param options `export`, `workers` (default one per core), `parallel` (the most elements in
   *   flight; default two batches per thread), `transfer` (default true).
   * @throws {InvalidArgumentError} for a bad module, export, thread count, option or an unknown option.
   * @throws {NotFoundError} when the module file does not exist.
   * @example
   * // augment.mjs: export default function augment(example) { ...; return example; }
   * ds.mapInWorkers(new URL("./augment.mjs", import.meta.url), { workers: 4 })
   */
  mapInWorkers<U = unknown>(module: string | URL, options?: MapInWorkersOptions): Dataset<U> {
    return new Dataset(new MapInWorkersNode<T, U>(this.node, module, requireOptions("mapInWorkers(module, options)", options)));
  }

  /**
   * The elements for which `predicate` returns a truthy value (it may be async).
   *
   * @example ds.filter((x) => x % 2 === 0)
   */
  filter<S extends T>(predicate: (value: T) => value is S): Dataset<S>;
  filter(predicate: Predicate<T>): Dataset<T>;
  filter(predicate: Predicate<T>): Dataset<T> {
    return new Dataset(new FilterNode(this.node, predicate));
  }

  /**
   * Maps each element to a dataset (or an array) and yields their elements in order. `fn`
   * must be deterministic: a restored iterator calls it again on the saved element.
   *
   * @example Dataset.fromArray(["a.txt", "b.txt"]).flatMap((f) => Dataset.textLines(f))
   */
  flatMap<U>(fn: (value: T) => Nested<U>): Dataset<U> {
    return new Dataset(new InterleaveNode(this.node, nestedNode("flatMap(fn)", fn), null));
  }

  /**
   * Maps each element to a dataset (or an array) and reads `cycleLength` of them in turn,
   * `blockLength` elements from each, as tf.data's `interleave` does. `fn` must be
   * deterministic: a restored iterator calls it again on the saved elements of open slots.
   *
   * @throws {InvalidArgumentError} when `cycleLength` or `blockLength` is not an integer ≥ 1.
   * @example Dataset.listFiles("data/*.tfrecord").interleave((f) => Dataset.tfrecord(f), { cycleLength: 4 })
   */
  interleave<U>(fn: (value: T) => Nested<U>, options: InterleaveOptions): Dataset<U> {
    const opts = requireOptions("interleave(fn, options)", options, ["cycleLength", "blockLength"], "{ cycleLength: 4 }") as InterleaveOptions;
    return new Dataset(new InterleaveNode(this.node, nestedNode("interleave(fn)", fn), opts));
  }

  /**
   * Groups consecutive elements into arrays of `size`; the last one may be shorter unless
   * `dropRemainder` is set.
   *
   * With `stack: true` the batch is stacked column-wise instead: elements that are numbers,
   * booleans, bigints, typed arrays or records of them (nested records too) become one typed
   * array per component with its shape, `{ data, shape: [batch, ...] }` — numbers a
   * `Float64Array` (lossless whatever the values; `Float32Array.from(data)` for tfjs float32),
   * booleans a `Uint8Array` of 0 and 1, bigints a `BigInt64Array`, typed arrays one array of
   * their own kind, `shape [batch, length]`. `tf.tensor(data, shape)` then takes a whole batch
   * with no per-element copy. Every element of a batch must have the structure, kinds and
   * typed array lengths of its first (else `paddedBatch`). Nothing is held between batches:
   * the saved state is the input's and a count of batches.
   *
   * @param size Elements per batch, an integer ≥ 1.
   * @param options `dropRemainder` (default false), `stack` (default false).
   * @throws {InvalidArgumentError} when `size` is not an integer ≥ 1 or an option is unknown;
   *   with `stack`, at iteration, naming the element and component that does not fit.
   * @example Dataset.range(5).batch(2)  // [0, 1], [2, 3], [4]
   * @example
   * Dataset.fromArray([{ x: new Float32Array([1, 2]), y: 0 }, { x: new Float32Array([3, 4]), y: 1 }]).batch(2, { stack: true })
   * // { x: { data: Float32Array [1, 2, 3, 4], shape: [2, 2] }, y: { data: Float64Array [0, 1], shape: [2] } }
   */
  batch(size: number, options: BatchOptions & { readonly stack: true }): Dataset<StackedBatch<T>>;
  batch(size: number, options?: BatchOptions & { readonly stack?: false }): Dataset<T[]>;
  batch(size: number, options?: BatchOptions): Dataset<T[]> | Dataset<StackedBatch<T>>;
  batch(size: number, options?: BatchOptions): Dataset<T[]> | Dataset<StackedBatch<T>> {
    const opts = requireOptions("batch(size, options)", options, BATCH_OPTIONS, "{ dropRemainder: true }");
    if (opts.stack === true) return new Dataset(new StackBatchNode(this.node, size, opts.dropRemainder ?? false));
    return new Dataset(new BatchNode(this.node, size, opts));
  }

  /**
   * Batches elements whose components have different lengths, padding each component to the
   * longest in the batch (per dimension) or to `paddedShapes`, as tf.data's `padded_batch`.
   *
   * Elements are scalars (number, bigint, boolean, string), arrays of them nested to any depth
   * (each element's array rectangular), typed arrays, or records of those (nested records
   * too). Output: scalars → an array of them; arrays → an array of padded arrays (nested
   * arrays stay nested arrays); a typed array → one typed array of its kind holding the whole
   * padded batch, `{ data, shape: [batch, length] }` (see `StackedArray`); records → a record
   * of the same keys. Plain arrays are always components (use records for several).
   * Nothing is held between batches: the saved state is the input's and a count of batches.
   *
   * @param size Elements per batch, an integer ≥ 1.
   * @param options `paddedShapes`: a shape per component (a record mirroring record
   *   elements), each length an integer or -1/null for the longest (default: all longest);
   *   `paddingValues`: one value or a record of them (default 0, 0n, false, "" by type);
   *   `dropRemainder` (default false).
   * @throws {InvalidArgumentError} for a bad size, option or unknown option; at iteration,
   *   naming the element and component, for a component longer than its padded shape, of
   *   another rank or kind than the batch's first, ragged within an element, or records with
   *   other keys.
   * @example
   * Dataset.range(1, 5).map((x) => Array(x).fill(x)).paddedBatch(2)
   * // [[1, 0], [2, 2]], [[3, 3, 3, 0], [4, 4, 4, 4]]
   */
  paddedBatch(size: number, options?: PaddedBatchOptions): Dataset<PaddedBatch<T>> {
    return new Dataset(new PaddedBatchNode(this.node, size, options));
  }

  /**
   * Sliding windows over the elements, as arrays: window `k` holds the elements at
   * `k * shift + i * stride` for `i < size`. The last windows may be shorter (down to one
   * element) unless `dropRemainder` is set. tf.data's `window` yields each window as a
   * dataset (flattened with `flat_map`); here each is an array, as `window(...).flatMap(batch)`
   * would give there. The saved state holds at most one window's span of input elements.
   *
   * @param size Elements per window, an integer ≥ 1.
   * @param options `shift` (default `size`), `stride` (default 1), `dropRemainder` (default false).
   * @throws {InvalidArgumentError} when `size`, `shift` or `stride` is not an integer ≥ 1, or an option is unknown.
   * @example Dataset.range(7).window(3, { shift: 2, dropRemainder: true })  // [0, 1, 2], [2, 3, 4], [4, 5, 6]
   */
  window(size: number, options?: WindowOptions): Dataset<T[]> {
    return new Dataset(new WindowNode(this.node, size, options));
  }

  /**
   * The items of array (batch) elements, re-batched into arrays of `size` items, across input
   * batch boundaries; the last may be shorter (tf.data's `rebatch` with `drop_remainder=False`:
   * `unbatch().batch(size)` without making single items). With an array of sizes, the new
   * batches take them in turn. Items taken from an input batch but not yet handed out are saved.
   *
   * @param size Items per new batch, an integer ≥ 1, or sizes to cycle through.
   * @throws {InvalidArgumentError} for a size that is not an integer ≥ 1; at iteration, for an element that is not array-like.
   * @example Dataset.range(8).batch(4).rebatch(2)  // [0, 1], [2, 3], [4, 5], [6, 7]
   */
  rebatch(size: number | readonly number[]): Dataset<T extends ArrayLike<infer U> ? U[] : never> {
    return new Dataset(new RebatchNode(this.node as unknown as DatasetNode<ArrayLike<unknown>>, size)) as unknown as Dataset<
      T extends ArrayLike<infer U> ? U[] : never
    >;
  }

  /**
   * Splits array (or typed array) elements back into their items.
   *
   * @throws {InvalidArgumentError} at iteration when an element is not array-like.
   * @example Dataset.fromArray([[1, 2], [3]]).unbatch()  // 1, 2, 3
   */
  unbatch(): Dataset<T extends ArrayLike<infer U> ? U : never> {
    return new Dataset(new UnbatchNode(this.node as unknown as DatasetNode<ArrayLike<T extends ArrayLike<infer U> ? U : never>>));
  }

  /**
   * Randomly shuffles with a buffer of `bufferSize` elements (a uniform shuffle when it holds
   * the whole dataset). Seeded orders are reproducible; each epoch of an enclosing `repeat`
   * gets its own order unless `reshuffleEachIteration` is false. The buffer and the random
   * generator's position are saved with the state.
   *
   * @param bufferSize Elements to sample from, an integer ≥ 1.
   * @throws {InvalidArgumentError} when `bufferSize` is not an integer ≥ 1 or `seed` not an integer.
   * @example ds.shuffle(10_000, { seed: 42 })
   */
  shuffle(bufferSize: number, options?: ShuffleOptions): Dataset<T> {
    return new Dataset(
      new ShuffleNode(
        this.node,
        bufferSize,
        requireOptions("shuffle(bufferSize, options)", options, ["seed", "reshuffleEachIteration", "saveBuffer"], "{ seed: 42 }"),
      ),
    );
  }

  /**
   * Repeats the dataset `count` times, or forever without a count (or with -1).
   *
   * @example Dataset.range(2).repeat(2)  // 0, 1, 0, 1
   */
  repeat(count?: number): Dataset<T> {
    return new Dataset(new RepeatNode(this.node, count));
  }

  /**
   * Each distinct element once, where it first occurs (tf.data's `unique`). Elements are
   * compared by value as `Set` does: numbers (`0` and `-0` alike, `NaN` equal to itself),
   * strings, bigints, booleans, null, undefined.
   *
   * Its state costs: every distinct element seen so far is saved with the iterator (as a
   * list), so the state grows with the number of distinct elements: about 13 MB of JSON for a
   * million 10-character strings. Saving and restoring it take time in proportion.
   *
   * @throws {InvalidArgumentError} at iteration for an element that is an object, array,
   *   function or symbol (map it to a primitive key first).
   * @example Dataset.fromArray([1, 37, 2, 37, 2, 1]).unique()  // 1, 37, 2
   */
  unique(): Dataset<T> {
    return new Dataset(new UniqueNode(this.node));
  }

  /**
   * The elements up to (not including) the first for which `predicate` is falsy; then the
   * end. `predicate` may be async.
   *
   * @throws {InvalidArgumentError} when `predicate` is not a function.
   * @example Dataset.range(10).takeWhile((x) => x < 5)  // 0, 1, 2, 3, 4
   */
  takeWhile(predicate: Predicate<T>): Dataset<T> {
    return new Dataset(new TakeWhileNode(this.node, predicate));
  }

  /** The first `count` elements. @throws {InvalidArgumentError} when `count` is not an integer ≥ 0. */
  take(count: number): Dataset<T> {
    return new Dataset(new TakeNode(this.node, count));
  }

  /** All but the first `count` elements. @throws {InvalidArgumentError} when `count` is not an integer ≥ 0. */
  skip(count: number): Dataset<T> {
    return new Dataset(new SkipNode(this.node, count));
  }

  /**
   * Every `numShards`-th element starting at `index`: one worker's share.
   *
   * @throws {InvalidArgumentError} unless `numShards` ≥ 1 and `0 ≤ index < numShards`.
   * @example ds.shard(4, workerIndex)
   */
  shard(numShards: number, index: number): Dataset<T> {
    return new Dataset(new ShardNode(this.node, numShards, index));
  }

  /**
   * Prepares up to `bufferSize` elements ahead of the consumer, reading slow input while the
   * consumer works. `"auto"` (tf.data's AUTOTUNE) starts at one element and doubles, up to 64,
   * each time the consumer finds nothing ready; which elements come out, and their order, never
   * depend on it. Buffered elements are saved with the state: none is lost or repeated.
   *
   * @throws {InvalidArgumentError} when `bufferSize` is not an integer ≥ 1 or `"auto"`.
   * @example ds.map(parse).prefetch("auto")
   */
  prefetch(bufferSize: number | "auto"): Dataset<T> {
    return new Dataset(new PrefetchNode(this.node, bufferSize));
  }

  /** The elements of this dataset, then those of `other`. */
  concatenate(other: Dataset<T>): Dataset<T> {
    if (!(other instanceof Dataset)) {
      throw invalidArgument("concatenate(other)", "a Dataset", other, "Pass the dataset whose elements should follow.");
    }
    return new Dataset(new ConcatenateNode(this.node, other.node));
  }

  /** Pairs `[index, element]`, counting from `start` (default 0). */
  enumerate(start = 0): Dataset<[number, T]> {
    return new Dataset(new EnumerateNode(this.node, start));
  }

  /**
   * Like `map`, with a running state: `fn(state, element)` returns `[newState, output]`. The
   * state is saved with the iterator, so it must be plain data.
   *
   * @example Dataset.range(5).scan(0, (sum, x) => [sum + x, sum + x])  // 0, 1, 3, 6, 10
   */
  scan<S, U>(initialState: S, fn: ScanFn<S, T, U>): Dataset<U> {
    return new Dataset(new ScanNode(this.node, initialState, fn));
  }

  /**
   * Resamples to a target distribution of classes by rejection (tf.data's
   * `rejection_resample`): an element of class `i` is kept with probability
   * `(t_i / p_i) / max_j (t_j / p_j)`, `t` being `targetDist` and `p` the input's class
   * distribution — `initialDist` when given, else estimated online as tf.data does (counts
   * start at 10 per class and take in the classes of each 32 elements, read ahead, before
   * those are resampled). The kept elements keep their order. The random generator's
   * position, the counts and the elements read ahead are saved with the iterator.
   *
   * Differences from tf.data: it yields the elements, not `(class, element)` pairs (map
   * `classFn` again if you need the class); and it reads the input once. tf.data mixes in
   * the elements of a second pass over the input, unfiltered, with probability
   * `min_j (t_j / p_j)`, so an element can come out twice; here each comes out at most once.
   * Both reach the target distribution and read about `max_j (t_j / p_j)` input elements per
   * output element.
   *
   * @param classFn The class of an element, an integer from 0 to `targetDist.length - 1` (it may be async).
   * @param options `targetDist` (required), `initialDist`, `seed` (an integer; without one the
   *   draws derive from the iterator's seed).
   * @throws {InvalidArgumentError} for a bad distribution, a non-integer seed or an unknown
   *   option; while iterating, for a class out of range, naming it and the element.
   * @example
   * // labels 60% 0 and 40% 1 → about half and half
   * examples.rejectionResample((x) => x.label, { targetDist: [0.5, 0.5], initialDist: [0.6, 0.4], seed: 1 })
   */
  rejectionResample(classFn: ClassFn<T>, options: RejectionResampleOptions): Dataset<T> {
    if (options === undefined) {
      throw invalidArgument("rejectionResample(classFn, options)", "options with a targetDist", options, "Pass e.g. { targetDist: [0.5, 0.5] }.");
    }
    const opts = requireOptions("rejectionResample(classFn, options)", options, REJECTION_RESAMPLE_OPTIONS) as RejectionResampleOptions;
    return new Dataset(new RejectionResampleNode(this.node, classFn, opts));
  }

  /**
   * Folds every element of one full iteration into one value (tf.data's `reduce`):
   * `fn(state, element)` returns the new state, or a Promise of it. Resolves to the final
   * state (`initial` for an empty dataset). When an element or `fn` fails, the iterator is
   * closed before the error is thrown.
   *
   * @throws {InvalidArgumentError} when `fn` is not a function.
   * @example await Dataset.range(5).reduce(0, (sum, x) => sum + x)   // 10
   * @example await Dataset.range(5).reduce(0, (count) => count + 1)  // 5
   */
  reduce<S>(initial: S, fn: ReduceFn<S, T>): Promise<S> {
    requireFunction("reduce(initial, fn)", fn, "Pass a function (state, element) => newState.");
    return reduceIterator(
      outsideScope(() => this.iterator()),
      initial,
      fn,
    );
  }

  /**
   * Shuffles the whole dataset by index permutation, with no buffer: position `i` of an epoch
   * yields element `permutation(i)` of the input, a bijection on [0, n) computed per index (a
   * Feistel network with cycle walking, as TensorFlow's `index_shuffle` and Grain). The input
   * needs random access: `range`, `fromArray` and element-wise ops over them (map, batch, take,
   * skip, shard, enumerate, zip, concatenate); an op that takes it away (filter, shuffle,
   * interleave, a file reader) is named in the error. At most 2^32 elements.
   *
   * The state is O(1): the seed and how many elements were handed out — restoring at position
   * 10^6 costs what restoring at 10 does. Every epoch of an enclosing `repeat` is a new
   * permutation (derived from the seed and the epoch) unless `reshuffleEachIteration: false`.
   *
   * **Elastic resume.** A job whose workers read `…globalShuffle({ seed }).shard(n, i)…` and
   * saved their states can resume on `m` workers: each new worker `j` builds the pipeline with
   * `shard(m, j)` and passes the array of every old worker's state as `iterator({ state })`. The
   * rest of the epoch is shared out between the new workers so that each element comes exactly
   * once across them — also when a filter after `shard` made the old workers consume different
   * amounts; later epochs shard by `m` as usual. Ops after `shard` start afresh and must hold no
   * elements when the old states were saved; an enclosing `repeat` keeps its epoch.
   *
   * @throws {InvalidArgumentError} when the input has no random access, or for a bad option.
   * @example
   * const ds = Dataset.range(1_000_000).globalShuffle({ seed: 7 }).shard(numWorkers, workerIndex).batch(32);
   * // resumed on a different number of workers, with every old worker's state:
   * const it = ds.iterator({ state: oldStates });
   */
  globalShuffle(options?: GlobalShuffleOptions): Dataset<T> {
    return new Dataset(new GlobalShuffleNode(this.node, requireOptions("globalShuffle(options)", options, ["seed", "reshuffleEachIteration"], "{ seed: 42 }")));
  }

  /**
   * tf.data's `group_by_window`: groups elements by `keyFn(element)` (a number, bigint or
   * string); each time a group holds `windowSize` elements, `reduceFn(key, window)` — `window`
   * a Dataset of those elements — gives a dataset whose elements are yielded. At the end of the
   * input, the groups left (fewer elements) are reduced too, in ascending key order as
   * TensorFlow does. Numbers and bigints of the same value are the same key.
   *
   * The state holds the elements of the groups still filling, and the window being reduced
   * (its elements and its dataset's iterator state): `reduceFn` must be deterministic.
   * `windowSizeFunc: (key) => size` gives each key its own window size instead (tf.data's
   * `window_size_func`).
   *
   * @example
   * // tf.data's example: windows of 5 of the even and odd numbers, each batched whole
   * Dataset.range(10).groupByWindow((x) => x % 2, (key, window) => window.batch(5), { windowSize: 5 })
   * // [0, 2, 4, 6, 8], [1, 3, 5, 7, 9]
   */
  groupByWindow<U>(
    keyFn: (value: T) => GroupKey,
    reduceFn: (key: GroupKey, window: Dataset<T>) => Dataset<U>,
    options: { readonly windowSize: number } | { readonly windowSizeFunc: (key: GroupKey) => number },
  ): Dataset<U> {
    const opts = requireOptions("groupByWindow(keyFn, reduceFn, options)", options, ["windowSize", "windowSizeFunc"], "{ windowSize: 4 }") as {
      windowSize?: number;
      windowSizeFunc?: (key: GroupKey) => number;
    };
    if ((opts.windowSize === undefined) === (opts.windowSizeFunc === undefined)) {
      throw invalidArgument(
        "groupByWindow(keyFn, reduceFn, options)",
        "either windowSize or windowSizeFunc",
        options,
        "Pass { windowSize: 4 }, or { windowSizeFunc: (key) => size }.",
      );
    }
    const windowSize = opts.windowSizeFunc ?? (opts.windowSize as number);
    const reduce = (key: GroupKey, window: readonly T[]): DatasetNode<U> => {
      const made: unknown = reduceFn(key, new Dataset(new FromArrayNode(window)));
      if (made instanceof Dataset) return (made as Dataset<U>).node;
      throw invalidArgument(
        "groupByWindow(keyFn, reduceFn)",
        "reduceFn to return a Dataset",
        made,
        "Return a Dataset made from the window, e.g. (key, window) => window.batch(4).",
      );
    };
    return new Dataset(new GroupByWindowNode(this.node, keyFn, typeof reduceFn === "function" ? reduce : reduceFn, windowSize));
  }

  /**
   * tf.data's `bucket_by_sequence_length`: each element goes to a bucket by its length —
   * bucket `i` holds lengths in `[bucketBoundaries[i - 1], bucketBoundaries[i])` (the first from
   * 0, the last to infinity) — and each bucket yields `paddedBatch`es of its
   * `bucketBatchSizes[i]` elements (one size per bucket: boundaries + 1 of them). With
   * `padToBucketBoundary`, sequences are padded to their bucket's boundary − 1 instead of the
   * longest in the batch, and an element as long as the last boundary or longer is an error.
   * Batches come as buckets fill; at the end, the partial ones in bucket order (unless
   * `dropRemainder`). Built from `groupByWindow` and `paddedBatch`, so it resumes exactly.
   *
   * @param lengthFn The element's length, an integer ≥ 0.
   * @throws {InvalidArgumentError} for boundaries that are not increasing integers ≥ 1, a batch
   *   size count other than boundaries + 1, or an unknown option; at iteration, for a bad length.
   * @example
   * // TensorFlow's example: boundaries [3, 5], batches of 2
   * Dataset.fromArray([[0], [1, 2, 3, 4], [5, 6, 7], [7, 8, 9, 10, 11], [13, 14, 15, 16, 19, 20], [21, 22]])
   *   .bucketBySequenceLength((x) => x.length, { bucketBoundaries: [3, 5], bucketBatchSizes: [2, 2, 2] })
   * // [[1, 2, 3, 4], [5, 6, 7, 0]], [[7, 8, 9, 10, 11, 0], [13, 14, 15, 16, 19, 20]], [[0, 0], [21, 22]]
   */
  bucketBySequenceLength(lengthFn: (value: T) => number, options: BucketBySequenceLengthOptions): Dataset<PaddedBatch<T>> {
    const known = ["bucketBoundaries", "bucketBatchSizes", "paddedShapes", "paddingValues", "padToBucketBoundary", "dropRemainder"];
    const opts = requireOptions(
      "bucketBySequenceLength(lengthFn, options)",
      options,
      known,
      "{ bucketBoundaries: [10, 20], bucketBatchSizes: [32, 32, 16] }",
    ) as Partial<BucketBySequenceLengthOptions>;
    requireFunction("bucketBySequenceLength(lengthFn)", lengthFn, "Pass a function from an element to its length, e.g. (x) => x.length.");
    const boundaries = opts.bucketBoundaries;
    const fix = "Pass increasing integers ≥ 1, e.g. { bucketBoundaries: [10, 20] }.";
    if (!Array.isArray(boundaries) || boundaries.some((b, i) => !Number.isInteger(b) || b < 1 || (i > 0 && b <= (boundaries[i - 1] as number)))) {
      throw invalidArgument("bucketBySequenceLength(lengthFn, { bucketBoundaries })", "increasing integers ≥ 1", boundaries, fix);
    }
    const sizes = opts.bucketBatchSizes;
    if (!Array.isArray(sizes) || sizes.length !== boundaries.length + 1 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
      throw invalidArgument(
        "bucketBySequenceLength(lengthFn, { bucketBatchSizes })",
        `${boundaries.length + 1} integers ≥ 1 (one per bucket: the boundaries + 1)`,
        sizes,
        "Give one batch size per bucket.",
      );
    }
    const pad = opts.padToBucketBoundary ?? false;
    const bucketOf = (value: T): number => {
      const length = lengthFn(value);
      if (!Number.isInteger(length) || length < 0)
        throw invalidArgument("bucketBySequenceLength(lengthFn)", "a length, an integer ≥ 0", length, "Return the element's length.");
      let bucket = 0;
      while (bucket < boundaries.length && length >= (boundaries[bucket] as number)) bucket++;
      if (pad && bucket === boundaries.length) {
        throw invalidArgument(
          "bucketBySequenceLength(lengthFn, { padToBucketBoundary: true })",
          `an element shorter than the last boundary (${boundaries.at(-1)})`,
          length,
          "Add a larger boundary, or pad to the longest in the batch.",
        );
      }
      return bucket;
    };
    const batch = (key: GroupKey, window: Dataset<T>): Dataset<PaddedBatch<T>> => {
      const bucket = key as number;
      const paddedShapes = pad ? [(boundaries[bucket] as number) - 1] : opts.paddedShapes;
      return window.paddedBatch(sizes[bucket] as number, {
        ...(paddedShapes === undefined ? {} : { paddedShapes }),
        ...(opts.paddingValues === undefined ? {} : { paddingValues: opts.paddingValues }),
        dropRemainder: opts.dropRemainder ?? false,
      });
    };
    return this.groupByWindow(bucketOf, batch, { windowSizeFunc: (key) => sizes[key as number] as number });
  }

  /**
   * Without a filename, keeps the elements in memory once an iteration has read them all;
   * later iterations (such as the epochs of a following `repeat`) read from memory. A saved
   * state then holds the elements cached so far.
   *
   * With a filename (tf.data's `cache(filename)`), the first iteration to reach the end writes
   * every element to that file, and later iterations — in this process or another — read the
   * file. The state holds positions only: while writing, the input's state and how much of the
   * temporary file is written; while reading, a byte offset. The file is written under a
   * temporary name and renamed into place once complete, so a cache cut short is never read
   * as whole; a file left by another pipeline is refused (`FailedPreconditionError`: delete it
   * to rebuild). Elements must be plain data (`v8.serialize`: typed arrays, Map, Set, Date,
   * bigint). As in tf.data, a cache file outlives the job: delete it when the data changes.
   *
   * @example Dataset.tfrecord(files).map(parse).cache("/tmp/parsed.cache").shuffle(1000).repeat()
   */
  cache(filename?: string): Dataset<T> {
    if (filename === undefined) return new Dataset(new CacheNode(this.node));
    if (typeof filename !== "string" || filename === "")
      throw invalidArgument(
        "cache(filename)",
        "a file path (a non-empty string)",
        filename,
        'Pass e.g. cache("/tmp/train.cache"), or nothing to cache in memory.',
      );
    return new Dataset(new FileCacheNode(this.node, filename));
  }

  /** Skips elements whose production threw an error, and goes on with the next. */
  ignoreErrors(options?: IgnoreErrorsOptions): Dataset<T> {
    return new Dataset(new IgnoreErrorsNode(this.node, requireOptions("ignoreErrors(options)", options, ["onError"], "{ onError: (e) => console.warn(e) }")));
  }

  /**
   * Sets pipeline options: `externalStatePolicy` decides what saving does when an op's state
   * cannot be captured (`"fail"` by default, `"warn"`, `"ignore"`).
   *
   * @throws {InvalidArgumentError} for an unknown policy.
   */
  withOptions(options: DatasetOptions): Dataset<T> {
    return new Dataset(
      new WithOptionsNode(this.node, requireOptions("withOptions(options)", options, ["externalStatePolicy"], '{ externalStatePolicy: "warn" }')),
    );
  }

  // ---- iteration -----------------------------------------------------------------------------

  /**
   * A fresh iterator at the start, or at `state` (saved by an iterator over a dataset built
   * the same way, in this process or another).
   *
   * @throws {InvalidArgumentError} (on the first `next()`) when `state` does not fit the pipeline.
   */
  iterator(options?: IteratorOptions): DatasetIterator<T> {
    return new DatasetIterator(this.node, requireOptions("iterator(options)", options, ["state", "name", "signal"], "{ state }"), ELASTIC_RESUME);
  }

  /**
   * A fresh iterator for `for await`. It is not registered in the default graph: a loop is not
   * a pipeline to checkpoint (make one with `iterator()`).
   */
  [Symbol.asyncIterator](): DatasetIterator<T> {
    return outsideScope(() => this.iterator());
  }

  /**
   * Every element of one full iteration, in an array. When an element fails, the iterator is
   * closed (its files released) before the error is thrown.
   */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    const it = outsideScope(() => this.iterator());
    try {
      for (let r = await it.next(); r.done !== true; r = await it.next()) out.push(r.value);
    } catch (error) {
      await it.close().catch(() => undefined);
      throw error;
    }
    return out;
  }

  /** How many elements one iteration yields: a count, `Infinity`, or null when unknown. */
  cardinality(): number | null {
    return this.node.cardinality();
  }

  /** The options in force (see {@link Dataset.withOptions}). */
  options(): DatasetOptions {
    return this.node.options();
  }

  /** The pipeline, e.g. `"Range -> Shuffle(100) -> Batch(32)"`. */
  toString(): string {
    return this.node.describe();
  }
}

function datasetNodes<T>(call: string, datasets: readonly Dataset<unknown>[]): DatasetNode<T>[] {
  if (!Array.isArray(datasets)) throw invalidArgument(call, "an array of datasets", datasets, "Pass e.g. [a, b].");
  return datasets.map((d: unknown, i) => {
    if (!(d instanceof Dataset)) throw invalidArgument(`${call}[${i}]`, "a Dataset", d, "Pass datasets only, e.g. [Dataset.range(3), other].");
    return d.node as DatasetNode<T>;
  });
}

function nestedNode<T, U>(call: string, fn: (value: T) => Nested<U>): (value: T) => DatasetNode<U> {
  if (typeof fn !== "function") return fn; // the op reports it
  return (value) => {
    const made = fn(value);
    if (made instanceof Dataset) return made.node;
    if (Array.isArray(made)) return new FromArrayNode(made as readonly U[]);
    throw invalidArgument(call, "fn to return a Dataset or an array", made, "Return e.g. Dataset.fromArray(items) or Dataset.range(n).");
  };
}
