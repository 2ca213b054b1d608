/**
 * `Dataset.csv`: RFC 4180 rows as records or arrays, with typed columns and defaults in the
 * spirit of tf.data's `CsvDataset`, through the shared record-file reader.
 *
 * @module
 */
import { getOwn, setOwn } from "../../core/own.js";
import { arrayOf, integer, string } from "../../core/schema.js";
import type { JsonValue } from "../../core/state.js";
import { InvalidArgumentError, invalidArgument } from "../../errors.js";
import { findRow, splitRow } from "./csv-row.js";
import { RecordFileNode } from "./record-file-source.js";
import type { RecordContext, RecordFormat, RecordResult } from "./record-format.js";
import { byteOrderMark, checkTextFileArgs, lineLabel, textMaxRecordBytes } from "./text-file-args.js";
import type { TextFileOptions } from "./text-lines.js";

/** The type of a CSV column: how its text is converted. */
export type CsvColumnType = "string" | "number" | "int" | "boolean";

/** A value of a CSV field after conversion. */
export type CsvValue = string | number | boolean;

/** A typed CSV column, like one entry of tf.data's `record_defaults`. */
export interface CsvColumn {
  /** `"string"` (as is), `"number"` (any JavaScript number), `"int"` (a safe integer) or `"boolean"` (`true`/`false`/`1`/`0`). */
  readonly type: CsvColumnType;
  /** The value of an empty field; without it the column is required and an empty field is an error. */
  readonly default?: CsvValue;
}

/** Options of `Dataset.csv`. */
export interface CsvOptions extends TextFileOptions {
  /** The field delimiter, one character other than `"`, `\r` or `\n` (default `","`). */
  readonly delimiter?: string;
  /** The first row of each file holds the column names (default false). */
  readonly header?: boolean;
  /** The column names (they win over a header, which is then skipped). */
  readonly columnNames?: readonly string[];
  /** The columns to yield, in this order: names, or 0-based indices. Default: all. */
  readonly selectCols?: readonly (string | number)[];
  /**
   * Typed columns by name (or by index, as `"0"`, when the columns have no names). Columns
   * not listed are strings, `""` when empty.
   */
  readonly columns?: Readonly<Record<string, CsvColumn>>;
}

/** A CSV row: a record by column name when the columns have names, else an array. */
export type CsvRow = Record<string, CsvValue> | CsvValue[];

const TYPES: readonly unknown[] = ["string", "number", "int", "boolean"];

/** What to yield of a row with given names: the selected columns, their keys and types. */
interface Plan {
  readonly names: readonly string[] | null;
  readonly width: number;
  readonly indices: readonly number[];
  readonly keys: readonly string[];
  readonly specs: readonly (CsvColumn | undefined)[];
}

/**
 * CSV as a {@link RecordFormat}. Empty lines are skipped. The note about each file is its
 * header (names) or, without names, the width of its first row; every row must have as many
 * fields. A bad row is an `InvalidArgumentError` confined to it, naming file and line.
 */
