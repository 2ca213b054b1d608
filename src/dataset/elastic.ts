/**
 * Elastic resume: the states of every worker of an old job, each of which read
 * `…globalShuffle(…).shard(n, i)…`, merged into one state for a worker of a new job that reads
 * `…globalShuffle(…).shard(m, j)…`. The old workers' positions in the shuffled order become a
 * layer of consumed positions of the global shuffle (see ops/global-shuffle.ts): the new
 * workers shard what is left of the epoch, so over the epoch every element is delivered once
 * across them, whatever each old worker had consumed (a filter after `shard` makes them
 * differ). The ops after `shard` start afresh, so they must hold no elements; an enclosing
 * `repeat` keeps its epoch.
 *
 * @module
 */
import { ITERATOR_STATE_FORMAT, type IteratorState, type JsonValue, type OpState } from "../core/state.js";
import { InvalidArgumentError } from "../errors.js";
import { GLOBAL_SHUFFLE_KIND, type ConsumedLayer } from "./ops/global-shuffle.js";

/** Ops that may come after `shard`: they hold nothing between elements once their buffers are empty. */
const AFTER_SHARD = new Set(["Map", "Filter", "Batch", "Prefetch", "ParallelMap", "MapInWorkers", "IgnoreErrors", "Repeat", "Unbatch"]);
/** Ops that may come between `globalShuffle` and `shard`: one element out for each in. */
const BETWEEN = new Set(["Map", "ParallelMap", "MapInWorkers", "Prefetch"]);
/** The fields in which ops hold elements. */
const HOLDINGS = ["held", "buffer", "results", "rest"];

type Node = OpState & { readonly [key: string]: JsonValue };

function fail(message: string, fix = "Resume with the states of every worker of the old job, saved from a pipeline …globalShuffle({ seed }).shard(numWorkers, workerIndex)…, into the same pipeline built for the new worker count."): never {
  throw new InvalidArgumentError(`Cannot resume elastically: ${message}. ${fix}`, { fix });
}

/** The shard parameters in a pipeline description, `Shard(n, i)`. */
function shardOf(pipeline: string, what: string): { numShards: number; index: number } {
  const found = [...pipeline.matchAll(/Shard\((\d+), (\d+)\)/g)];
  if (found.length !== 1) fail(`${what} (${JSON.stringify(pipeline)}) should have exactly one shard; it has ${found.length}`);
  const [, n, i] = found[0] as RegExpMatchArray;
  return { numShards: Number(n), index: Number(i) };
}

/**
 * One worker's state for the new job, from `fresh` (a state of its own pipeline, unused) and the
 * old workers' states (any order).
 *
 * @throws {InvalidArgumentError} when the states are not all the old workers' of one such
 *   pipeline, the new pipeline differs, or an op after `shard` holds elements.
 */
export function mergeWorkerStates(fresh: IteratorState, states: readonly IteratorState[]): IteratorState {
  if (states.length === 0) fail("no states were given");
  for (const state of states) {
    if (typeof state !== "object" || state === null || (state as { format?: unknown }).format !== ITERATOR_STATE_FORMAT) fail("every element of the array must be an iterator state saved by save()");
  }
  const olds = states.map((state) => ({ state, ...shardOf(state.pipeline, "an old worker's pipeline") })).sort((a, b) => a.index - b.index);
  const n = olds.length;
  olds.forEach((old, i) => {
    if (old.numShards !== n || old.index !== i) fail(`the states are of shards ${olds.map((o) => `Shard(${o.numShards}, ${o.index})`).join(", ")}; expected one state of each of Shard(${n}, 0) to Shard(${n}, ${n - 1})`);
  });
  shardOf(fresh.pipeline, "the new pipeline");
  const strip = (p: string): string => p.replace(/Shard\(\d+, \d+\)/, "Shard");
  for (const old of olds) if (strip(old.state.pipeline) !== strip(fresh.pipeline)) fail(`an old worker read ${JSON.stringify(old.state.pipeline)}, and this pipeline is ${JSON.stringify(fresh.pipeline)}`);
  if (fresh.root === null) return fresh;
  const live = olds.filter((o) => !o.state.ended && o.state.root !== null);
  if (live.length === 0) return { ...fresh, ended: true, root: null };
  // A worker that ended consumed all of its shard.
  const roots = olds.map((o) => (o.state.ended || o.state.root === null ? null : (o.state.root as Node)));
  const seed = (live[0] as (typeof olds)[number]).state.seed;
  return { ...fresh, ...(seed === undefined ? {} : { seed }), ended: false, root: above(fresh.root as Node, roots, n) };
}

