/**
 * The Session: runs fetch structures over a graph, TensorFlow 1 style.
 *
 * @module
 */
import { RuntimeError } from "../errors.js";
import { feedsOf, operationsOf, resultsOf, type FeedDict, type FetchResult, type Fetches } from "./fetches.js";
import { Graph } from "./graph.js";
import { Run } from "./run-scope.js";

/**
 * Runs tensors and operations of one graph. Each `run` call is one **run scope**: every tensor
 * is evaluated at most once in it (so `getNext(iterator)` yields one element per run however
 * many readers it has), the fetched operations run first, one after another in fetch order,
 * and then the fetched tensors are read, so they see what the operations did.
 *
 * Runs execute in the caller's async context; the session does not make its graph default.
 *
 * @example
 * const graph = new Graph();
 * const { step, train } = graph.asDefault(() => {
 *   const step = getOrCreateGlobalStep();
 *   return { step, train: assignAdd(step) };
 * });
 * const session = new Session(graph);
 * await session.run({ train, step }); // { train: null, step: 1 }
 * session.close();
 */
export class Session {
  /** The graph whose tensors and operations this session runs. */
  readonly graph: Graph;
  private isClosed = false;

  /**
   * @param graph the graph to run (default: the default graph, or a new empty graph when
   *   there is none, which runs tensors made outside any graph).
   */
  constructor(graph: Graph = Graph.current() ?? new Graph()) {
    this.graph = graph;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Runs `fetches` in one run scope and returns their results in the same structure: a
   * tensor's value, `null` for an operation, arrays and records as arrays and records.
   *
   * @param fetches a Tensor, an Operation, or an array or plain record of them, nested.
   * @param feedDict values that replace tensors in this run (a Map, or `[tensor, value]` pairs).
   * @throws {RuntimeError} "Attempted to use a closed Session." after {@link close}.
   * @throws {InvalidArgumentError} when a fetch is not a Tensor or Operation, a feed key is
   *   not a Tensor, a tensor is fed twice, or a placeholder is not fed.
   * @throws {ValueError} when a fetch or feed belongs to another graph.
   * @throws {OutOfRangeError} when an input iterator read in this run is exhausted.
   * @example
   * const [, loss] = await session.run([trainOp, loss]);
   * await session.run(x, new Map([[x, 3]])); // 3
   */
  async run<const F extends Fetches>(fetches: F, feedDict?: FeedDict | null): Promise<FetchResult<F>> {
    if (this.isClosed) {
      const fix = "Create a new Session, or run before calling close().";
      throw new RuntimeError(`Attempted to use a closed Session. ${fix}`, {
        expected: "an open session",
        received: "a closed session",
        fix,
      });
    }
    const operations = operationsOf(fetches, this.graph);
    const run = new Run(this.graph, feedsOf(feedDict, this.graph));
    for (const operation of operations) await run.scope.eval(operation);
    // Safe: resultsOf mirrors the structure of F, as FetchResult<F> describes it.
    return (await resultsOf(fetches, run)) as FetchResult<F>;
  }

  /**
   * Closes the session: later runs throw. Closing again does nothing (as TensorFlow).
   *
   * @example
   * session.close();
   */
  close(): void {
    this.isClosed = true;
  }
}
