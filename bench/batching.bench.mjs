// Batching benchmark: the stacking batch (`batch(size, { stack: true })`, one typed array per
// component) versus `batch(size)` followed by a hand-written collate `map` doing the same, over
// records `{ x: Float32Array(784), y: number }` (an MNIST-sized example), in one process.
//
//   npm run bench                          (builds, then runs every bench)
//   node bench/batching.bench.mjs          (needs a built dist/)
//   node bench/batching.bench.mjs --json   (machine-readable results instead of the table)
//   node bench/batching.bench.mjs --runs 7
//
// Method. The records are made once, in memory (fromArray). Each case runs once per side as a
// warm-up, and the two sides' batches are compared value by value (a mismatch throws); every
// timed pass also returns a checksum of all batches, compared across sides. Then --runs
// (default 5) rounds time every side once each, interleaved so drift hits both alike (see
// measure.mjs); elements/s = records per pass ÷ the median pass time.

import os from "node:os";
import { performance } from "node:perf_hooks";
import { Dataset } from "../dist/index.js";
import { JSON_OUT, intArg, log, saveJsonResult } from "./cli.mjs";
import { fmtRate, measure, round, table } from "./measure.mjs";

const RUNS = Math.max(3, intArg("--runs", 5));
const N = 20_000; // records per pass
const FEATURES = 784;
const BATCHES = [32, 256];
const MIN_MS = 300;

/** Deterministic records: x[k] of record i is a small float, y its class. */
function makeRecords() {
  const rows = new Array(N);
  for (let i = 0; i < N; i++) {
    const x = new Float32Array(FEATURES);
    for (let k = 0; k < FEATURES; k++) x[k] = ((i * 31 + k * 7) % 256) / 255;
    rows[i] = { x, y: i % 10 };
  }
  return rows;
}

/** The hand-written collate: what a user writes today after batch(). */
function collate(batch) {
  const n = batch.length;
  const x = new Float32Array(n * FEATURES);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x.set(batch[i].x, i * FEATURES);
    y[i] = batch[i].y;
  }
  return { x: { data: x, shape: [n, FEATURES] }, y: { data: y, shape: [n] } };
}

/** A checksum of a batch: a few x values and every y, weighed by position. */
function checksum(b, acc) {
  const { data: x } = b.x;
  for (let j = 0; j < x.length; j += 97) acc = (acc + x[j] * (j % 13)) % 1e9;
  for (let j = 0; j < b.y.data.length; j++) acc = (acc + b.y.data[j] * (j + 1)) % 1e9;
  return acc;
}

async function pass(ds) {
  let sum = 0;
  let batches = 0;
  for await (const b of ds) {
    sum = checksum(b, sum);
    batches++;
  }
  return `${batches}:${round(sum, 3)}`;
}

function sameBatches(a, b, label) {
  if (a.length !== b.length) throw new Error(`${label}: ${a.length} batches versus ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    for (const key of ["x", "y"]) {
      const p = a[i][key];
      const q = b[i][key];
      if (p.data.constructor !== q.data.constructor || p.shape.join() !== q.shape.join() || p.data.length !== q.data.length) {
        throw new Error(`${label}: batch ${i} ${key} differs in kind or shape`);
      }
      for (let j = 0; j < p.data.length; j++) if (!Object.is(p.data[j], q.data[j])) throw new Error(`${label}: batch ${i} ${key}[${j}] differs`);
    }
  }
}

async function main() {
  log(`checkpipe batching bench — node ${process.version}, ${os.cpus()[0]?.model ?? "cpu?"} ×${os.cpus().length}, ${RUNS} runs`);
  const rows = makeRecords();
  const source = () => Dataset.fromArray(rows);
  const results = [];
  for (const size of BATCHES) {
    log(`batch(${size}) ...`);
    const sides = {
      "batch(stack)": () => pass(source().batch(size, { stack: true })),
      "batch → map(collate)": () => pass(source().batch(size).map(collate)),
    };
    const warmMs = {};
    const warm = {};
    for (const [name, run] of Object.entries(sides)) {
      const t0 = performance.now();
      warm[name] = await run();
      warmMs[name] = performance.now() - t0;
    }
    sameBatches(await source().batch(size, { stack: true }).toArray(), await source().batch(size).map(collate).toArray(), `batch(${size})`);
    const expected = warm["batch(stack)"];
    if (warm["batch → map(collate)"] !== expected) throw new Error(`batch(${size}): checksums differ`);
    const measured = await measure(sides, {
      elements: N,
      runs: RUNS,
      minMs: MIN_MS,
      warmMs,
      check: (name, result) => {
        if (result !== expected) throw new Error(`batch(${size}) ${name}: checksum ${result}, expected ${expected}`);
      },
    });
    const stack = measured["batch(stack)"].elemPerSec;
    const collated = measured["batch → map(collate)"].elemPerSec;
    results.push({ size, stackElemPerSec: stack, collateElemPerSec: collated, ratio: stack / collated, detail: measured });
  }
  const out = { bench: "batching", node: process.version, records: N, features: FEATURES, runs: RUNS, results };
  await saveJsonResult("batching", out);
  if (JSON_OUT) {
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return;
  }
  const rowsOut = results.map((r) => [`batch(${r.size})`, fmtRate(r.stackElemPerSec), fmtRate(r.collateElemPerSec), `${r.ratio.toFixed(2)}×`]);
  console.log(`\nRecords { x: Float32Array(${FEATURES}), y: number }, ${N} per pass, elements/s (median of ${RUNS} runs); results checked equal.\n`);
  for (const line of table(["case", "batch(stack)", "batch → map(collate)", "stack / collate"], rowsOut, [false, true, true, true])) console.log(line);
}

await main();
