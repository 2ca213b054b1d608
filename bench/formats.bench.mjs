// File-format benchmark: checkpipe's file readers versus hand-written plain JavaScript doing
// the same work (read the whole file, split, parse), in one process, plus the cost of
// restoring inside a file (plain: a seek, flat in the offset; gzip: decompression up to it).
//
//   npm run bench                       (builds, then runs engine and formats benches)
//   node bench/formats.bench.mjs        (needs a built dist/)
//   node bench/formats.bench.mjs --json (machine-readable results instead of the table)
//   node bench/formats.bench.mjs --runs 7
//
// Method. Data files are generated into os.tmpdir() and deleted at the end. Each case runs
// once per side as a warm-up (and the two sides' results are compared: a mismatch throws),
// then --runs (default 5) rounds each time every side once, interleaved so drift hits both
// alike; elements/s = elements per pass ÷ the median pass time. Targets (issue 3): checkpipe
// ≥ 50 % of plain JavaScript's throughput; restore near the end of a ~100 MB TFRecord file
// ≤ 1.5 × restore near its start. Targets are reported, not enforced.

import { mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync, closeSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import { Dataset } from "../dist/index.js";
import { JSON_OUT, intArg, log } from "./cli.mjs";
import { maskedCrc32c } from "../dist/formats/crc32c.js";
import { encodeFrame } from "../dist/formats/tfrecord-frame.js";

// ---- command line --------------------------------------------------------------------------

const RUNS = Math.max(3, intArg("--runs", 5));

// ---- sizes ---------------------------------------------------------------------------------

const N = 1_000_000; // records / lines / rows per file
const RECORD_BYTES = 80; // TFRecord payload: frames of 96 bytes, a 96 MB file
const FRAME_BYTES = RECORD_BYTES + 16;
const BATCH = 128;
const GZIP_RECORDS = 200_000; // the gzip file: 19.2 MB decompressed
const DIR = mkdtempSync(join(os.tmpdir(), "checkpipe-formats-bench-"));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;

// ---- data ----------------------------------------------------------------------------------

/** Deterministic payload of record `i`: RECORD_BYTES bytes, its first 4 bytes are `i`. */
function payload(i) {
  const bytes = new Uint8Array(RECORD_BYTES);
  new DataView(bytes.buffer).setUint32(0, i, true);
  let x = (i + 1) * 2654435761;
  for (let k = 4; k < RECORD_BYTES; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[k] = x >>> 24;
  }
  return bytes;
}

function writeTFRecord(path, count) {
  const fd = openSync(path, "w");
  const CHUNK = 10_000;
  const chunk = new Uint8Array(CHUNK * FRAME_BYTES);
  for (let i = 0; i < count; i += CHUNK) {
    const n = Math.min(CHUNK, count - i);
    for (let k = 0; k < n; k++) chunk.set(encodeFrame(payload(i + k)), k * FRAME_BYTES);
    writeSync(fd, chunk, 0, n * FRAME_BYTES);
  }
  closeSync(fd);
}

/** Lines of about 80 bytes: a JSON object per line, or a CSV row, the same fields. */
function fields(i) {
  return { id: i, name: `user-${(i * 7919) % 100_000}`, score: ((i * 37) % 1000) / 10, tag: i % 3 === 0 ? "alpha" : "beta-gamma" };
}
function writeLines(path, count, line, header) {
  const fd = openSync(path, "w");
  let text = header;
  for (let i = 0; i < count; i++) {
    text += line(i);
    if (text.length > 1 << 20) {
      writeSync(fd, text);
      text = "";
    }
  }
  writeSync(fd, text);
  closeSync(fd);
}
const jsonLine = (i) => {
  const f = fields(i);
  return `{"id":${f.id},"name":"${f.name}","score":${f.score},"tag":"${f.tag}","note":"padding-to-80"}\n`;
};
const csvLine = (i) => {
  const f = fields(i);
  return `${f.id},${f.name},${f.score},${f.tag},"padding, quoted-to-about-80-bytes-per-row"\n`;
};

// ---- tallies: what every consumer does on both sides ----------------------------------------

function newTally() {
  return { batches: 0, elements: 0, checksum: 0 };
}
function tallyBytesBatch(t, b) {
  t.batches++;
  t.elements += b.length;
  const first = b[0];
  const last = b[b.length - 1];
  t.checksum = (Math.imul(t.checksum ^ b.length, 0x01000193) + first[0] + (last[1] << 8) + last[RECORD_BYTES - 1]) | 0;
}
function tallyObjectBatch(t, b) {
  t.batches++;
  t.elements += b.length;
  t.checksum = (Math.imul(t.checksum ^ b.length, 0x01000193) + b[0].id + b[b.length - 1].id) | 0;
}
function tallyCountOnly(t, b) {
  t.batches++;
  t.elements += b.length;
}

async function drainBatches(ds, tally) {
  const t = newTally();
  for await (const b of ds) tally(t, b);
  return t;
}

// ---- plain JavaScript sides -----------------------------------------------------------------

/** Reads the whole file and walks its frames, verifying both CRCs, copying each record. */
function plainTFRecord(path) {
  const file = readFileSync(path);
  const bytes = new Uint8Array(file.buffer, file.byteOffset, file.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const t = newTally();
  let batch = [];
  for (let at = 0; at < bytes.length;) {
    const length = view.getUint32(at, true);
    if (view.getUint32(at + 4, true) !== 0) throw new Error("record too long");
    if (view.getUint32(at + 8, true) !== maskedCrc32c(bytes.subarray(at, at + 8))) throw new Error(`length CRC at ${at}`);
    const data = bytes.slice(at + 12, at + 12 + length);
    if (view.getUint32(at + 12 + length, true) !== maskedCrc32c(data)) throw new Error(`data CRC at ${at}`);
    batch.push(data);
    if (batch.length === BATCH) {
      tallyBytesBatch(t, batch);
      batch = [];
    }
    at += 16 + length;
  }
  if (batch.length > 0) tallyBytesBatch(t, batch);
  return t;
}

/** Reads the whole file, splits it into lines, parses each (JSON.parse or a CSV splitter). */
function plainLines(path, parse, skipHeader, tally) {
  const lines = readFileSync(path, "utf8").split("\n");
  const t = newTally();
  let batch = [];
  for (let i = skipHeader ? 1 : 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === "") continue;
    batch.push(parse(line));
    if (batch.length === BATCH) {
      tally(t, batch);
      batch = [];
    }
  }
  if (batch.length > 0) tally(t, batch);
  return t;
}

/** An RFC 4180 field splitter for one line (quotes, escaped quotes; no newlines in fields). */
function parseCsvLine(line) {
  const out = [];
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 34) {
      let value = "";
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (line.charCodeAt(q + 1) === 34) {
          value += line.slice(j, q + 1);
          j = q + 2;
        } else {
          value += line.slice(j, q);
          i = q + 1;
          break;
        }
      }
      out.push(value);
    } else {
      const comma = line.indexOf(",", i);
      out.push(line.slice(i, comma < 0 ? line.length : comma));
      i = comma < 0 ? line.length : comma;
    }
    if (i >= line.length) return out;
    i++; // the comma
  }
}

