/**
 * The global step: the number of training steps taken, the variable every checkpoint is
 * numbered by.
 *
 * @module
 */
import { InvalidArgumentError, describeValue } from "../errors.js";
import { Graph, GraphKeys } from "./graph.js";
import { Variable } from "./variable.js";

const NAME = "global_step";

/**
 * The graph's global step variable, or null when it has none: the single entry of the
 * `GLOBAL_STEP` collection, else a variable named `"global_step"` (as TensorFlow looks it up).
 *
 * @param graph the graph (default: the default graph).
 * @throws {RuntimeError} when no graph is given and there is no default graph.
 * @throws {InvalidArgumentError} when the collection holds several variables, or the variable
 *   named `"global_step"` does not hold an integer.
 * @example
 * const step = getGlobalStep(graph); // Variable<number> | null
 */
export function getGlobalStep(graph: Graph = Graph.getDefault()): Variable<number> | null {
  const steps = graph.getCollection(GraphKeys.GLOBAL_STEP);
  if (steps.length > 1) {
    const fix = "Create the global step once, with getOrCreateGlobalStep().";
    throw new InvalidArgumentError(`Multiple tensors in global_step collection: ${steps.map((s) => `"${s.name}"`).join(", ")}. ${fix}`, {
      expected: "at most one global step",
      received: `${steps.length}`,
      fix,
    });
  }
  if (steps[0] !== undefined) return steps[0];
  const named = graph.getCollection(GraphKeys.GLOBAL_VARIABLES).find((v) => v.name === NAME);
  if (named === undefined) return null;
  if (!Number.isInteger(named.value)) {
    const fix = 'Let getOrCreateGlobalStep() make it, or name your own variable something other than "global_step".';
    throw new InvalidArgumentError(`Existing "global_step" is not an integer: it holds ${describeValue(named.value)}. ${fix}`, {
      expected: "an integer",
      received: describeValue(named.value),
      fix,
    });
  }
  // Checked just above: it holds an integer.
  return named as Variable<number>;
}

/**
 * The graph's global step, created when missing: a non-trainable variable named
 * `"global_step"`, starting at 0, in the `GLOBAL_VARIABLES` and `GLOBAL_STEP` collections.
 * Increment it in the train op, e.g. with `assignAdd(globalStep)`.
 *
 * @param graph the graph (default: the default graph).
 * @throws {RuntimeError} when no graph is given and there is no default graph, or when it must
 *   be created and the graph is finalized.
 * @example
 * const step = getOrCreateGlobalStep();
 * const trainOp = group(update, assignAdd(step)); // each run adds 1
 */
export function getOrCreateGlobalStep(graph: Graph = Graph.getDefault()): Variable<number> {
  return (
    getGlobalStep(graph) ??
    graph.asDefault(
      () =>
        new Variable(NAME, 0, {
          trainable: false,
          collections: [GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP],
        }),
    )
  );
}
