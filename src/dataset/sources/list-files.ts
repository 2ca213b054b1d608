/**
 * `Dataset.listFiles`: the files matching glob patterns, sorted, optionally shuffled with a
 * seed. The listing happens when iteration starts and is saved with the state, so a restored
 * iterator reads exactly the files the saving one listed, even if the directory changed since.
 *
 * @module
 */
import { isAbsolute } from "node:path";
import { glob } from "tinyglobby";
import { END, SourceNode, nodeOrdinal, type IteratorContext, type OpIterator, type Pull } from "../../core/iterator.js";
import { Rng, deriveSeed, randomSeed } from "../../core/rng.js";
import { arrayOf, integer, misfit, nullable, pathTo, stateSchema, string } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { NotFoundError, invalidArgument } from "../../errors.js";

/** Options of `Dataset.listFiles`. */
export interface ListFilesOptions {
  /**
   * Shuffle the sorted file list once per iteration (default false). Reproducible with a seed;
   * without one the order derives from the top-level iterator's seed (saved with its state).
   */
  readonly shuffle?: boolean;
  /** The seed of the shuffle, an integer (only with `shuffle: true`). */
  readonly seed?: number;
}

const KIND = "ListFiles";
const VERSION = 1;
/** The listed files (null: not listed yet) and the index of the next. */
const STATE = stateSchema(
  KIND,
  VERSION,
  { files: nullable(arrayOf(string)), index: integer(0) },
  {
    check: ({ files, index }, path) => {
      const count = files?.length ?? 0;
      if (index > count) misfit(pathTo(path, "index"), `an index from 0 to ${count}, the number of files saved`, index);
    },
  },
);

/** The source behind `Dataset.listFiles`. */
export class ListFilesNode extends SourceNode<string> {
  readonly label: string;
  private readonly patterns: readonly string[];
  private readonly shuffle: boolean;
  private readonly seed: number | null;

  constructor(pattern: unknown, options: ListFilesOptions) {
    super();
    this.patterns = checkPatterns(pattern);
    if (options.shuffle !== undefined && typeof options.shuffle !== "boolean") {
      throw invalidArgument("Dataset.listFiles(pattern, { shuffle })", "a boolean", options.shuffle, "Pass true to shuffle the files, or leave it out.");
    }
    if (options.seed !== undefined && (typeof options.seed !== "number" || !Number.isInteger(options.seed))) {
      throw invalidArgument(
        "Dataset.listFiles(pattern, { seed })",
        "an integer",
        options.seed,
        "Pass an integer seed, e.g. { shuffle: true, seed: 42 }, or none.",
      );
    }
    this.shuffle = options.shuffle ?? false;
    this.seed = options.seed ?? null;
    this.label = `ListFiles(${this.patterns.map((p) => JSON.stringify(p)).join(", ")}${this.shuffle ? ", shuffled" : ""})`;
  }

  cardinality(): null {
    return null;
  }

  makeIterator(ctx: IteratorContext): OpIterator<string> {
    let seed: number | null = null;
    if (this.shuffle) {
      const ordinal = nodeOrdinal(ctx.root, this);
      seed = this.seed ?? (ordinal < 0 ? randomSeed() : deriveSeed(ctx.seed, ordinal));
    }
    return new ListFilesIterator(this.patterns, seed);
  }
}

class ListFilesIterator implements OpIterator<string> {
  /** The files of this iteration, null until listed (at the first `next()`). */
  private files: readonly string[] | null = null;
  private index = 0;
  private listing: Promise<readonly string[]> | null = null;

  constructor(
    private readonly patterns: readonly string[],
    private readonly seed: number | null,
  ) {}

  next(): Pull<string> {
    if (this.files === null) return this.listThenNext();
    if (this.index >= this.files.length) return END;
    return this.files[this.index++] as string;
  }

  async save(): Promise<OpState> {
    // Waits for a listing under way, so the state never depends on when it finishes.
    await this.listing?.catch(() => undefined);
    return { kind: KIND, version: VERSION, files: this.files === null ? null : [...this.files], index: this.index };
  }

  async restore(state: OpState): Promise<void> {
    const { files, index } = STATE.read(state);
    await this.listing?.catch(() => undefined);
    this.listing = null;
    this.files = files;
    this.index = index;
  }

  async close(): Promise<void> {
    await this.listing?.catch(() => undefined);
  }

  private async listThenNext(): Promise<string | typeof END> {
    const listing = (this.listing ??= listFiles(this.patterns, this.seed));
    try {
      const files = await listing;
      if (this.listing === listing) this.files = files;
    } catch (error) {
      // Raised once; the iteration then ends (an `ignoreErrors()` after it must not spin).
      if (this.listing === listing) this.files = [];
      throw error;
    } finally {
      if (this.listing === listing) this.listing = null;
    }
    return this.next();
  }
}

/**
 * The files matching any of `patterns`, deduplicated, sorted by code unit, then shuffled when
 * `seed` is not null. Relative patterns give paths relative to the working directory,
 * absolute ones absolute paths.
 *
 * @throws {NotFoundError} when no file matches.
 */
export async function listFiles(patterns: readonly string[], seed: number | null): Promise<string[]> {
  const found = new Set<string>();
  for (const pattern of patterns) {
    const matches = await glob(pattern, { absolute: isAbsolute(pattern), expandDirectories: false, onlyFiles: true });
    for (const match of matches) found.add(match);
  }
  if (found.size === 0) {
    const shown = patterns.map((p) => JSON.stringify(p)).join(", ");
    throw new NotFoundError(
      `Dataset.listFiles: expected the pattern ${shown} to match at least one file; it matched none. Check the ` +
        `pattern (relative patterns start at ${JSON.stringify(process.cwd())}; "*" stays within one directory, ` +
        `"**" crosses directories).`,
      { expected: "at least one matching file", received: "no match", fix: "Check the pattern and the working directory." },
    );
  }
  const files = [...found].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (seed !== null) {
    const rng = Rng.fromSeed(seed);
    for (let i = files.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const swap = files[i] as string;
      files[i] = files[j] as string;
      files[j] = swap;
    }
  }
  return files;
}

function checkPatterns(pattern: unknown): string[] {
  const fix = 'Pass a glob such as "data/*.tfrecord" or "data/**/part-*", or an array of them.';
  if (typeof pattern === "string") {
    if (pattern === "") throw invalidArgument("Dataset.listFiles(pattern)", "a non-empty glob pattern", pattern, fix);
    return [pattern];
  }
  if (!Array.isArray(pattern) || pattern.length === 0) {
    throw invalidArgument("Dataset.listFiles(pattern)", "a glob pattern or a non-empty array of them", pattern, fix);
  }
  return pattern.map((p: unknown, i) => {
    if (typeof p !== "string" || p === "") {
      throw invalidArgument(`Dataset.listFiles(pattern)[${i}]`, "a non-empty glob pattern", p, fix);
    }
    return p;
  });
}