export function csvFormat(options: CsvOptions): RecordFormat<CsvRow> {
  const delimiter = options.delimiter ?? ",";
  let cached: { note: JsonValue | null; plan: Plan } | null = null;
  const planFor = (note: JsonValue | null, width: number, ctx: RecordContext): Plan => {
    if (cached !== null && cached.note === note) return cached.plan;
    const plan = makePlan(options, options.columnNames ?? (options.header === true ? (note as string[]) : null), width, ctx);
    cached = { note, plan };
    return plan;
  };
  return {
    name: "CSV",
    countsLines: true,
    // The note a saved state holds must be what this format notes: the header, or the width.
    noteField: options.header === true ? arrayOf(string) : integer(1),
    decode(buffer: Uint8Array, offset: number, ctx: RecordContext): RecordResult<CsvRow> | null {
      const bom = byteOrderMark(buffer, offset, ctx);
      if (bom !== 0) return bom === null ? null : { skip: true, end: offset + bom };
      const row = findRow(buffer, offset, ctx);
      if (row === null) return null;
      const { end, lines } = row;
      if (row.text === "") return { skip: true, end, lines };
      const fields = splitRow(row.text, delimiter);
      if (row.unterminated)
        return {
          error: rowError(ctx, "the file ends inside a quoted field", "a closing quote", 'Close the quote, or double quotes inside a quoted field ("").'),
          end,
          lines,
        };
      if (ctx.note === null) {
        if (options.header === true) return { skip: true, end, lines, note: fields };
        if (options.columnNames === undefined) {
          const value = convert(planFor(fields.length, fields.length, ctx), fields, ctx);
          return value instanceof Error ? { error: value, end, lines, note: fields.length } : { value, end, lines, note: fields.length };
        }
      }
      const plan = planFor(ctx.note, fields.length, ctx);
      if (fields.length !== plan.width) {
        const fix = "Quote fields that hold the delimiter, fix the row, or skip bad rows with .ignoreErrors().";
        return { error: rowError(ctx, `expected ${plan.width} fields; got ${fields.length}`, `${plan.width} fields`, fix, String(fields.length)), end, lines };
      }
      const value = convert(plan, fields, ctx);
      return value instanceof Error ? { error: value, end, lines } : { value, end, lines };
    },
  };
}

function makePlan(options: CsvOptions, names: readonly string[] | null, width: number, ctx: RecordContext): Plan {
  const count = names?.length ?? width;
  const indices = (options.selectCols ?? Array.from({ length: count }, (_, i) => i)).map((col) => {
    const index = typeof col === "number" ? col : (names?.indexOf(col) ?? -1);
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new InvalidArgumentError(
        `CSV file ${JSON.stringify(ctx.source)}: selectCols names column ${JSON.stringify(col)}, and the file's columns are ` +
          `${names === null ? `0 to ${count - 1}` : JSON.stringify(names)}. Select columns that exist.`,
        { expected: names === null ? `an index from 0 to ${count - 1}` : `one of ${JSON.stringify(names)}`, received: JSON.stringify(col) },
      );
    }
    return index;
  });
  const keys = indices.map((i) => (names === null ? String(i) : (names[i] as string)));
  for (const key of Object.keys(options.columns ?? {})) {
    const known = names === null ? /^\d+$/.test(key) && Number(key) < count : names.includes(key);
    if (!known) {
      throw new InvalidArgumentError(
        `CSV file ${JSON.stringify(ctx.source)}: columns has a type for ${JSON.stringify(key)}, which is not a column ` +
          `(${names === null ? `the columns have no names; use indices "0" to "${count - 1}"` : `the columns are ${JSON.stringify(names)}`}). Fix the name.`,
        { expected: "a column name", received: JSON.stringify(key) },
      );
    }
  }
  return { names, width: count, indices, keys, specs: keys.map((key) => getOwn(options.columns, key)) };
}

/** The row's value, or the error of its first bad field. */
function convert(plan: Plan, fields: readonly string[], ctx: RecordContext): CsvRow | InvalidArgumentError {
  const values: CsvValue[] = [];
  for (let k = 0; k < plan.indices.length; k++) {
    const field = fields[plan.indices[k] as number] as string;
    const spec = plan.specs[k];
    if (spec === undefined) {
      values.push(field);
      continue;
    }
    const value = field === "" ? spec.default : parseField(field, spec.type);
    if (value === undefined) {
      const key = plan.keys[k] as string;
      const what = field === "" ? "an empty field" : JSON.stringify(field);
      const fix =
        field === ""
          ? `Give the column a default (columns: { ${JSON.stringify(key)}: { type: "${spec.type}", default: … } }) or fill the field.`
          : "Fix the field or the column's type.";
      return rowError(ctx, `column ${JSON.stringify(key)} needs ${typeName(spec.type)}; got ${what}`, typeName(spec.type), fix, what);
    }
    values.push(value);
  }
  if (plan.names === null) return values;
  const record: Record<string, CsvValue> = {};
  for (let k = 0; k < values.length; k++) setOwn(record, plan.keys[k] as string, values[k]);
  return record;
}

/** "a number", "an int", … for messages. */
function typeName(type: CsvColumnType): string {
  return type === "int" ? "an int" : `a ${type}`;
}

