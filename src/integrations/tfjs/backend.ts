/**
 * Choosing the tfjs backend without the cpu backend's banner.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { describeValue, FailedPreconditionError, InvalidArgumentError } from "../../errors.js";

/**
 * Sets the tfjs backend and waits until it is ready. For the pure-JavaScript `"cpu"` backend it
 * also turns off the "install tfjs-node" banner that backend prints to stderr at its first
 * tensor in Node.js. Call it before any tensor is made (building a model makes some).
 *
 * Only the banner is turned off: tfjs's other warnings stay, and `PROD` mode is not set.
 *
 * @param name a registered backend (default `"cpu"`; `"wasm"` once
 *   `@tensorflow/tfjs-backend-wasm` is imported).
 * @throws {InvalidArgumentError} when `name` is not a non-empty string.
 * @throws {FailedPreconditionError} when the backend is not registered or fails to start.
 * @example
 * await setBackendQuietly("cpu");
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 */
export async function setBackendQuietly(name = "cpu"): Promise<void> {
  if (typeof name !== "string" || name === "") {
    throw new InvalidArgumentError(`setBackendQuietly(name) needs a backend name such as "cpu"; got ${describeValue(name)}.`, {
      expected: "a backend name",
      received: describeValue(name),
    });
  }
  const ok = tf.findBackendFactory(name) !== null && (await tf.setBackend(name));
  if (!ok) {
    throw new FailedPreconditionError(`The tfjs backend "${name}" is not registered or failed to start.`, {
      expected: "a registered backend",
      received: name,
      fix: `Import the package that registers it (e.g. @tensorflow/tfjs-backend-${name}) first, or use "cpu".`,
    });
  }
  await tf.ready();
  quietCpuBanner();
}

/** Marks the current cpu backend as used, so that it does not print its banner. */
export function quietCpuBanner(): void {
  if (tf.getBackend() !== "cpu") return;
  const backend = tf.backend() as unknown as { firstUse?: unknown };
  if (typeof backend.firstUse === "boolean") backend.firstUse = false;
}
