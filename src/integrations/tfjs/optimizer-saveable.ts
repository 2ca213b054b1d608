/**
 * A saveable over a tfjs optimizer's state: the iteration count, the slots (Adam's moments,
 * RMSProp's mean squares, ...) by position, and the state tfjs keeps outside `getWeights()`
 * (Adam's `accBeta1` and `accBeta2`), so a restored optimizer continues bit-exactly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Saveable } from "../../checkpoint/saveable.js";
import { describeValue, InvalidArgumentError, ValueError } from "../../errors.js";
import { asSavedTensor, assignSaved, checkSavedTensor, readTensor, toTensor, type SavedTensor, type TensorSpec } from "./saved-tensor.js";

/** The `kind` of a saved optimizer state. */
export const SAVED_OPTIMIZER_KIND = "checkpipe.tfjs.optimizer";
/** The version of the saved optimizer format; a change of format bumps it. */
export const SAVED_OPTIMIZER_VERSION = 1;

/**
 * Optimizer state that `getWeights()` leaves out. Adam's `setWeights()` recomputes
 * `accBeta1`/`accBeta2` as `pow(beta, iter + 1)`, while training builds them by repeated float32
 * multiplication: they differ by an ULP after ~100 steps and the restored run drifts. Saving
 * them and assigning them back after `setWeights()` keeps the run bit-exact.
 */
const HIDDEN_STATE = ["accBeta1", "accBeta2"] as const;

/** Optimizers whose state tfjs cannot read or write (`getWeights()` throws). */
const UNSUPPORTED = new Set(["Adamax"]);

interface SavedOptimizer {
  readonly kind: typeof SAVED_OPTIMIZER_KIND;
  readonly version: typeof SAVED_OPTIMIZER_VERSION;
  /** `optimizer.getClassName()`, e.g. `"Adam"`. */
  readonly className: string;
  /** `getWeights()` by position: the iteration count (int32 scalar), then the slots. */
  readonly weights: SavedTensor[];
  /** The hidden state the optimizer has, by field name. */
  readonly hidden: Record<string, SavedTensor>;
}

/**
 * A saveable over an optimizer's whole state. Saving reads `iter`, every slot variable (by
 * position, never by tfjs's process-dependent names) and Adam's `accBeta1`/`accBeta2`;
 * restoring calls `setWeights()` and then puts `accBeta1`/`accBeta2` back, so that training
 * continues exactly as it would have without the interruption.
 *
 * Slots are created at the first step: a checkpoint saved before it holds only `iter`, and
 * restoring it drops any slots the optimizer has (they are created again, as zeros).
 *
 * @param optimizer the optimizer, e.g. `model.optimizer` after `compile`.
 * @param name the key in the checkpoint (default `"optimizer"`).
 * @throws {ValueError} when `optimizer` is not a `tf.Optimizer`, or is one whose state tfjs
 *   cannot read (Adamax).
 * @throws {InvalidArgumentError} from `restore()` when the checkpoint holds another kind of
 *   optimizer or slots of other shapes.
 * @example
 * const opt = tf.train.adam(0.01);
 * const saver = new Saver([makeVariableSaveable(w, "w"), makeOptimizerSaveable(opt)]);
 */
export function makeOptimizerSaveable(optimizer: tf.Optimizer, name = "optimizer"): Saveable {
  checkOptimizer(optimizer, "makeOptimizerSaveable");
  return optimizerSaveable(
    name,
    () => optimizer,
    () => null,
  );
}

/**
 * The saveable, with the optimizer looked up at each call and the variables it trains (for
 * checking slot shapes when the optimizer has none yet).
 */
export function optimizerSaveable(name: string, optimizer: () => tf.Optimizer, trained: () => readonly TensorSpec[] | null): Saveable {
  return {
    name,
    save: () => saveOptimizer(checkOptimizer(optimizer(), name), name),
    restore: (value) => restoreOptimizer(checkOptimizer(optimizer(), name), name, value, trained()),
  };
}

