/**
 * Errors and transfers across threads: an error keeps its class (checkpipe's by code,
 * JavaScript's own by name) and the worker's stack; the buffers of typed arrays a value owns
 * whole are moved instead of copied.
 *
 * @module
 */
import { encodeError, savedError } from "../../core/value-codec.js";
import type { WireEntry, WireError } from "./protocol.js";

/** An error as it crosses threads. */
export function toWire(error: unknown): WireError {
  const { name, message, code } = encodeError(error) as { name: string; message: string; code: string | null };
  return { name, message, code, stack: error instanceof Error && typeof error.stack === "string" ? error.stack : null };
}

/** The error back on this side: the same class, the worker's stack. */
export function fromWire(wire: WireError, path: string): Error {
  const error = savedError({ name: wire.name, message: wire.message, code: wire.code }, path);
  if (wire.stack !== null) error.stack = wire.stack;
  return error;
}

/** How deep {@link transferables} looks into arrays, objects and Maps for typed arrays. */
const TRANSFER_DEPTH = 4;
/**
 * The smallest buffer worth moving: below it a copy costs less than a transfer (measured: 64-byte
 * arrays cross 1.5× faster copied, 64 KiB ones 2× faster moved; 4 KiB about even).
 */
const MIN_TRANSFER_BYTES = 16 * 1024;

/**
 * The `ArrayBuffer`s of the typed arrays (and the `ArrayBuffer`s) in `entries` that a value owns
 * whole and that are large enough to be worth moving — a view of part of a buffer is copied,
 * since the rest may belong to something else. Looks `TRANSFER_DEPTH` levels into arrays,
 * plain objects and Maps.
 *
 * @param sent - Buffers moved before: one met again was handed out already (and is empty on this
 *   side now); the entry holding it is reported through `reused` instead.
 */
export function transferables(entries: readonly WireEntry[], sent: WeakSet<ArrayBuffer>, reused: (index: number) => void): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const take = (buffer: ArrayBuffer, index: number): void => {
    if (sent.has(buffer))
      reused(index); // moved before: empty (detached) now, whatever its size was
    else if (buffer.byteLength >= MIN_TRANSFER_BYTES) out.add(buffer);
  };
  const visit = (value: unknown, depth: number, index: number): void => {
    if (typeof value !== "object" || value === null) return;
    if (ArrayBuffer.isView(value)) {
      const buffer = value.buffer;
      if (buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength) take(buffer, index);
      return;
    }
    if (value instanceof ArrayBuffer) {
      take(value, index);
      return;
    }
    if (depth >= TRANSFER_DEPTH) return;
    if (Array.isArray(value)) for (const item of value) visit(item, depth + 1, index);
    else if (value instanceof Map) for (const item of value.values()) visit(item, depth + 1, index);
    else if (Object.getPrototypeOf(value) === Object.prototype) for (const key in value) visit((value as Record<string, unknown>)[key], depth + 1, index);
  };
  entries.forEach((entry, index) => {
    if ("value" in entry) visit(entry.value, 0, index);
  });
  for (const buffer of out) sent.add(buffer);
  return [...out];
}
