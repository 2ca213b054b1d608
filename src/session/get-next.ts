/**
 * `getNext`: the tensor through which a model reads its input, one element per run.
 *
 * @module
 */
import type { DatasetIterator } from "../core/dataset-iterator.js";
import { OutOfRangeError, invalidArgument } from "../errors.js";
import { Tensor } from "./tensor.js";

class IteratorGetNext<T> extends Tensor<T> {
  constructor(
    private readonly iterator: DatasetIterator<T>,
    name: string,
  ) {
    super(name);
  }

  async evaluate(): Promise<T> {
    const result = await this.iterator.next();
    if (!result.done) return result.value;
    const fix = "Under a MonitoredSession this ends training cleanly; to read further, repeat() the dataset.";
    throw new OutOfRangeError(
      `End of sequence: iterator "${this.iterator.name}" (${this.iterator.pipeline}) has no more elements ` + `[[node ${this.name}]]. ${fix}`,
      { expected: "another element", received: "the end of the input", fix, reason: "END_OF_SEQUENCE" },
    );
  }
}

/**
 * A tensor whose value is the iterator's next element: each run that reads it pulls one
 * element, however many tensors and operations of that run read it (TensorFlow's
 * `iterator.get_next()`).
 *
 * @param iterator the iterator to read, e.g. `dataset.iterator()` made under `graph.asDefault`.
 * @param name the tensor's name (default `"IteratorGetNext"`).
 * @throws {InvalidArgumentError} when `iterator` has no `next()`.
 * @throws {OutOfRangeError} from a run that reads it after the last element ("End of
 *   sequence", naming the iterator).
 * @example
 * const features = getNext(Dataset.range(3).iterator());
 * await session.run([features, features]); // [0, 0]
 * await session.run(features);             // 1
 */
export function getNext<T>(iterator: DatasetIterator<T>, name = "IteratorGetNext"): Tensor<T> {
  if (typeof iterator !== "object" || iterator === null || typeof iterator.next !== "function") {
    throw invalidArgument("getNext(iterator)", "a DatasetIterator", iterator, "Pass dataset.iterator().");
  }
  return new IteratorGetNext(iterator, name);
}
