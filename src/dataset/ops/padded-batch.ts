import { UnaryNode, type DatasetNode, type IteratorContext, type OpIterator } from "../../core/iterator.js";
import { describeValue, invalidArgument, InvalidArgumentError } from "../../errors.js";
import { requireInteger, requireOptions } from "../validate.js";
import { CollatedBatchIterator, batchCount, collatedBatchState } from "./batch.js";
import {
  componentName,
  componentOf,
  componentPath,
  isRecord,
  isTypedArray,
  typedArrayConstructor,
  type StackedArray,
  type TypedArray,
  type TypedArrayConstructor,
} from "./stacked.js";

const KIND = "PaddedBatch";
/** `batches`: how many batches were handed out (it numbers the elements in error messages). */
const STATE = collatedBatchState(KIND);

/** The shape to pad one component to: a length per dimension, -1 or null meaning "the longest in the batch". */
export type PaddedShape = readonly (number | null)[];
/** `paddedShapes`: one shape, or a record of them mirroring the elements' records (a missing key: the longest). */
export type PaddedShapes = PaddedShape | { readonly [key: string]: PaddedShapes };
/** A value to pad with: of the component's type (number, bigint, boolean, string). */
export type PaddingValue = number | bigint | boolean | string;
/** `paddingValues`: one value for every component, or a record of them mirroring the elements' records. */
export type PaddingValues = PaddingValue | { readonly [key: string]: PaddingValues };

/** Options of `dataset.paddedBatch`. */
export interface PaddedBatchOptions {
  /** The shape each component is padded to (default: the longest in each batch, per dimension). */
  readonly paddedShapes?: PaddedShapes;
  /** What padding holds (default 0, 0n, false or "" by the component's type). */
  readonly paddingValues?: PaddingValues;
  /** Drop a last batch smaller than `size` (default false). */
  readonly dropRemainder?: boolean;
}

const KNOWN = ["paddedShapes", "paddingValues", "dropRemainder"];

/**
 * What `paddedBatch` makes of elements of type `T`: scalars become an array of them, arrays
 * (nested to any depth) an array of padded arrays, a typed array one typed array of the batch
 * as a {@link StackedArray} `{ data, shape: [batch, length] }`, records a record of the same keys.
 */
export type PaddedBatch<T> = T extends TypedArray
  ? StackedArray<T>
  : T extends readonly unknown[]
    ? T[]
    : T extends Record<string, unknown>
      ? { [K in keyof T]: PaddedBatch<T[K]> }
      : T[];

type Scalar = "number" | "bigint" | "boolean" | "string";

/** One component of the elements: where it sits, and the batch's values of it. */
interface Component {
  readonly path: string;
  readonly kind: "scalar" | "array" | "typed";
  readonly ctor: TypedArrayConstructor | null;
  readonly values: unknown[];
}

/** The structure of the batch's first element: a record of structures, or a component. */
type Structure = { readonly keys: readonly string[]; readonly children: readonly Structure[] } | Component;

/** `dataset.paddedBatch(size, options)`: batches whose components are padded to a common shape. */
export class PaddedBatchNode<T> extends UnaryNode<T, PaddedBatch<T>> {
  readonly label: string;
  private readonly dropRemainder: boolean;
  private readonly paddedShapes: PaddedShapes | undefined;
  private readonly paddingValues: PaddingValues | undefined;

  constructor(
    input: DatasetNode<T>,
    private readonly size: number,
    options: PaddedBatchOptions | undefined,
  ) {
    super(input);
    requireInteger("paddedBatch(size)", size, 1, "Pass how many elements to put in each batch, e.g. paddedBatch(32).");
    const opts = requireOptions("paddedBatch(size, options)", options, KNOWN);
    this.dropRemainder = opts.dropRemainder ?? false;
    this.paddedShapes = opts.paddedShapes === undefined ? undefined : checkShapes(opts.paddedShapes, "");
    this.paddingValues = opts.paddingValues === undefined ? undefined : checkValues(opts.paddingValues, "");
    this.label = this.dropRemainder ? `${KIND}(${size}, dropRemainder)` : `${KIND}(${size})`;
  }

  override cardinality(): number | null {
    return batchCount(this.input.cardinality(), this.size, this.dropRemainder);
  }

  makeIterator(ctx: IteratorContext): OpIterator<PaddedBatch<T>> {
    const pad = (batch: readonly unknown[], first: number): PaddedBatch<T> => padBatch(batch, first, this.paddedShapes, this.paddingValues) as PaddedBatch<T>;
    return new CollatedBatchIterator(this.input.makeIterator(ctx), this.size, this.dropRemainder, STATE, pad);
  }
}

