/**
 * The run scope: what one `session.run` call shares among the tensors and operations it
 * evaluates. Each tensor is evaluated at most once per run (so an iterator's `getNext` yields
 * one element per run however many readers it has), each operation runs at most once, and
 * feeds replace tensors' values.
 *
 * @module
 */
import { InvalidArgumentError, ValueError, describeValue } from "../errors.js";
import type { Graph } from "./graph.js";
import { Operation } from "./operation.js";
import { Tensor } from "./tensor.js";

/**
 * The current run, as tensors and operations see it: read inputs with `run.eval(...)`.
 *
 * @example
 * const loss = computed("loss", async (run) => (await run.eval(prediction)) - (await run.eval(label)));
 */
export interface RunScope {
  /**
   * The value of `tensor` in this run: its feed, the value already computed in this run, or a
   * fresh evaluation.
   *
   * @throws {InvalidArgumentError} when the tensor depends on itself.
   * @throws {ValueError} when the tensor belongs to another graph than the session's.
   */
  eval<T>(tensor: Tensor<T>): Promise<T>;
  /**
   * Runs `operation` in this run, unless it already ran; resolves to `null`.
   *
   * @throws {InvalidArgumentError} when the operation depends on itself.
   * @throws {ValueError} when the operation belongs to another graph than the session's.
   */
  eval(operation: Operation): Promise<null>;
}

/** A node a run evaluates. */
export type RunNode = Tensor<unknown> | Operation;

/**
 * The state of one `session.run` call. Used by Session; users see it as a {@link RunScope}.
 *
 * @example
 * const run = new Run(graph, new Map([[x, 1]]));
 * await run.scope.eval(loss);
 */
export class Run {
  /** The scope handed to the fetched nodes. */
  readonly scope: RunScope;
  private readonly values = new Map<RunNode, Promise<unknown>>();

  /**
   * @param graph the session's graph: nodes of other graphs are rejected.
   * @param feeds values that replace tensors in this run.
   */
  constructor(
    private readonly graph: Graph,
    private readonly feeds: ReadonlyMap<Tensor<unknown>, unknown>,
  ) {
    this.scope = new ScopeView(this, null);
  }

  /**
   * The value of a fetched tensor once the run's operations have run: its feed, or its value
   * right away when it is not memoized and evaluates synchronously (a variable); otherwise a
   * {@link Pending} evaluation.
   */
  evaluateFetch(tensor: Tensor<unknown>): unknown {
    if (this.feeds.has(tensor)) return this.feeds.get(tensor);
    if (tensor.memoized) return new Pending(this.evaluate(tensor, this.scope as ScopeView));
    const value: unknown = tensor.evaluate(new ScopeView(this, { node: tensor, parent: null }));
    return isThenable(value) ? new Pending(Promise.resolve(value)) : value;
  }

  /** Evaluates `node` on behalf of `reader` (null for a fetch). */
  evaluate(node: RunNode, reader: ScopeView): Promise<unknown> {
    checkGraph(node, this.graph);
    if (node instanceof Tensor && this.feeds.has(node)) return Promise.resolve(this.feeds.get(node));
    reader.checkCycle(node);
    const memoize = node instanceof Operation || node.memoized;
    const known = memoize ? this.values.get(node) : undefined;
    if (known !== undefined) return known;
    const view = new ScopeView(this, { node, parent: reader.path });
    const result = compute(node, view);
    if (memoize) this.values.set(node, result);
    return result;
  }
}

/** An evaluation still under way, as {@link Run.evaluateFetch} returns it. */
export class Pending {
  constructor(readonly promise: Promise<unknown>) {}
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

async function compute(node: RunNode, view: ScopeView): Promise<unknown> {
  if (node instanceof Operation) {
    await node.execute(view);
    return null;
  }
  return node.evaluate(view);
}

/** A chain of nodes, each evaluating the next: the reader's ancestry, for cycle detection. */
interface Path {
  readonly node: RunNode;
  readonly parent: Path | null;
}

/** The scope one node evaluates in: the run plus the chain of nodes that asked for it. */
class ScopeView implements RunScope {
  constructor(
    private readonly run: Run,
    readonly path: Path | null,
  ) {}

  eval<T>(tensor: Tensor<T>): Promise<T>;
  eval(operation: Operation): Promise<null>;
  eval(node: RunNode): Promise<unknown> {
    if (!(node instanceof Tensor) && !(node instanceof Operation)) {
      return Promise.reject(
        new InvalidArgumentError(`run.eval(node) needs a Tensor or an Operation; got ${describeValue(node)}. Pass a tensor or an operation of the graph.`),
      );
    }
    try {
      return this.run.evaluate(node, this);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  checkCycle(node: RunNode): void {
    const chain: string[] = [];
    for (let p = this.path; p !== null; p = p.parent) {
      chain.unshift(p.node.name);
      if (p.node !== node) continue;
      const cycle = [...chain, node.name].join(" -> ");
      throw new InvalidArgumentError(`${describeNode(node)} depends on itself: ${cycle}. Break the cycle: a tensor or operation cannot read its own value.`, {
        expected: "no cycle",
        received: cycle,
      });
    }
  }
}

/**
 * How errors name a node.
 *
 * @param node a tensor or an operation.
 * @example
 * describeNode(loss); // 'Tensor "loss"'
 */
export function describeNode(node: RunNode): string {
  return `${node instanceof Operation ? "Operation" : "Tensor"} "${node.name}"`;
}

/**
 * Throws unless `node` belongs to `graph` (or to no graph).
 *
 * @param node the tensor or operation to run.
 * @param graph the session's graph.
 * @throws {ValueError} "... is not an element of this graph.", naming the node.
 * @example
 * checkGraph(loss, session.graph);
 */
export function checkGraph(node: RunNode, graph: Graph): void {
  if (node.graph === null || node.graph === graph) return;
  const fix = "Run it in a Session of the graph it was made in (the one default when it was created).";
  throw new ValueError(`${describeNode(node)} is not an element of this graph. ${fix}`, {
    expected: "a node of the session's graph",
    received: "a node of another graph",
    fix,
  });
}
