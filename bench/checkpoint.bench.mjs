// Checkpoint benchmark: what a durable checkpoint of an iterator costs (Saver.save() into a
// directory, the bytes it leaves on disk, Saver.restore()), next to plain Node.js writing the
// same bytes, in one process.
//
//   npm run bench                           (builds, then runs every bench)
//   node bench/checkpoint.bench.mjs         (needs a built dist/)
//   node bench/checkpoint.bench.mjs --json  (machine-readable results instead of the table)
//   node bench/checkpoint.bench.mjs --runs 9
//
// Cases. Dataset.range(20 000).map(f).shuffle(10 000, { seed: 1 }), advanced by one element,
// so the shuffle buffer holds 10 000 elements: f makes small records { id, v, name } ("records")
// or Float32Array(784) (≈ 31 MB of floats, "float32"). The iterator goes into
// new Saver([makeSaveableFromIterator(it)], { maxToKeep: 2 }) saving into a fresh temporary
// directory with a growing global step, so every save also rewrites the state file and deletes
// the checkpoint two steps back, as in training.
//
// Peers. The checkpoint's data file is read back once, and its bytes are written to a new file
// with fs.promises.writeFile ("writeFile") and with open + write + filehandle.sync() + close
// ("writeFile+fsync"). A durable save has to fsync, so both are reported; the target is
// save ≤ 2 × writeFile.
//
// Method. Everything runs twice as a warm-up. Then --runs (default 7, at least 5) rounds, each
// timing every side once in rotating order (save, writeFile, writeFile+fsync; then restore and
// readFile), so that page-cache writeback, which makes disk writes on a shared machine vary
// several-fold, hits all sides alike; the peers' files are deleted after each run. A side's
// figure is its median run; the ratios are ratios of median times, and the median of the
// per-round ratios is given too. A restored iterator's next element is checked against an
// uninterrupted one's. A second set of rounds splits a save into its parts (encoding the state;
// JSON and CRC32C; writing the two bundle files) and a restore into reading the bundle and the
// rest. Targets are reported, not enforced.

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { mkdir, open, readFile, rm, unlink, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Dataset, Saver, makeSaveableFromIterator } from "../dist/index.js";
import { readBundle, removeBundle, writeBundle } from "../dist/checkpoint/bundle.js";
import { crc32c } from "../dist/formats/crc32c.js";
import { JSON_OUT, intArg, log } from "./cli.mjs";

// ---- command line --------------------------------------------------------------------------

const RUNS = Math.max(5, intArg("--runs", 7));

// ---- sizes ---------------------------------------------------------------------------------

const N = 20_000;
const BUFFER = 10_000;
const SEED = 1;
const TARGET = 2; // save ≤ 2 × plain writeFile of the same bytes
const DIR = mkdtempSync(join(os.tmpdir(), "checkpipe-checkpoint-bench-"));

const DATA_SUFFIX = ".data-00000-of-00001";
const INDEX_SUFFIX = ".index";

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;

const CASES = [
  {
    id: "records",
    label: "10 000 records { id, v, name }",
    dataset: () =>
      Dataset.range(N)
        .map((i) => ({ id: i, v: i % 7, name: "x" + i }))
        .shuffle(BUFFER, { seed: SEED }),
    same: (a, b) => a.id === b.id && a.v === b.v && a.name === b.name,
    json: true,
  },
  {
    id: "float32",
    label: "10 000 Float32Array(784)",
    dataset: () =>
      Dataset.range(N)
        .map((i) => new Float32Array(784).fill(i))
        .shuffle(BUFFER, { seed: SEED }),
    same: (a, b) => a instanceof Float32Array && a.length === b.length && a[0] === b[0] && a[783] === b[783],
    json: false,
  },
];

// ---- the sides -----------------------------------------------------------------------------

