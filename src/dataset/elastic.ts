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
 * The number of layers is the state's generation: every resume on another worker count adds
 * one, and every state of one generation has the same layers. That lets a job find, among the
 * states its workers' files hold (some of an older job, some of its own), the ones to resume
 * from — see {@link resumeWorkerStates}.
 *
 * @module
 */
import type { ElasticResume } from "../core/dataset-iterator.js";
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

/**
 * What an old worker left, for the shard it read: its state's root, `"ended"` (it consumed all
 * of its shard), or `"none"` (it saved nothing since the layers it started from: it consumed
 * nothing that counts).
 */
type Left = Node | "ended" | "none";

/** Whether the new state adds a layer of the old workers' positions, or joins their generation. */
type Mode = "merge" | "join";

const FIX =
  "Resume with the states of every worker of the old job, saved from a pipeline …globalShuffle({ seed }).shard(numWorkers, workerIndex)…, into the same pipeline built for the new worker count.";

function fail(message: string, fix = FIX): never {
  throw new InvalidArgumentError(`Cannot resume elastically: ${message}. ${fix}`, { fix, reason: "ELASTIC_RESUME_INVALID" });
}

/** The shard parameters in a pipeline description, `Shard(n, i)`, or null when it has not exactly one. */
function shardIn(pipeline: string): { numShards: number; index: number } | null {
  const found = [...pipeline.matchAll(/Shard\((\d+), (\d+)\)/g)];
  if (found.length !== 1) return null;
  const [, n, i] = found[0] as RegExpMatchArray;
  return { numShards: Number(n), index: Number(i) };
}

function shardOf(pipeline: string, what: string): { numShards: number; index: number } {
  const shard = shardIn(pipeline);
  if (shard === null) fail(`${what} (${JSON.stringify(pipeline)}) should have exactly one shard`);
  return shard;
}

const stripShard = (pipeline: string): string => pipeline.replace(/Shard\(\d+, \d+\)/, "Shard");

function isIteratorState(state: unknown): state is IteratorState {
  return typeof state === "object" && state !== null && (state as { format?: unknown }).format === ITERATOR_STATE_FORMAT;
}

/** The generation of a state: how many layers its global shuffle has (-1: ended, unknown). */
function generationOf(state: IteratorState): number {
  if (state.ended || state.root === null) return -1;
  for (let node: Node | undefined = state.root; node !== undefined && node !== null; node = node["input"] as Node | undefined) {
    if (node.kind === GLOBAL_SHUFFLE_KIND) return Array.isArray(node["layers"]) ? node["layers"].length : -1;
  }
  return -1;
}

/**
 * One worker's state for the new job, from `fresh` (a state of its own pipeline, unused) and the
 * old workers' states (any order): one of each worker of the old job.
 *
 * @throws {InvalidArgumentError} when the states are not all the old workers' of one such
 *   pipeline, the new pipeline differs, or an op after `shard` holds elements.
 */
export function mergeWorkerStates(fresh: IteratorState, states: readonly IteratorState[]): IteratorState {
  if (states.length === 0) fail("no states were given");
  for (const state of states) if (!isIteratorState(state)) fail("every element of the array must be an iterator state saved by save()");
  const olds = states.map((state) => ({ state, ...shardOf(state.pipeline, "an old worker's pipeline") })).sort((a, b) => a.index - b.index);
  const n = olds.length;
  olds.forEach((old, i) => {
    if (old.numShards !== n || old.index !== i)
      fail(
        `the states are of shards ${olds.map((o) => `Shard(${o.numShards}, ${o.index})`).join(", ")}; expected one state of each of Shard(${n}, 0) to Shard(${n}, ${n - 1})`,
      );
  });
  shardOf(fresh.pipeline, "the new pipeline");
  for (const old of olds)
    if (stripShard(old.state.pipeline) !== stripShard(fresh.pipeline))
      fail(`an old worker read ${JSON.stringify(old.state.pipeline)}, and this pipeline is ${JSON.stringify(fresh.pipeline)}`);
  return combine(
    fresh,
    olds.map((o) => leftBy(o.state)),
    olds.find((o) => !o.state.ended && o.state.root !== null)?.state,
    "merge",
  );
}

