import { END, SourceNode, isPromiseLike, type OpIterator, type Pull, type SaveContext } from "../../core/iterator.js";
import { boolean, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { FailedPreconditionError, invalidArgument } from "../../errors.js";

const KIND = "FromGenerator";
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { ended: boolean });

/** What `Dataset.fromGenerator` accepts: a function returning a (sync or async) iterator or iterable. */
export type GeneratorFactory<T> = () => Iterator<T> | AsyncIterator<T> | Iterable<T> | AsyncIterable<T>;

/**
 * `Dataset.fromGenerator`: the elements of a generator. Its position cannot be captured, so
 * saving is governed by the external state policy; under "warn" and "ignore" a restored
 * iterator restarts the generator from its beginning (as TensorFlow does).
 */
export class FromGeneratorNode<T> extends SourceNode<T> {
  readonly label = KIND;

  constructor(private readonly factory: GeneratorFactory<T>) {
    super();
    if (typeof factory !== "function") {
      throw invalidArgument(
        "fromGenerator(factory)",
        "a function that returns an iterator or iterable",
        factory,
        "Pass the generator function itself, e.g. fromGenerator(function* () { yield 1; }).",
      );
    }
  }

  cardinality(): null {
    return null;
  }

  makeIterator(): OpIterator<T> {
    return new FromGeneratorIterator(this.factory);
  }
}

class FromGeneratorIterator<T> implements OpIterator<T> {
  private source: Iterator<T> | AsyncIterator<T> | null = null;
  private ended = false;
  private readonly onResult = (result: IteratorResult<T>): T | typeof END => {
    if (result.done === true) {
      this.ended = true;
      return END;
    }
    return result.value;
  };

  constructor(private readonly factory: GeneratorFactory<T>) {}

  next(): Pull<T> {
    if (this.ended) return END;
    const source = (this.source ??= open(this.factory()));
    const result = source.next();
    if (isPromiseLike(result)) return Promise.resolve(result).then(this.onResult);
    return this.onResult(result);
  }

  async save(ctx: SaveContext): Promise<OpState> {
    const message = `${KIND} holds external state: a generator's position cannot be saved, so a restored iterator restarts it ` + `from its beginning.`;
    if (ctx.policy === "fail") {
      throw new FailedPreconditionError(
        `Cannot save ${KIND}: ${message} To save the rest of the pipeline anyway, build it with ` +
          `.withOptions({ externalStatePolicy: "warn" }) or "ignore"; for exact resume use a checkpointable source ` +
          `(fromArray, range, or a file reader).`,
        { expected: "a checkpointable source", received: KIND, fix: 'withOptions({ externalStatePolicy: "warn" })' },
      );
    }
    if (ctx.policy === "warn") ctx.warn(message);
    return { kind: KIND, version: VERSION, ended: this.ended };
  }

  async restore(state: OpState): Promise<void> {
    this.ended = STATE.read(state).ended;
  }

  async close(): Promise<void> {
    const source = this.source;
    this.source = null;
    this.ended = true;
    if (source?.return !== undefined) await source.return();
  }
}

function open<T>(made: Iterator<T> | AsyncIterator<T> | Iterable<T> | AsyncIterable<T>): Iterator<T> | AsyncIterator<T> {
  if (typeof made === "object" && made !== null) {
    if (typeof (made as Partial<Iterator<T>>).next === "function") return made as Iterator<T> | AsyncIterator<T>;
    if (Symbol.asyncIterator in made) return made[Symbol.asyncIterator]();
    if (Symbol.iterator in made) return made[Symbol.iterator]();
  }
  throw invalidArgument(
    "fromGenerator(factory)",
    "a factory returning an iterator or iterable",
    made,
    "Make the factory return a generator, an array, or any (async) iterable.",
  );
}
