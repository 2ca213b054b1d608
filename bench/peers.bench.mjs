// Peer benchmark (issue 6): each pipeline in checkpipe, in tfjs-data, and as hand-written plain
// JavaScript, in one process, with the ratios the issue sets targets on.
//
//   npm run bench                        (builds, installs bench/ dependencies, runs every bench)
//   node bench/peers.bench.mjs           (needs a built dist/ and bench/node_modules)
//   node bench/peers.bench.mjs --json    (machine-readable results instead of the table)
//   node bench/peers.bench.mjs --runs 7 --min-ms 200 --cases P2,P4
//
// Pipelines (bench/pipelines.mjs, tfjs side in bench/tfjs-peer.mjs):
//   P1 range(1e6) → map(2x), consumed element by element (for await; tfjs: iterator.next())
//   P2 range(1e6) → map to {id, v: x % 7} → filter(v ≠ 3) → batch(32)
//   P3 range(2e5) → shuffle(10 000, seed) → batch(64)
//   P4 a JSONL file of 1e6 lines (~80 bytes, generated once per run in os.tmpdir()) →
//      JSON.parse → batch(128)
//   P5 P2 with prefetch(100) before batch
//   P6 an async map (an await per element) with parallel: 8, then batch(64); no tfjs side
//      (tfjs-data's map has no parallelism)
//
// Method. First every side of every case runs once in a collecting form that returns every
// element, and the sides are compared element by element (P3: batch sizes and the multiset of
// elements, since each side shuffles with its own generator; it must be a permutation of
// 0..2e5-1): a mismatch throws. Then, per case: each side's pass count is grown until a timed
// run lasts at least --min-ms (default 100 ms; plain JS finishes P1–P3 in milliseconds, so it
// repeats passes), with a margin of 1.5× over the fastest of three calibration runs; then
// --runs (default 5, at least 5) rounds, each timing every side once in rotating order, so
// that drift hits all sides alike (rounds whose median run of a side still falls under --min-ms
// are redone with that side's passes doubled; a warning says if it still does). Every timed
// run's tally (batch count, element count, checksum) is checked against the plain side's, and
// tfjs must leave no tensor allocated. elements/s = elements per pass × passes ÷ the median
// run. Elements are counted at the source (1e6 for P2 and P5, whatever the filter keeps).
// Targets are reported, not enforced.

import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { JSON_OUT, intArg, log, saveJsonResult } from "./cli.mjs";
import { fmtRate, measure, round, table } from "./measure.mjs";
import * as P from "./pipelines.mjs";

const argv = process.argv.slice(2);
const RUNS = Math.max(5, intArg("--runs", 5));
const MIN_MS = Math.max(10, intArg("--min-ms", 100));
const only = argv.includes("--cases") ? new Set(argv[argv.indexOf("--cases") + 1].split(",")) : null;

let T;
try {
  T = await import("./tfjs-peer.mjs");
} catch (error) {
  throw new Error(`the tfjs-data peer is not installed in bench/node_modules (run: npm --prefix bench ci): ${error.message}`, { cause: error });
}

const DIR = mkdtempSync(join(os.tmpdir(), "checkpipe-peers-bench-"));
const JSONL = join(DIR, "p4.jsonl");

// ---- the cases -----------------------------------------------------------------------------

const RECORD_KEYS = ["batches", "elements", "checksum"];

function sameRecords(label, a, b, names) {
  P.sameArray(label, `${names}: batch sizes`, a.sizes, b.sizes);
  P.sameArray(label, `${names}: ids`, a.ids, b.ids);
  P.sameArray(label, `${names}: v`, a.vs, b.vs);
}
function sameMultiset(label, a, b, names) {
  P.sameArray(label, `${names}: batch sizes`, a.sizes, b.sizes);
  P.sameArray(label, `${names}: sorted elements`, Float64Array.from(a.values).sort(), Float64Array.from(b.values).sort());
}
function sameJson(label, a, b, names) {
  P.sameArray(label, `${names}: batch sizes`, a.sizes, b.sizes);
  P.sameArray(label, `${names}: records`, a.records, b.records);
}

