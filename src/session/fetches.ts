/**
 * What `session.run` takes and gives: fetch structures, their results, and feeds.
 *
 * @module
 */
import { InvalidArgumentError, describeValue } from "../errors.js";
import type { Graph } from "./graph.js";
import { Operation } from "./operation.js";
import { checkGraph, Pending, type Run } from "./run-scope.js";
import { Tensor } from "./tensor.js";

/** One thing a session can run: a tensor (gives its value) or an operation (gives null). */
export type Fetch = Tensor<unknown> | Operation;

/**
 * What `session.run` takes: a tensor, an operation, or an array or plain record of fetches,
 * nested to any depth.
 *
 * @example
 * const fetches: Fetches = { loss, step: [globalStep, trainOp] };
 */
export type Fetches = Fetch | readonly Fetches[] | { readonly [key: string]: Fetches };

/**
 * The result of running `F`: the same structure with each tensor replaced by its value and
 * each operation by null.
 *
 * @example
 * type R = FetchResult<{ loss: Tensor<number>; train: Operation }>; // { loss: number; train: null }
 */
export type FetchResult<F> = [Fetches] extends [F]
  ? unknown // F is only known as "some fetches"; this also keeps the type finite
  : F extends Tensor<infer T>
    ? T
    : F extends Operation
      ? null
      : F extends readonly unknown[]
        ? { -readonly [K in keyof F]: FetchResult<F[K]> }
        : F extends object
          ? { -readonly [K in keyof F]: FetchResult<F[K]> }
          : never;

/**
 * Values that replace tensors for one run: a Map from tensor to value, or an array of
 * `[tensor, value]` pairs.
 *
 * @example
 * const feeds: FeedDict = new Map([[x, 3]]);
 */
export type FeedDict = ReadonlyMap<Tensor<unknown>, unknown> | readonly (readonly [Tensor<unknown>, unknown])[];

/**
 * Checks a fetch structure and lists its operations, each once, in fetch order. Internal.
 *
 * @param fetches what the caller passed to `session.run`.
 * @param graph the session's graph.
 * @example
 * operationsOf([trainOp, loss, { again: trainOp }], graph); // [trainOp]
 * @throws {InvalidArgumentError} when a leaf is neither a Tensor nor an Operation.
 * @throws {ValueError} when a node belongs to another graph.
 */
export function operationsOf(fetches: unknown, graph: Graph): Operation[] {
  const operations = new Set<Operation>();
  const visit = (fetch: unknown): void => {
    if (fetch instanceof Operation) {
      checkGraph(fetch, graph);
      operations.add(fetch);
    } else if (fetch instanceof Tensor) {
      checkGraph(fetch, graph);
    } else if (Array.isArray(fetch)) {
      for (const item of fetch) visit(item);
    } else if (isRecord(fetch)) {
      for (const key in fetch) visit(fetch[key]);
    } else {
      const fix = "Fetch tensors and operations of the graph; wrap a plain value with constant(value).";
      throw new InvalidArgumentError(
        `Fetch argument ${describeValue(fetch)} at ${pathOf(fetches, fetch) ?? "fetches"} has invalid type: session.run needs a Tensor, an Operation, ` +
          `or an array or record of them. ${fix}`,
        { expected: "a Tensor, an Operation, or an array or record of them", received: describeValue(fetch), fix },
      );
    }
  };
  visit(fetches);
  return [...operations];
}

/** Where `target` sits in `fetches`, e.g. `fetches.a[2]`: for error messages only. */
function pathOf(fetches: unknown, target: unknown, path = "fetches"): string | null {
  if (fetches === target) return path;
  if (Array.isArray(fetches)) {
    for (let i = 0; i < fetches.length; i++) {
      const found = pathOf(fetches[i], target, `${path}[${i}]`);
      if (found !== null) return found;
    }
  } else if (isRecord(fetches)) {
    for (const key in fetches) {
      const found = pathOf(fetches[key], target, `${path}${propertyPath(key)}`);
      if (found !== null) return found;
    }
  }
  return null;
}

/**
 * The results of a checked fetch structure, once the run has run its operations: each tensor
 * evaluated one after another, in fetch order (synchronously when it can be), each operation
 * null; in the same structure. Internal.
 *
 * @param fetches a structure {@link operationsOf} accepted.
 * @param run the run, whose operations have run.
 * @example
 * await resultsOf({ loss }, run); // { loss: 0.25 }
 */
