import { END, type DatasetNode, type DatasetOptions, type End, type IteratorContext, type OpIterator, type SaveContext } from "../../core/iterator.js";
import { arrayOf, boolean, nullable, opState, stateSchema } from "../../core/schema.js";
import type { OpState } from "../../core/state.js";
import { InvalidArgumentError, describeValue, invalidArgument } from "../../errors.js";
import { AGAIN, DirectedInterleaveIterator, mergedOptions } from "./directed-interleave.js";

const KIND = "ChooseFromDatasets";
/** Whether it ended, the choice dataset's state, and each input's state (null for one that ended). */
const VERSION = 1;
const STATE = stateSchema(KIND, VERSION, { ended: boolean, choice: nullable(opState), inputs: arrayOf(nullable(opState)) });

/** Options of `Dataset.chooseFromDatasets`. */
export interface ChooseFromDatasetsOptions {
  /**
   * End at the first choice of a dataset that has ended (default true, as in tf.data); when
   * false, such a choice is skipped, and the sequence ends when every dataset has ended or the
   * choices do.
   */
  readonly stopOnEmptyDataset?: boolean;
}

/** The options `Dataset.chooseFromDatasets` knows. */
export const CHOOSE_FROM_DATASETS_OPTIONS = ["stopOnEmptyDataset"] as const;

/** `Dataset.chooseFromDatasets(datasets, choices)`: each element from the input the next choice names. */
export class ChooseFromDatasetsNode<T> implements DatasetNode<T> {
  readonly label: string;
  private readonly stopOnEmpty: boolean;

  constructor(
    private readonly datasets: readonly DatasetNode<T>[],
    private readonly choice: DatasetNode<number>,
    options: ChooseFromDatasetsOptions,
  ) {
    if (datasets.length === 0) {
      throw invalidArgument("Dataset.chooseFromDatasets(datasets)", "at least one dataset", [], "Pass an array of datasets to choose from.");
    }
    const stop = options.stopOnEmptyDataset ?? true;
    if (typeof stop !== "boolean") {
      throw invalidArgument(
        "Dataset.chooseFromDatasets(datasets, choiceDataset, { stopOnEmptyDataset })",
        "a boolean",
        stop,
        "Pass true (the default) or false.",
      );
    }
    this.stopOnEmpty = stop;
    this.label = `${KIND}(${choice.describe()}; ${datasets.map((d) => d.describe()).join(", ")})`;
  }

  get inputs(): readonly DatasetNode<unknown>[] {
    return [this.choice, ...this.datasets];
  }

  describe(): string {
    return this.label;
  }

  cardinality(): number | null {
    const n = this.choice.cardinality();
    return n === 0 ? 0 : null;
  }

  options(): DatasetOptions {
    return mergedOptions(this.inputs);
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return new ChooseFromDatasetsIterator(
      this.choice.makeIterator(ctx),
      this.datasets.map((d) => d.makeIterator(ctx)),
      this.stopOnEmpty,
    );
  }
}

class ChooseFromDatasetsIterator<T> extends DirectedInterleaveIterator<T> {
  private readonly check = (index: number | End): number | End | typeof AGAIN => this.checked(index);

  constructor(
    private choice: OpIterator<number> | null,
    inputs: readonly OpIterator<T>[],
    stopOnEmpty: boolean,
  ) {
    super(inputs, stopOnEmpty, KIND);
  }

  /** The next choice, checked to name one of the datasets; {@link AGAIN} for one that ended. */
  protected select(): number | End | typeof AGAIN | Promise<number | End | typeof AGAIN> {
    const choice = this.choice;
    if (choice === null) return END;
    const index = choice.next();
    return index instanceof Promise ? index.then(this.check) : this.checked(index);
  }

  private checked(index: number | End): number | End | typeof AGAIN {
    if (index === END) return END;
    const n = this.inputs.length;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= n) {
      throw new InvalidArgumentError(
        `Dataset.chooseFromDatasets(datasets, choiceDataset): the choice dataset yielded ${describeValue(index)}, which is not the index ` +
          `of one of the ${n} datasets (an integer from 0 to ${n - 1}). Make the choice dataset yield indices into datasets.`,
        { expected: `an integer from 0 to ${n - 1}`, received: describeValue(index) },
      );
    }
    return this.inputs[index] === null ? AGAIN : index;
  }

  protected async closeSelector(): Promise<void> {
    const choice = this.choice;
    this.choice = null;
    await choice?.close();
  }

  async save(ctx: SaveContext): Promise<OpState> {
    const [choice, inputs] = await Promise.all([this.choice === null ? null : this.choice.save(ctx), this.saveInputs(ctx)]);
    return { kind: KIND, version: VERSION, ended: this.ended, choice, inputs };
  }

  async restore(state: OpState): Promise<void> {
    const { ended, choice, inputs } = STATE.read(state);
    if (ended || choice === null) {
      await this.end();
      return;
    }
    await Promise.all([this.choice?.restore(choice), this.restoreInputs(inputs)]);
  }
}