const CSV_COLUMNS = ["id", "name", "score", "tag", "note"];
/** A CSV line as a record by column name, as a reader with a header yields it. */
function csvRecord(line) {
  const fields = parseCsvLine(line);
  const record = {};
  for (let i = 0; i < CSV_COLUMNS.length; i++) record[CSV_COLUMNS[i]] = fields[i];
  return record;
}

// ---- throughput ----------------------------------------------------------------------------

function sameResult(label, a, b, keys) {
  for (const k of keys) {
    if (a[k] !== b[k]) throw new Error(`${label}: checkpipe and plain JS disagree on ${k}: ${a[k]} vs ${b[k]}`);
  }
}

async function throughput(c) {
  const warmCp = await c.checkpipe();
  const warmPlain = await c.plain();
  sameResult(c.label, warmCp, warmPlain, c.keys);
  if (warmCp.elements !== N) throw new Error(`${c.label}: ${warmCp.elements} elements, expected ${N}`);
  const cp = [];
  const plain = [];
  for (let r = 0; r < RUNS; r++) {
    let t0 = performance.now();
    await c.checkpipe();
    cp.push(performance.now() - t0);
    t0 = performance.now();
    await c.plain();
    plain.push(performance.now() - t0);
  }
  const cpRate = N / (median(cp) / 1000);
  const plainRate = N / (median(plain) / 1000);
  return {
    id: c.id,
    label: c.label,
    pipeline: c.pipeline,
    checkpipeElemPerSec: Math.round(cpRate),
    plainElemPerSec: Math.round(plainRate),
    ofPlain: round(cpRate / plainRate, 3),
    met: cpRate / plainRate >= 0.5,
    runsMs: { checkpipe: cp.map((x) => round(x, 1)), plain: plain.map((x) => round(x, 1)) },
  };
}

// ---- restore cost --------------------------------------------------------------------------