export function resultsOf(fetches: Fetches, run: Run): unknown {
  if (fetches instanceof Operation) return null;
  if (fetches instanceof Tensor) {
    const value = run.evaluateFetch(fetches);
    return value instanceof Pending ? value.promise : value;
  }
  // One loop over the leaves, then the structure rebuilt: no Promise per array or record, and
  // none at all when every tensor has its value at hand.
  const leaves: Fetch[] = [];
  collectLeaves(fetches, leaves);
  const values: unknown[] = new Array(leaves.length);
  for (let i = 0; i < leaves.length; i++) {
    const leaf = leaves[i] as Fetch;
    const value = leaf instanceof Operation ? null : run.evaluateFetch(leaf);
    if (value instanceof Pending) return finishResults(fetches, run, leaves, values, i, value);
    values[i] = value;
  }
  return rebuild(fetches, values, { index: 0 });
}

async function finishResults(fetches: Fetches, run: Run, leaves: readonly Fetch[], values: unknown[], from: number, first: Pending): Promise<unknown> {
  values[from] = await first.promise;
  for (let i = from + 1; i < leaves.length; i++) {
    const leaf = leaves[i] as Fetch;
    const value = leaf instanceof Operation ? null : run.evaluateFetch(leaf);
    values[i] = value instanceof Pending ? await value.promise : value;
  }
  return rebuild(fetches, values, { index: 0 });
}

function collectLeaves(fetches: Fetches, into: Fetch[]): void {
  if (fetches instanceof Operation || fetches instanceof Tensor) into.push(fetches);
  else if (Array.isArray(fetches)) for (const item of fetches as readonly Fetches[]) collectLeaves(item, into);
  else for (const key of Object.keys(fetches)) collectLeaves((fetches as { readonly [key: string]: Fetches })[key] as Fetches, into);
}

function rebuild(fetches: Fetches, values: readonly unknown[], next: { index: number }): unknown {
  if (fetches instanceof Operation || fetches instanceof Tensor) return values[next.index++];
  if (Array.isArray(fetches)) return (fetches as readonly Fetches[]).map((item) => rebuild(item, values, next));
  const results: Record<string, unknown> = {};
  for (const key of Object.keys(fetches)) results[key] = rebuild((fetches as { readonly [key: string]: Fetches })[key] as Fetches, values, next);
  return results;
}

/**
 * The feeds as a Map, checked. Internal.
 *
 * @param feedDict what the caller passed to `session.run`, if anything.
 * @param graph the session's graph.
 * @example
 * feedsOf([[x, 1]], graph); // Map { x => 1 }
 * @throws {InvalidArgumentError} when the feeds are not a Map or pairs, a key is not a
 *   Tensor, or a tensor is fed twice.
 * @throws {ValueError} when a fed tensor belongs to another graph.
 */
export function feedsOf(feedDict: FeedDict | null | undefined, graph: Graph): Map<Tensor<unknown>, unknown> {
  if (feedDict === null || feedDict === undefined) return new Map();
  const pairs: Iterable<readonly [unknown, unknown]> | null =
    feedDict instanceof Map ? feedDict : Array.isArray(feedDict) ? (feedDict as readonly (readonly [unknown, unknown])[]) : null;
  const fix = "Pass a Map from tensor to value, or an array of [tensor, value] pairs.";
  if (pairs === null) {
    throw new InvalidArgumentError(`session.run(fetches, feedDict) needs a Map or an array of pairs; got ${describeValue(feedDict)}. ${fix}`, {
      expected: "a Map or an array of [tensor, value] pairs",
      received: describeValue(feedDict),
      fix,
    });
  }
  const feeds = new Map<Tensor<unknown>, unknown>();
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new InvalidArgumentError(`session.run(fetches, feedDict) needs [tensor, value] pairs; got ${describeValue(pair)}. ${fix}`, {
        expected: "a [tensor, value] pair",
        received: describeValue(pair),
        fix,
      });
    }
    const key: unknown = pair[0];
    if (!(key instanceof Tensor)) {
      const what = key instanceof Operation ? `${key} (an operation has no value to replace)` : describeValue(key);
      throw new InvalidArgumentError(`Cannot interpret feed key as Tensor: got ${what}. ${fix}`, {
        expected: "a Tensor",
        received: describeValue(key),
        fix,
      });
    }
    checkGraph(key, graph);
    if (feeds.has(key)) {
      throw new InvalidArgumentError(`Tensor "${key.name}" is fed twice. Feed each tensor once.`, {
        expected: "one value per tensor",
        received: "two",
      });
    }
    feeds.set(key, pair[1]);
  }
  return feeds;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function propertyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
