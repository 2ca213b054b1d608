/**
 * The bundle: the two files one checkpoint is made of (DESIGN.md, "Checkpoint files"; the
 * format is documented in docs/checkpoint-format.md).
 *
 * - `<prefix>.data-00000-of-00001` holds each entry's bytes, one after the other: the entry's
 *   value encoded as JSON, then its binary parts (typed arrays, long strings) raw.
 * - `<prefix>.index` is the manifest, JSON: format and version, the data file's name and size,
 *   and for each entry its name, offset, sizes and CRC32C; plus a CRC32C of the manifest itself.
 *
 * The data file is written first and the manifest second, each atomically, so a manifest on
 * disk always describes a whole data file. A checkpoint saved again over one that exists writes
 * its data under the other of two names (`.data-00000-of-00001`, `.data-00000-of-00001.resaved`),
 * the one the manifest on disk does not name, so that until the new manifest replaces the old
 * one the old checkpoint stays whole. Reading verifies every size and checksum before a value is
 * handed out, and trusts nothing the manifest says beyond what the files hold.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import type { JsonValue } from "../core/state.js";
import { decodeValue, encodeValue, EncodedState } from "../core/value-codec.js";
import { DataLossError, describeValue, NotFoundError, type ErrorDetails } from "../errors.js";
import { crc32cNative as crc32c } from "../formats/crc32c.js";
import { joinedBytes, plannedFile, runFilePlan, temporaryPathFor, type FilePhase, type PlannedFile } from "../io/file-plan.js";
import { errnoCode } from "../io/fs-errors.js";
import { openRegularFile, readAt, type OpenRegularFile } from "../io/regular-file.js";

/** The format name in every manifest. */
export const BUNDLE_FORMAT = "checkpipe.checkpoint";
/**
 * The version of the bundle format this code writes: 1 when the data file has its usual name,
 * 2 when it has the name of a checkpoint saved again ({@link RESAVED_DATA_SUFFIX}), which
 * version 1 readers do not know. This code reads both.
 */
export const BUNDLE_VERSION = 2;

/** The suffix of the manifest file. */
export const INDEX_SUFFIX = ".index";
/** The suffix of the one data file. */
export const DATA_SUFFIX = ".data-00000-of-00001";
/** The suffix of the data file of a checkpoint saved again over one whose data file is `DATA_SUFFIX`. */
export const RESAVED_DATA_SUFFIX = `${DATA_SUFFIX}.resaved`;

/** The two names a checkpoint's data file can have, by the version of the manifest that names it. */
const DATA_SUFFIXES: Readonly<Record<number, readonly string[]>> = { 1: [DATA_SUFFIX], 2: [DATA_SUFFIX, RESAVED_DATA_SUFFIX] };

/** Manifests larger than this are refused unread: no real checkpoint needs one. */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/** One entry as the manifest describes it. */
interface EntryRecord {
  /** The saveable's name. */
  readonly name: string;
  /** Where the entry starts in the data file, in bytes. */
  readonly offset: number;
  /** The byte length of the entry's JSON. */
  readonly json: number;
  /** The byte length of each binary part, in order, after the JSON. */
  readonly blobs: readonly number[];
  /** The CRC32C of all the entry's bytes. */
  readonly crc32c: number;
  /**
   * `"state"` when the entry is an {@link EncodedState} (an iterator's), handed back as one;
   * absent for a value, decoded before it is handed back.
   */
  readonly form?: "state";
}

interface Manifest {
  readonly format: string;
  readonly version: number;
  readonly data: { readonly file: string; readonly size: number };
  readonly entries: readonly EntryRecord[];
}

/**
 * A checkpoint bundle encoded, ready to be written: the data file's bytes and what the manifest
 * says of them. The manifest itself is made by {@link planBundleWrite}, once it is known which of
 * its two names the data file is written under.
 */
export interface EncodedBundle {
  /** The checkpoint's path prefix. */
  readonly prefix: string;
  /** The data file's bytes, in a buffer of their own (handed over to the writer). */
  readonly data: Uint8Array;
  /** The entries, in order. */
  readonly entries: readonly EntryRecord[];
  /** The bytes of both files (the manifest's estimated). */
  readonly bytes: number;
}

/**
 * Encodes a checkpoint bundle: every value (an iterator's {@link EncodedState} as it is, any
 * other value through `encodeValue`) into the data file's bytes, and the entries the manifest
 * will list.
 *
 * @param prefix the checkpoint's path prefix, e.g. `/runs/a/model.ckpt-200`.
 * @param values the values to save, by name, in order.
 * @throws {InvalidArgumentError} when a value cannot be encoded (naming it).
 */
