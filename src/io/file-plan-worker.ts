/**
 * The checkpoint writer thread's entry module: it carries out the plans the main thread posts
 * (see file-plan.ts), one at a time in the order posted, and answers each on the port it was
 * given: `{ id }` when done, `{ id, error }` when a file operation failed; and `{ id: READY }`
 * first, once it is loaded.
 *
 * @module
 */
import * as fs from "node:fs";
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { executePlan, READY, serializeFailure, type PlanReply, type PlanRequest } from "./plan-executor.js";

const replies = (workerData as { readonly replies?: MessagePort } | null)?.replies;
if (parentPort !== null && replies !== undefined) {
  parentPort.on("message", ({ id, plan }: PlanRequest) => {
    let reply: PlanReply;
    try {
      executePlan(plan, fs);
      reply = { id };
    } catch (error) {
      reply = { id, error: serializeFailure(error) };
    }
    replies.postMessage(reply);
  });
  // Loaded and listening: the main thread posts plans from now on.
  replies.postMessage({ id: READY } satisfies PlanReply);
}
