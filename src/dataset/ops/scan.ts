import {
  END,
  UnaryIterator,
  UnaryNode,
  type DatasetNode,
  type End,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../../core/iterator.js";
import { opState, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { element, encodeValue } from "../../core/value-codec.js";
import { invalidArgument } from "../../errors.js";
import { requireFunction } from "../validate.js";

const KIND = "Scan";
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { state: element, input: opState });

/** A scan step: from the running state and an element, the new state and the output. */
export type ScanFn<S, T, U> = (state: S, value: T) => readonly [S, U] | Promise<readonly [S, U]>;

/** `dataset.scan(initialState, fn)`: like map, with a running state that is saved too. */
export class ScanNode<S, T, U> extends UnaryNode<T, U> {
  readonly label = KIND;

  constructor(
    input: DatasetNode<T>,
    private readonly initialState: S,
    private readonly fn: ScanFn<S, T, U>,
  ) {
    super(input);
    requireFunction("scan(initialState, fn)", fn, "Pass a function (state, element) => [newState, output].");
    encodeValue(initialState, "scan initial state");
  }

  makeIterator(ctx: IteratorContext): OpIterator<U> {
    return new ScanIterator(this.input.makeIterator(ctx), this.initialState, this.fn);
  }
}

class ScanIterator<S, T, U> extends UnaryIterator<T, U> {
  private readonly step = (value: T | End): Pull<U> => {
    if (value === END) return END;
    const result = this.fn(this.state, value);
    return result instanceof Promise ? result.then(this.land) : this.land(result);
  };
  private readonly land = (result: readonly [S, U]): U => {
    if (!Array.isArray(result) || result.length !== 2) {
      throw invalidArgument("scan(initialState, fn)", "fn to return [newState, output]", result, "Return a pair: the new state and the element to yield.");
    }
    this.state = result[0];
    return result[1];
  };

  constructor(
    input: OpIterator<T>,
    private state: S,
    private readonly fn: ScanFn<S, T, U>,
  ) {
    super(input);
  }

  next(): Pull<U> {
    const value = this.input.next();
    if (value instanceof Promise) return value.then(this.step);
    return this.step(value);
  }

  async save(ctx: SaveContext): Promise<OpState> {
    return { kind: KIND, version: VERSION, state: encodeValue(this.state, "scan state", ctx.sink), input: await this.input.save(ctx) };
  }

  async restore(state: OpState): Promise<void> {
    const saved = STATE.read(state);
    this.state = saved.state as S;
    await this.input.restore(saved.input);
  }
}
