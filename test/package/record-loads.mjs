// Preloaded with `node --import` by test/entry-points.test.ts: appends the URL of every module
// Node loads to the file named by CHECKPIPE_LOADS_LOG, so a test sees what an import pulls in.
// On the main thread it registers itself; on the hooks thread it is the `load` hook.
import { appendFileSync } from "node:fs";
import { register } from "node:module";
import { isMainThread } from "node:worker_threads";

if (isMainThread) register(import.meta.url);

/** Records the module's URL, then loads it as Node would. */
export async function load(url, context, nextLoad) {
  const log = process.env["CHECKPIPE_LOADS_LOG"];
  if (log !== undefined) appendFileSync(log, `${url}\n`);
  return nextLoad(url, context);
}
