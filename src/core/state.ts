/**
 * Saved state: the JSON-compatible tree every iterator saves and the envelope around it. How
 * each op's state is read back is in its schema (schema.ts); element values are encoded by
 * value-codec.ts.
 *
 * @module
 */

/** A value that survives `JSON.parse(JSON.stringify(value))` unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The saved state of one op's iterator: its own fields plus its inputs' states. */
export interface OpState {
  /** The op that saved it, e.g. `"Shuffle"`. */
  readonly kind: string;
  /** The version of that op's state format. */
  readonly version: number;
  readonly [field: string]: JsonValue;
}

/** The format name written in every {@link IteratorState}. */
export const ITERATOR_STATE_FORMAT = "checkpipe.iterator";
/** The version of the envelope written by this version of checkpipe. */
export const ITERATOR_STATE_VERSION = 1;

/**
 * The saved position of a {@link DatasetIterator}: a plain JSON tree, readable by people and
 * tools, that survives `JSON.parse(JSON.stringify(state))`.
 */
export interface IteratorState {
  /** Always `"checkpipe.iterator"`. */
  readonly format: string;
  /** The envelope's version (1). */
  readonly version: number;
  /** The pipeline that saved it, e.g. `"Range -> Shuffle(100) -> Batch(32)"`. */
  readonly pipeline: string;
  /** The iterator's random seed: unseeded shuffles derive their orders from it. */
  readonly seed?: number;
  /** True when the iterator had reached its end: a restored iterator yields nothing. */
  readonly ended: boolean;
  /** The last op's state (which holds its inputs' states), or null when ended. */
  readonly root: OpState | null;
}
