// Multi-core benchmark (issue 14): CPU-bound element functions on worker threads versus the
// same function on the main thread, in one process, plus the cost of crossing the threads and
// the pool choice (worker_threads directly versus piscina and tinypool).
//
//   npm run bench                          (builds, installs bench/ dependencies, runs every bench)
//   node bench/workers.bench.mjs           (needs a built dist/ and bench/node_modules)
//   node bench/workers.bench.mjs --json    (machine-readable results instead of the table)
//   node bench/workers.bench.mjs --runs 5 --elements 4000
//
// Cases:
//   W1 range(N) → map(cpu): ~0.2 ms of CPU per element (bench/workers/cpu.mjs), on the main
//      thread, and mapInWorkers with 1, 2 and 4 threads. Target: 2 threads ≥ 1.8× main.
//   W2 8 TFRecord files of N serialized Examples in all → parseExample → the same CPU work:
//      one thread (interleave → map) versus Dataset.fromWorkers with 2 threads, each reading
//      its shard of the files. Target: ≥ 1.7×.
//   W3 range(200 000) → identity (numbers) and → identity on {x, v: Float32Array(16)}: the
//      elements/s that cross the threads when the function costs nothing.
//   W4 the pool: 200 000 numbers in batches of 1, 16 and 256, four batches in flight over 2
//      threads, by postMessage on worker_threads, piscina and tinypool.
//
// Method. Each side runs once as a warm-up (results compared with the main-thread side: W1
// element by element, W2 as a multiset since the order across shards differs; a mismatch
// throws), then --runs rounds (default 3) each time every side once in rotating order;
// elements/s = elements ÷ the median pass. Threads are started during the warm-up and reused
// (the pool keeps them between iterators), so start-up is not in the timed passes; it is
// reported separately. Targets are reported, not enforced.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { Dataset, serializeExample } from "../dist/index.js";
import { encodeFrame } from "../dist/formats/tfrecord-frame.js";
import { JSON_OUT, intArg, log, saveJsonResult } from "./cli.mjs";
import { median, round } from "./measure.mjs";
import cpu, { identity } from "./workers/cpu.mjs";
import { parseAndMix, shardFiles } from "./workers/shards.mjs";

const RUNS = intArg("--runs", 3);
const N = intArg("--elements", 4000);
const CPU_MODULE = new URL("./workers/cpu.mjs", import.meta.url);
const SHARDS_MODULE = new URL("./workers/shards.mjs", import.meta.url);

/** Times each side (name → async () => result) once as warm-up, then RUNS rotating rounds. */
async function sides(all, elements, check) {
  const names = Object.keys(all);
  const warm = {};
  for (const name of names) {
    const t0 = performance.now();
    const result = await all[name]();
    warm[name] = performance.now() - t0;
    check(name, result);
  }
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < RUNS; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length];
      const t0 = performance.now();
      check(name, await all[name]());
      runs[name].push(performance.now() - t0);
    }
  }
  return Object.fromEntries(
    names.map((n) => [
      n,
      {
        warmMs: round(warm[n], 1),
        medianMs: round(median(runs[n]), 1),
        perSecond: Math.round((elements * 1000) / median(runs[n])),
        runs: runs[n].map((x) => round(x, 1)),
      },
    ]),
  );
}

function same(expected) {
  const text = JSON.stringify(expected);
  return (name, result) => {
    if (JSON.stringify(result) !== text) throw new Error(`${name}: the elements differ from the main thread's`);
  };
}

function sameMultiset(expected) {
  const key = (r) => `${r.id}:${r.h}`;
  const want = expected.map(key).sort().join(",");
  return (name, result) => {
    if (result.map(key).sort().join(",") !== want) throw new Error(`${name}: the elements differ from one thread's`);
  };
}

const results = { machine: { cpus: os.availableParallelism(), node: process.version }, cases: {} };

// ---- W1: a CPU-bound map -------------------------------------------------------------------

