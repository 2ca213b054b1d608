import { EXTERNAL_STATE_POLICIES, UnaryNode, type DatasetNode, type DatasetOptions, type IteratorContext, type OpIterator } from "../../core/iterator.js";
import { invalidArgument } from "../../errors.js";

/**
 * `dataset.withOptions(options)`: sets options for the pipeline. It adds no op of its own: it
 * neither appears in the description nor in the saved state.
 */
export class WithOptionsNode<T> extends UnaryNode<T, T> {
  readonly label = "WithOptions";

  constructor(
    input: DatasetNode<T>,
    private readonly own: DatasetOptions,
  ) {
    super(input);
    const policy = own.externalStatePolicy;
    if (policy !== undefined && !EXTERNAL_STATE_POLICIES.includes(policy)) {
      throw invalidArgument(
        "withOptions({ externalStatePolicy })",
        `one of ${EXTERNAL_STATE_POLICIES.map((p) => `"${p}"`).join(", ")}`,
        policy,
        'Use "fail" to refuse saving external state, "warn" to save the rest with a warning, or "ignore".',
      );
    }
  }

  override describe(): string {
    return this.input.describe();
  }

  override options(): DatasetOptions {
    return { ...this.input.options(), ...this.own };
  }

  makeIterator(ctx: IteratorContext): OpIterator<T> {
    return this.input.makeIterator(ctx);
  }
}
