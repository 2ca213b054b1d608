/**
 * Records whose keys are data (column names, feature names, keys of decoded values): a key
 * such as `"__proto__"` or `"constructor"` is an own property like any other.
 *
 * @module
 */

/**
 * Sets an own property: a plain assignment of `"__proto__"` (an own key of e.g. `JSON.parse`
 * output) would replace the prototype instead.
 */
export function setOwn(record: object, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else (record as Record<string, unknown>)[key] = value;
}

/** The value of `record`'s own property `key`, never one it inherits (`constructor`, `toString`). */
export function getOwn<V>(record: Readonly<Record<string, V>> | undefined, key: string): V | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
