/**
 * NanTensorHook: stops training when the loss becomes NaN (TensorFlow's `tf.train.NanTensorHook`,
 * TF_REFERENCE.md §2).
 *
 * @module
 */
import { NanLossDuringTrainingError, invalidArgument } from "../../errors.js";
import { consoleLogger, type Logger, type LoggerOptions } from "../logger.js";
import { SessionRunArgs, type SessionRunContext, type SessionRunHook, type SessionRunValues } from "../session-run-hook.js";
import { Tensor } from "../tensor.js";

/** What the hook logs when the loss is NaN (TensorFlow's wording). */
const DIVERGED = "Model diverged with loss = NaN.";

/**
 * Fetches the loss with every run; when it is NaN, logs "Model diverged with loss = NaN." and
 * either throws {@link NanLossDuringTrainingError} (the default) or requests a stop.
 *
 * @example
 * const hooks = [new NanTensorHook(loss)];                // throws on NaN
 * const lenient = [new NanTensorHook(loss, false)];       // stops cleanly on NaN
 */
export class NanTensorHook implements SessionRunHook {
  private readonly logger: Logger;

  /**
   * @param loss the loss tensor, a number.
   * @param failOnNanLoss throw on NaN (true, the default) or only request a stop (false).
   * @param options `logger` (default the console logger).
   * @throws {InvalidArgumentError} when `loss` is not a Tensor.
   * @example
   * new NanTensorHook(loss, true, { logger });
   */
  constructor(
    private readonly loss: Tensor<number>,
    private readonly failOnNanLoss = true,
    options: LoggerOptions = {},
  ) {
    if (!(loss instanceof Tensor)) {
      throw invalidArgument("new NanTensorHook(loss)", "a Tensor", loss, "Pass the loss tensor of the model.");
    }
    this.logger = options.logger ?? consoleLogger;
  }

  /**
   * Fetches the loss.
   *
   * @param _ctx unused.
   * @example
   * hook.beforeRun(ctx); // SessionRunArgs(loss)
   */
  beforeRun(_ctx: SessionRunContext): SessionRunArgs {
    return new SessionRunArgs(this.loss);
  }

  /**
   * Checks the fetched loss.
   *
   * @param ctx the run's context.
   * @param values the fetched loss.
   * @throws {NanLossDuringTrainingError} "NaN loss during training." when the loss is NaN and
   *   `failOnNanLoss` (otherwise a stop is requested).
   * @example
   * hook.afterRun(ctx, new SessionRunValues(NaN)); // throws
   */
  afterRun(ctx: SessionRunContext, values: SessionRunValues): void {
    if (!Number.isNaN(values.results)) return;
    // The Logger has no error level: TensorFlow logs an error here when it throws, a warning when it stops.
    this.logger.warn(DIVERGED);
    if (!this.failOnNanLoss) {
      ctx.requestStop();
      return;
    }
    const fix =
      "Lower the learning rate, clip gradients, or check the input for NaN and Infinity; " + "pass failOnNanLoss = false to stop training cleanly instead.";
    throw new NanLossDuringTrainingError(`NaN loss during training. Tensor "${this.loss.name}" is NaN: the model diverged. ${fix}`, {
      expected: "a loss that is a number",
      received: "NaN",
      fix,
    });
  }
}