/** Throws unless `optimizer` is a tfjs optimizer whose state can be saved. */
export function checkOptimizer(optimizer: unknown, where: string): tf.Optimizer {
  if (!(optimizer instanceof tf.Optimizer)) {
    throw new ValueError(`${where} needs a tf.Optimizer; got ${describeValue(optimizer)}.`, {
      expected: "a tf.Optimizer",
      received: describeValue(optimizer),
      fix: "Compile the model with an optimizer object or name (e.g. tf.train.adam(0.001)) first, or leave the optimizer out.",
    });
  }
  const className = optimizer.getClassName();
  if (UNSUPPORTED.has(className)) {
    throw new ValueError(`Cannot checkpoint a ${className} optimizer: tfjs does not implement getWeights()/setWeights() for it.`, {
      expected: "an optimizer with getWeights() and setWeights() (adam, sgd, momentum, rmsprop, adagrad, adadelta)",
      received: className,
      fix: "Use tf.train.adam, or leave the optimizer out of the checkpoint.",
    });
  }
  return optimizer;
}

async function saveOptimizer(optimizer: tf.Optimizer, name: string): Promise<SavedOptimizer> {
  const named = await optimizer.getWeights();
  try {
    const weights: SavedTensor[] = [];
    for (const [i, w] of named.entries()) weights.push(await readTensor(w.tensor, `${name}[${i}]`));
    const hidden: Record<string, SavedTensor> = {};
    for (const field of HIDDEN_STATE) {
      const variable = hiddenVariable(optimizer, field);
      if (variable !== null) hidden[field] = await readTensor(variable, `${name}.${field}`);
    }
    return { kind: SAVED_OPTIMIZER_KIND, version: SAVED_OPTIMIZER_VERSION, className: optimizer.getClassName(), weights, hidden };
  } finally {
    disposeCopies(named);
  }
}

async function restoreOptimizer(optimizer: tf.Optimizer, name: string, value: unknown, trained: readonly TensorSpec[] | null): Promise<void> {
  const saved = asSavedOptimizer(name, value);
  const className = optimizer.getClassName();
  if (saved.className !== className) {
    throw new InvalidArgumentError(
      `Cannot restore "${name}": the checkpoint holds the state of a ${saved.className} optimizer, and this one is ${className}. ` +
        `Compile the model with the optimizer the checkpoint was saved with.`,
      { expected: className, received: saved.className, fix: `Compile with a ${saved.className} optimizer.` },
    );
  }
  const [iter, ...slots] = saved.weights;
  if (iter === undefined) throw damaged(name, "it has no iteration count");
  checkSavedTensor(name, iter, { dtype: "int32", shape: [] }, "the iteration count");
  const current = await optimizer.getWeights();
  const currentSlots = current.slice(1);
  disposeCopies(current);
  const specs = slotSpecs(
    name,
    slots.length,
    currentSlots.map((w) => w.tensor),
    trained,
  );
  if (specs !== null) slots.forEach((slot, j) => checkSavedTensor(name, slot, specs[j] as TensorSpec, `slot ${j} of the optimizer`));
  const hidden: [tf.Variable, SavedTensor][] = [];
  for (const field of HIDDEN_STATE) {
    const variable = hiddenVariable(optimizer, field);
    const value = saved.hidden[field];
    if (variable === null) continue;
    if (value === undefined) throw damaged(name, `it lacks the ${className} optimizer's ${field}`);
    hidden.push([variable, checkSavedTensor(name, value, variable, `the optimizer's ${field}`)]);
  }
  // Every check passed: only now change the optimizer.
  const slotNames = currentSlots.length === slots.length ? currentSlots.map((w) => w.name) : slots.map((_, j) => `slot_${j}`);
  const tensors = saved.weights.map((w, i) => ({ name: i === 0 ? "iter" : (slotNames[i - 1] ?? `slot_${i - 1}`), tensor: toTensor(w) }));
  try {
    await optimizer.setWeights(tensors);
  } finally {
    // setWeights makes new variables over the same data; the tensors given are ours to dispose.
    tf.dispose(tensors.map((t) => t.tensor));
  }
  // The slots the optimizer held before are no longer referenced by it.
  tf.dispose(currentSlots.map((w) => w.tensor));
  for (const [variable, value] of hidden) assignSaved(variable, value);
}

