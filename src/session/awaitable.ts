/**
 * A value, or a promise of it: what hooks and operation functions may return.
 *
 * @module
 */

/**
 * A value or a promise of it. Hook methods and operation functions may be sync or async.
 *
 * @example
 * const begin = (): Awaitable<void> => undefined;
 */
export type Awaitable<T> = T | Promise<T>;
