/**
 * The batched, dense form of numeric data that `paddedBatch` and `batch(size, { stack: true })`
 * produce: one typed array holding a whole batch row-major, with its shape, so that
 * `tf.tensor(data, shape)` takes it without a per-element copy.
 *
 * @module
 */

/** Every typed array kind a batch may be made of. */
export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** A constructor of a {@link TypedArray}. */
export type TypedArrayConstructor = { new (length: number): TypedArray; readonly name: string };

/**
 * A dense array of a whole batch: `data` holds the values row-major, `shape[0]` is the batch
 * size and the rest is the shape of one element's component.
 *
 * @example
 * const { data, shape } = stacked; // data: Float32Array(32 * 784), shape: [32, 784]
 * const t = tf.tensor(data, shape);
 */
export interface StackedArray<A extends TypedArray = TypedArray> {
  readonly data: A;
  readonly shape: number[];
}

/** True for any typed array (not a DataView, not a Node.js Buffer's plain bytes excepted). */
export function isTypedArray(value: unknown): value is TypedArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/** The constructor of a typed array, a Node.js Buffer counting as a Uint8Array. */
export function typedArrayConstructor(value: TypedArray): TypedArrayConstructor {
  return value instanceof Uint8Array && value.constructor.name === "Buffer" ? Uint8Array : (value.constructor as TypedArrayConstructor);
}

/** True for a plain object (a record of components). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The path of `key` under `path`, for error messages (`x`, `features.pixels`). */
export function componentPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** How a component is named in an error message: `component "x"`, or `the element` for the element itself. */
export function componentName(path: string): string {
  return path === "" ? "the element" : `component ${JSON.stringify(path)}`;
}

/** How a component of one element is named in an error message: `component "x" of element 7`, or `element 7`. */
export function componentOf(path: string, element: number): string {
  return path === "" ? `element ${element}` : `component ${JSON.stringify(path)} of element ${element}`;
}
