// Compiled by test/package.test.ts against the built package, as a user's code would be.
import {
  Dataset,
  FailedPreconditionError,
  latestCheckpoint,
  makeSaveable,
  makeSaveableFromIterator,
  Saver,
  type DatasetIterator,
  type IteratorState,
} from "checkpipe";

const ds: Dataset<number[]> = Dataset.range(10)
  .map((x) => x * 2)
  .batch(3);
const it: DatasetIterator<number[]> = ds.iterator();
const state: Promise<IteratorState> = it.save();
const code: "FAILED_PRECONDITION" = new FailedPreconditionError("x").code;

let weights = new Float32Array(4);
const saver = new Saver(
  [
    makeSaveableFromIterator(it),
    makeSaveable(
      "weights",
      () => weights,
      (w) => {
        weights = w;
      },
    ),
  ],
  { maxToKeep: 2 },
);
const saved: Promise<string> = saver.save("runs/model.ckpt", { globalStep: 1 });
const latest: Promise<string | null> = latestCheckpoint("runs");
export { state, code, saved, latest };