// ---- padding -------------------------------------------------------------------------------

/**
 * Pads and batches the elements of one batch. `first` numbers the batch's first element in the
 * whole sequence, for error messages.
 *
 * @throws {InvalidArgumentError} naming the element and component that cannot be padded.
 */
export function padBatch(batch: readonly unknown[], first: number, shapes: PaddedShapes | undefined, values: PaddingValues | undefined): unknown {
  const structure = structureOf(batch[0], "", first);
  for (let i = 0; i < batch.length; i++) collect(structure, batch[i], "", first + i);
  return build(structure, shapes, values, first);
}

function structureOf(value: unknown, path: string, element: number): Structure {
  if (isRecord(value)) {
    const keys = Object.keys(value);
    return { keys, children: keys.map((key) => structureOf(value[key], componentPath(path, key), element)) };
  }
  if (isTypedArray(value)) return { path, kind: "typed", ctor: typedArrayConstructor(value), values: [] };
  if (Array.isArray(value)) return { path, kind: "array", ctor: null, values: [] };
  if (scalarType(value) !== null) return { path, kind: "scalar", ctor: null, values: [] };
  throw misfit(element, path, "a number, bigint, boolean, string, an array or typed array of them, or a record of those", value);
}

function collect(structure: Structure, value: unknown, path: string, element: number): void {
  if ("keys" in structure) {
    if (!isRecord(value)) throw misfit(element, path, "a record (as in the batch's first element)", value);
    const keys = Object.keys(value);
    if (keys.length !== structure.keys.length || !structure.keys.every((key) => Object.hasOwn(value, key))) {
      throw misfit(
        element,
        path,
        `a record of the keys ${structure.keys.join(", ")} (as in the batch's first element)`,
        value,
        ` with the keys ${keys.join(", ")}`,
      );
    }
    for (let k = 0; k < structure.keys.length; k++) {
      const key = structure.keys[k] as string;
      collect(structure.children[k] as Structure, value[key], componentPath(path, key), element);
    }
    return;
  }
  const ok =
    structure.kind === "typed"
      ? isTypedArray(value) && typedArrayConstructor(value) === structure.ctor
      : structure.kind === "array"
        ? Array.isArray(value)
        : scalarType(value) !== null;
  if (!ok) {
    const expected =
      structure.kind === "typed"
        ? `a ${structure.ctor?.name ?? "typed array"}`
        : structure.kind === "array"
          ? "an array"
          : "a number, bigint, boolean or string";
    throw misfit(element, path, `${expected} (as in the batch's first element)`, value);
  }
  structure.values.push(value);
}

function build(structure: Structure, shapes: PaddedShapes | undefined, values: PaddingValues | undefined, first: number): unknown {
  if ("keys" in structure) {
    if (shapes !== undefined && !isShape(shapes)) checkKeys(shapes, structure.keys, "paddedShapes", structure);
    if (values !== undefined && isRecord(values)) checkKeys(values, structure.keys, "paddingValues", structure);
    const out: Record<string, unknown> = {};
    structure.keys.forEach((key, k) => {
      const shape = shapes === undefined || isShape(shapes) ? shapes : shapes[key];
      const value = values === undefined || !isRecord(values) ? values : values[key];
      out[key] = build(structure.children[k] as Structure, shape, value, first);
    });
    return out;
  }
  if (shapes !== undefined && !isShape(shapes)) {
    throw invalidArgument(
      `paddedBatch(size, { paddedShapes })`,
      `a shape (an array of lengths) for ${componentName(structure.path)}`,
      shapes,
      "Give a record of shapes only where the elements are records.",
    );
  }
  if (values !== undefined && isRecord(values)) {
    throw invalidArgument(
      `paddedBatch(size, { paddingValues })`,
      `a value for ${componentName(structure.path)}`,
      values,
      "Give a record of values only where the elements are records.",
    );
  }
  return padComponent(structure, shapes, values, first);
}

