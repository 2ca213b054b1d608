/**
 * The options of the ops that run code on worker threads: which module and export, how many
 * threads. A module is named by path or URL since a closure cannot cross threads.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { NotFoundError, invalidArgument } from "../../errors.js";
import { requireInteger } from "../validate.js";
import type { ModuleExport } from "./protocol.js";

/** The most threads one op may ask for. */
export const MAX_WORKERS = 256;

/** The module and export to run, and the thread count. */
export interface WorkerSpec extends ModuleExport {
  readonly workers: number;
  /** The module as the user named it, for messages. */
  readonly shown: string;
}

/**
 * Checks `module` (a path, or a `file:` / `data:` URL, as a string or URL), `export` and
 * `workers` for the op `op` (e.g. `"mapInWorkers"`).
 *
 * @throws {InvalidArgumentError} for a module that is neither, an export that is not a
 *   non-empty string, or a thread count that is not an integer from 1 to {@link MAX_WORKERS}.
 * @throws {NotFoundError} for a file that does not exist.
 */
export function workerSpec(op: string, module: unknown, options: { readonly export?: unknown; readonly workers?: unknown }): WorkerSpec {
  const url = moduleUrl(op, module);
  if (url.protocol === "file:" && !existsSync(fileURLToPath(url))) {
    throw new NotFoundError(
      `${op}: no module at ${JSON.stringify(fileURLToPath(url))}. Check the path (relative paths start at ${JSON.stringify(process.cwd())}).`,
      {
        expected: "an existing ES module file",
        received: "no such file",
        fix: "Check the path.",
      },
    );
  }
  const name = options.export ?? "default";
  if (typeof name !== "string" || name === "") {
    throw invalidArgument(
      `${op}(module, { export })`,
      "the name of an export (a non-empty string)",
      name,
      'Pass e.g. { export: "augment" }, or leave it out for the default export.',
    );
  }
  const workers = requireInteger(
    `${op}(module, { workers })`,
    options.workers ?? availableParallelism(),
    1,
    `Pass how many worker threads to use, e.g. ${availableParallelism()} (the default: one per core).`,
    MAX_WORKERS,
  );
  return { module: url.href, export: name, workers, shown: module instanceof URL ? module.href : String(module) };
}

function moduleUrl(op: string, module: unknown): URL {
  const fix = 'Pass the path of an ES module (e.g. "./augment.mjs"), or a file: or data: URL.';
  if (module instanceof URL) {
    if (module.protocol !== "file:" && module.protocol !== "data:") throw invalidArgument(`${op}(module)`, "a file: or data: URL", module.href, fix);
    return module;
  }
  if (typeof module !== "string" || module === "") throw invalidArgument(`${op}(module)`, "a module path or URL", module, fix);
  if (/^(file|data):/i.test(module)) {
    try {
      return new URL(module);
    } catch {
      throw invalidArgument(`${op}(module)`, "a valid file: or data: URL", module, fix);
    }
  }
  return pathToFileURL(resolve(module));
}