export function encodeBundle(prefix: string, values: ReadonlyMap<string, unknown>): EncodedBundle {
  const chunks: Uint8Array[] = [];
  const entries: EntryRecord[] = [];
  let offset = 0;
  for (const [name, value] of values) {
    const state = value instanceof EncodedState;
    const blobs: Uint8Array[] = state ? [...value.blobs] : [];
    const tree = state ? value.tree : encodeValue(value, name, (bytes) => blobs.push(bytes) - 1);
    const json = Buffer.from(JSON.stringify(tree), "utf8");
    let crc = crc32c(json);
    for (const blob of blobs) crc = crc32c(blob, crc);
    const size = json.byteLength + blobs.reduce((sum, blob) => sum + blob.byteLength, 0);
    const record = { name, offset, json: json.byteLength, blobs: blobs.map((blob) => blob.byteLength), crc32c: crc };
    entries.push(state ? { ...record, form: "state" } : record);
    chunks.push(json, ...blobs);
    offset += size;
  }
  const data = joinedBytes(chunks);
  return { prefix, data, entries, bytes: data.byteLength + 128 * (entries.length + 2) };
}

/** How one bundle is written: its two files, and the data file it makes obsolete. */
export interface BundleWrite {
  readonly bundle: EncodedBundle;
  /** The data file, then the manifest naming it. */
  readonly files: readonly [PlannedFile, PlannedFile];
  /** The data file of the checkpoint it replaces, deleted once the new one is in place; null when it replaces none. */
  readonly replaced: string | null;
}

/**
 * Plans the writing of a bundle. Its data file gets the usual name, unless the checkpoint on
 * disk at the same prefix uses that one (`current`, as {@link readDataFileName} found it): then
 * the other, {@link RESAVED_DATA_SUFFIX}, so that the checkpoint on disk stays whole until the
 * new manifest replaces its own.
 *
 * @param bundle the encoded bundle.
 * @param current the data file the manifest on disk at the prefix names, or null when there is none.
 */
export function planBundleWrite(bundle: EncodedBundle, current: string | null): BundleWrite {
  const usual = basename(bundle.prefix) + DATA_SUFFIX;
  const dataFile = current === usual ? basename(bundle.prefix) + RESAVED_DATA_SUFFIX : usual;
  const resaved = dataFile !== usual;
  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    version: resaved ? 2 : 1,
    data: { file: dataFile, size: bundle.data.byteLength },
    entries: bundle.entries,
  };
  const index = formatManifest(manifest, crc32c(Buffer.from(JSON.stringify(manifest), "utf8")));
  const dir = dirname(bundle.prefix);
  const dataPath = join(dir, dataFile);
  return {
    bundle,
    files: [{ path: dataPath, temporary: temporaryPathFor(dataPath), data: bundle.data }, plannedFile(bundle.prefix + INDEX_SUFFIX, [index])],
    replaced: current === null || current === dataFile ? null : join(dir, current),
  };
}

/**
 * The data file the manifest at `prefix` names, if there is a readable manifest there; null
 * otherwise (no manifest, or one too damaged to say: then nothing whole is there to keep).
 *
 * @param prefix the checkpoint's prefix.
 */
export async function readDataFileName(prefix: string): Promise<string | null> {
  try {
    return (await readManifest(prefix)).data.file;
  } catch {
    return null;
  }
}

/**
 * The file work that writes bundles crash-safely: every data file and manifest is written,
 * flushed and renamed into place, each data file before its manifest, and the directories
 * flushed; then the data files of the checkpoints they replaced are deleted. A bundle saved
 * over one that exists has its data under the other name ({@link planBundleWrite}), so a crash
 * at any instant leaves the old manifest with its data file or the new one with its own.
 *
 * @param writes the bundles to write, as {@link planBundleWrite} planned them.
 */
export function bundleWritePhases(writes: readonly BundleWrite[]): FilePhase[] {
  return [
    { kind: "write", files: writes.flatMap((write) => write.files), sync: true },
    { kind: "unlink", paths: writes.flatMap((write) => (write.replaced === null ? [] : [write.replaced])), sync: false },
  ];
}

/**
 * Writes a checkpoint bundle at `prefix`: the data file, then the manifest (over a checkpoint
 * there, crash-safely: see {@link planBundleWrite}).
 *
 * @param prefix the checkpoint's path prefix, e.g. `/runs/a/model.ckpt-200`.
 * @param values the values to save, by name, in order.
 * @returns the number of bytes written.
 * @throws {InvalidArgumentError} when a value cannot be encoded (naming it).
 */
export async function writeBundle(prefix: string, values: ReadonlyMap<string, unknown>): Promise<number> {
  const write = planBundleWrite(encodeBundle(prefix, values), await readDataFileName(prefix));
  await runFilePlan(bundleWritePhases([write]), { purpose: `Saving checkpoint ${prefix}` });
  return write.files[0].data.byteLength + write.files[1].data.byteLength;
}

