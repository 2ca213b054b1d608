// The benchmark's element functions, run on the main thread and on worker threads alike.

/** Iterations of the mixing loop: about 0.2 ms of CPU per element on the reference machine. */
export const ROUNDS = 36_000;

/** A CPU-bound function of a number: a deterministic hash after ROUNDS rounds of mixing. */
export default function cpu(x) {
  let h = (x * 2654435761) | 0;
  for (let i = 0; i < ROUNDS; i++) h = Math.imul(h ^ (h >>> 15), 2246822519) + i;
  return { x, h };
}

/** The same work on a parsed example: mixes its feature values. */
export function cpuExample(example) {
  const values = example.values;
  let h = values.length;
  for (let i = 0; i < ROUNDS; i++) h = (Math.imul(h ^ (h >>> 15), 2246822519) + values[i % values.length] * 1000) | 0;
  return { id: Number(example.id[0]), h };
}

/** Nothing: the cost of crossing the threads alone. */
export function identity(x) {
  return x;
}
