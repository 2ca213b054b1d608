/**
 * Test helper shared by the bulk-pull tests: read a pipeline in batches, resuming from a saved
 * state after every batch.
 */
import type { IteratorState } from "../../core/state.js";
import type { Dataset } from "../dataset.js";

/**
 * Batches of `size`, saving and restoring (through JSON) after every batch; the elements,
 * flattened. An error a batch raises propagates.
 *
 * @param build makes the pipeline, afresh for every restore.
 * @param size the batch size.
 */
export async function batchedWithResumes<T>(build: () => Dataset<T>, size: number): Promise<T[]> {
  const out: T[] = [];
  let state: IteratorState | undefined;
  for (;;) {
    const it = build()
      .batch(size)
      .iterator(state === undefined ? {} : { state });
    const step = await it.next();
    if (step.done === true) return out;
    out.push(...step.value);
    state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    await it.close();
  }
}