/**
 * The file work that deletes checkpoints: each one's manifest, then its data file (under either
 * name). The directory is not flushed: a deletion a crash undoes leaves an unlisted checkpoint
 * behind.
 *
 * @param prefixes the checkpoints to delete.
 */
export function bundleRemovePhase(prefixes: readonly string[]): FilePhase {
  return { kind: "unlink", paths: prefixes.flatMap((prefix) => [prefix + INDEX_SUFFIX, prefix + DATA_SUFFIX, prefix + RESAVED_DATA_SUFFIX]), sync: false };
}

/** The manifest as people read it: one field, or one entry, per line. */
function formatManifest(manifest: Manifest, crc: number): string {
  const { entries, ...head } = manifest;
  const lines = Object.entries(head).map(([key, value]) => ` ${JSON.stringify(key)}: ${JSON.stringify(value)},`);
  const list = entries.map((entry) => `  ${JSON.stringify(entry)}`).join(",\n");
  return `{\n${lines.join("\n")}\n "entries": [\n${list}\n ],\n "crc32c": ${crc}\n}\n`;
}

/**
 * Reads and verifies a whole checkpoint bundle.
 *
 * @param prefix the checkpoint's path prefix.
 * @returns the saved values by name, in the order they were written.
 * @throws {NotFoundError} when the manifest does not exist.
 * @throws {DataLossError} naming the file and the entry, when a file is truncated, missing,
 *   damaged, does not match its checksum, is not a regular file (a directory, a FIFO, a
 *   socket, a device: never opened so as to block), or the disk fails reading it (EIO).
 * @throws {FailedPreconditionError} naming the file, when it cannot be read for another reason
 *   (permissions: EACCES), with the file system's error as `cause`.
 */
export async function readBundle(prefix: string): Promise<Map<string, unknown>> {
  const manifest = await readManifest(prefix);
  const dataPath = join(dirname(prefix), manifest.data.file);
  const purpose = `Reading checkpoint ${prefix}`;
  const file = await openRegularFile(dataPath, { purpose, refuse: dataLoss }).catch((error: unknown) => {
    if (error instanceof NotFoundError && errnoCode(error.cause) === "ENOENT") {
      throw new DataLossError(`Checkpoint ${prefix} is damaged: its data file ${dataPath} is missing. Restore an older checkpoint.`, {
        reason: "CHECKPOINT_DAMAGED",
        expected: "the data file",
        received: "no such file",
        cause: error.cause,
      });
    }
    throw error;
  });
  try {
    const { size } = file;
    if (size !== manifest.data.size) {
      const cut = manifest.entries.find((entry) => entry.offset + entrySize(entry) > size);
      throw new DataLossError(
        `Checkpoint ${prefix} is damaged: its data file ${dataPath} has ${size} bytes where the manifest says ` +
          `${manifest.data.size}${cut === undefined ? "" : ` (truncated); entry "${cut.name}" is cut short`}. Restore an older checkpoint.`,
        { expected: `${manifest.data.size} bytes`, received: `${size} bytes`, reason: "CHECKPOINT_DAMAGED" },
      );
    }
    const values = new Map<string, unknown>();
    for (const entry of manifest.entries) values.set(entry.name, await readEntry(file, entry, dataPath, purpose));
    return values;
  } finally {
    await file.handle.close();
  }
}

async function readEntry(file: OpenRegularFile, entry: EntryRecord, dataPath: string, purpose: string): Promise<unknown> {
  const size = entrySize(entry);
  const bytes = Buffer.allocUnsafe(size);
  const read = await readAt(file, dataPath, bytes, entry.offset, purpose);
  const lost = (what: string, received: string): DataLossError =>
    new DataLossError(`Entry "${entry.name}" of ${dataPath} is damaged: ${what}. Restore an older checkpoint.`, {
      reason: "CHECKPOINT_DAMAGED",
      expected: "the bytes that were saved",
      received,
    });
  if (read < size) throw lost(`the file ends ${size - read} bytes early`, `${read} of ${size} bytes`);
  const crc = crc32c(bytes);
  if (crc !== entry.crc32c) throw lost(`CRC32C ${crc} does not match the saved ${entry.crc32c}`, `CRC32C ${crc}`);
  const blobs: Uint8Array[] = [];
  let at = entry.json;
  for (const length of entry.blobs) {
    blobs.push(bytes.subarray(at, at + length));
    at += length;
  }
  try {
    const tree = JSON.parse(bytes.toString("utf8", 0, entry.json)) as JsonValue;
    return entry.form === "state" ? new EncodedState(tree, blobs) : decodeValue(tree, blobs);
  } catch (error) {
    throw lost(`it does not decode (${error instanceof Error ? error.message : String(error)})`, "undecodable bytes");
  }
}

