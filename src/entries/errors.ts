/**
 * The errors every entry point exports: the classes (categories), their codes and reasons.
 *
 * @module
 */
export {
  AbortedError,
  CheckpipeError,
  DataLossError,
  FailedPreconditionError,
  InvalidArgumentError,
  NanLossDuringTrainingError,
  NotFoundError,
  OutOfRangeError,
  RuntimeError,
  UnavailableError,
  ValueError,
  REASONS,
  type ErrorReason,
  type ErrorCode,
  type ErrorDetails,
} from "../errors.js";
