/**
 * Tensors: values a session evaluates. `constant`, `placeholder` and `computed` make the
 * common kinds; `Variable` (variable.ts) and `getNext` (get-next.ts) the stateful ones.
 *
 * @module
 */
import { InvalidArgumentError, invalidArgument } from "../errors.js";
import type { Awaitable } from "./awaitable.js";
import { Graph } from "./graph.js";
import type { RunScope } from "./run-scope.js";

/**
 * Something a session evaluates: a named value of a graph. A run evaluates each tensor at most
 * once (unless {@link memoized} is false) and a feed replaces its value for that run.
 *
 * Subclass it by implementing {@link evaluate}; or use {@link computed}.
 *
 * @example
 * class Now extends Tensor<number> {
 *   constructor() { super("now"); }
 *   evaluate(): number { return Date.now(); }
 * }
 */
export abstract class Tensor<T> {
  /** The tensor's name, unique in its graph (`"loss"`, then `"loss_1"`, ...). */
  readonly name: string;
  /** The graph that was default when the tensor was made, or null when none was. */
  readonly graph: Graph | null;
  /**
   * Whether a run evaluates this tensor at most once and hands every reader the same value
   * (true), or evaluates it at every read (false: a variable's read sees assignments made
   * earlier in the same run).
   */
  readonly memoized: boolean = true;

  /**
   * @param name the name asked for; made unique in the default graph, if there is one.
   * @throws {RuntimeError} when the default graph is finalized.
   */
  protected constructor(name: string) {
    this.graph = Graph.current();
    this.name = uniqueNodeName(this.graph, name, "Tensor");
  }

  /**
   * Computes the value in a run. Called by the run, never directly: use `session.run(tensor)`
   * or, inside another tensor or operation, `run.eval(tensor)`.
   *
   * @param run the current run; evaluate inputs with `run.eval(input)`.
   */
  abstract evaluate(run: RunScope): Awaitable<T>;

  toString(): string {
    return `Tensor("${this.name}")`;
  }
}

/**
 * The name of a new node: `name` made unique in `graph`, when there is one. Internal.
 *
 * @param graph the node's graph, or null.
 * @param name the name asked for.
 * @param kind what is being named, for the error, e.g. `"Operation"`.
 * @throws {InvalidArgumentError} when `name` is not a non-empty string.
 * @throws {RuntimeError} when the graph is finalized.
 * @example
 * uniqueNodeName(graph, "loss", "Tensor"); // "loss", then "loss_1"
 */
export function uniqueNodeName(graph: Graph | null, name: string, kind: string): string {
  if (typeof name !== "string" || name === "") {
    throw invalidArgument(`${kind}(name)`, "a non-empty string", name, 'Pass a name, e.g. "loss".');
  }
  return graph === null ? name : graph.uniqueName(name);
}

class ConstantTensor<T> extends Tensor<T> {
  constructor(
    private readonly value: T,
    name: string,
  ) {
    super(name);
  }

  evaluate(): T {
    return this.value;
  }
}

class PlaceholderTensor<T> extends Tensor<T> {
  constructor(name: string) {
    super(name);
  }

  evaluate(): never {
    const fix = "Pass its value in the run's feeds, e.g. session.run(fetches, new Map([[x, value]])).";
    throw new InvalidArgumentError(`You must feed a value for placeholder tensor "${this.name}". ${fix}`, {
      expected: "a fed value",
      received: "no feed",
      fix,
    });
  }
}

class ComputedTensor<T> extends Tensor<T> {
  constructor(
    name: string,
    private readonly fn: (run: RunScope) => Awaitable<T>,
  ) {
    super(name);
  }

  evaluate(run: RunScope): Awaitable<T> {
    return this.fn(run);
  }
}

/**
 * A tensor that always evaluates to `value`.
 *
 * @param value the value.
 * @param name the name (default `"Const"`).
 * @throws {RuntimeError} when the default graph is finalized.
 * @example
 * await session.run(constant(3)); // 3
 */
export function constant<T>(value: T, name = "Const"): Tensor<T> {
  return new ConstantTensor(value, name);
}

/**
 * A tensor with no value of its own: every run that reads it must feed it.
 *
 * @param name the name (default `"Placeholder"`).
 * @throws {RuntimeError} when the default graph is finalized.
 * @example
 * const x = placeholder<number>("x");
 * await session.run(x, new Map([[x, 4]])); // 4
 */
export function placeholder<T>(name = "Placeholder"): Tensor<T> {
  return new PlaceholderTensor<T>(name);
}

/**
 * A tensor computed from other tensors by `fn`, once per run: the model math of a graph.
 *
 * @param name the name, e.g. `"loss"`.
 * @param fn computes the value; read inputs with `await run.eval(input)`. May be async.
 * @throws {InvalidArgumentError} when `fn` is not a function.
 * @throws {RuntimeError} when the default graph is finalized.
 * @example
 * const loss = computed("loss", async (run) => ((await run.eval(features)) - (await run.eval(w))) ** 2);
 */
export function computed<T>(name: string, fn: (run: RunScope) => Awaitable<T>): Tensor<T> {
  if (typeof fn !== "function") {
    throw invalidArgument("computed(name, fn)", "a function", fn, "Pass (run) => value, reading inputs with run.eval(input).");
  }
  return new ComputedTensor(name, fn);
}