/**
 * What each saved slot must match: the optimizer's current slots when it has some, else the
 * trained variables in turn (slot j belongs to variable j mod n), else nothing to check.
 */
function slotSpecs(name: string, count: number, current: readonly tf.Tensor[], trained: readonly TensorSpec[] | null): readonly TensorSpec[] | null {
  if (count === 0) return null;
  if (current.length > 0) {
    if (current.length !== count) throw slotCountMismatch(name, count, `the optimizer has ${current.length}`);
    return current;
  }
  if (trained === null || trained.length === 0) return null;
  if (count % trained.length !== 0)
    throw slotCountMismatch(name, count, `the model trains ${trained.length} variables, which needs a multiple of ${trained.length}`);
  return Array.from({ length: count }, (_, j) => trained[j % trained.length] as TensorSpec);
}

function slotCountMismatch(name: string, count: number, have: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `Cannot restore "${name}": the checkpoint holds ${count} optimizer slots, and ${have}. ` + `Restore a checkpoint saved by the same model and optimizer.`,
    { expected: have, received: `${count} slots`, fix: "Restore a checkpoint saved by the same model and optimizer." },
  );
}

function asSavedOptimizer(name: string, value: unknown): SavedOptimizer {
  const v = value as Partial<Record<keyof SavedOptimizer, unknown>> | null;
  if (typeof v !== "object" || v === null || v.kind !== SAVED_OPTIMIZER_KIND) {
    throw new InvalidArgumentError(
      `Cannot restore "${name}": expected an optimizer state saved by checkpipe/tfjs (kind "${SAVED_OPTIMIZER_KIND}"); got ` +
        `${describeValue(value)}${typeof v === "object" && v !== null ? ` of kind ${describeValue(v.kind)}` : ""}. ` +
        `Restore a checkpoint written by the same saveables.`,
      { expected: `kind "${SAVED_OPTIMIZER_KIND}"`, received: describeValue(v?.kind ?? value) },
    );
  }
  if (v.version !== SAVED_OPTIMIZER_VERSION) {
    throw new InvalidArgumentError(
      `Cannot restore "${name}": the optimizer state was saved in format version ${describeValue(v.version)}, and this checkpipe ` +
        `reads version ${SAVED_OPTIMIZER_VERSION}. Restore it with the checkpipe version that saved it.`,
      { expected: `version ${SAVED_OPTIMIZER_VERSION}`, received: describeValue(v.version) },
    );
  }
  if (typeof v.className !== "string" || !Array.isArray(v.weights) || typeof v.hidden !== "object" || v.hidden === null) {
    throw damaged(name, "it lacks className, weights or hidden state");
  }
  v.weights.forEach((w) => asSavedTensor(name, w));
  return v as SavedOptimizer;
}

function damaged(name: string, what: string): InvalidArgumentError {
  return new InvalidArgumentError(`Cannot restore "${name}": the saved optimizer state is damaged: ${what}. Restore an intact checkpoint.`);
}

/** The optimizer's own variable `field` (e.g. Adam's `accBeta1`), or null when it has none. */
function hiddenVariable(optimizer: tf.Optimizer, field: string): tf.Variable | null {
  const value: unknown = (optimizer as unknown as Record<string, unknown>)[field];
  return value instanceof tf.Variable ? value : null;
}

/** Disposes what `getWeights()` made for the call (the `iter` scalar), never the slot variables. */
function disposeCopies(named: readonly { readonly tensor: tf.Tensor }[]): void {
  for (const w of named) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
}