/** An op after the shard (or the shard itself): afresh, with the old epoch of a repeat. */
function above(fresh: Node, olds: readonly (Node | null)[], n: number): Node {
  for (const old of olds) if (old !== null && old.kind !== fresh.kind) fail(`an old worker's pipeline has ${old.kind} where this one has ${fresh.kind}`);
  if (fresh.kind === "Shard") return { ...fresh, input: between(fresh["input"] as Node, olds.map((o) => (o === null ? null : (o["input"] as Node))), n) };
  if (!AFTER_SHARD.has(fresh.kind)) fail(`${fresh.kind} comes after shard, and its state cannot be shared out between workers`, "After shard, use only map, filter, batch, unbatch, prefetch, ignoreErrors and repeat.");
  const live = olds.filter((o): o is Node => o !== null);
  for (const old of live) {
    for (const field of HOLDINGS) {
      const held = old[field];
      if (Array.isArray(held) && held.length > 0) fail(`${old.kind} after shard holds ${held.length} element(s) in its ${field} in an old worker's state; they would be lost`, "Save when the ops after shard hold nothing (a prefetch or shuffle buffer empties only at the end), or put them before the globalShuffle.");
    }
  }
  let node: Node = fresh;
  if (fresh.kind === "Repeat") {
    const epochs = new Set(live.map((o) => o["epoch"]));
    if (epochs.size > 1) fail(`the old workers are in different epochs of the repeat (${[...epochs].join(", ")})`, "Resume from states saved within one epoch.");
    const first = live[0] as Node;
    if (first["input"] === null) return { ...first };
    node = { ...fresh, epoch: first["epoch"] as number, yielded: first["yielded"] as boolean };
  }
  return { ...node, input: above(fresh["input"] as Node, olds.map((o) => (o === null ? null : (o["input"] as Node))), n) };
}

/** An op between the global shuffle and the shard (the shuffle included). */
function between(fresh: Node, olds: readonly (Node | null)[], n: number): Node {
  for (const old of olds) if (old !== null && old.kind !== fresh.kind) fail(`an old worker's pipeline has ${old.kind} where this one has ${fresh.kind}`);
  const live = olds.filter((o): o is Node => o !== null);
  if (fresh.kind === GLOBAL_SHUFFLE_KIND) {
    const seeds = new Set(live.map((o) => o["seed"]));
    if (seeds.size > 1) fail("the old workers' global shuffles have different seeds (an unseeded globalShuffle takes each worker's own)", "Give globalShuffle a seed: globalShuffle({ seed: 42 }).");
    const first = live[0] as Node;
    const layers = first["layers"] as unknown as ConsumedLayer[];
    for (const old of live) if (JSON.stringify(old["layers"]) !== JSON.stringify(layers)) fail("the old workers were resumed from different histories");
    const positions = olds.map((o) => (o === null ? Number.MAX_SAFE_INTEGER : (o["taken"] as number)));
    return { ...fresh, seed: first["seed"] as number, taken: 0, layers: [...layers, { numShards: n, positions }] as unknown as JsonValue };
  }
  if (!BETWEEN.has(fresh.kind)) fail(`${fresh.kind} comes between globalShuffle and shard`, "Between globalShuffle and shard, use only map (or prefetch); filter after shard.");
  for (const old of live) {
    for (const field of HOLDINGS) {
      const held = old[field];
      if (Array.isArray(held) && held.length > 0) fail(`${old.kind} before shard holds ${held.length} element(s) in an old worker's state`);
    }
  }
  return { ...fresh, input: between(fresh["input"] as Node, olds.map((o) => (o === null ? null : (o["input"] as Node))), n) };
}
