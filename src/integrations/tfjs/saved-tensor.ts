/**
 * How a tfjs tensor is held in a checkpoint: its dtype, its shape and its values as a typed
 * array (written as raw bytes), so that restoring gives back exactly the same bits.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { describeValue, InvalidArgumentError } from "../../errors.js";

/**
 * The `kind` of a saved tensor.
 *
 * @example
 * const isTensor = (value: unknown) => (value as SavedTensor | null)?.kind === SAVED_TENSOR_KIND;
 */
export const SAVED_TENSOR_KIND = "checkpipe.tfjs.tensor";
/**
 * The version of the saved tensor format; a change of format bumps it.
 *
 * @example
 * if (saved.version !== SAVED_TENSOR_VERSION) throw new Error("saved by another checkpipe");
 */
export const SAVED_TENSOR_VERSION = 1;

/** The dtypes a checkpoint can hold bit-exactly, with the typed array of each. */
const TYPED_ARRAY_OF = {
  float32: Float32Array,
  int32: Int32Array,
  bool: Uint8Array,
} as const;

/**
 * A dtype that a checkpoint can hold: `"float32"`, `"int32"` or `"bool"`.
 *
 * @example
 * const dtype: SavedDtype = "float32";
 */
export type SavedDtype = keyof typeof TYPED_ARRAY_OF;

/**
 * A tensor as a checkpoint holds it: the value `save()` of a tensor saveable returns.
 *
 * @example
 * const saved = (await makeVariableSaveable(w, "w").save()) as SavedTensor;
 * saved.shape;  // [784, 10]
 * saved.values; // Float32Array(7840), written as raw bytes
 */
export interface SavedTensor {
  readonly kind: typeof SAVED_TENSOR_KIND;
  readonly version: typeof SAVED_TENSOR_VERSION;
  readonly dtype: SavedDtype;
  readonly shape: number[];
  /** The values in row-major order; `Uint8Array` of 0 and 1 for `bool`. */
  readonly values: Float32Array | Int32Array | Uint8Array;
}

/** What a restored tensor must match: a variable's dtype and shape. */
export interface TensorSpec {
  readonly dtype: tf.DataType;
  readonly shape: readonly (number | null)[];
}

/**
 * Reads a tensor's values now (a copy, so later training steps cannot change what is saved).
 *
 * @param name the saveable's name, for the error message.
 * @throws {InvalidArgumentError} for string and complex64 tensors.
 */
export async function readTensor(tensor: tf.Tensor, name: string): Promise<SavedTensor> {
  const dtype = savedDtype(tensor.dtype, name);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the assertion reads better than the call's type argument
  const data = (await tensor.data()) as Float32Array | Int32Array | Uint8Array;
  const values = new TYPED_ARRAY_OF[dtype](data.length);
  values.set(data);
  return { kind: SAVED_TENSOR_KIND, version: SAVED_TENSOR_VERSION, dtype, shape: [...tensor.shape], values };
}

/**
 * Checks that `value`, read from a checkpoint, is a saved tensor with `spec`'s dtype and shape.
 *
 * @param name the saveable's name, for the error message.
 * @param what what is restored, e.g. `"the variable"`, for the error message.
 * @throws {InvalidArgumentError} when it is not a saved tensor, or its dtype or shape differ.
 */
export function checkSavedTensor(name: string, value: unknown, spec: TensorSpec, what = "the variable"): SavedTensor {
  const saved = asSavedTensor(name, value);
  const wantShape = spec.shape.map((d) => d ?? -1);
  if (saved.dtype !== spec.dtype || !sameShape(saved.shape, wantShape)) {
    const got = `${saved.dtype} [${saved.shape.join(", ")}]`;
    const want = `${spec.dtype} [${wantShape.join(", ")}]`;
    throw new InvalidArgumentError(
      `Cannot restore "${name}": the checkpoint holds a ${got} tensor where ${what} is ${want}. ` +
        `Restore a checkpoint saved by the same model, or build the model with the shapes the checkpoint has.`,
      { expected: want, received: got, fix: "Restore a checkpoint saved by the same model." },
    );
  }
  return saved;
}

/**
 * Checks the envelope and the consistency of a saved tensor, whatever its dtype and shape.
 *
 * @throws {InvalidArgumentError} when `value` is not a saved tensor of a known version.
 */
export function asSavedTensor(name: string, value: unknown): SavedTensor {
  const v = value as Partial<Record<keyof SavedTensor, unknown>> | null;
  if (typeof v !== "object" || v === null || v.kind !== SAVED_TENSOR_KIND) {
    throw new InvalidArgumentError(
      `Cannot restore "${name}": expected a tensor saved by checkpipe/tfjs (kind "${SAVED_TENSOR_KIND}"); got ${describeValue(value)}` +
        `${typeof v === "object" && v !== null ? ` of kind ${describeValue(v.kind)}` : ""}. Restore a checkpoint written by the same saveables.`,
      { expected: `kind "${SAVED_TENSOR_KIND}"`, received: describeValue(v?.kind ?? value) },
    );
  }
  if (v.version !== SAVED_TENSOR_VERSION) {
    throw new InvalidArgumentError(
      `Cannot restore "${name}": the tensor was saved in format version ${describeValue(v.version)}, and this checkpipe reads ` +
        `version ${SAVED_TENSOR_VERSION}. Restore it with the checkpipe version that saved it.`,
      { expected: `version ${SAVED_TENSOR_VERSION}`, received: describeValue(v.version) },
    );
  }
  const dtype = v.dtype as SavedDtype;
  const shape = v.shape;
  const ctor = Object.hasOwn(TYPED_ARRAY_OF, dtype) ? TYPED_ARRAY_OF[dtype] : undefined;
  const size = Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0) ? shape.reduce((a: number, d: number) => a * d, 1) : NaN;
  if (ctor === undefined || Number.isNaN(size) || !(v.values instanceof ctor) || v.values.length !== size) {
    throw new InvalidArgumentError(
      `Cannot restore "${name}": the saved tensor is damaged (dtype ${describeValue(v.dtype)}, shape ${describeValue(shape)}, ` +
        `values ${describeValue(v.values)}${ArrayBuffer.isView(v.values) ? ` of length ${(v.values as Uint8Array).length}` : ""}). Restore an intact checkpoint.`,
    );
  }
  return v as SavedTensor;
}

/** A new tensor holding exactly the saved values; the caller disposes it. */
export function toTensor(saved: SavedTensor): tf.Tensor {
  // A copy: the tensor may keep the array it is given as its storage.
  return tf.tensor(saved.values.slice(), saved.shape, saved.dtype);
}

/** Puts the saved values into `variable`, bit for bit, after checking dtype and shape. */
export function assignSaved(variable: tf.Variable, saved: SavedTensor): void {
  const tensor = toTensor(saved);
  try {
    variable.assign(tensor);
  } finally {
    tensor.dispose();
  }
}

function savedDtype(dtype: tf.DataType, name: string): SavedDtype {
  if (Object.hasOwn(TYPED_ARRAY_OF, dtype)) return dtype as SavedDtype;
  throw new InvalidArgumentError(`Cannot save "${name}": a ${dtype} tensor cannot be checkpointed; supported dtypes are float32, int32 and bool.`, {
    expected: "float32, int32 or bool",
    received: dtype,
  });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
