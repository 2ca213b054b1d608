import { UnaryNode, type DatasetNode, type IteratorContext, type OpIterator } from "../../core/iterator.js";
import { describeValue, InvalidArgumentError } from "../../errors.js";
import { requireInteger } from "../validate.js";
import { CollatedBatchIterator, batchCount, collatedBatchState } from "./batch.js";
import {
  componentOf,
  componentPath,
  isRecord,
  isTypedArray,
  typedArrayConstructor,
  type StackedArray,
  type TypedArray,
  type TypedArrayConstructor,
} from "./stacked.js";

const KIND = "StackBatch";
/** `batches`: how many batches were handed out (it numbers the elements in error messages). */
const STATE = collatedBatchState(KIND);

/**
 * What `batch(size, { stack: true })` makes of elements of type `T`: numbers become a
 * `Float64Array`, booleans a `Uint8Array` (0 or 1), bigints a `BigInt64Array`, typed arrays one
 * typed array of their own kind, records a record of the same keys — each leaf a
 * {@link StackedArray} `{ data, shape }` whose `shape[0]` is the batch size.
 */
export type StackedBatch<T> = T extends number
  ? StackedArray<Float64Array>
  : T extends boolean
    ? StackedArray<Uint8Array>
    : T extends bigint
      ? StackedArray<BigInt64Array>
      : T extends TypedArray
        ? StackedArray<T>
        : T extends readonly unknown[]
          ? never
          : { [K in keyof T]: StackedBatch<T[K]> };

/** How one component of the first element of a batch looks; every other element must match. */
type Layout =
  | { readonly kind: "number" | "boolean" | "bigint" }
  | { readonly kind: "typed"; readonly ctor: TypedArrayConstructor; readonly length: number }
  | { readonly kind: "record"; readonly keys: readonly string[]; readonly children: readonly Layout[] };

const MAX_INT64 = 2n ** 63n;

/** `dataset.batch(size, { stack: true })`: batches of records of numbers and typed arrays, one typed array per component. */
export class StackBatchNode<T> extends UnaryNode<T, StackedBatch<T>> {
  readonly label: string;

  constructor(
    input: DatasetNode<T>,
    private readonly size: number,
    private readonly dropRemainder: boolean,
  ) {
    super(input);
    requireInteger("batch(size, { stack: true })", size, 1, "Pass how many elements to put in each batch, e.g. batch(32, { stack: true }).");
    this.label = `Batch(${size}, ${dropRemainder ? "dropRemainder, " : ""}stack)`;
  }

  override cardinality(): number | null {
    return batchCount(this.input.cardinality(), this.size, this.dropRemainder);
  }

  makeIterator(ctx: IteratorContext): OpIterator<StackedBatch<T>> {
    return new CollatedBatchIterator(
      this.input.makeIterator(ctx),
      this.size,
      this.dropRemainder,
      STATE,
      (batch, first) => stack(batch, first) as StackedBatch<T>,
    );
  }
}

/**
 * Stacks the elements of one batch column-wise. `first` is the number of the batch's first
 * element in the whole sequence, for error messages.
 *
 * @throws {InvalidArgumentError} naming the element and component that does not fit.
 */
export function stack(batch: readonly unknown[], first = 0): unknown {
  const layout = layoutOf(batch[0], "", first);
  const out = allocate(layout, batch.length);
  const write = writer(layout, out, "");
  for (let i = 0; i < batch.length; i++) write(batch[i], i, first + i);
  return out;
}

/** Writes element `element`'s value into row `i` of a batch's output, checking it fits the layout. */
type Write = (value: unknown, i: number, element: number) => void;

function layoutOf(value: unknown, path: string, element: number): Layout {
  switch (typeof value) {
    case "number":
      return { kind: "number" };
    case "boolean":
      return { kind: "boolean" };
    case "bigint":
      return { kind: "bigint" };
    default:
      break;
  }
  if (isTypedArray(value)) return { kind: "typed", ctor: typedArrayConstructor(value), length: value.length };
  if (isRecord(value)) {
    const keys = Object.keys(value);
    return { kind: "record", keys, children: keys.map((key) => layoutOf(value[key], componentPath(path, key), element)) };
  }
  throw misfit(
    element,
    path,
    "a number, boolean, bigint, typed array or a record of them",
    value,
    Array.isArray(value)
      ? "Turn arrays into typed arrays with map() (e.g. Float32Array.from(xs)), or use paddedBatch() for arrays of different lengths."
      : "Turn it into numbers or typed arrays with map() before batch(size, { stack: true }).",
  );
}