/**
 * The state a worker of a job resumes from, given the states in every worker's checkpoint
 * file — its own (`own`, newest first; empty when it has none) and the others' (`others`, one
 * array a file, newest first) — some perhaps of an older job with another worker count, some of
 * this one. Null when its own newest state is the one to restore as it is (or when the pipeline
 * is not `…globalShuffle(…).shard(m, j)…`).
 *
 * The newest generation is the one that counts; each file speaks for the shard its newest state
 * of that generation read (or ended in, when its newest state is the end). Of a generation with
 * as many workers as this job, this worker takes its shard's state (its own, or the one another
 * file holds), or, when none saved one yet, starts its shard of that generation afresh. Of a
 * generation with another worker count, it merges them ({@link mergeWorkerStates}): a worker
 * of that generation that saved nothing counts as having consumed nothing since.
 *
 * @throws {InvalidArgumentError} when the newest generation's states disagree (worker counts,
 *   seeds, layers, epochs), or an op after `shard` holds elements.
 */
export function resumeWorkerStates(fresh: IteratorState, own: readonly IteratorState[], others: readonly (readonly IteratorState[])[]): IteratorState | null {
  const mine = shardIn(fresh.pipeline);
  if (mine === null || fresh.root === null || generationOf(fresh) < 0) return null;
  const files = [own, ...others].map((history) =>
    history.filter((s) => isIteratorState(s) && stripShard(s.pipeline) === stripShard(fresh.pipeline) && shardIn(s.pipeline) !== null),
  );
  const generationOfFile = (history: readonly IteratorState[]): number => Math.max(-1, ...history.map(generationOf));
  const newest = Math.max(...files.map(generationOfFile));
  if (newest < 0) {
    if (own.length > 0 || !files.some((history) => history.length > 0)) return null;
    // Every worker that saved had finished its shard: so has the epoch.
    return { ...fresh, ended: true, root: null };
  }
  // What each file of the newest generation says: its newest state of that generation, or its end after it.
  const told: Told[] = [];
  files.forEach((history, file) => {
    if (generationOfFile(history) !== newest) return;
    const at = history.findIndex((s) => generationOf(s) === newest);
    const state = at > 0 && (history[0] as IteratorState).ended ? (history[0] as IteratorState) : (history[at] as IteratorState);
    told.push({ state, file, ...(shardIn((history[at] as IteratorState).pipeline) as { numShards: number; index: number }) });
  });
  const counts = new Set(told.map((t) => t.numShards));
  if (counts.size > 1) fail(`the newest states are of different worker counts (${[...counts].join(", ")}) with the same history`);
  const first = told[0] as Told;
  const n = first.numShards;
  const byIndex = new Map<number, Told>();
  for (const t of told) {
    if (byIndex.has(t.index))
      fail(
        `two workers' files hold states of Shard(${n}, ${t.index}) of the same generation`,
        "Give every worker its own index: shard(config.numWorkerReplicas, index of this worker).",
      );
    byIndex.set(t.index, t);
  }
  // A state of the generation that has not ended: every file of it has one.
  const sample = (files[first.file] as readonly IteratorState[]).find((s) => generationOf(s) === newest);
  if (n === mine.numShards) {
    const mineThere = byIndex.get(mine.index);
    if (mineThere !== undefined) return mineThere.file === 0 && mineThere.state === own[0] ? null : mineThere.state;
    return combine(fresh, ["none"], sample, "join");
  }
  const left: Left[] = Array.from({ length: n }, (_, i) => {
    const state = byIndex.get(i)?.state;
    return state === undefined ? "none" : leftBy(state);
  });
  return combine(fresh, left, sample, "merge");
}

/** What one file of the newest generation says: the state, the file (0: this worker's) and the shard it read. */
interface Told {
  readonly state: IteratorState;
  readonly file: number;
  readonly numShards: number;
  readonly index: number;
}

function leftBy(state: IteratorState): Left {
  return state.ended || state.root === null ? "ended" : state.root;
}

/**
 * The new state: `fresh` with what the old workers `left` (by shard index); `sample`, a state of
 * their generation that has not ended, gives what they share (seeds, layers, epoch).
 */
function combine(fresh: IteratorState, left: readonly Left[], sample: IteratorState | undefined, how: Mode): IteratorState {
  if (fresh.root === null) return fresh;
  if (sample === undefined || sample.root === null || !left.some((o) => o !== "ended")) return { ...fresh, ended: true, root: null };
  return { ...fresh, ...(sample.seed === undefined ? {} : { seed: sample.seed }), ended: false, root: above(fresh.root, left, how, sample.root) };
}