/** A TFRecord state of `ds` with its byte offset set to `offset` (a frame boundary). */
async function stateAt(ds, offset) {
  const it = ds.iterator();
  await it.next();
  const state = JSON.parse(JSON.stringify(await it.save()));
  await it.return();
  if (state.root?.kind !== "TFRecord" || state.root.offset !== FRAME_BYTES) {
    throw new Error(`unexpected TFRecord state layout: ${JSON.stringify(state)}`);
  }
  state.root.offset = offset;
  return state;
}

/** Median ms of `iterator({ state })` + the first `next()`, which must be record `expect`. */
async function restoreMs(ds, state, expect, samples) {
  const times = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    const it = ds.iterator({ state });
    const { value } = await it.next();
    times.push(performance.now() - t0);
    await it.return();
    const got = new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
    if (got !== expect) throw new Error(`restore: first record ${got}, expected ${expect}`);
  }
  return times;
}

async function plainRestore(path) {
  const ds = Dataset.tfrecord(path);
  const earlyIndex = 10;
  const lateIndex = N - 20_000; // ~1.9 MB before the end: the first read still fills the 1 MB buffer
  const early = await stateAt(ds, earlyIndex * FRAME_BYTES);
  const late = await stateAt(ds, lateIndex * FRAME_BYTES);
  await restoreMs(ds, early, earlyIndex, 20);
  await restoreMs(ds, late, lateIndex, 20);
  const a = [];
  const b = [];
  for (let r = 0; r < 15; r++) {
    a.push(...(await restoreMs(ds, early, earlyIndex, 10)));
    b.push(...(await restoreMs(ds, late, lateIndex, 10)));
  }
  const earlyMs = median(a);
  const lateMs = median(b);
  return {
    fileBytes: statSync(path).size,
    earlyOffset: earlyIndex * FRAME_BYTES,
    lateOffset: lateIndex * FRAME_BYTES,
    earlyMs: round(earlyMs, 3),
    lateMs: round(lateMs, 3),
    lateOverEarly: round(lateMs / earlyMs, 2),
    met: lateMs / earlyMs <= 1.5,
  };
}

async function gzipRestore(path) {
  const ds = Dataset.tfrecord(path, { compression: "gzip" });
  const rows = [];
  for (const fraction of [0, 0.25, 0.5, 0.75, 0.99]) {
    const index = Math.floor(fraction * (GZIP_RECORDS - 1));
    const state = await stateAt(ds, index * FRAME_BYTES);
    await restoreMs(ds, state, index, 1);
    const ms = median(await restoreMs(ds, state, index, 5));
    rows.push({ offset: index * FRAME_BYTES, ms: round(ms, 2) });
  }
  const last = rows[rows.length - 1];
  return {
    compressedBytes: statSync(path).size,
    decompressedBytes: GZIP_RECORDS * FRAME_BYTES,
    rows,
    decompressMBPerSec: round(last.offset / 1e6 / ((last.ms - rows[0].ms) / 1000), 1),
  };
}

// ---- main ----------------------------------------------------------------------------------

