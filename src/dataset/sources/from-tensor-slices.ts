import { END, SourceNode, type OpIterator, type Pull } from "../../core/iterator.js";
import { setOwn } from "../../core/own.js";
import { integer, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import type { RandomAccess } from "../../core/random-access.js";
import type { TypedArray } from "../ops/stacked.js";
import { InvalidArgumentError, describeValue, invalidArgument } from "../../errors.js";

const KIND = "FromTensorSlices";
/** The index of the next row (random access: the columns are held by the dataset). */
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { index: integer(0) });

/**
 * A tensor in row-major order: `data` holds `shape[0]` rows of `shape[1] * shape[2] * ...`
 * values each. Its rows are typed arrays of those values (numbers when `shape` has one entry).
 */
export interface ShapedColumn<A extends TypedArray = TypedArray> {
  readonly data: A;
  readonly shape: readonly number[];
}

/**
 * One column of `Dataset.fromTensorSlices`: an array (its rows are its items, arrays of arrays
 * included), a typed array (its rows are numbers, or bigints), or a {@link ShapedColumn}.
 */
export type Column = readonly unknown[] | TypedArray | ShapedColumn;

/** The value one row of a column holds. */
export type RowOf<C> =
  C extends ShapedColumn<infer A>
    ? A | (A extends BigInt64Array | BigUint64Array ? bigint : number)
    : C extends BigInt64Array | BigUint64Array
      ? bigint
      : C extends TypedArray
        ? number
        : C extends readonly (infer U)[]
          ? U
          : never;

/** How a column hands out its rows. */
interface Slicer {
  readonly rows: number;
  row(index: number): unknown;
}

/**
 * `Dataset.fromTensorSlices(columns)`: one element per row of equal-length columns — a record
 * of row values for a record of columns, a tuple for an array of columns, the value itself for
 * one typed array, shaped column, or array of which no item is a column (a 1-D list).
 */
export class FromTensorSlicesNode<T> extends SourceNode<T> {
  readonly label = KIND;
  private readonly keys: readonly string[] | null;
  private readonly slicers: readonly Slicer[];
  /** True when the input was one tensor (a typed array or a shaped column): rows are its values, not tuples. */
  private readonly single: boolean;
  private readonly rows: number;

  constructor(columns: unknown) {
    super();
    const call = "Dataset.fromTensorSlices(columns)";
    const fix = "Pass a record of columns ({ x: [...], y: Float32Array }), an array of columns ([xs, ys]), or one typed array.";
    if (ArrayBuffer.isView(columns) || isShaped(columns) || (Array.isArray(columns) && columns.length > 0 && !columns.some(isColumn))) {
      this.keys = null;
      this.single = true;
      this.slicers = [slicer(columns, call)];
    } else if (Array.isArray(columns)) {
      this.keys = null;
      this.single = false;
      this.slicers = columns.map((c: unknown, i) => slicer(c, `${call}[${i}]`));
    } else if (typeof columns === "object" && columns !== null) {
      this.keys = Object.keys(columns);
      this.single = false;
      this.slicers = this.keys.map((k) => slicer((columns as Record<string, unknown>)[k], `${call}.${k}`));
    } else {
      throw invalidArgument(call, "a record or an array of columns, or a typed array", columns, fix);
    }
    if (this.slicers.length === 0) throw invalidArgument(call, "at least one column", columns, fix);
    const rows = this.slicers.map((s) => s.rows);
    if (rows.some((n) => n !== rows[0])) {
      const names = this.slicers.map((s, i) => `${this.keys === null ? `[${i}]` : this.keys[i]}: ${s.rows} rows`);
      throw new InvalidArgumentError(`${call} needs columns of one length; got ${names.join(", ")}. Slice every column to the same number of rows.`, {
        expected: "columns of one length",
        received: names.join(", "),
      });
    }
    this.rows = rows[0] ?? 0;
  }

  cardinality(): number {
    return this.rows;
  }

  /** The element of row `index`. */
  row(index: number): T {
    const slicers = this.slicers;
    if (this.single) return (slicers[0] as Slicer).row(index) as T;
    if (this.keys === null) return slicers.map((s) => s.row(index)) as T;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < slicers.length; i++) setOwn(out, this.keys[i] as string, (slicers[i] as Slicer).row(index));
    return out as T;
  }

  makeIterator(): OpIterator<T> {
    return new FromTensorSlicesIterator(this, this.rows);
  }

  randomAccess(): RandomAccess<T> {
    return { length: this.rows, get: (i) => this.row(i) };
  }
}

/** True for what a column can be: an array, a typed array, or a shaped column. */
function isColumn(value: unknown): boolean {
  return Array.isArray(value) || ArrayBuffer.isView(value) || isShaped(value);
}

function isShaped(value: unknown): value is ShapedColumn {
  return typeof value === "object" && value !== null && !Array.isArray(value) && ArrayBuffer.isView((value as { data?: unknown }).data) && "shape" in value;
}

/** Copies a column (later changes to the caller's arrays do not affect the dataset) and says how to slice it. */
function slicer(column: unknown, subject: string): Slicer {
  if (Array.isArray(column)) {
    const items = column.slice();
    return { rows: items.length, row: (i) => items[i] };
  }
  if (ArrayBuffer.isView(column) && !(column instanceof DataView)) {
    const data = (column as TypedArray).slice();
    return { rows: data.length, row: (i) => data[i] };
  }
  if (isShaped(column)) {
    const { shape } = column;
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw invalidArgument(
        `${subject}.shape`,
        "a non-empty array of integers ≥ 0",
        shape,
        "Pass the tensor's shape, rows first, e.g. { data, shape: [3, 2] }.",
      );
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== column.data.length) {
      throw invalidArgument(`${subject}`, `data of ${size} values (shape [${shape.join(", ")}])`, column.data, "Make the shape's product equal data.length.");
    }
    const data = column.data.slice();
    if (shape.length === 1) return { rows: data.length, row: (i) => data[i] };
    const stride = shape.slice(1).reduce((a, b) => a * b, 1);
    return { rows: shape[0] as number, row: (i) => data.slice(i * stride, (i + 1) * stride) };
  }
  throw invalidArgument(
    subject,
    "a column: an array, a typed array, or { data, shape }",
    column,
    "A plain array at the top level is a tuple of columns: make every item a column, or none (a list of values to slice).",
  );
}

class FromTensorSlicesIterator<T> implements OpIterator<T> {
  private index = 0;

  constructor(
    private readonly node: FromTensorSlicesNode<T>,
    private readonly rows: number,
  ) {}

  next(): Pull<T> {
    if (this.index >= this.rows) return END;
    return this.node.row(this.index++);
  }

  nextMany(out: T[], max: number): number {
    const n = Math.min(max, this.rows - this.index);
    for (let i = this.index, end = i + n; i < end; i++) out.push(this.node.row(i));
    this.index += n;
    return n;
  }

  async save(): Promise<OpState> {
    return { kind: KIND, version: VERSION, index: this.index };
  }

  async restore(state: OpState): Promise<void> {
    const { index } = STATE.read(state);
    if (index > this.rows) {
      throw new InvalidArgumentError(
        `Cannot restore ${KIND}: its saved state is at row ${index}, past the ${this.rows} rows of this dataset. ` +
          `Restore into a dataset built from the same columns.`,
        { expected: `a row from 0 to ${this.rows}`, received: describeValue(index) },
      );
    }
    this.index = index;
  }

  async close(): Promise<void> {}
}
