/**
 * Inputs the conformance suites share: ranges whose elements arrive through Promises, some after
 * a deterministic, uneven delay (the async and slow paths of every op).
 */
import { Dataset } from "../src/index.js";

/** One turn of the event loop. */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A well-mixed, deterministic hash of a number, for per-element choices. */
export function hash(x: number): number {
  let h = Math.imul(Math.round(x * 1000) ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A deterministic, uneven delay per element: none, one or three event-loop turns, or a 1 ms timer. */
export async function jitter(x: number): Promise<void> {
  switch (hash(x) % 4) {
    case 0:
      return;
    case 1:
      return tick();
    case 2:
      for (let i = 0; i < 3; i++) await tick();
      return;
    default:
      return new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** `Dataset.range` whose elements arrive through a Promise (the async paths of every op). */
export function asyncRange(start: number, stop?: number, step?: number): Dataset<number> {
  const base = stop === undefined ? Dataset.range(start) : Dataset.range(start, stop, step);
  return base.map(async (x) => x);
}

/** `Dataset.range` whose elements each wait a few event-loop turns: a slow async input. */
export function slowRange(n: number): Dataset<number> {
  return Dataset.range(n).map(async (x) => {
    await jitter(x);
    return x;
  });
}
