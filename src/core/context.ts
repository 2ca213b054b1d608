/**
 * The one ambient scope of checkpipe (DESIGN.md, "Layers"): the default graph, held in an
 * AsyncLocalStorage so that it follows the async work started inside `graph.asDefault(fn)`.
 *
 * The core only knows what a scope does for it: iterators created while a scope is current
 * register there (this is how `CheckpointInputPipelineHook` finds them). The session layer's
 * `Graph` is the scope users make.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** What the ambient scope does with the iterators created inside it. */
export interface IteratorScope {
  /**
   * Records an iterator created while this scope is current and returns its name, unique
   * within the scope (`"Iterator"`, `"Iterator_1"`, ...).
   *
   * @param iterator the new iterator.
   * @param name the name asked for.
   */
  registerIterator(iterator: object, name: string): string;
}

const storage = new AsyncLocalStorage<IteratorScope>();

/** The scope current in this async context, or null. */
export function currentScope(): IteratorScope | null {
  return storage.getStore() ?? null;
}

/** Runs `fn` with no scope current (its iterators register nowhere). */
export function outsideScope<R>(fn: () => R): R {
  return storage.exit(fn);
}

/** Runs `fn` with `scope` current for it and every async operation it starts. */
export function runInScope<R>(scope: IteratorScope, fn: () => R): R {
  return storage.run(scope, fn);
}