const CASES = [
  {
    id: "P1",
    label: "P1 range(1e6) → map(2x), element by element",
    elements: P.N1,
    sides: { checkpipe: P.p1Checkpipe, tfjs: T.p1Tfjs, plain: P.p1Plain, floor: () => P.floorForAwait(P.N1) },
    collect: { checkpipe: P.p1CheckpipeCollect, tfjs: T.p1TfjsCollect, plain: P.p1PlainCollect },
    same: (label, a, b, names) => P.sameArray(label, names, a, b),
    keys: null,
  },
  {
    id: "P2",
    label: "P2 range(1e6) → map → filter → batch(32)",
    elements: P.N1,
    sides: { checkpipe: P.p2Checkpipe, tfjs: T.p2Tfjs, plain: P.p2Plain },
    collect: { checkpipe: P.p2CheckpipeCollect, tfjs: T.p2TfjsCollect, plain: P.p2PlainCollect },
    same: sameRecords,
    keys: RECORD_KEYS,
  },
  {
    id: "P3",
    label: "P3 range(2e5) → shuffle(1e4, seed) → batch(64)",
    elements: P.N3,
    sides: { checkpipe: P.p3Checkpipe, tfjs: T.p3Tfjs, plain: P.p3Plain },
    collect: { checkpipe: P.p3CheckpipeCollect, tfjs: T.p3TfjsCollect, plain: P.p3PlainCollect },
    same: sameMultiset,
    keys: RECORD_KEYS, // the checksum is an order-free sum here
    extraCheck: (collected) => {
      const sorted = Float64Array.from(collected.plain.values).sort();
      for (let i = 0; i < sorted.length; i++) if (sorted[i] !== i) throw new Error(`P3: the plain side is not a permutation of 0..${P.N3 - 1}`);
      if (sorted.length !== P.N3) throw new Error(`P3: ${sorted.length} elements`);
    },
  },
  {
    id: "P4",
    label: "P4 JSONL 1e6 lines (~80 B) → JSON.parse → batch(128)",
    elements: P.N4,
    sides: { checkpipe: () => P.p4Checkpipe(JSONL), tfjs: () => T.p4Tfjs(JSONL), plain: () => P.p4Plain(JSONL) },
    collect: { checkpipe: () => P.p4CheckpipeCollect(JSONL), tfjs: () => T.p4TfjsCollect(JSONL), plain: () => P.p4PlainCollect(JSONL) },
    same: sameJson,
    keys: RECORD_KEYS,
  },
  {
    id: "P5",
    label: "P5 P2 with prefetch(100) before batch",
    elements: P.N1,
    sides: { checkpipe: P.p5Checkpipe, tfjs: T.p5Tfjs, plain: P.p2Plain },
    collect: { checkpipe: P.p5CheckpipeCollect, tfjs: T.p5TfjsCollect, plain: P.p2PlainCollect },
    same: sameRecords,
    keys: RECORD_KEYS,
  },
  {
    id: "P6",
    label: "P6 async map (parallel 8) → batch(64)",
    elements: P.N6,
    sides: { checkpipe: P.p6Checkpipe, plain: P.p6Plain },
    collect: { checkpipe: P.p6CheckpipeCollect, plain: P.p6PlainCollect },
    same: (label, a, b, names) => {
      P.sameArray(label, `${names}: batch sizes`, a.sizes, b.sizes);
      P.sameArray(label, `${names}: elements`, a.values, b.values);
    },
    keys: RECORD_KEYS,
  },
].filter((c) => only === null || only.has(c.id));

