// The pool comparison's plain worker_threads side: the same task behind postMessage.
import { parentPort } from "node:worker_threads";
import double from "./batch-task.mjs";

parentPort.on("message", ({ id, batch }) => parentPort.postMessage({ id, out: double(batch) }));