async function time(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** fs.promises.writeFile of `bytes` to `path`: into the page cache, no flush. */
async function plainWrite(path, bytes) {
  await writeFile(path, bytes);
}

/** The same, flushed to disk: open, write, fsync, close. */
async function durableWrite(path, bytes) {
  const file = await open(path, "w");
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
}

// ---- one case ------------------------------------------------------------------------------

async function runCase(c) {
  const dir = join(DIR, c.id);
  await mkdir(dir);
  const ds = c.dataset();
  const it = ds.iterator();
  await it.next(); // the buffer is full: 10 000 elements held
  const saver = new Saver([makeSaveableFromIterator(it)], { maxToKeep: 2 });
  const savePath = join(dir, "model.ckpt");
  let step = 0;
  let prefix = null;
  const save = async () => {
    prefix = await saver.save(savePath, { globalStep: ++step });
  };
  const restore = () => saver.restore(prefix);

  // The expected element after the restored position: an uninterrupted run's second element.
  const reference = ds.iterator();
  await reference.next();
  const expected = (await reference.next()).value;
  await reference.return();

  // Warm-up, and the bytes the peers write.
  await save();
  const dataBytes = statSync(prefix + DATA_SUFFIX).size;
  const indexBytes = statSync(prefix + INDEX_SUFFIX).size;
  const stateFileBytes = statSync(join(dir, "checkpoint")).size;
  const bytes = await readFile(prefix + DATA_SUFFIX);
  let peer = 0;
  const peerPath = () => join(dir, `peer-${++peer}.bin`);
  const timedPeer = async (write) => {
    const path = peerPath();
    const ms = await time(() => write(path, bytes));
    await unlink(path);
    return ms;
  };
  for (let w = 0; w < 2; w++) {
    if (w > 0) await save();
    await timedPeer(plainWrite);
    await timedPeer(durableWrite);
    await restore();
    await readFile(prefix + DATA_SUFFIX);
  }

  // Save versus the two peers, interleaved in rotating order.
  const writeSides = {
    save: () => time(save),
    writeFile: () => timedPeer(plainWrite),
    writeFileFsync: () => timedPeer(durableWrite),
  };
  const writes = await rounds(writeSides);
  // Every save wrote the same state (the index grows by a digit with the step in the file name).
  const dataNow = statSync(prefix + DATA_SUFFIX).size;
  if (dataNow !== dataBytes) throw new Error(`${c.id}: the last save wrote ${dataNow} data bytes, the first ${dataBytes}`);

  // Restore versus reading the data file.
  const reads = await rounds({
    restore: () => time(restore),
    readFile: () => time(() => readFile(prefix + DATA_SUFFIX)),
  });
  const first = (await it.next()).value;
  if (!c.same(first, expected)) {
    throw new Error(`${c.id}: the restored iterator's next element differs from the uninterrupted one's`);
  }

  // Where a save's and a restore's time goes. The iterator is one element further now; the
  // state is the same size.
  const parts = await breakdown(it, dir);

  // For reference: the JSON state (iterator.save()) of the records case.
  const jsonState = c.json ? await jsonStateCost(it) : null;
  await it.return();
  await rm(dir, { recursive: true, force: true });

  const ms = (runs) => median(runs);
  const saveMs = ms(writes.save);
  const writeMs = ms(writes.writeFile);
  const fsyncMs = ms(writes.writeFileFsync);
  const paired = (a, b) => median(a.map((x, i) => x / b[i]));
  const totalBytes = dataBytes + indexBytes;
  return {
    id: c.id,
    label: c.label,
    pipeline: ds.toString(),
    bytes: { data: dataBytes, index: indexBytes, onDisk: totalBytes, stateFile: stateFileBytes },
    medianMs: {
      save: round(saveMs, 2),
      writeFile: round(writeMs, 2),
      writeFileFsync: round(fsyncMs, 2),
      restore: round(ms(reads.restore), 2),
      readFile: round(ms(reads.readFile), 2),
    },
    bytesPerSec: {
      save: Math.round(totalBytes / (saveMs / 1000)),
      writeFile: Math.round(dataBytes / (writeMs / 1000)),
      writeFileFsync: Math.round(dataBytes / (fsyncMs / 1000)),
      restore: Math.round(totalBytes / (ms(reads.restore) / 1000)),
      readFile: Math.round(dataBytes / (ms(reads.readFile) / 1000)),
    },
    saveOverWriteFile: round(saveMs / writeMs, 2),
    saveOverWriteFileFsync: round(saveMs / fsyncMs, 2),
    pairedSaveOverWriteFile: round(paired(writes.save, writes.writeFile), 2),
    pairedSaveOverWriteFileFsync: round(paired(writes.save, writes.writeFileFsync), 2),
    target: `save ≤ ${TARGET}× writeFile`,
    met: saveMs / writeMs <= TARGET,
    parts,
    jsonState,
    runsMs: {
      save: writes.save.map((x) => round(x, 2)),
      writeFile: writes.writeFile.map((x) => round(x, 2)),
      writeFileFsync: writes.writeFileFsync.map((x) => round(x, 2)),
      restore: reads.restore.map((x) => round(x, 2)),
      readFile: reads.readFile.map((x) => round(x, 2)),
    },
  };
}

/** RUNS rounds, each timing every side once, the order rotating from round to round. */
async function rounds(sides) {
  const names = Object.keys(sides);
  const runs = Object.fromEntries(names.map((name) => [name, []]));
  for (let r = 0; r < RUNS; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length];
      runs[name].push(await sides[name]());
    }
  }
  return runs;
}

