// Compiled by test/package.test.ts against the built package, as a user's code would be.
import { Dataset, FailedPreconditionError, type DatasetIterator, type IteratorState } from "checkpipe";

const ds: Dataset<number[]> = Dataset.range(10).map((x) => x * 2).batch(3);
const it: DatasetIterator<number[]> = ds.iterator();
const state: Promise<IteratorState> = it.save();
const code: "FAILED_PRECONDITION" = new FailedPreconditionError("x").code;
export { state, code };