log(`W1: range(${N}) → ~0.2 ms of CPU per element`);
{
  const input = () => Dataset.range(N);
  const t0 = performance.now();
  await Dataset.range(1).mapInWorkers(CPU_MODULE, { workers: 4 }).toArray();
  results.startupMs = round(performance.now() - t0, 1);
  const expected = await input().map(cpu).toArray();
  const w = await sides(
    {
      main: () => input().map(cpu).toArray(),
      "workers=1": () => input().mapInWorkers(CPU_MODULE, { workers: 1 }).toArray(),
      "workers=2": () => input().mapInWorkers(CPU_MODULE, { workers: 2 }).toArray(),
      "workers=4": () => input().mapInWorkers(CPU_MODULE, { workers: 4 }).toArray(),
    },
    N,
    same(expected),
  );
  for (const side of Object.values(w)) side.speedup = round(side.perSecond / w.main.perSecond, 2);
  results.cases.W1 = w;
}

// ---- W2: TFRecord shards parsed and mixed on threads ----------------------------------------

log(`W2: 8 TFRecord files, ${N} Examples → parseExample → the CPU work`);
{
  const dir = mkdtempSync(join(os.tmpdir(), "checkpipe-workers-bench-"));
  process.env.CHECKPIPE_BENCH_SHARDS = dir;
  try {
    for (let f = 0; f < 8; f++) {
      const frames = [];
      for (let i = f; i < N; i += 8)
        frames.push(encodeFrame(serializeExample({ id: [BigInt(i)], values: Float32Array.from({ length: 32 }, (_, k) => ((i * 31 + k) % 97) / 97) })));
      writeFileSync(join(dir, `shard-${f}.tfrecord`), Buffer.concat(frames));
    }
    const one = () =>
      Dataset.fromArray(shardFiles())
        .interleave((file) => Dataset.tfrecord(file), { cycleLength: 2 })
        .map(parseAndMix)
        .toArray();
    const expected = await one();
    const w = await sides(
      {
        "one thread": one,
        "fromWorkers=2": () => Dataset.fromWorkers(SHARDS_MODULE, { workers: 2 }).toArray(),
        "tfrecord → mapInWorkers=2": () =>
          Dataset.fromArray(shardFiles())
            .interleave((file) => Dataset.tfrecord(file), { cycleLength: 2 })
            .mapInWorkers(SHARDS_MODULE, { workers: 2, export: "parse" })
            .toArray(),
      },
      N,
      sameMultiset(expected),
    );
    for (const side of Object.values(w)) side.speedup = round(side.perSecond / w["one thread"].perSecond, 2);
    results.cases.W2 = w;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- W3: crossing the threads ---------------------------------------------------------------

const CROSS = 200_000;
log(`W3: range(${CROSS}) → identity on threads`);
{
  const numbers = () => Dataset.range(CROSS);
  const records = () => Dataset.range(CROSS).map((x) => ({ x, v: new Float32Array(16).fill(x) }));
  const expectedNumbers = await numbers().toArray();
  const w = await sides(
    {
      "numbers, main": () => numbers().map(identity).toArray(),
      "numbers, workers=1": () => numbers().mapInWorkers(CPU_MODULE, { workers: 1, export: "identity" }).toArray(),
      "numbers, workers=2": () => numbers().mapInWorkers(CPU_MODULE, { workers: 2, export: "identity" }).toArray(),
    },
    CROSS,
    same(expectedNumbers),
  );
  const count = (name, result) => {
    if (result.length !== CROSS || result[CROSS - 1].v[15] !== CROSS - 1) throw new Error(`${name}: wrong elements`);
  };
  const r = await sides(
    {
      "records, main": () => records().map(identity).toArray(),
      "records, workers=2": () => records().mapInWorkers(CPU_MODULE, { workers: 2, export: "identity" }).toArray(),
    },
    CROSS,
    count,
  );
  results.cases.W3 = { ...w, ...r };
}

// ---- W4: the pool ---------------------------------------------------------------------------

log("W4: batches through worker_threads, piscina, tinypool");
{
  const { Piscina } = await import("piscina");
  const { default: Tinypool } = await import("tinypool");
  const task = new URL("./workers/batch-task.mjs", import.meta.url);
  const rows = [];
  for (const size of [1, 16, 256]) {
    const batches = [];
    for (let i = 0; i < CROSS; i += size) batches.push(Array.from({ length: Math.min(size, CROSS - i) }, (_, k) => i + k));
    const drive = async (run) => {
      let next = 0;
      const t0 = performance.now();
      const lane = async () => {
        while (next < batches.length) await run(batches[next++]);
      };
      await Promise.all([lane(), lane(), lane(), lane()]);
      return performance.now() - t0;
    };
    const raw = [0, 1].map(() => new Worker(new URL("./workers/batch-worker.mjs", import.meta.url)));
    const waiting = new Map();
    let id = 0;
    for (const w of raw) w.on("message", (m) => (waiting.get(m.id)(m.out), waiting.delete(m.id)));
    const direct = (batch) => new Promise((resolve) => (waiting.set(id, resolve), raw[id % 2].postMessage({ id: id++, batch })));
    const piscina = new Piscina({ filename: task.href, minThreads: 2, maxThreads: 2 });
    const tinypool = new Tinypool({ filename: task.href, minThreads: 2, maxThreads: 2 });
    const pools = { worker_threads: direct, piscina: (b) => piscina.run(b), tinypool: (b) => tinypool.run(b) };
    const row = { batch: size };
    for (const [name, run] of Object.entries(pools)) {
      await drive(run);
      const times = [];
      for (let r = 0; r < RUNS; r++) times.push(await drive(run));
      const ms = median(times);
      row[name] = { perSecond: Math.round((CROSS * 1000) / ms), usPerMessage: round((ms * 1000) / batches.length, 1) };
    }
    await Promise.all(raw.map((w) => w.terminate()));
    await piscina.destroy();
    await tinypool.destroy();
    rows.push(row);
  }
  results.cases.W4 = rows;
}

// ---- report ---------------------------------------------------------------------------------

await saveJsonResult("workers", results);
if (JSON_OUT) {
  process.stdout.write(JSON.stringify(results, null, 2) + "\n");
} else {
  const fmt = (x) => (x >= 1e6 ? `${round(x / 1e6, 2)} M/s` : `${round(x / 1e3, 1)} k/s`);
  console.log(
    `\nworkers bench — ${results.machine.cpus} cores, Node ${results.machine.node}; thread start-up (4 threads, first iterator): ${results.startupMs} ms`,
  );
  for (const name of ["W1", "W2", "W3"]) {
    console.log(`\n${name}`);
    for (const [side, r] of Object.entries(results.cases[name]))
      console.log(
        `  ${side.padEnd(28)} ${fmt(r.perSecond).padStart(10)}${r.speedup === undefined ? "" : `  ×${r.speedup}`}   (median ${r.medianMs} ms; runs ${r.runs.join(", ")})`,
      );
  }
  const w1 = results.cases.W1["workers=2"].speedup;
  const w2 = results.cases.W2["fromWorkers=2"].speedup;
  console.log(`\n  target W1: mapInWorkers(2) ≥ 1.8× main: ×${w1} ${w1 >= 1.8 ? "met" : "NOT met"}`);
  console.log(`  target W2: fromWorkers(2) ≥ 1.7× one thread: ×${w2} ${w2 >= 1.7 ? "met" : "NOT met"}`);
  console.log("\nW4 (elements/s, µs per message)");
  for (const row of results.cases.W4) {
    console.log(
      `  batch ${String(row.batch).padStart(3)}: ${["worker_threads", "piscina", "tinypool"].map((n) => `${n} ${fmt(row[n].perSecond)} (${row[n].usPerMessage} µs)`).join(", ")}`,
    );
  }
}
