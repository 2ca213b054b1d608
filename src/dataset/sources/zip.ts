import { END, type DatasetNode, type DatasetOptions, type IteratorContext, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { arrayOf, boolean, nullable, olderVersion, opState, optional, stateSchema, string } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { setOwn } from "../../core/own.js";
import { gather, randomAccessOf, andThen, type RandomAccess } from "../../core/random-access.js";
import { InvalidArgumentError } from "../../errors.js";

const KIND = "Zip";
/**
 * The zipped inputs' states, whether it ended, and what it zips (`keys`: the record's keys, or
 * null for an array of datasets). Version 1 states may lack `keys` (written before zip saved
 * them): then there is nothing to compare.
 */
const VERSION = 2;
const FIELDS = { ended: boolean, inputs: arrayOf(opState) } as const;
const STATE = stateSchema<{ keys: string[] | null | undefined; ended: boolean; inputs: OpState[] }>(
  KIND,
  VERSION,
  { ...FIELDS, keys: nullable(arrayOf(string)) },
  { older: [olderVersion(1, { ...FIELDS, keys: optional(nullable(arrayOf(string))) }, (fields) => fields)] },
);

/**
 * `Dataset.zip`: one element from each input per step, as a tuple (array form) or a record
 * (record form); ends when the shortest input ends.
 */
export class ZipNode<T> implements DatasetNode<T> {
  readonly label: string;

  /** `keys` is null for the array form. */
  constructor(
    readonly inputs: readonly DatasetNode<unknown>[],
    private readonly keys: readonly string[] | null,
  ) {
    if (inputs.length === 0) {
      throw new InvalidArgumentError("zip(datasets) needs at least one dataset; got none. Pass an array or a record of datasets.", {
        expected: "at least one dataset",
        received: "none",
      });
    }
    const parts = inputs.map((input, i) => (keys === null ? input.describe() : `${keys[i]}: ${input.describe()}`));
    this.label = `${KIND}(${parts.join(", ")})`;
  }

  describe(): string {
    return this.label;
  }

  cardinality(): number | null {
    let least: number | null = Infinity;
    for (const input of this.inputs) {
      const n = input.cardinality();
      if (n === 0) return 0;
      least = n === null || least === null ? null : Math.min(least, n);
    }
    return least;
  }

  options(): DatasetOptions {
    return Object.assign({}, ...this.inputs.map((input) => input.options())) as DatasetOptions;
  }

  randomAccess(ctx: IteratorContext): RandomAccess<T> | null {
    const inputs = this.inputs.map((input) => randomAccessOf(input, ctx));
    if (inputs.some((input) => input === null)) return null;
    const all = inputs as RandomAccess<unknown>[];
    const keys = this.keys;
    const length = Math.min(...all.map((input) => input.length));
    return {
      length,
      get: (i) =>
        andThen(gather(all.map((input) => input.get(i))), (values): T => {
          if (keys === null) return values as T;
          const record: Record<string, unknown> = {};
          values.forEach((value, k) => setOwn(record, keys[k] as string, value));
          return record as T;
        }),
    };
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new ZipIterator<T>(
      this.inputs.map((input) => input.makeIterator(ctx)),
      this.keys,
    );
  }
}

function describeKeys(keys: readonly string[] | null): string {
  return keys === null ? "an array of datasets" : `the record {${keys.join(", ")}}`;
}

class ZipIterator<T> implements OpIterator<T> {
  private ended = false;

  constructor(
    private readonly inputs: readonly OpIterator<unknown>[],
    private readonly keys: readonly string[] | null,
  ) {}

  next(): Pull<T> {
    if (this.ended) return END;
    return this.fill(new Array<unknown>(this.inputs.length), 0);
  }

  private fill(values: unknown[], from: number): Pull<T> {
    for (let i = from; i < values.length; i++) {
      const pulled = (this.inputs[i] as OpIterator<unknown>).next();
      if (pulled instanceof Promise) {
        return pulled.then((value) => (this.place(values, i, value) ? this.fill(values, i + 1) : END));
      }
      if (!this.place(values, i, pulled)) return END;
    }
    return this.build(values);
  }

  private place(values: unknown[], i: number, value: unknown): boolean {
    if (value === END) {
      this.ended = true;
      return false;
    }
    values[i] = value;
    return true;
  }

  private build(values: unknown[]): T {
    if (this.keys === null) return values as T;
    const record: Record<string, unknown> = {};
    for (let i = 0; i < values.length; i++) setOwn(record, this.keys[i] as string, values[i]);
    return record as T;
  }

  async save(ctx: SaveContext): Promise<OpState> {
    const inputs = this.ended ? [] : await Promise.all(this.inputs.map((input) => input.save(ctx)));
    return { kind: KIND, version: VERSION, keys: this.keys === null ? null : [...this.keys], ended: this.ended, inputs };
  }

  async restore(state: OpState): Promise<void> {
    const { keys, ended, inputs } = STATE.read(state);
    if (keys !== undefined && JSON.stringify(keys) !== JSON.stringify(this.keys)) {
      throw new InvalidArgumentError(
        `Cannot restore ${KIND}: it zips ${describeKeys(this.keys)}, the saved state zips ${describeKeys(keys)}. ` +
          `Restore into a dataset built the same way.`,
        { expected: describeKeys(this.keys), received: describeKeys(keys) },
      );
    }
    this.ended = ended;
    if (this.ended) return;
    if (inputs.length !== this.inputs.length) {
      throw new InvalidArgumentError(
        `Cannot restore ${KIND}: it zips ${this.inputs.length} datasets, the saved state zips ${inputs.length}. ` +
          `Restore into a dataset built the same way.`,
        { expected: `${this.inputs.length} inputs`, received: `${inputs.length} inputs` },
      );
    }
    await Promise.all(this.inputs.map((input, i) => input.restore(inputs[i] as OpState)));
  }

  async close(): Promise<void> {
    await Promise.all(this.inputs.map((input) => input.close()));
  }
}
