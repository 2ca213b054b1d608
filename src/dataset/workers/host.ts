/**
 * The entry module of the library's worker threads: it maps batches of elements with a
 * function named by module (`mapInWorkers`) and runs the pipelines of `Dataset.fromWorkers`,
 * one per `pipeline` id, each command after the previous one of its pipeline. Every request
 * is answered once, on the port it came from, in the form of protocol.ts.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, describeValue } from "../../errors.js";
import type { JsonValue } from "../../core/state.js";
import type { HostReply, HostRequest, ModuleExport, WireEntry } from "./protocol.js";
import { toWire, transferables } from "./wire.js";

/** What a pipeline's iterator must offer (a checkpipe `DatasetIterator`). */
interface PipelineIterator {
  next(): Promise<IteratorResult<unknown>>;
  save(): Promise<JsonValue>;
  restore(state: JsonValue): Promise<void>;
  close(): Promise<void>;
}

/** How long one pull may keep producing before it answers with what it has (at least one entry). */
const PULL_BUDGET_MS = 20;

const loaded = new Map<string, Promise<(...args: unknown[]) => unknown>>();
const pipelines = new Map<number, { iterator: Promise<PipelineIterator>; tail: Promise<unknown> }>();
/** Buffers moved to the main thread: one met again was returned twice (see transferables). */
const sent = new WeakSet<ArrayBuffer>();

/** The export, loaded once per module and name. */
function load({ module, export: name }: ModuleExport, who: string): Promise<(...args: unknown[]) => unknown> {
  const key = `${name}\u0000${module}`;
  let fn = loaded.get(key);
  if (fn === undefined) {
    fn = importExport(module, name, who);
    loaded.set(key, fn);
  }
  return fn;
}

async function importExport(module: string, name: string, who: string): Promise<(...args: unknown[]) => unknown> {
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(module)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const reason = error instanceof Error ? error.message : describeValue(error);
    const Class = code === "ERR_MODULE_NOT_FOUND" ? NotFoundError : FailedPreconditionError;
    throw new Class(
      `${who}: cannot load the module ${JSON.stringify(module)} in a worker thread (${reason}). Pass the path or URL of an ES module that loads on its own.`,
      {
        expected: "an ES module that loads",
        received: reason,
        fix: "Check the path, and that the module loads with node on its own.",
        cause: error,
      },
    );
  }
  const fn = Object.hasOwn(namespace, name) ? namespace[name] : undefined;
  if (typeof fn !== "function") {
    const exports = Object.keys(namespace).filter((k) => typeof namespace[k] === "function");
    throw new InvalidArgumentError(
      `${who}: the module ${JSON.stringify(module)} has no function exported as ${JSON.stringify(name)}; its function exports are ${JSON.stringify(exports)}. ` +
        `Pass { export: "<name>" }, or export the function as default.`,
      {
        expected: `a function exported as ${JSON.stringify(name)}`,
        received: fn === undefined ? "no such export" : describeValue(fn),
        fix: "Name the export that holds the function.",
      },
    );
  }
  return fn as (...args: unknown[]) => unknown;
}

/** Maps one batch: every element's value or error, calls of async functions overlapping. */
async function map(request: Extract<HostRequest, { op: "map" }>): Promise<WireEntry[]> {
  const fn = await load(request, "mapInWorkers");
  const entries: (WireEntry | Promise<WireEntry>)[] = request.elements.map((element) => {
    try {
      const result = fn(element);
      if (!(result instanceof Promise)) return { value: result };
      return result.then(
        (value: unknown) => ({ value }),
        (error: unknown) => ({ error: toWire(error) }),
      );
    } catch (error) {
      return { error: toWire(error) };
    }
  });
  // eslint-disable-next-line @typescript-eslint/await-thenable -- a mix of values and Promises: Promise.all waits for those that are Promises
  return Promise.all(entries);
}

/** Opens pipeline `workerIndex` of `numWorkers`: the export's Dataset, its iterator, restored when a state is given. */
async function open(request: Extract<HostRequest, { op: "open" }>): Promise<PipelineIterator> {
  const build = await load(request, "Dataset.fromWorkers");
  const dataset = (await build({ workerIndex: request.workerIndex, numWorkers: request.numWorkers })) as { iterator?: unknown } | null;
  if (typeof dataset !== "object" || dataset === null || typeof dataset.iterator !== "function") {
    throw new InvalidArgumentError(
      `Dataset.fromWorkers: the export ${JSON.stringify(request.export)} of ${JSON.stringify(request.module)} must return a Dataset for worker ${request.workerIndex}; got ${describeValue(dataset)}.`,
      { expected: "a Dataset", received: describeValue(dataset), fix: "Return the worker's Dataset, e.g. Dataset.tfrecord(files[workerIndex])." },
    );
  }
  const iterator = (dataset.iterator as () => PipelineIterator).call(dataset);
  if (request.state !== null) await iterator.restore(request.state);
  return iterator;
}