function parseField(field: string, type: CsvColumnType): CsvValue | undefined {
  switch (type) {
    case "string":
      return field;
    case "number": {
      const value = Number(field);
      return field.trim() === "" || (Number.isNaN(value) && field.trim() !== "NaN") ? undefined : value;
    }
    case "int": {
      const value = Number(field);
      return /^\s*[+-]?\d+\s*$/.test(field) && Number.isSafeInteger(value) ? value : undefined;
    }
    case "boolean": {
      const lower = field.trim().toLowerCase();
      return lower === "true" || lower === "1" ? true : lower === "false" || lower === "0" ? false : undefined;
    }
  }
}

function rowError(ctx: RecordContext, problem: string, expected: string, fix: string, received = problem): InvalidArgumentError {
  return new InvalidArgumentError(`CSV file ${JSON.stringify(ctx.source)}, line ${lineLabel(ctx)}: ${problem}. ${fix}`, { expected, received, fix });
}

/**
 * The CSV source over `paths`, after checking the arguments.
 *
 * @throws {InvalidArgumentError} for a bad path, compression, delimiter, header, column
 *   names, selection or column type.
 */
export function csvNode(paths: readonly unknown[], options: CsvOptions): RecordFileNode<CsvRow> {
  const compression = checkTextFileArgs("Dataset.csv", paths, options.compression);
  const { delimiter, header, columnNames, selectCols, columns } = options;
  if (delimiter !== undefined && (typeof delimiter !== "string" || delimiter.length !== 1 || '"\r\n'.includes(delimiter))) {
    throw invalidArgument(
      "Dataset.csv(files, { delimiter })",
      'one character other than `"`, `\\r` or `\\n`',
      delimiter,
      'Pass e.g. "," (the default), ";" or "\\t".',
    );
  }
  if (header !== undefined && typeof header !== "boolean") {
    throw invalidArgument("Dataset.csv(files, { header })", "a boolean", header, "Pass true when the first row of each file holds the column names.");
  }
  if (
    columnNames !== undefined &&
    (!Array.isArray(columnNames) || columnNames.some((n) => typeof n !== "string") || new Set(columnNames).size !== columnNames.length)
  ) {
    throw invalidArgument(
      "Dataset.csv(files, { columnNames })",
      "an array of distinct strings",
      columnNames,
      'Pass one name per column, e.g. ["x", "y", "label"].',
    );
  }
  if (selectCols !== undefined) {
    const ok = Array.isArray(selectCols) && selectCols.every((c) => (typeof c === "number" && Number.isInteger(c) && c >= 0) || typeof c === "string");
    if (!ok)
      throw invalidArgument("Dataset.csv(files, { selectCols })", "an array of column names or indices ≥ 0", selectCols, 'Pass e.g. ["x", "label"] or [0, 2].');
    if (selectCols.some((c) => typeof c === "string") && columnNames === undefined && header !== true) {
      throw invalidArgument(
        "Dataset.csv(files, { selectCols })",
        "column indices (the columns have no names)",
        selectCols,
        "Pass header: true or columnNames, or select by 0-based index.",
      );
    }
  }
  for (const [key, spec] of Object.entries(columns ?? {})) {
    const type = (spec as Partial<CsvColumn> | null)?.type;
    if (!TYPES.includes(type)) {
      throw invalidArgument(
        `Dataset.csv(files, { columns: { ${JSON.stringify(key)} } }).type`,
        '"string", "number", "int" or "boolean"',
        type,
        'Pass e.g. { type: "number", default: 0 }.',
      );
    }
    const fallback = spec.default;
    if (fallback !== undefined && parseField(String(fallback), type as CsvColumnType) !== fallback) {
      throw invalidArgument(
        `Dataset.csv(files, { columns: { ${JSON.stringify(key)} } }).default`,
        typeName(type as CsvColumnType),
        fallback,
        "Give a default of the column's type, or leave it out to make the column required.",
      );
    }
  }
  return new RecordFileNode(paths as readonly string[], csvFormat(options), compression, textMaxRecordBytes("Dataset.csv", options));
}
