/**
 * The global step a hook needs, looked up in its `begin()`.
 *
 * @module
 */
import { RuntimeError } from "../../errors.js";
import { getGlobalStep } from "../global-step.js";
import type { Variable } from "../variable.js";

/**
 * The default graph's global step, for the hook named `hookName`. Internal to the hooks.
 *
 * @param hookName the hook's class name, for the message, e.g. `"StopAtStepHook"`.
 * @throws {RuntimeError} "Global step should be created to use <hookName>." when the graph has
 *   none (TensorFlow's wording), or when there is no default graph.
 * @example
 * this.globalStep = requireGlobalStep("StopAtStepHook");
 */
export function requireGlobalStep(hookName: string): Variable<number> {
  const step = getGlobalStep();
  if (step !== null) return step;
  const fix = "Create it with getOrCreateGlobalStep() while building the graph, and increment it in the train op, e.g. with assignAdd(step).";
  throw new RuntimeError(`Global step should be created to use ${hookName}. ${fix}`, {
    expected: "a global step in the default graph",
    received: "none",
    fix,
  });
}
