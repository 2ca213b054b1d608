/**
 * `checkpipe/testing`: for people writing their own sources and ops — the op interfaces an
 * op implements, and the checkpoint conformance harness every op of checkpipe passes
 * (`checkCheckpointing`: an uninterrupted run against restores from unused, fully used and
 * exhausted iterators, breaks at ten points, single and sequential, and restores into used
 * iterators). It runs under any test runner and needs none.
 *
 * @example
 * import { checkCheckpointing } from "checkpipe/testing";
 * test("my op resumes exactly", () => checkCheckpointing(() => Dataset.range(100).apply(myOp)));
 *
 * @packageDocumentation
 */
export {
  binaryRoundTrip,
  breakPoints,
  checkCheckpointing,
  checkExhausted,
  checkFullyUsed,
  checkRestoreIntoUsed,
  checkSequentialBreaks,
  checkSingleBreaks,
  checkUnused,
  DEFAULT_CAP,
  drain,
  resumed,
  roundTrip,
  takeN,
  uninterrupted,
  type Build,
  type CheckpointOptions,
} from "../testing/checkpointing.js";
export {
  END,
  UnaryNode,
  type DatasetNode,
  type DatasetOptions,
  type ExternalStatePolicy,
  type IteratorContext,
  type OpIterator,
  type Pull,
  type SaveContext,
} from "../core/iterator.js";
export { stateSchema } from "../core/schema.js";
export type { IteratorState, JsonValue, OpState } from "../core/state.js";
