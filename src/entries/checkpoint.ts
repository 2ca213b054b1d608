/**
 * `checkpipe/checkpoint`: the checkpoint store — `Saver`, saveables over iterators and
 * values, and the `checkpoint` state files.
 *
 * @packageDocumentation
 */
export { makeSaveable, makeSaveableFromIterator, type Saveable } from "../checkpoint/saveable.js";
export { Saver, type RestoredCheckpoint, type SaveCheckpointOptions, type SaverOptions } from "../checkpoint/saver.js";
export { getCheckpointState, latestCheckpoint, type CheckpointState } from "../checkpoint/checkpoint-state.js";
export { CheckpointedLoop, type CheckpointedLoopOptions, type LoopElement } from "../loop/checkpointed-loop.js";
export * from "./errors.js";
