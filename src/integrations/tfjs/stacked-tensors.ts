/**
 * Tensors from the batches of `batch(size, { stack: true })` (and the typed array components of
 * `paddedBatch`): one `tf.tensor(data, shape)` per component, no per-element copy.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { describeValue, InvalidArgumentError } from "../../errors.js";
import type { StackedArray, TypedArray } from "../../dataset/ops/stacked.js";

/** What {@link stackedToTensors} makes of a stacked batch: a tensor per {@link StackedArray}, records kept. */
export type StackedTensors<B> = B extends StackedArray ? tf.Tensor : { [K in keyof B]: StackedTensors<B[K]> };

/**
 * Turns a stacked batch into tfjs tensors: each `{ data, shape }` becomes `tf.tensor(data, shape)`,
 * records stay records (so `{ xs, ys }` batches feed `fitDataset` as they are).
 *
 * tfjs takes `Float32Array` and `Int32Array` as they are (and `Uint8Array`, as int32). It has no
 * 64-bit floats: a `Float64Array` (what the stacking batch makes of numbers) becomes float32,
 * and so does a `Uint32Array`; `Int8Array`, `Int16Array`, `Uint16Array` and `Uint8ClampedArray`
 * become int32 — one conversion of the whole batch's array, not one per element. 64-bit integer
 * arrays are refused.
 *
 * @param batch a batch of `batch(size, { stack: true })`.
 * @returns the same structure with a tensor for each stacked array.
 * @throws {InvalidArgumentError} for a `BigInt64Array`/`BigUint64Array`, or a part that is neither
 *   a stacked array nor a record of them.
 * @example
 * const ds = Dataset.fromArray(rows).map((r) => ({ xs: r.pixels, ys: r.label })).batch(32, { stack: true });
 * const train = toTfjsDataset(ds, { toTensors: stackedToTensors });
 * await model.fitDataset(train, { epochs: 1 });
 */
export function stackedToTensors<B>(batch: B): StackedTensors<B> {
  return toTensors(batch, "batch") as StackedTensors<B>;
}

function toTensors(value: unknown, path: string): tf.TensorContainer {
  if (isStacked(value)) return tf.tensor(tfjsValues(value.data, path), value.shape);
  if (typeof value === "object" && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value)) {
    const out: Record<string, tf.TensorContainer> = {};
    for (const [key, part] of Object.entries(value)) out[key] = toTensors(part, `${path}.${key}`);
    return out;
  }
  throw new InvalidArgumentError(
    `stackedToTensors(batch) needs ${path} to be a stacked array { data, shape } or a record of them; got ${describeValue(value)}. ` +
      `Pass a batch made by batch(size, { stack: true }).`,
    { expected: "a stacked array or a record of them", received: describeValue(value) },
  );
}

function isStacked(value: unknown): value is StackedArray {
  if (typeof value !== "object" || value === null) return false;
  const { data, shape } = value as { data?: unknown; shape?: unknown };
  return ArrayBuffer.isView(data) && Array.isArray(shape) && Object.keys(value).length === 2;
}

function tfjsValues(data: TypedArray, path: string): Float32Array | Int32Array | Uint8Array {
  if (data instanceof Float32Array || data instanceof Int32Array || (data instanceof Uint8Array && data.constructor.name !== "Buffer")) return data;
  if (data instanceof Float64Array || data instanceof Uint32Array) return Float32Array.from(data);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    throw new InvalidArgumentError(
      `stackedToTensors(batch) cannot make a tfjs tensor of ${path}, a ${data.constructor.name}: tfjs has no 64-bit integers. Map the component to numbers or an Int32Array first.`,
      { expected: "a typed array tfjs takes", received: `a ${data.constructor.name}` },
    );
  }
  return Int32Array.from(data as ArrayLike<number>);
}