/** A file of a checkpoint that is not a regular file is damage: the checkpoint is not whole. */
function dataLoss(message: string, details: ErrorDetails): DataLossError {
  return new DataLossError(`${message} Restore an older checkpoint.`, { ...details, reason: "CHECKPOINT_DAMAGED" });
}

function entrySize(entry: EntryRecord): number {
  return entry.json + entry.blobs.reduce((sum, length) => sum + length, 0);
}

/**
 * Reads and checks a manifest: its own checksum, its format and version, and that every entry
 * lies inside the data file it names, which must sit next to it.
 */
async function readManifest(prefix: string): Promise<Manifest> {
  const indexPath = prefix + INDEX_SUFFIX;
  const bad = (what: string): DataLossError =>
    new DataLossError(`The manifest ${indexPath} is damaged: ${what}. Restore an older checkpoint.`, {
      reason: "CHECKPOINT_DAMAGED",
      expected: "a checkpipe checkpoint manifest",
      received: what,
    });
  const purpose = `Reading checkpoint ${prefix}`;
  const file = await openRegularFile(indexPath, { purpose, refuse: dataLoss });
  let text: string;
  try {
    if (file.size > MAX_INDEX_BYTES) throw bad(`it has ${file.size} bytes, more than the ${MAX_INDEX_BYTES} any manifest needs`);
    const bytes = Buffer.allocUnsafe(file.size);
    text = bytes.toString("utf8", 0, await readAt(file, indexPath, bytes, 0, purpose));
  } finally {
    await file.handle.close();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw bad(`it is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== "object" || parsed === null) throw bad(`it holds ${describeValue(parsed)}`);
  const { crc32c: saved, ...rest } = parsed as Record<string, unknown>;
  if (rest["format"] !== BUNDLE_FORMAT) throw bad(`its format is ${describeValue(rest["format"])}, not "${BUNDLE_FORMAT}"`);
  const version = rest["version"];
  if (typeof version !== "number" || DATA_SUFFIXES[version] === undefined) {
    throw bad(`its version is ${describeValue(version)}; this checkpipe reads versions 1 to ${BUNDLE_VERSION}`);
  }
  const crc = crc32c(Buffer.from(JSON.stringify(rest), "utf8"));
  if (crc !== saved) throw bad(`its CRC32C ${crc} does not match the saved ${describeValue(saved)}`);
  return checkManifest(rest, prefix, version, bad);
}

function checkManifest(m: Record<string, unknown>, prefix: string, version: number, bad: (what: string) => DataLossError): Manifest {
  const data = m["data"] as Record<string, unknown> | null | undefined;
  const allowed = (DATA_SUFFIXES[version] ?? []).map((suffix) => basename(prefix) + suffix);
  const file = data?.["file"];
  if (typeof data !== "object" || data === null || typeof file !== "string" || !allowed.includes(file)) {
    throw bad(`it names the data file ${describeValue(file)}; a version ${version} checkpoint's data file is ${allowed.join(" or ")}, next to it`);
  }
  const dataSize = data["size"];
  if (!isSize(dataSize)) throw bad(`its data size is ${describeValue(dataSize)}`);
  const entries = m["entries"];
  if (!Array.isArray(entries)) throw bad("it has no list of entries");
  const names = new Set<string>();
  let end = 0;
  for (const [i, e] of entries.entries()) {
    const entry = e as Partial<Record<keyof EntryRecord, unknown>> | null;
    const ok =
      typeof entry === "object" &&
      entry !== null &&
      typeof entry.name === "string" &&
      isSize(entry.offset) &&
      isSize(entry.json) &&
      Array.isArray(entry.blobs) &&
      entry.blobs.every(isSize) &&
      isSize(entry.crc32c) &&
      (entry.form === undefined || entry.form === "state");
    if (!ok) throw bad(`entry ${i} is malformed: ${describeValue(e)}`);
    const record = entry as EntryRecord;
    if (names.has(record.name)) throw bad(`entry "${record.name}" appears twice`);
    names.add(record.name);
    if (record.offset !== end || record.offset + entrySize(record) > dataSize) {
      throw bad(`entry "${record.name}" claims bytes ${record.offset}–${record.offset + entrySize(record)} of a ${dataSize}-byte data file`);
    }
    end = record.offset + entrySize(record);
  }
  if (end !== dataSize) throw bad(`its entries cover ${end} bytes of a ${dataSize}-byte data file`);
  return { format: BUNDLE_FORMAT, version, data: { file, size: dataSize }, entries: entries as EntryRecord[] };
}

function isSize(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Deletes a checkpoint's files: the manifest first, so that a checkpoint half deleted by a crash
 * is not taken for a whole one.
 */
export async function removeBundle(prefix: string): Promise<void> {
  await runFilePlan([bundleRemovePhase([prefix])], { purpose: `Deleting checkpoint ${prefix}` });
}
