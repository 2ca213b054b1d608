/**
 * The messages between the main thread and the library's worker threads (see host.ts): a
 * batch of elements to map, or the commands of a pipeline a worker runs (open, pull, save,
 * close). Values cross by structured clone; an error crosses as `{ name, message, code, stack }`.
 *
 * @module
 */
import type { JsonValue } from "../../core/state.js";

/** An error as it crosses threads. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code: string | null;
  readonly stack: string | null;
}

/** One element's outcome: its value, or the error met in its place. */
export type WireEntry = { readonly value: unknown } | { readonly error: WireError };

/** Where the function or dataset a worker runs comes from. */
export interface ModuleExport {
  /** An ES module's URL (`file:` or `data:`). */
  readonly module: string;
  /** The export's name. */
  readonly export: string;
}

/** What the main thread asks; `id` pairs it with its reply. */
export type HostRequest =
  | ({ readonly op: "map"; readonly id: number; readonly elements: unknown[]; readonly transfer: boolean } & ModuleExport)
  | ({
      readonly op: "open";
      readonly id: number;
      readonly pipeline: number;
      readonly workerIndex: number;
      readonly numWorkers: number;
      readonly state: JsonValue | null;
    } & ModuleExport)
  | { readonly op: "pull"; readonly id: number; readonly pipeline: number; readonly max: number; readonly transfer: boolean }
  | { readonly op: "save"; readonly id: number; readonly pipeline: number }
  | { readonly op: "close"; readonly id: number; readonly pipeline: number };

/** A worker's answer: entries (map, pull), the end (pull), a state (save), or a failure of the whole request. */
export interface HostReply {
  readonly id: number;
  readonly entries?: WireEntry[];
  readonly ended?: boolean;
  readonly state?: JsonValue;
  /** How long the worker worked on the request, in milliseconds. */
  readonly busyMs?: number;
  /** The request as a whole failed (the module could not load, a restore or save failed). */
  readonly fatal?: WireError;
}
