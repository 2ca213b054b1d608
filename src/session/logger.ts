/**
 * Where hooks and the coordinator write their messages. Replaceable per object: each one that
 * logs takes a `logger` option, so tests and applications route messages where they want.
 *
 * @module
 */

/** Receives the messages of hooks and the coordinator. */
export interface Logger {
  /** A routine message, e.g. `"loss = 0.25, step = 100 (1.203 sec)"`. */
  info(message: string): void;
  /** Something that needs attention but does not stop training. */
  warn(message: string): void;
}

/** The option every logging object accepts. */
export interface LoggerOptions {
  /** Where messages go (default {@link consoleLogger}, i.e. stderr). */
  readonly logger?: Logger;
}

/**
 * The default logger: writes `INFO: ...` and `WARNING: ...` lines to stderr, as TensorFlow's
 * logging does.
 *
 * @example
 * consoleLogger.info("Saving checkpoints for 0 into model.ckpt.");
 */
export const consoleLogger: Logger = Object.freeze({
  info: (message: string): void => console.error(`INFO: ${message}`),
  warn: (message: string): void => console.error(`WARNING: ${message}`),
});

/**
 * A logger that drops every message, e.g. for tests.
 *
 * @example
 * new Coordinator({ logger: silentLogger });
 */
export const silentLogger: Logger = Object.freeze({
  info: (): void => undefined,
  warn: (): void => undefined,
});
