/**
 * Reading TensorBoard event files back: every record through `Dataset.tfrecord` (CRCs
 * verified), decoded as an {@link TFEvent}.
 *
 * @module
 */
import { Dataset } from "../../dataset/dataset.js";
import { invalidArgument } from "../../errors.js";
import { decodeEvent, type TFEvent } from "./event-proto.js";

/** One scalar of an event file, as TensorBoard charts it (its `ScalarEvent`, with the tag). */
export interface ScalarEvent {
  /** The global step. */
  readonly step: number;
  /** The name it is charted under. */
  readonly tag: string;
  /** The value (a 32-bit float, widened). */
  readonly value: number;
  /** When it was logged, in seconds since the epoch. */
  readonly wallTime: number;
}

/**
 * Reads every event of an event file, in order.
 *
 * @param path - An `events.out.tfevents.*` file, e.g. a `SummaryWriter`'s `path`.
 * @returns The decoded events, the file-version event first.
 * @throws {DataLossError} for a CRC mismatch, a truncated record or a malformed Event, naming
 *   the file and the record.
 * @throws {NotFoundError} when the file does not exist.
 * @example
 * const events = await readEvents(writer.path);
 * events[0]?.fileVersion; // "brain.Event:2"
 */
export async function readEvents(path: string): Promise<TFEvent[]> {
  if (typeof path !== "string" || path === "") {
    throw invalidArgument("readEvents(path)", "a file path (a non-empty string)", path, "Pass an events.out.tfevents.* file.");
  }
  const records = await Dataset.tfrecord(path).toArray();
  return records.map((record, i) => decodeEvent(record, `events file ${JSON.stringify(path)}, record ${i}`));
}

/**
 * The scalar summary values of `events` (those with a `simpleValue`), in order.
 *
 * @param events - Events, e.g. from {@link readEvents}.
 * @returns One entry per scalar value.
 * @example
 * scalarsOf(await readEvents(path)); // [{ step: 300, tag: "loss", value: 0.25, wallTime: 1700000000.5 }]
 */
export function scalarsOf(events: readonly TFEvent[]): ScalarEvent[] {
  const scalars: ScalarEvent[] = [];
  for (const { step, wallTime, summary } of events) {
    for (const { tag, simpleValue } of summary?.value ?? []) {
      if (simpleValue !== undefined) scalars.push({ step, tag, value: simpleValue, wallTime });
    }
  }
  return scalars;
}