/** Each old worker's input state, where it has one. */
function inputs(left: readonly Left[]): Left[] {
  return left.map((o) => (typeof o === "string" ? o : (o["input"] as Node)));
}

function sameKinds(fresh: Node, left: readonly Left[]): Node[] {
  const live = left.filter((o): o is Node => typeof o !== "string");
  for (const old of live) if (old.kind !== fresh.kind) fail(`an old worker's pipeline has ${old.kind} where this one has ${fresh.kind}`);
  return live;
}

function holdsNothing(live: readonly Node[], where: string, fix?: string): void {
  for (const old of live) {
    for (const field of HOLDINGS) {
      const held = old[field];
      if (Array.isArray(held) && held.length > 0)
        fail(`${old.kind} ${where} holds ${held.length} element(s) in its ${field} in an old worker's state; they would be lost`, fix);
    }
  }
}

/** An op after the shard (or the shard itself): afresh, with the old epoch of a repeat. */
function above(fresh: Node, left: readonly Left[], how: Mode, sample: Node): Node {
  const live = sameKinds(fresh, [...left, sample]);
  if (fresh.kind === "Shard") return { ...fresh, input: between(fresh["input"] as Node, inputs(left), how, sample["input"] as Node) };
  if (!AFTER_SHARD.has(fresh.kind))
    fail(
      `${fresh.kind} comes after shard, and its state cannot be shared out between workers`,
      "After shard, use only map, filter, batch, unbatch, prefetch, ignoreErrors and repeat.",
    );
  if (how === "merge")
    holdsNothing(
      live.slice(0, -1),
      "after shard",
      "Save when the ops after shard hold nothing (a prefetch or shuffle buffer empties only at the end), or put them before the globalShuffle.",
    );
  let node: Node = fresh;
  if (fresh.kind === "Repeat") {
    const epochs = new Set(live.map((o) => o["epoch"]));
    if (epochs.size > 1)
      fail(
        `the old workers are in different epochs of the repeat (${[...epochs].map((e) => JSON.stringify(e)).join(", ")})`,
        "Resume from states saved within one epoch.",
      );
    if (sample["input"] === null) return { ...sample };
    node = { ...fresh, epoch: sample["epoch"] as number, yielded: how === "merge" ? (sample["yielded"] as boolean) : false };
  }
  return { ...node, input: above(fresh["input"] as Node, inputs(left), how, sample["input"] as Node) };
}

/** An op between the global shuffle and the shard (the shuffle included). */
function between(fresh: Node, left: readonly Left[], how: Mode, sample: Node): Node {
  const live = sameKinds(fresh, [...left, sample]);
  if (fresh.kind === GLOBAL_SHUFFLE_KIND) {
    const seeds = new Set(live.map((o) => o["seed"]));
    if (seeds.size > 1)
      fail(
        "the old workers' global shuffles have different seeds (an unseeded globalShuffle takes each worker's own)",
        "Give globalShuffle a seed: globalShuffle({ seed: 42 }).",
      );
    const layers = sample["layers"] as unknown as ConsumedLayer[];
    for (const old of live) if (JSON.stringify(old["layers"]) !== JSON.stringify(layers)) fail("the old workers were resumed from different histories");
    if (how === "join") return { ...fresh, seed: sample["seed"] as number, taken: 0, layers: layers as unknown as JsonValue };
    const positions = left.map((o) => (o === "ended" ? Number.MAX_SAFE_INTEGER : o === "none" ? 0 : (o["taken"] as number)));
    return { ...fresh, seed: sample["seed"] as number, taken: 0, layers: [...layers, { numShards: left.length, positions }] as unknown as JsonValue };
  }
  if (!BETWEEN.has(fresh.kind))
    fail(`${fresh.kind} comes between globalShuffle and shard`, "Between globalShuffle and shard, use only map (or prefetch); filter after shard.");
  if (how === "merge") holdsNothing(live.slice(0, -1), "before shard");
  return { ...fresh, input: between(fresh["input"] as Node, inputs(left), how, sample["input"] as Node) };
}

/** What `Dataset.iterator()` gives its iterators for elastic resume. */
export const ELASTIC_RESUME: ElasticResume = { merge: mergeWorkerStates, resume: resumeWorkerStates };