/**
 * Where the time goes, in rounds of their own (back to back, so their disk figures are not
 * comparable with the interleaved ones): saveEncoded (the iterator's state with its binary
 * parts apart, which the Saver asks for); serializing it as writeBundle does (JSON.stringify,
 * UTF-8, CRC32C of the JSON and of every binary part), i.e. a save's CPU work; writeBundle
 * (that plus the data and index files, each temp + fsync + rename + directory fsync);
 * readBundle (read, CRC32C, JSON.parse); and a whole saver.restore() (readBundle, then the
 * blobs put back into the tree and the ops' restore).
 */
async function breakdown(it, dir) {
  const prefix = join(dir, "parts.ckpt");
  const saveable = makeSaveableFromIterator(it);
  const saver = new Saver([saveable], { maxToKeep: 2 });
  let encoded = await saveable.save();
  const serialize = () => {
    const json = Buffer.from(JSON.stringify(encoded.tree), "utf8");
    let crc = crc32c(json);
    for (const blob of encoded.blobs) crc = crc32c(blob, crc);
    return crc;
  };
  serialize();
  await writeBundle(prefix, new Map([[saveable.name, encoded]]));
  await readBundle(prefix);
  await saver.restore(prefix);
  const runs = { saveEncoded: [], serialize: [], writeBundle: [], readBundle: [], restore: [] };
  for (let r = 0; r < RUNS; r++) {
    runs.saveEncoded.push(await time(async () => (encoded = await saveable.save())));
    runs.serialize.push(await time(serialize));
    runs.writeBundle.push(await time(() => writeBundle(prefix, new Map([[saveable.name, encoded]]))));
    runs.readBundle.push(await time(() => readBundle(prefix)));
    runs.restore.push(await time(() => saver.restore(prefix)));
  }
  await removeBundle(prefix);
  return Object.fromEntries(Object.entries(runs).map(([name, xs]) => [`${name}Ms`, round(median(xs), 2)]));
}

/** iterator.save() (the JSON state) and JSON.stringify of it: times and size. */
async function jsonStateCost(it) {
  let state = await it.save();
  JSON.stringify(state);
  const save = [];
  const stringify = [];
  let json = "";
  for (let r = 0; r < RUNS; r++) {
    save.push(await time(async () => (state = await it.save())));
    stringify.push(await time(() => (json = JSON.stringify(state))));
  }
  return { saveMs: round(median(save), 2), stringifyMs: round(median(stringify), 2), bytes: Buffer.byteLength(json) };
}

// ---- main ----------------------------------------------------------------------------------

async function main() {
  const started = performance.now();
  const cpu = os.cpus()[0]?.model ?? null;
  log(`checkpipe checkpoint bench — node ${process.version}, ${cpu ?? "cpu?"} ×${os.cpus().length}, ${RUNS} runs, in ${DIR}`);
  const rows = [];
  for (const c of CASES) {
    log(`${c.label} ...`);
    rows.push(await runCase(c));
  }
  const totalSec = round((performance.now() - started) / 1000, 1);
  if (JSON_OUT) {
    const out = { node: process.version, cpu, cores: os.cpus().length, runs: RUNS, tmpdir: os.tmpdir(), rows, totalSec };
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
  } else {
    printTable(rows, totalSec);
  }
}