function padComponent(c: Component, fixed: PaddedShape | undefined, padding: PaddingValue | undefined, first: number): unknown {
  // Each element's shape, checked dense; the leaf type of the whole component.
  // An empty array ([] or [[], []]) fits any rank above its own: its missing dimensions are 0.
  let type: Scalar | null = c.ctor === null ? null : c.ctor === BigInt64Array || c.ctor === BigUint64Array ? "bigint" : "number";
  const shapes = c.values.map((value, i) =>
    c.kind === "scalar" ? [] : c.kind === "typed" ? [(value as TypedArray).length] : denseShape(value as unknown[], c.path, first + i),
  );
  const open = (shape: readonly number[]): boolean => shape[shape.length - 1] === 0 && c.kind === "array";
  const full = shapes.findIndex((shape) => !open(shape));
  const rank = full === -1 ? Math.max(...shapes.map((shape) => shape.length)) : (shapes[full] as number[]).length;
  const max: number[] = new Array<number>(rank).fill(0);
  for (let i = 0; i < c.values.length; i++) {
    const value = c.values[i];
    const shape = shapes[i] as number[];
    if (shape.length !== rank && !(open(shape) && shape.length < rank)) {
      throw misfit(
        first + i,
        c.path,
        `of rank ${rank} (as element ${first + full} of the batch)`,
        value,
        ` (rank ${shape.length})`,
        "Padding adds length, not dimensions: give every element's component the same number of dimensions.",
      );
    }
    if (c.kind !== "typed") type = leafTypes(value, c.path, first + i, type);
    for (let d = 0; d < shape.length; d++) max[d] = Math.max(max[d] as number, shape[d] as number);
  }
  if (fixed !== undefined && fixed.length !== rank) {
    throw invalidArgument(
      `paddedBatch(size, { paddedShapes })`,
      `a shape of rank ${rank} for ${componentName(c.path)}`,
      fixed,
      `Give one length (or null for the longest) per dimension of the component, e.g. [${Array(rank).fill("null").join(", ")}].`,
    );
  }
  const target = max.map((m, d) => {
    const f = fixed?.[d];
    return f === undefined || f === null || f === -1 ? m : f;
  });
  if (fixed !== undefined) {
    for (let d = 0; d < rank; d++) {
      const f = fixed[d];
      if (f !== null && f !== undefined && f !== -1 && (max[d] as number) > f) {
        const i = c.values.findIndex((v) => lengthAt(c, v, d) > f);
        throw misfit(
          first + i,
          c.path,
          `at most ${f} long in dimension ${d} (paddedShapes)`,
          c.values[i],
          ` (length ${lengthAt(c, c.values[i], d)} in dimension ${d})`,
          "Raise paddedShapes for that dimension, or use null to pad to the longest.",
        );
      }
    }
  }
  const pad = paddingFor(c, type, padding);
  const n = c.values.length;
  if (c.kind === "scalar") return c.values.slice();
  if (c.kind === "typed") {
    const length = target[0] as number;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: fill and set take the union of every typed array's element types
    const data = new (c.ctor as TypedArrayConstructor)(n * length) as TypedArray & { fill(v: unknown): unknown; set(a: ArrayLike<unknown>, o: number): void };
    if (pad !== 0 && pad !== 0n) data.fill(pad);
    for (let i = 0; i < n; i++) data.set(c.values[i] as ArrayLike<unknown>, i * length);
    return { data, shape: [n, length] };
  }
  return c.values.map((value) => padArray(value as unknown[], target, 0, pad));
}

function padArray(value: unknown[] | undefined, target: readonly number[], depth: number, pad: unknown): unknown[] {
  const length = target[depth] as number;
  const out: unknown[] = new Array(length);
  const last = depth === target.length - 1;
  for (let j = 0; j < length; j++) {
    const item = value !== undefined && j < value.length ? value[j] : undefined;
    out[j] = last ? (value !== undefined && j < value.length ? item : pad) : padArray(item as unknown[] | undefined, target, depth + 1, pad);
  }
  return out;
}

/** The shape of a nested array that must be rectangular (one dense tensor). */
function denseShape(value: unknown[], path: string, element: number): number[] {
  const shape: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  checkDense(value, shape, 0, path, element);
  return shape;
}

function checkDense(value: unknown, shape: readonly number[], depth: number, path: string, element: number): void {
  if (depth === shape.length) {
    if (Array.isArray(value)) throw ragged(element, path, shape);
    return;
  }
  if (!Array.isArray(value) || value.length !== shape[depth]) throw ragged(element, path, shape);
  for (const item of value) checkDense(item, shape, depth + 1, path, element);
}

function ragged(element: number, path: string, shape: readonly number[]): InvalidArgumentError {
  const expected = `a rectangular array (its first rows have the shape [${shape.join(", ")}])`;
  const fix = "Padding evens out lengths across elements, not within one: make each element's component rectangular, or split it into components.";
  return new InvalidArgumentError(`paddedBatch() needs ${componentOf(path, element)} to be ${expected}; got a ragged array. ${fix}`, {
    expected,
    received: "a ragged array",
    fix,
  });
}

