/**
 * Operations: named async actions a session runs, e.g. a training step. `group` and `noOp`
 * combine them.
 *
 * @module
 */
import { invalidArgument } from "../errors.js";
import type { Awaitable } from "./awaitable.js";
import { Graph } from "./graph.js";
import type { RunScope } from "./run-scope.js";
import { Tensor, uniqueNodeName } from "./tensor.js";

/**
 * A named action a session runs: its function reads tensors with `run.eval(tensor)` and
 * changes state (assigns variables, writes files). A run runs each operation at most once;
 * fetching it gives `null`.
 *
 * @example
 * const train = new Operation("train", async (run) => {
 *   const x = await run.eval(features);
 *   w.assign(w.value - 0.1 * (w.value - x));
 * });
 */
export class Operation {
  /** The operation's name, unique in its graph. */
  readonly name: string;
  /** The graph that was default when the operation was made, or null when none was. */
  readonly graph: Graph | null;
  private readonly fn: (run: RunScope) => Awaitable<unknown>;

  /**
   * @param name the name asked for, e.g. `"train"`; made unique in the default graph.
   * @param fn the action; may be async. What it returns is ignored.
   * @throws {InvalidArgumentError} when `fn` is not a function or `name` is empty.
   * @throws {RuntimeError} when the default graph is finalized.
   */
  constructor(name: string, fn: (run: RunScope) => Awaitable<unknown>) {
    if (typeof fn !== "function") {
      throw invalidArgument("new Operation(name, fn)", "a function", fn, "Pass async (run) => { ... }, reading tensors with run.eval(tensor).");
    }
    this.graph = Graph.current();
    this.name = uniqueNodeName(this.graph, name, "Operation");
    this.fn = fn;
  }

  /**
   * Performs the action in a run. Called by the run, never directly: use
   * `session.run(operation)` or, inside another operation, `run.eval(operation)`.
   *
   * @param run the current run.
   */
  async execute(run: RunScope): Promise<void> {
    await this.fn(run);
  }

  toString(): string {
    return `Operation("${this.name}")`;
  }
}

/**
 * An operation that runs `inputs` one after another, in order: operations are run, tensors
 * evaluated (for their effect, e.g. pulling an element). Named `"group_deps"`.
 *
 * @param inputs the operations and tensors to run.
 * @throws {InvalidArgumentError} when an input is neither an Operation nor a Tensor.
 * @example
 * const trainOp = group(updateWeights, assignAdd(getOrCreateGlobalStep(), 1));
 */
export function group(...inputs: readonly (Operation | Tensor<unknown>)[]): Operation {
  inputs.forEach((input, i) => {
    if (!(input instanceof Operation) && !(input instanceof Tensor)) {
      throw invalidArgument(`group(...inputs)[${i}]`, "an Operation or a Tensor", input, "Pass operations and tensors of the graph.");
    }
  });
  return new Operation("group_deps", async (run) => {
    for (const input of inputs) {
      // Two calls, one per overload of run.eval.
      if (input instanceof Operation) await run.eval(input);
      else await run.eval(input);
    }
  });
}

/**
 * An operation that does nothing, e.g. a default train op or a hook's placeholder action.
 *
 * @param name the name (default `"NoOp"`).
 * @example
 * await session.run(noOp()); // null
 */
export function noOp(name = "NoOp"): Operation {
  return new Operation(name, () => undefined);
}
