// Engine benchmark: checkpipe pipelines versus hand-written plain JavaScript doing the same
// work, in one process, plus the two floors of DESIGN.md ("Performance model") and the cost
// of checkpoints (save, size, restore, restore versus position).
//
//   npm run bench                      (builds, then runs this file)
//   node bench/engine.bench.mjs        (needs a built dist/)
//   node bench/engine.bench.mjs --json (machine-readable results instead of the table)
//   node bench/engine.bench.mjs --runs 9 --min-ms 200
//
// Method. Every case is first run once (global warm-up, so that shared library code has seen
// every pipeline shape before anything is timed and the order of cases does not bias the
// figures). Then, per case and side: the number of passes is grown until one timed run lasts
// at least --min-ms (default 100 ms); then --runs (default 7, at least 5) rounds, each timing
// every side of the case once (interleaved, so drift hits all sides alike); a side's median run
// gives elements/s = passes × elements per pass ÷ median time. Elements are
// counted at the source (e.g. 1e6 for P2, whatever the filter keeps). Results of checkpipe
// and plain JavaScript are compared (sum, batch count, checksum) and a mismatch throws.

import os from "node:os";
import { performance } from "node:perf_hooks";
import { Dataset } from "../dist/index.js";
import { JSON_OUT, intArg, log } from "./cli.mjs";
import {
  N1,
  N3,
  N6,
  double,
  floorForAwait,
  floorSync,
  p1Checkpipe,
  p1Dataset,
  p1Plain,
  p2Checkpipe,
  p2Dataset,
  p2Plain,
  p3Checkpipe,
  p3Dataset,
  p3Plain,
  p5Checkpipe,
  p5Dataset,
  p6Checkpipe,
  p6Dataset,
  p6Plain,
} from "./pipelines.mjs";

// ---- command line --------------------------------------------------------------------------

const RUNS = Math.max(5, intArg("--runs", 7));
const MIN_MS = Math.max(10, intArg("--min-ms", 100));

// ---- the cases -----------------------------------------------------------------------------
// Shared with peers.bench.mjs (bench/pipelines.mjs); each side is an async function running one
// pass and returning a comparable result.

// ---- measuring -----------------------------------------------------------------------------

/** Times `passes` passes of `fn`; returns milliseconds and the last result. */
async function timed(fn, passes) {
  let result;
  const t0 = performance.now();
  for (let p = 0; p < passes; p++) result = await fn();
  return { ms: performance.now() - t0, result };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Measures several sides of one case (checkpipe, plain JS, and for P1 the for-await floor):
 * calibrates each side's pass count, then runs RUNS rounds, each round timing every side once
 * (in rotating order) so that drift, GC debt and thermal changes hit all sides alike. Returns,
 * per side, the throughput of its median run.
 */
async function measure(sides, elements) {
  const names = Object.keys(sides);
  const state = {};
  for (const name of names) {
    // Grow the pass count until one run lasts MIN_MS, aiming 30% above it so that a run that
    // gets faster later still stays above MIN_MS.
    let passes = 1;
    let calib = await timed(sides[name], passes);
    while (calib.ms < MIN_MS) {
      passes = Math.ceil((passes * MIN_MS * 1.3) / Math.max(calib.ms, 0.01));
      calib = await timed(sides[name], passes);
    }
    state[name] = { passes, runs: [], result: calib.result };
  }
  for (let r = 0; r < RUNS; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length];
      const s = state[name];
      const run = await timed(sides[name], s.passes);
      s.runs.push(run.ms);
      s.result = run.result;
    }
  }
  const out = {};
  for (const name of names) {
    const s = state[name];
    const ms = median(s.runs);
    out[name] = {
      elementsPerPass: elements,
      passes: s.passes,
      runsMs: s.runs.map((x) => round(x, 2)),
      medianMs: round(ms, 2),
      elemPerSec: (elements * s.passes) / (ms / 1000),
      result: s.result,
    };
  }
  return out;
}