function allocate(layout: Layout, n: number): unknown {
  switch (layout.kind) {
    case "number":
      return { data: new Float64Array(n), shape: [n] };
    case "boolean":
      return { data: new Uint8Array(n), shape: [n] };
    case "bigint":
      return { data: new BigInt64Array(n), shape: [n] };
    case "typed":
      return { data: new layout.ctor(n * layout.length), shape: [n, layout.length] };
    case "record": {
      const out: Record<string, unknown> = {};
      for (let k = 0; k < layout.keys.length; k++) out[layout.keys[k] as string] = allocate(layout.children[k] as Layout, n);
      return out;
    }
  }
}

/** One writer per batch, made from the layout of its first element: no switch or path per element. */
function writer(layout: Layout, out: unknown, path: string): Write {
  switch (layout.kind) {
    case "number": {
      const data = (out as StackedArray<Float64Array>).data;
      return (value, i, element) => {
        if (typeof value !== "number") throw misfit(element, path, "a number (as in the batch's first element)", value);
        data[i] = value;
      };
    }
    case "boolean": {
      const data = (out as StackedArray<Uint8Array>).data;
      return (value, i, element) => {
        if (typeof value !== "boolean") throw misfit(element, path, "a boolean (as in the batch's first element)", value);
        data[i] = value ? 1 : 0;
      };
    }
    case "bigint": {
      const data = (out as StackedArray<BigInt64Array>).data;
      return (value, i, element) => {
        if (typeof value !== "bigint") throw misfit(element, path, "a bigint (as in the batch's first element)", value);
        if (value < -MAX_INT64 || value >= MAX_INT64) throw misfit(element, path, "a bigint that fits in 64 bits", value);
        data[i] = value;
      };
    }
    case "typed": {
      const data = (out as StackedArray).data as { set(a: ArrayLike<unknown>, offset: number): void };
      const { ctor, length } = layout;
      return (value, i, element) => {
        // The constructor check is the fast path; a Node.js Buffer (a Uint8Array) takes the slow one.
        const fits =
          typeof value === "object" && value !== null && (value.constructor === ctor || (isTypedArray(value) && typedArrayConstructor(value) === ctor));
        if (!fits || (value as TypedArray).length !== length) {
          throw misfit(
            element,
            path,
            `a ${ctor.name} of length ${length} (as in the batch's first element)`,
            value,
            "Give every element the same kind and length of typed array, or use paddedBatch() to pad different lengths.",
            isTypedArray(value) ? ` of length ${value.length}` : "",
          );
        }
        data.set(value as ArrayLike<unknown>, i * length);
      };
    }
    case "record": {
      const keys = layout.keys;
      const record = out as Record<string, unknown>;
      const writes = keys.map((key, k) => writer(layout.children[k] as Layout, record[key], componentPath(path, key)));
      return (value, i, element) => {
        if (!isRecord(value)) throw misfit(element, path, "a record (as in the batch's first element)", value);
        let count = 0;
        for (const key in value) if (Object.hasOwn(value, key)) count++;
        if (count !== keys.length) {
          throw misfit(
            element,
            path,
            `a record of the keys ${keys.join(", ")} (as in the batch's first element)`,
            value,
            undefined,
            ` with the keys ${Object.keys(value).join(", ")}`,
          );
        }
        for (let k = 0; k < keys.length; k++) {
          const key = keys[k] as string;
          if (!Object.hasOwn(value, key)) throw misfit(element, componentPath(path, key), "present (as in the batch's first element)", undefined);
          (writes[k] as Write)(value[key], i, element);
        }
      };
    }
  }
}

function misfit(
  element: number,
  path: string,
  expected: string,
  value: unknown,
  fix = "Make every element of a batch the same structure, with the same kinds and lengths.",
  detail = "",
): InvalidArgumentError {
  const got = `${describeValue(value)}${detail}`;
  return new InvalidArgumentError(`batch(size, { stack: true }) needs ${componentOf(path, element)} to be ${expected}; got ${got}. ${fix}`, {
    expected,
    received: got,
    fix,
  });
}
