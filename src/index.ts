/**
 * checkpipe: tf.data-style input pipelines for TypeScript whose every iterator can be saved
 * and restored exactly. This entry point has everything; `checkpipe/data`,
 * `checkpipe/checkpoint`, `checkpipe/train`, `checkpipe/tfjs` and `checkpipe/testing` have
 * one layer each.
 *
 * @packageDocumentation
 */
export * from "./entries/data.js";
export * from "./entries/checkpoint.js";
export * from "./entries/train.js";