/** Up to `max` entries of the pipeline (fewer once the budget is spent), and whether it ended. */
async function pull(iterator: PipelineIterator, max: number): Promise<{ entries: WireEntry[]; ended: boolean }> {
  const entries: WireEntry[] = [];
  const started = performance.now();
  while (entries.length < max && (entries.length === 0 || performance.now() - started < PULL_BUDGET_MS)) {
    try {
      const result = await iterator.next();
      if (result.done === true) return { entries, ended: true };
      entries.push({ value: result.value });
    } catch (error) {
      entries.push({ error: toWire(error) });
    }
  }
  return { entries, ended: false };
}

/** Carries out one pipeline command, after the previous one of that pipeline. */
function command(request: Exclude<HostRequest, { op: "map" }>): Promise<Omit<HostReply, "id">> {
  if (request.op === "open") {
    const iterator = open(request);
    // A failed open is reported by this reply; later commands see it again.
    pipelines.set(request.pipeline, { iterator, tail: iterator.catch(() => undefined) });
    return iterator.then(() => ({}));
  }
  const pipeline = pipelines.get(request.pipeline);
  if (pipeline === undefined)
    return Promise.resolve({ fatal: toWire(new FailedPreconditionError(`Dataset.fromWorkers: no pipeline ${request.pipeline} in this worker.`)) });
  const run = async (): Promise<Omit<HostReply, "id">> => {
    const iterator = await pipeline.iterator;
    switch (request.op) {
      case "pull":
        return pull(iterator, request.max);
      case "save":
        return { state: await iterator.save() };
      case "close":
        pipelines.delete(request.pipeline);
        await iterator.close();
        return {};
    }
  };
  const done = pipeline.tail.then(run);
  pipeline.tail = done.catch(() => undefined);
  return done;
}

/** Answers a request; entries' whole buffers move to the main thread when `transfer` is set. */
async function answer(request: HostRequest): Promise<void> {
  const started = performance.now();
  let reply: HostReply;
  try {
    const result = request.op === "map" ? { entries: await map(request) } : await command(request);
    reply = { id: request.id, ...result, busyMs: performance.now() - started };
  } catch (error) {
    reply = { id: request.id, fatal: toWire(error) };
  }
  post(reply, "transfer" in request && request.transfer);
}

function post(reply: HostReply, transfer: boolean): void {
  const entries = reply.entries;
  let list: ArrayBuffer[] = [];
  if (transfer && entries !== undefined) {
    list = transferables(entries, sent, (index) => {
      entries[index] = { error: toWire(new FailedPreconditionError(reusedMessage())) };
    });
  }
  try {
    parentPort?.postMessage(reply, list);
  } catch (error) {
    if (entries === undefined) {
      parentPort?.postMessage({ id: reply.id, fatal: toWire(error) } satisfies HostReply);
      return;
    }
    // Some value cannot be cloned (a function, a symbol): that entry fails, the others cross.
    const checked = entries.map((entry): WireEntry => {
      if (!("value" in entry)) return entry;
      try {
        structuredClone(entry.value);
        return entry;
      } catch (cause) {
        return { error: toWire(uncloneable(cause)) };
      }
    });
    parentPort?.postMessage({ ...reply, entries: checked });
  }
}

function reusedMessage(): string {
  return (
    "A typed array or ArrayBuffer in this element was handed to the main thread before (moved, not copied, so it is empty here now): " +
    "an element must not share buffers with earlier ones. Return fresh arrays (or copies), or pass { transfer: false }."
  );
}

function uncloneable(cause: unknown): InvalidArgumentError {
  const reason = cause instanceof Error ? cause.message : describeValue(cause);
  return new InvalidArgumentError(
    `This element cannot cross from a worker thread (${reason}). Elements must be structured-cloneable data: no functions, symbols or class instances with behaviour.`,
    {
      expected: "structured-cloneable data",
      received: reason,
      fix: "Return plain data (objects, arrays, numbers, strings, typed arrays, Map, Set, Date).",
      cause,
    },
  );
}

parentPort?.on("message", (request: HostRequest) => {
  void answer(request);
});