function lengthAt(c: Component, value: unknown, d: number): number {
  if (c.kind === "typed") return (value as TypedArray).length;
  let level = value as unknown[];
  for (let k = 0; k < d; k++) level = level[0] as unknown[];
  let longest = 0;
  const walk = (v: unknown, depth: number): void => {
    if (!Array.isArray(v)) return;
    if (depth === d) longest = Math.max(longest, v.length);
    else for (const item of v) walk(item, depth + 1);
  };
  walk(value, 0);
  return longest;
}

/** Checks every leaf of `value` has the one scalar type of the component; returns it. */
function leafTypes(value: unknown, path: string, element: number, type: Scalar | null): Scalar | null {
  if (Array.isArray(value)) {
    for (const item of value) type = leafTypes(item, path, element, type);
    return type;
  }
  const t = scalarType(value);
  if (t === null) throw misfit(element, path, "made of numbers, bigints, booleans or strings", value, " inside it");
  if (type !== null && t !== type) throw misfit(element, path, `made of ${type}s (as the rest of the batch)`, value, " inside it");
  return t;
}

function scalarType(value: unknown): Scalar | null {
  const t = typeof value;
  return t === "number" || t === "bigint" || t === "boolean" || t === "string" ? t : null;
}

function paddingFor(c: Component, type: Scalar | null, padding: PaddingValue | undefined): unknown {
  if (padding === undefined) return type === "bigint" ? 0n : type === "boolean" ? false : type === "string" ? "" : 0;
  if (type !== null && typeof padding !== type) {
    throw invalidArgument(
      `paddedBatch(size, { paddingValues })`,
      `a ${type} for ${componentName(c.path)}, whose values are ${type}s`,
      padding,
      "Pad with a value of the component's type.",
    );
  }
  return padding;
}

function checkKeys(given: Record<string, unknown>, keys: readonly string[], option: string, structure: Structure): void {
  for (const key of Object.keys(given)) {
    if (!keys.includes(key)) {
      const path = "keys" in structure ? "the elements" : structure.path;
      throw invalidArgument(
        `paddedBatch(size, { ${option} })`,
        `only keys of ${path} (${keys.join(", ")})`,
        key,
        `Remove ${JSON.stringify(key)} from ${option}, or correct its spelling.`,
      );
    }
  }
}

function isShape(value: PaddedShapes): value is PaddedShape {
  return Array.isArray(value);
}

function checkShapes(shapes: unknown, path: string): PaddedShapes {
  if (Array.isArray(shapes)) {
    for (const d of shapes) {
      if (d !== null && !(typeof d === "number" && Number.isInteger(d) && d >= -1)) {
        throw invalidArgument(
          `paddedBatch(size, { paddedShapes${path === "" ? "" : `.${path}`} })`,
          "lengths that are integers ≥ 0, or -1 or null for the longest",
          d,
          "e.g. paddedShapes: [null] or [10].",
        );
      }
    }
    return shapes as PaddedShape;
  }
  if (isRecord(shapes)) {
    for (const key of Object.keys(shapes)) checkShapes(shapes[key], componentPath(path, key));
    return shapes as PaddedShapes;
  }
  throw invalidArgument(
    `paddedBatch(size, { paddedShapes${path === "" ? "" : `.${path}`} })`,
    "a shape (an array of lengths) or a record of shapes",
    shapes,
    "e.g. paddedShapes: [null] or { tokens: [64] }.",
  );
}

function checkValues(values: unknown, path: string): PaddingValues {
  if (isRecord(values)) {
    for (const key of Object.keys(values)) checkValues(values[key], componentPath(path, key));
    return values as PaddingValues;
  }
  if (scalarType(values) === null) {
    throw invalidArgument(
      `paddedBatch(size, { paddingValues${path === "" ? "" : `.${path}`} })`,
      "a number, bigint, boolean, string or a record of them",
      values,
      "e.g. paddingValues: -1.",
    );
  }
  return values as PaddingValues;
}

function misfit(
  element: number,
  path: string,
  expected: string,
  value: unknown,
  detail = "",
  fix = "Make every element of a batch the same structure, with components of the same kinds.",
): InvalidArgumentError {
  const got = `${describeValue(value)}${detail}`;
  return new InvalidArgumentError(`paddedBatch() needs ${componentOf(path, element)} to be ${expected}; got ${got}. ${fix}`, {
    expected,
    received: got,
    fix,
  });
}
