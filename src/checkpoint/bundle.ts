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
 * disk always describes a whole data file. Reading verifies every size and checksum before a
 * value is handed out, and trusts nothing the manifest says beyond what the files hold.
 *
 * @module
 */
import { open, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { decodeValue, encodeValue, EncodedState, type JsonValue } from "../core/state.js";
import { DataLossError, describeValue, NotFoundError } from "../errors.js";
import { crc32cNative as crc32c } from "../formats/crc32c.js";
import { isErrno } from "../io/atomic-file.js";
import { plannedFile, runFilePlan, type FilePhase, type PlannedFile } from "../io/file-plan.js";

/** The format name in every manifest. */
export const BUNDLE_FORMAT = "checkpipe.checkpoint";
/** The version of the bundle format this code writes and reads. */
export const BUNDLE_VERSION = 1;

/** The suffix of the manifest file. */
export const INDEX_SUFFIX = ".index";
/** The suffix of the one data file. */
export const DATA_SUFFIX = ".data-00000-of-00001";

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

/** A checkpoint bundle encoded, ready to be written: its two files. */
export interface EncodedBundle {
  /** The checkpoint's path prefix. */
  readonly prefix: string;
  /** The data file, then the manifest. */
  readonly files: readonly [PlannedFile, PlannedFile];
  /** The bytes of both files. */
  readonly bytes: number;
}

/**
 * Encodes a checkpoint bundle: every value (an iterator's {@link EncodedState} as it is, any
 * other value through `encodeValue`) into the data file's bytes, and the manifest.
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
  const manifest: Manifest = { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, data: { file: basename(prefix) + DATA_SUFFIX, size: offset }, entries };
  const index = formatManifest(manifest, crc32c(Buffer.from(JSON.stringify(manifest), "utf8")));
  const files = [plannedFile(prefix + DATA_SUFFIX, chunks), plannedFile(prefix + INDEX_SUFFIX, [index])] as const;
  return { prefix, files, bytes: files[0].data.byteLength + files[1].data.byteLength };
}

/**
 * The file work that writes bundles crash-safely: first the manifests of checkpoints being
 * saved over are deleted (so that a crash before the new files are in place leaves no manifest
 * over mismatched data, only a checkpoint without one); then every data file and manifest is
 * written, flushed and renamed into place, data file first; then the directories are flushed.
 *
 * @param bundles the bundles to write.
 */
export function bundleWritePhases(bundles: readonly EncodedBundle[]): FilePhase[] {
  return [
    { kind: "unlink", paths: bundles.map((bundle) => bundle.prefix + INDEX_SUFFIX), sync: true },
    { kind: "write", files: bundles.flatMap((bundle) => bundle.files), sync: true },
  ];
}

/**
 * Writes a checkpoint bundle at `prefix`: the data file, then the manifest.
 *
 * @param prefix the checkpoint's path prefix, e.g. `/runs/a/model.ckpt-200`.
 * @param values the values to save, by name, in order.
 * @returns the number of bytes written.
 * @throws {InvalidArgumentError} when a value cannot be encoded (naming it).
 */
export async function writeBundle(prefix: string, values: ReadonlyMap<string, unknown>): Promise<number> {
  const bundle = encodeBundle(prefix, values);
  await runFilePlan(bundleWritePhases([bundle]));
  return bundle.bytes;
}

/**
 * The file work that deletes checkpoints: each one's manifest, then its data file. The
 * directory is not flushed: a deletion a crash undoes leaves an unlisted checkpoint behind.
 *
 * @param prefixes the checkpoints to delete.
 */
export function bundleRemovePhase(prefixes: readonly string[]): FilePhase {
  return { kind: "unlink", paths: prefixes.flatMap((prefix) => [prefix + INDEX_SUFFIX, prefix + DATA_SUFFIX]), sync: false };
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
 *   damaged, or does not match its checksum.
 */
export async function readBundle(prefix: string): Promise<Map<string, unknown>> {
  const manifest = await readManifest(prefix);
  const dataPath = join(dirname(prefix), manifest.data.file);
  const file = await open(dataPath, "r").catch((error: unknown) => {
    if (isErrno(error, "ENOENT")) {
      throw new DataLossError(`Checkpoint ${prefix} is damaged: its data file ${dataPath} is missing. Restore an older checkpoint.`, {
        expected: "the data file",
        received: "no such file",
      });
    }
    throw error;
  });
  try {
    const { size } = await file.stat();
    if (size !== manifest.data.size) {
      const cut = manifest.entries.find((entry) => entry.offset + entrySize(entry) > size);
      throw new DataLossError(
        `Checkpoint ${prefix} is damaged: its data file ${dataPath} has ${size} bytes where the manifest says ` +
          `${manifest.data.size}${cut === undefined ? "" : ` (truncated); entry "${cut.name}" is cut short`}. Restore an older checkpoint.`,
        { expected: `${manifest.data.size} bytes`, received: `${size} bytes` },
      );
    }
    const values = new Map<string, unknown>();
    for (const entry of manifest.entries) values.set(entry.name, await readEntry(file, entry, dataPath));
    return values;
  } finally {
    await file.close();
  }
}

async function readEntry(file: Awaited<ReturnType<typeof open>>, entry: EntryRecord, dataPath: string): Promise<unknown> {
  const size = entrySize(entry);
  const bytes = Buffer.allocUnsafe(size);
  let read = 0;
  while (read < size) {
    const { bytesRead } = await file.read(bytes, read, size - read, entry.offset + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  const lost = (what: string, received: string): DataLossError =>
    new DataLossError(`Entry "${entry.name}" of ${dataPath} is damaged: ${what}. Restore an older checkpoint.`, {
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

function entrySize(entry: EntryRecord): number {
  return entry.json + entry.blobs.reduce((sum, length) => sum + length, 0);
}

/**
 * Reads and checks a manifest: its own checksum, its format and version, and that every entry
 * lies inside the data file it names, which must sit next to it.
 */
async function readManifest(prefix: string): Promise<Manifest> {
  const indexPath = prefix + INDEX_SUFFIX;
  const size = await stat(indexPath).then(
    (s) => s.size,
    (error: unknown) => {
      if (isErrno(error, "ENOENT")) {
        throw new NotFoundError(`Checkpoint ${prefix} does not exist: there is no ${indexPath}.`, {
          expected: "a checkpoint manifest",
          received: "no such file",
        });
      }
      throw error;
    },
  );
  const bad = (what: string): DataLossError =>
    new DataLossError(`The manifest ${indexPath} is damaged: ${what}. Restore an older checkpoint.`, {
      expected: "a checkpipe checkpoint manifest",
      received: what,
    });
  if (size > MAX_INDEX_BYTES) throw bad(`it has ${size} bytes, more than the ${MAX_INDEX_BYTES} any manifest needs`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(indexPath, "utf8"));
  } catch (error) {
    throw bad(`it is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== "object" || parsed === null) throw bad(`it holds ${describeValue(parsed)}`);
  const { crc32c: saved, ...rest } = parsed as Record<string, unknown>;
  if (rest["format"] !== BUNDLE_FORMAT) throw bad(`its format is ${describeValue(rest["format"])}, not "${BUNDLE_FORMAT}"`);
  if (rest["version"] !== BUNDLE_VERSION) {
    throw bad(`its version is ${describeValue(rest["version"])}; this checkpipe reads version ${BUNDLE_VERSION}`);
  }
  const crc = crc32c(Buffer.from(JSON.stringify(rest), "utf8"));
  if (crc !== saved) throw bad(`its CRC32C ${crc} does not match the saved ${describeValue(saved)}`);
  return checkManifest(rest, prefix, bad);
}

function checkManifest(m: Record<string, unknown>, prefix: string, bad: (what: string) => DataLossError): Manifest {
  const data = m["data"] as Record<string, unknown> | null | undefined;
  const expectedFile = basename(prefix) + DATA_SUFFIX;
  if (typeof data !== "object" || data === null || data["file"] !== expectedFile) {
    throw bad(`it names the data file ${describeValue(data?.["file"])}; a checkpoint's data file is ${expectedFile}, next to it`);
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
  return { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, data: { file: expectedFile, size: dataSize }, entries: entries as EntryRecord[] };
}

function isSize(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Deletes a checkpoint's files: the manifest first, so that a checkpoint half deleted by a crash
 * is not taken for a whole one.
 */
export async function removeBundle(prefix: string): Promise<void> {
  await runFilePlan([bundleRemovePhase([prefix])]);
}