async function main() {
  const started = performance.now();
  log(`checkpipe formats bench — node ${process.version}, ${os.cpus()[0]?.model ?? "cpu?"} ×${os.cpus().length}, ${RUNS} runs`);
  const tfrecordPath = join(DIR, "records.tfrecord");
  const gzipPath = join(DIR, "records.tfrecord.gz");
  const jsonlPath = join(DIR, "lines.jsonl");
  const csvPath = join(DIR, "rows.csv");

  log("writing data files ...");
  writeTFRecord(tfrecordPath, N);
  writeFileSync(gzipPath, gzipSync(readFileSync(tfrecordPath).subarray(0, GZIP_RECORDS * FRAME_BYTES), { level: 1 }));
  const hasJsonl = typeof Dataset.jsonl === "function";
  const hasCsv = typeof Dataset.csv === "function";
  if (hasJsonl) writeLines(jsonlPath, N, jsonLine, "");
  if (hasCsv) writeLines(csvPath, N, csvLine, "id,name,score,tag,note\n");

  const cases = [
    {
      id: "tfrecord",
      label: `TFRecord 1e6 × ${RECORD_BYTES} B → batch(${BATCH})`,
      pipeline: Dataset.tfrecord(tfrecordPath).batch(BATCH).toString(),
      checkpipe: () => drainBatches(Dataset.tfrecord(tfrecordPath).batch(BATCH), tallyBytesBatch),
      plain: () => plainTFRecord(tfrecordPath),
      keys: ["batches", "elements", "checksum"],
    },
  ];
  if (hasJsonl) {
    cases.push({
      id: "jsonl",
      label: `JSONL 1e6 lines (~${jsonLine(500_000).length} B) → parse → batch(${BATCH})`,
      pipeline: "JSONL -> Batch(128)",
      checkpipe: () => drainBatches(Dataset.jsonl(jsonlPath).batch(BATCH), tallyObjectBatch),
      plain: () => plainLines(jsonlPath, JSON.parse, false, tallyObjectBatch),
      keys: ["batches", "elements", "checksum"],
      optional: true,
    });
  }
  if (hasCsv) {
    cases.push({
      id: "csv",
      label: `CSV 1e6 rows (~${csvLine(500_000).length} B) → batch(${BATCH})`,
      pipeline: "CSV -> Batch(128)",
      checkpipe: () => drainBatches(Dataset.csv(csvPath, { header: true }).batch(BATCH), tallyCountOnly),
      plain: () => plainLines(csvPath, csvRecord, true, tallyCountOnly),
      keys: ["batches", "elements"],
      optional: true,
    });
  }

  const rows = [];
  const failed = [];
  for (const c of cases) {
    log(`${c.label} ...`);
    try {
      rows.push(await throughput(c));
    } catch (error) {
      // The JSONL / CSV readers are new: report a failure of theirs instead of losing the run.
      if (!c.optional) throw error;
      failed.push(`${c.label}: failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  log("restore cost ...");
  const restore = { plain: await plainRestore(tfrecordPath), gzip: await gzipRestore(gzipPath) };
  const totalSec = round((performance.now() - started) / 1000, 1);
  const notAvailable = [
    ...(hasJsonl ? [] : ["Dataset.jsonl: not available in dist yet (skipped)"]),
    ...(hasCsv ? [] : ["Dataset.csv: not available in dist yet (skipped)"]),
    ...failed,
  ];

  if (JSON_OUT) {
    const out = { node: process.version, cpu: os.cpus()[0]?.model ?? null, runs: RUNS, rows, restore, notAvailable, totalSec };
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
  } else {
    printTable(rows, restore, notAvailable, totalSec);
  }
}

function fmtRate(x) {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M/s`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k/s`;
  return `${x.toFixed(0)} /s`;
}

function printTable(rows, restore, notAvailable, totalSec) {
  const head = ["case", "checkpipe", "plain JS", "of plain", "target", ""];
  const body = rows.map((r) => [
    r.label,
    fmtRate(r.checkpipeElemPerSec),
    fmtRate(r.plainElemPerSec),
    `${(r.ofPlain * 100).toFixed(0)}%`,
    "≥ 50%",
    r.met ? "ok" : "MISSED",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const right = [false, true, true, true, false, false];
  const line = (cells) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const out = [""];
  out.push(`checkpipe formats bench — node ${process.version}, ${os.cpus()[0]?.model ?? "unknown cpu"} ×${os.cpus().length}`);
  out.push(`elements/s, median of ${RUNS} interleaved passes over 1e6 elements; plain JS reads the whole file, splits and parses`);
  out.push(line(head));
  out.push(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of body) out.push(line(row));
  for (const note of notAvailable) out.push(note);
  out.push("");
  const p = restore.plain;
  out.push(`restore + first next(), TFRecord file of ${(p.fileBytes / 1e6).toFixed(1)} MB (median of 150):`);
  out.push(`  near the start (byte ${p.earlyOffset})       ${p.earlyMs.toFixed(3)} ms`);
  out.push(
    `  near the end (byte ${p.lateOffset})   ${p.lateMs.toFixed(3)} ms   ${p.lateOverEarly.toFixed(2)}× the early one (target ≤ 1.5×) ${p.met ? "ok" : "MISSED"}`,
  );
  const g = restore.gzip;
  out.push(
    `restore + first next(), gzip TFRecord (${(g.compressedBytes / 1e6).toFixed(1)} MB, ${(g.decompressedBytes / 1e6).toFixed(1)} MB decompressed; grows with the offset):`,
  );
  for (const r of g.rows) out.push(`  at byte ${String(r.offset).padStart(9)}   ${r.ms.toFixed(2).padStart(8)} ms`);
  out.push(`  ≈ ${g.decompressMBPerSec} MB/s of decompressed bytes skipped`);
  out.push("");
  out.push(`total ${totalSec} s. Targets are reported, not enforced: only a checkpipe/plain-JS result mismatch fails the run.`);
  process.stdout.write(out.join("\n") + "\n");
}

try {
  await main();
} finally {
  rmSync(DIR, { recursive: true, force: true });
}