function sameResult(name, a, b, keys) {
  for (const k of keys ?? [null]) {
    const x = k === null ? a : a[k];
    const y = k === null ? b : b[k];
    if (x !== y) {
      throw new Error(`${name}: checkpipe and plain JS disagree${k === null ? "" : ` on ${k}`}: ${x} vs ${y}`);
    }
  }
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---- checkpoint cost -----------------------------------------------------------------------

async function medianOf(samples, fn) {
  const xs = [];
  for (let i = 0; i < samples; i++) xs.push(await fn());
  return median(xs);
}

/**
 * P3 mid-way: the shuffle buffer is full (10 000 numbers). Times save() + JSON.stringify, the
 * state's size, JSON.parse, and restore (ds.iterator({ state }) + first next()); checks that
 * the restored iterator's first batch is the uninterrupted one's next batch.
 */
async function checkpointShuffle() {
  const it = p3Dataset.iterator();
  for (let i = 0; i < 1000; i++) await it.next(); // 64 000 elements read, buffer full
  let json = "";
  const saveOnce = async () => {
    const t0 = performance.now();
    json = JSON.stringify(await it.save());
    return performance.now() - t0;
  };
  for (let i = 0; i < 3; i++) await saveOnce(); // warm-up
  const saveMs = await medianOf(15, saveOnce);
  const expected = (await it.next()).value;

  const parseMs = await medianOf(15, async () => {
    const t0 = performance.now();
    JSON.parse(json);
    return performance.now() - t0;
  });
  let first;
  const restoreOnce = async () => {
    const state = JSON.parse(json);
    const t0 = performance.now();
    const r = p3Dataset.iterator({ state });
    first = (await r.next()).value;
    const ms = performance.now() - t0;
    await r.return();
    return ms;
  };
  for (let i = 0; i < 3; i++) await restoreOnce();
  const restoreMs = await medianOf(15, restoreOnce);
  if (JSON.stringify(first) !== JSON.stringify(expected)) {
    throw new Error("checkpoint P3: the restored iterator's first batch differs from the uninterrupted one's");
  }
  await it.return();
  return {
    pipeline: p3Dataset.toString(),
    position: "1000 batches (64 000 elements) read; shuffle buffer full",
    saveAndStringifyMs: round(saveMs, 3),
    stateBytes: Buffer.byteLength(json),
    parseMs: round(parseMs, 3),
    restoreAndFirstNextMs: round(restoreMs, 3),
  };
}

/**
 * Restore cost versus position, Range → Map over 1e9 elements. The state is saved after 10
 * next() calls; a copy of it has root.input.index (the Range counter) set to 1e8, which is
 * exactly what saving at element 1e8 would give, without reading 1e8 elements first. Restoring
 * either takes the same time, and the first element after each is 2 × the index: restore is
 * O(1) in the position (no replay from the start, DESIGN.md contract rule 3).
 */
async function checkpointRange() {
  const ds = Dataset.range(1e9).map(double);
  const it = ds.iterator();
  for (let i = 0; i < 10; i++) await it.next();
  const early = JSON.parse(JSON.stringify(await it.save()));
  await it.return();
  const late = JSON.parse(JSON.stringify(early));
  if (late.root?.input?.kind !== "Range" || late.root.input.index !== 10) {
    throw new Error(`checkpoint Range: unexpected state layout ${JSON.stringify(early)}`);
  }
  late.root.input.index = 1e8;

  const PER_SAMPLE = 200;
  const restoreMs = async (state, expectFirst) => {
    const t0 = performance.now();
    for (let k = 0; k < PER_SAMPLE; k++) {
      const r = ds.iterator({ state });
      const { value } = await r.next();
      if (value !== expectFirst) throw new Error(`checkpoint Range: restored first element ${value}, expected ${expectFirst}`);
    }
    return (performance.now() - t0) / PER_SAMPLE;
  };
  for (let i = 0; i < 3; i++) {
    await restoreMs(early, 20);
    await restoreMs(late, 2e8);
  }
  // Alternate the two so that drift hits both alike.
  const a = [];
  const b = [];
  for (let i = 0; i < 11; i++) {
    a.push(await restoreMs(early, 20));
    b.push(await restoreMs(late, 2e8));
  }
  const earlyUs = median(a) * 1000;
  const lateUs = median(b) * 1000;
  return {
    pipeline: ds.toString(),
    restoreAt10Us: round(earlyUs, 2),
    restoreAt1e8Us: round(lateUs, 2),
    lateOverEarly: round(lateUs / earlyUs, 2),
    stateBytes: Buffer.byteLength(JSON.stringify(late)),
  };
}

// ---- main ----------------------------------------------------------------------------------

const CASES = [
  { id: "floor-sync", label: "floor: sync loop, sum 1e6", elements: N1, plain: () => floorSync(N1), expect: (N1 * (N1 - 1)) / 2 },
  { id: "floor-await", label: "floor: for await, trivial iter 1e6", elements: N1, plain: () => floorForAwait(N1), expect: (N1 * (N1 - 1)) / 2 },
  { id: "P1", label: "P1 range(1e6).map(2x), for await", elements: N1, checkpipe: p1Checkpipe, plain: p1Plain, dataset: p1Dataset },
  {
    id: "P2",
    label: "P2 map→filter→batch(32)",
    elements: N1,
    checkpipe: p2Checkpipe,
    plain: p2Plain,
    dataset: p2Dataset,
    keys: ["batches", "elements", "checksum"],
    maxRatio: 3,
  },
  {
    id: "P3",
    label: "P3 range(2e5).shuffle(1e4).batch(64)",
    elements: N3,
    checkpipe: p3Checkpipe,
    plain: p3Plain,
    dataset: p3Dataset,
    keys: ["batches", "elements", "checksum"],
    maxRatio: 3,
  },
  {
    id: "P5",
    label: "P5 P2 + prefetch(100)",
    elements: N1,
    checkpipe: p5Checkpipe,
    plain: p2Plain,
    dataset: p5Dataset,
    keys: ["batches", "elements", "checksum"],
    maxRatio: 3,
  },
  {
    id: "P6",
    label: "P6 async map(parallel 8).batch(64)",
    elements: N6,
    checkpipe: p6Checkpipe,
    plain: p6Plain,
    dataset: p6Dataset,
    keys: ["batches", "elements", "checksum"],
    reportOnly: true,
  },
];

async function main() {
  const started = performance.now();
  log(`checkpipe engine bench — node ${process.version}, ${os.cpus()[0]?.model ?? "cpu?"} ×${os.cpus().length}, ${RUNS} runs ≥ ${MIN_MS} ms each`);

  // Global warm-up: every side of every case once; also checks the results agree.
  log("warming up ...");
  for (const c of CASES) {
    const plain = await c.plain();
    if (c.expect !== undefined) sameResult(c.label, plain, c.expect);
    if (c.checkpipe) sameResult(c.label, await c.checkpipe(), plain, c.keys);
  }

  const results = {};
  for (const c of CASES) {
    log(`measuring ${c.id} ...`);
    const sides = { plain: c.plain };
    if (c.checkpipe) sides.checkpipe = c.checkpipe;
    if (c.id === "P1") sides.floor = () => floorForAwait(N1); // P1's floor ratio from the same rounds
    const row = await measure(sides, c.elements);
    if (c.checkpipe) sameResult(c.label, row.checkpipe.result, row.plain.result, c.keys);
    if (c.expect !== undefined) sameResult(c.label, row.plain.result, c.expect);
    results[c.id] = row;
  }

  const floor = results["floor-await"].plain.elemPerSec;
  const p1Floor = results["P1"].floor.elemPerSec;
  const rows = CASES.map((c) => {
    const r = results[c.id];
    const out = {
      id: c.id,
      pipeline: c.label,
      checkpipePipeline: c.dataset ? c.dataset.toString() : null,
      elements: c.elements,
      checkpipeElemPerSec: r.checkpipe ? Math.round(r.checkpipe.elemPerSec) : null,
      plainElemPerSec: Math.round(r.plain.elemPerSec),
      slowerThanPlain: r.checkpipe ? round(r.plain.elemPerSec / r.checkpipe.elemPerSec, 2) : null,
      ofForAwaitFloor: null,
      target: null,
      met: null,
      reportOnly: Boolean(c.reportOnly),
      runs: { checkpipe: r.checkpipe && strip(r.checkpipe), plain: strip(r.plain) },
    };
    if (c.id === "P1") {
      out.ofForAwaitFloor = round(r.checkpipe.elemPerSec / p1Floor, 3);
      out.forAwaitFloorElemPerSec = Math.round(p1Floor);
      out.runs.floor = strip(r.floor);
      out.target = "checkpipe ≥ 0.5 × for-await floor";
      out.met = out.ofForAwaitFloor >= 0.5;
    } else if (c.maxRatio) {
      out.target = `≤ ${c.maxRatio}× plain JS`;
      out.met = out.slowerThanPlain <= c.maxRatio;
    }
    return out;
  });

  log("checkpoint cost ...");
  const checkpoints = { shuffle: await checkpointShuffle(), rangeRestore: await checkpointRange() };
  const totalSec = round((performance.now() - started) / 1000, 1);

  if (JSON_OUT) {
    process.stdout.write(
      JSON.stringify(
        {
          node: process.version,
          cpu: os.cpus()[0]?.model ?? null,
          cores: os.cpus().length,
          runs: RUNS,
          minRunMs: MIN_MS,
          forAwaitFloorElemPerSec: Math.round(floor),
          rows,
          checkpoints,
          totalSec,
        },
        null,
        2,
      ) + "\n",
    );
  } else {
    printTable(rows, checkpoints, floor, totalSec);
  }
}

function strip(m) {
  return { passes: m.passes, elementsPerPass: m.elementsPerPass, medianMs: m.medianMs, runsMs: m.runsMs };
}

function fmtRate(x) {
  if (x === null) return "—";
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G/s`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M/s`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k/s`;
  return `${x.toFixed(0)} /s`;
}

function printTable(rows, cp, floor, totalSec) {
  const head = ["pipeline", "checkpipe", "plain JS", "× slower", "of floor", "target", ""];
  const body = rows.map((r) => [
    r.pipeline,
    fmtRate(r.checkpipeElemPerSec),
    fmtRate(r.plainElemPerSec),
    r.slowerThanPlain === null ? "—" : `${r.slowerThanPlain.toFixed(2)}×`,
    r.ofForAwaitFloor === null ? "" : `${(r.ofForAwaitFloor * 100).toFixed(0)}%`,
    r.target ?? (r.reportOnly ? "(report only)" : ""),
    r.met === null ? "" : r.met ? "ok" : "MISSED",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const right = [false, true, true, true, true, false, false];
  const line = (cells) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const out = [];
  out.push("");
  out.push(`checkpipe engine bench — node ${process.version}, ${os.cpus()[0]?.model ?? "unknown cpu"} ×${os.cpus().length}`);
  out.push(`elements/s, median of ${RUNS} interleaved runs of ≥ ${MIN_MS} ms each; elements counted at the source`);
  out.push(line(head));
  out.push(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of body) out.push(line(row));
  out.push("");
  const p1 = rows.find((r) => r.id === "P1");
  out.push("× slower = checkpipe time ÷ plain-JS time for the same work (plain elem/s ÷ checkpipe elem/s).");
  out.push(
    `"of floor" = checkpipe elem/s ÷ for-await floor elem/s; the floor is re-measured in P1's own rounds ` +
      `(${fmtRate(p1.forAwaitFloorElemPerSec)} there, ${fmtRate(floor)} in its own row).`,
  );
  out.push("Floors have no checkpipe side. P5's plain side is P2's loop (prefetch adds no work when all is synchronous).");
  out.push("");
  out.push("checkpoint cost");
  const s = cp.shuffle;
  out.push(`  ${s.pipeline}, ${s.position}:`);
  out.push(`    save() + JSON.stringify  ${s.saveAndStringifyMs.toFixed(3)} ms   state ${s.stateBytes.toLocaleString("en-US")} bytes`);
  out.push(`    JSON.parse               ${s.parseMs.toFixed(3)} ms`);
  out.push(`    iterator({state}) + next ${s.restoreAndFirstNextMs.toFixed(3)} ms`);
  const r = cp.rangeRestore;
  out.push(`  ${r.pipeline}, restore + first next() (state ${r.stateBytes} bytes):`);
  out.push(`    at index 10   ${r.restoreAt10Us.toFixed(2)} µs`);
  out.push(`    at index 1e8  ${r.restoreAt1e8Us.toFixed(2)} µs   (${r.lateOverEarly.toFixed(2)}× the early one: O(1) in position)`);
  out.push("");
  out.push(`total ${totalSec} s. Targets are reported, not enforced: only a checkpipe/plain-JS result mismatch fails the run.`);
  process.stdout.write(out.join("\n") + "\n");
}

await main();