/** The issue's targets, as functions of a case's measured row. */
const TARGETS = {
  P1: [{ what: "checkpipe ≥ 50% of a bare for-await over a trivial async iterator", value: (r) => r.ofFloor, fmt: pct, ok: (v) => v >= 0.5 }],
  P2: [ofTfjs(), ofPlain()],
  P3: [ofTfjs(), ofPlain()],
  P4: [{ what: "checkpipe ≥ 50% of plain JS elements/s", value: (r) => r.checkpipe / r.plain, fmt: pct, ok: (v) => v >= 0.5 }],
  P5: [ofTfjs(), ofPlain()],
  P6: [],
};
function ofTfjs() {
  return { what: "checkpipe ≥ 20× tfjs-data elements/s", value: (r) => r.checkpipe / r.tfjs, fmt: times, ok: (v) => v >= 20 };
}
function ofPlain() {
  return { what: "checkpipe time ≤ 3× plain JS time", value: (r) => r.plain / r.checkpipe, fmt: times, ok: (v) => v <= 3 };
}
function pct(x) {
  return `${(x * 100).toFixed(0)}%`;
}
function times(x) {
  return x >= 100 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`;
}

// ---- main ----------------------------------------------------------------------------------

async function main() {
  const started = performance.now();
  log(
    `checkpipe peers bench — node ${process.version}, ${os.cpus()[0]?.model ?? "cpu?"} ×${os.cpus().length}, tfjs-data ${T.versions["tfjs-data"]}, ${RUNS} runs ≥ ${MIN_MS} ms each`,
  );
  if (CASES.some((c) => c.id === "P4")) {
    log(`writing ${JSONL} (${P.N4} lines) ...`);
    P.writeJsonl(JSONL, P.N4);
  }

  // Verification pass: every side of every case collects its elements; all must agree. It is
  // also the warm-up, and its time tells the measuring whether a side needs more passes.
  const warmMs = {};
  for (const c of CASES) {
    log(`${c.id}: collecting every element on each side ...`);
    const collected = {};
    warmMs[c.id] = {};
    for (const [name, fn] of Object.entries(c.collect)) {
      const t0 = performance.now();
      collected[name] = await fn();
      warmMs[c.id][name] = performance.now() - t0;
    }
    for (const name of Object.keys(collected)) {
      if (name !== "plain") c.same(c.label, collected[name], collected.plain, `${name} vs plain JS`);
    }
    c.extraCheck?.(collected);
    if (T.liveTensors() !== 0) throw new Error(`${c.id}: tfjs left ${T.liveTensors()} tensors allocated`);
  }

  const rows = [];
  for (const c of CASES) {
    log(`${c.id}: measuring ${Object.keys(c.sides).join(", ")} ...`);
    const reference = await c.sides.plain();
    const floorExpect = (P.N1 * (P.N1 - 1)) / 2;
    const check = (name, result) => {
      if (name === "floor") P.sameResult(c.label, result, floorExpect, null, "floor and its expected sum");
      else if (name !== "plain") P.sameResult(c.label, result, reference, c.keys, `${name} and plain JS`);
      if (name === "tfjs" && T.liveTensors() !== 0) throw new Error(`${c.id}: tfjs left ${T.liveTensors()} tensors allocated`);
    };
    const m = await measure(c.sides, { elements: c.elements, runs: RUNS, minMs: MIN_MS, warmMs: warmMs[c.id], check });
    const rate = (name) => (m[name] ? m[name].elemPerSec : null);
    const row = {
      id: c.id,
      pipeline: c.label,
      checkpipePipeline: c.id === "P4" ? P.p4Dataset(JSONL).toString() : (P[`${c.id.toLowerCase()}Dataset`]?.toString() ?? null),
      elements: c.elements,
      checkpipe: rate("checkpipe"),
      tfjs: rate("tfjs"),
      plain: rate("plain"),
      floor: rate("floor"),
      runs: Object.fromEntries(
        Object.entries(m).map(([k, v]) => [k, { passes: v.passes, medianMs: v.medianMs, shortestRunMs: v.shortestRunMs, runsMs: v.runsMs }]),
      ),
    };
    row.ofFloor = row.floor ? row.checkpipe / row.floor : null;
    row.targets = TARGETS[c.id].map((t) => {
      const v = t.value(row);
      return { target: t.what, value: round(v, 3), shown: t.fmt(v), met: t.ok(v) };
    });
    for (const [name, v] of Object.entries(m)) {
      if (v.medianMs < MIN_MS) log(`  warning: ${c.id} ${name}: median run ${v.medianMs} ms, under ${MIN_MS} ms`);
    }
    rows.push(row);
    log(`  checkpipe ${fmtRate(row.checkpipe)}  tfjs ${fmtRate(row.tfjs)}  plain ${fmtRate(row.plain)}${row.floor ? `  floor ${fmtRate(row.floor)}` : ""}`);
  }
  const totalSec = round((performance.now() - started) / 1000, 1);

  {
    const out = {
      bench: "peers",
      node: process.version,
      cpu: os.cpus()[0]?.model ?? null,
      cores: os.cpus().length,
      tfjs: T.versions,
      runs: RUNS,
      minRunMs: MIN_MS,
      jsonlBytes: CASES.some((c) => c.id === "P4") ? statSync(JSONL).size : null,
      rows: rows.map((r) => ({
        ...r,
        checkpipe: Math.round(r.checkpipe),
        tfjs: r.tfjs && Math.round(r.tfjs),
        plain: Math.round(r.plain),
        floor: r.floor && Math.round(r.floor),
        ofFloor: r.ofFloor && round(r.ofFloor, 3),
      })),
      totalSec,
    };
    await saveJsonResult("peers", out);
    if (JSON_OUT) process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    else printTable(rows, totalSec);
  }
}

function printTable(rows, totalSec) {
  const head = ["pipeline", "checkpipe", "tfjs-data", "plain JS", "cp ÷ tfjs", "cp time ÷ plain", "target", ""];
  const body = [];
  for (const r of rows) {
    const first = [
      r.pipeline,
      fmtRate(r.checkpipe),
      fmtRate(r.tfjs),
      fmtRate(r.plain),
      r.tfjs ? times(r.checkpipe / r.tfjs) : "—",
      times(r.plain / r.checkpipe),
    ];
    if (r.targets.length === 0) body.push([...first, "(report only)", ""]);
    r.targets.forEach((t, i) => body.push([...(i === 0 ? first : first.map(() => "")), `${t.target}: ${t.shown}`, t.met ? "met" : "NOT MET"]));
  }
  const out = [""];
  out.push(
    `checkpipe vs tfjs-data ${T.versions["tfjs-data"]} (tfjs-core ${T.versions["tfjs-core"]}, ${T.versions.backend} backend) vs plain JS — node ${process.version}, ${os.cpus()[0]?.model ?? "cpu?"} ×${os.cpus().length}`,
  );
  out.push(`elements/s counted at the source, median of ${RUNS} interleaved runs of ≥ ${MIN_MS} ms each; every side's elements checked equal`);
  out.push(...table(head, body, [false, true, true, true, true, true, false, false]));
  const p1 = rows.find((r) => r.id === "P1");
  if (p1) out.push(`P1's for-await floor (a bare for await over a trivial async iterator), in P1's own rounds: ${fmtRate(p1.floor)}.`);
  out.push("cp ÷ tfjs = checkpipe elements/s ÷ tfjs-data elements/s; cp time ÷ plain = checkpipe time ÷ plain-JS time for the same work.");
  out.push(`P5's plain side is P2's loop (prefetching adds no work when everything is synchronous). total ${totalSec} s.`);
  process.stdout.write(out.join("\n") + "\n");
}

try {
  await main();
} finally {
  rmSync(DIR, { recursive: true, force: true });
}
