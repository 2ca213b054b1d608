/**
 * Variables: the state of a model, saved in checkpoints.
 *
 * @module
 */
import type { Saveable } from "../checkpoint/saveable.js";
import { InvalidArgumentError, describeValue, invalidArgument } from "../errors.js";
import { Graph, GraphKeys } from "./graph.js";
import { Operation } from "./operation.js";
import { Tensor } from "./tensor.js";

/** Options of `new Variable(name, initialValue, options)`. */
export interface VariableOptions {
  /** Whether an optimizer trains it: adds it to `TRAINABLE_VARIABLES` (default true). */
  readonly trainable?: boolean;
  /** The collections it joins (default `[GraphKeys.GLOBAL_VARIABLES]`). */
  readonly collections?: readonly string[];
}

/**
 * A tensor that holds a value between runs and can be assigned: a model weight, the global
 * step. It is a {@link Saveable} (its checkpoint key is its name) and joins the default graph's
 * `GLOBAL_VARIABLES` collection when made under `graph.asDefault(...)`.
 *
 * The value lives in the variable itself and starts as `initialValue`; a session's
 * initializer sets it back, a restore replaces it. Reads are never cached within a run, so
 * a fetch sees the assignments the run's operations made.
 *
 * @example
 * const w = new Variable("w", 0);
 * const train = new Operation("train", async (run) => { w.assign(w.value + (await run.eval(x))); });
 * await session.run([train, w]); // [null, new value of w]
 */
export class Variable<T> extends Tensor<T> implements Saveable {
  override readonly memoized = false;
  /** The value the variable starts with and its initializer sets. */
  readonly initialValue: T;
  /** Whether an optimizer trains it. */
  readonly trainable: boolean;
  /** An operation that sets the variable back to its initial value (named `"<name>/Assign"`). */
  readonly initializer: Operation;
  private current: T;

  /**
   * @param name the name asked for (made unique in the default graph): the checkpoint key.
   * @param initialValue the starting value; anything but undefined.
   * @param options trainable (default true) and collections (default `["variables"]`).
   * @throws {InvalidArgumentError} when `initialValue` is undefined or `name` is empty.
   * @throws {RuntimeError} when the default graph is finalized.
   */
  constructor(name: string, initialValue: T, options: VariableOptions = {}) {
    if (initialValue === undefined) {
      throw invalidArgument(`new Variable("${name}", initialValue)`, "an initial value", undefined, "Pass the value it starts with, e.g. 0.");
    }
    super(name);
    this.initialValue = initialValue;
    this.current = initialValue;
    this.trainable = options.trainable ?? true;
    this.initializer = new Operation(`${this.name}/Assign`, () => this.assign(this.initialValue));
    const graph = this.graph;
    if (graph === null) return;
    for (const key of options.collections ?? [GraphKeys.GLOBAL_VARIABLES]) graph.addToCollection(key, this);
    if (this.trainable) graph.addToCollection(GraphKeys.TRAINABLE_VARIABLES, this);
  }

  /** The current value. */
  get value(): T {
    return this.current;
  }

  /**
   * Replaces the value and returns it.
   *
   * @param value the new value.
   * @example
   * step.assign(step.value + 1);
   */
  assign(value: T): T {
    this.current = value;
    return value;
  }

  /** The current value (a variable's read in a run). */
  evaluate(): T {
    return this.current;
  }

  /**
   * The value to write to a checkpoint: the current value itself (not a copy).
   *
   * @example
   * await w.save(); // 0.5
   */
  save(): Promise<unknown> {
    return Promise.resolve(this.current);
  }

  /**
   * Assigns a value read from a checkpoint.
   *
   * @param value the saved value.
   * @throws {InvalidArgumentError} when the value is of another kind than the initial value
   *   (a string for a number variable, a Float32Array for a Float64Array one, ...).
   * @example
   * await w.restore(0.5);
   */
  restore(value: unknown): Promise<void> {
    const want = kindOf(this.initialValue);
    const got = kindOf(value);
    if (want !== got) {
      const fix = "Restore a checkpoint saved from this model, or give this variable another name.";
      return Promise.reject(
        new InvalidArgumentError(`Cannot restore variable "${this.name}": it holds ${want}; the checkpoint has ${describeValue(value)}. ${fix}`, {
          expected: want,
          received: describeValue(value),
          fix,
        }),
      );
    }
    // Safe as far as can be checked: the value has the kind of the initial value.
    this.current = value as T;
    return Promise.resolve();
  }

  override toString(): string {
    return `Variable("${this.name}")`;
  }
}

/** "a number", "an array", "a Float32Array", ... */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
}

/**
 * An operation that adds `delta` to a number variable each time it runs (TensorFlow's
 * `assign_add`), named `"<variable>/AssignAdd"`.
 *
 * @param variable the variable, e.g. the global step.
 * @param delta what to add (default 1).
 * @throws {InvalidArgumentError} when `delta` is not a finite number.
 * @example
 * const trainOp = group(updateWeights, assignAdd(getOrCreateGlobalStep()));
 */
export function assignAdd(variable: Variable<number>, delta = 1): Operation {
  if (!Number.isFinite(delta)) {
    throw invalidArgument("assignAdd(variable, delta)", "a finite number", delta, "Pass how much to add, e.g. 1.");
  }
  return new Operation(`${variable.name}/AssignAdd`, () => variable.assign(variable.value + delta));
}

/**
 * An operation that sets every variable of the graph's `GLOBAL_VARIABLES` collection, as it is
 * now, back to its initial value (TensorFlow's `global_variables_initializer`, named `"init"`).
 *
 * @param graph the graph (default: the default graph).
 * @throws {RuntimeError} when no graph is given and there is no default graph, or the graph is
 *   finalized.
 * @example
 * await session.run(globalVariablesInitializer());
 */
export function globalVariablesInitializer(graph: Graph = Graph.getDefault()): Operation {
  const variables = graph.getCollection(GraphKeys.GLOBAL_VARIABLES);
  return graph.asDefault(
    () =>
      new Operation("init", async (run) => {
        for (const variable of variables) await run.eval(variable.initializer);
      }),
  );
}
