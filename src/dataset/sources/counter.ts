import { SourceNode, type OpIterator, type Pull } from "../../core/iterator.js";
import { integer, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { invalidArgument } from "../../errors.js";

const KIND = "Counter";
/** How many values it has handed out: the next is `start + step * count`. */
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { count: integer(0) });

/** `Dataset.counter(start, step)`: `start, start + step, start + 2 * step, ...` forever. */
export class CounterNode extends SourceNode<number> {
  readonly label: string;

  constructor(
    readonly start: number,
    readonly step: number,
  ) {
    super();
    const fix = "Pass finite numbers: counter(), counter(start) or counter(start, step).";
    if (typeof start !== "number" || !Number.isFinite(start)) throw invalidArgument("Dataset.counter(start)", "a finite number", start, fix);
    if (typeof step !== "number" || !Number.isFinite(step)) throw invalidArgument("Dataset.counter(start, step)", "a finite number", step, fix);
    this.label = start === 0 && step === 1 ? KIND : `${KIND}(start=${start}, step=${step})`;
  }

  cardinality(): number {
    return Infinity;
  }

  makeIterator(): OpIterator<number> {
    return new CounterIterator(this.start, this.step);
  }
}

class CounterIterator implements OpIterator<number> {
  private count = 0;

  constructor(
    private readonly start: number,
    private readonly step: number,
  ) {}

  next(): Pull<number> {
    return this.start + this.step * this.count++;
  }

  nextMany(out: number[], max: number): number {
    const { start, step } = this;
    for (let i = this.count, end = i + max; i < end; i++) out.push(start + step * i);
    this.count += max;
    return max;
  }

  async save(): Promise<OpState> {
    return { kind: KIND, version: VERSION, count: this.count };
  }

  async restore(state: OpState): Promise<void> {
    this.count = STATE.read(state).count;
  }

  async close(): Promise<void> {}
}
