import { END, SourceNode, type OpIterator, type Pull } from "../../core/iterator.js";
import { integer, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import type { RandomAccess } from "../../core/random-access.js";
import { invalidArgument } from "../../errors.js";

const KIND = "Range";
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { index: integer(0) });

/** `Dataset.range`: `start, start + step, ...` up to (not including) `stop`. */
export class RangeNode extends SourceNode<number> {
  readonly label = KIND;
  private readonly count: number;

  constructor(
    readonly start: number,
    readonly stop: number,
    readonly step: number,
  ) {
    super();
    const fix = "Pass finite numbers: range(stop) or range(start, stop, step) with a non-zero step.";
    if (typeof start !== "number" || !Number.isFinite(start)) throw invalidArgument("range(start)", "a finite number", start, fix);
    if (typeof stop !== "number" || Number.isNaN(stop)) throw invalidArgument("range(stop)", "a number", stop, fix);
    if (typeof step !== "number" || !Number.isFinite(step) || step === 0) {
      throw invalidArgument("range(step)", "a finite non-zero number", step, fix);
    }
    this.count = Math.max(0, Math.ceil((stop - start) / step));
  }

  cardinality(): number {
    return this.count;
  }

  makeIterator(): OpIterator<number> {
    return new RangeIterator(this.start, this.step, this.count);
  }

  randomAccess(): RandomAccess<number> {
    const { start, step } = this;
    return { length: this.count, get: (i) => start + i * step };
  }
}

class RangeIterator implements OpIterator<number> {
  private index = 0;

  constructor(
    private readonly start: number,
    private readonly step: number,
    private readonly count: number,
  ) {}

  next(): Pull<number> {
    if (this.index >= this.count) return END;
    return this.start + this.step * this.index++;
  }

  nextMany(out: number[], max: number): number {
    const n = Math.min(max, this.count - this.index);
    const { start, step } = this;
    for (let i = this.index, end = i + n; i < end; i++) out.push(start + step * i);
    this.index += n;
    return n;
  }

  async save(): Promise<OpState> {
    return { kind: KIND, version: VERSION, index: this.index };
  }

  async restore(state: OpState): Promise<void> {
    this.index = STATE.read(state).index;
  }

  async close(): Promise<void> {}
}