function fmtBytes(x) {
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)} MB`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} kB`;
  return `${x} B`;
}

function fmtRate(x) {
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} GB/s`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(0)} MB/s`;
  return `${(x / 1e3).toFixed(0)} kB/s`;
}

function table(head, body, right) {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
}

function printTable(rows, totalSec) {
  const out = [""];
  out.push(`checkpipe checkpoint bench — node ${process.version}, ${os.cpus()[0]?.model ?? "unknown cpu"} ×${os.cpus().length}`);
  out.push(`Range(20000) -> Map -> Shuffle(10000) after one next(); median of ${RUNS} interleaved runs; files in ${os.tmpdir()}`);
  out.push("");
  const head = ["state held", "on disk", "save", "writeFile", "+fsync", "save÷write", "save÷(write+fsync)", "target", ""];
  const body = rows.map((r) => [
    r.label,
    fmtBytes(r.bytes.onDisk),
    `${r.medianMs.save.toFixed(1)} ms`,
    `${r.medianMs.writeFile.toFixed(1)} ms`,
    `${r.medianMs.writeFileFsync.toFixed(1)} ms`,
    `${r.saveOverWriteFile.toFixed(2)}× (${r.pairedSaveOverWriteFile.toFixed(2)}×)`,
    `${r.saveOverWriteFileFsync.toFixed(2)}× (${r.pairedSaveOverWriteFileFsync.toFixed(2)}×)`,
    `≤ ${TARGET}×`,
    r.met ? "ok" : "MISSED",
  ]);
  out.push(...table(head, body, [false, true, true, true, true, true, true, false, false]));
  out.push("");
  const rates = rows.map((r) => [
    r.label,
    fmtRate(r.bytesPerSec.save),
    fmtRate(r.bytesPerSec.writeFile),
    fmtRate(r.bytesPerSec.writeFileFsync),
    `${r.medianMs.restore.toFixed(1)} ms`,
    fmtRate(r.bytesPerSec.restore),
    `${r.medianMs.readFile.toFixed(1)} ms`,
  ]);
  out.push(...table(["bytes/s", "save", "writeFile", "+fsync", "restore", "restore B/s", "readFile"], rates, [false, true, true, true, true, true, true]));
  out.push("");
  out.push("save = saver.save() (encode, data + index + state file, each temp + fsync + rename + dir fsync, retention);");
  out.push("on disk = data + index; writeFile / +fsync write the data file's bytes; (…) = median of the per-round ratios.");
  out.push("");
  out.push("where the time goes (rounds of their own, back to back; disk times not comparable with the above):");
  for (const r of rows) {
    const p = r.parts;
    out.push(`  ${r.label} (data ${r.bytes.data} B, index ${r.bytes.index} B, state file ${r.bytes.stateFile} B):`);
    out.push(
      `    save: saveEncoded ${p.saveEncodedMs.toFixed(1)} ms + JSON and CRC32C ${p.serializeMs.toFixed(1)} ms (CPU); ` +
        `writeBundle ${p.writeBundleMs.toFixed(1)} ms (JSON, CRC32C, data and index files)`,
    );
    out.push(`    restore ${p.restoreMs.toFixed(1)} ms, of which readBundle ${p.readBundleMs.toFixed(1)} ms (read, CRC32C, JSON.parse)`);
  }
  const j = rows.find((r) => r.jsonState !== null)?.jsonState;
  if (j) {
    out.push("");
    out.push(
      `for reference, records case as JSON: iterator.save() ${j.saveMs.toFixed(1)} ms, JSON.stringify ${j.stringifyMs.toFixed(1)} ms, ${fmtBytes(j.bytes)}`,
    );
  }
  out.push("");
  out.push(`total ${totalSec} s. Targets are reported, not enforced: only a wrong restored element, or saves of one state differing in size, fail the run.`);
  process.stdout.write(out.join("\n") + "\n");
}

try {
  await main();
} finally {
  rmSync(DIR, { recursive: true, force: true });
}
