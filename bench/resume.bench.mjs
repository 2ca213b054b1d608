// Resume benchmark (issue 6, "cheap checkpoints"): what saving and restoring an iterator costs,
// whether restoring costs the same far into a sequence as near its start, and what a
// CheckpointSaverHook costs a MonitoredSession training loop.
//
//   npm run bench                         (builds, installs bench/ dependencies, runs every bench)
//   node bench/resume.bench.mjs           (needs a built dist/)
//   node bench/resume.bench.mjs --json    (machine-readable results instead of the table)
//   node bench/resume.bench.mjs --runs 9
//
// 1. Save and restore with a full 10 000-element shuffle buffer of small objects:
//    Dataset.range(1e6).map(i => ({ id, v, name })).shuffle(10 000, seed), 20 000 elements read.
//    JSON state: save() + JSON.stringify, and JSON.parse + iterator({ state }) + the first
//    next(). Checkpoint on disk: Saver.save() (bundle files written and fsynced, state file
//    rewritten) and Saver.restore() into a fresh iterator + its first next(). Medians of 15
//    after 3 warm-ups; the restored iterator's first element must be the uninterrupted one's.
//    Target: each < 20 ms; state sizes reported.
// 2. Restore at position 1e6 versus 1e3, for Dataset.range(2e6), two file readers (a JSONL file
//    and a TFRecord file of 1.2e6 records each, generated into os.tmpdir()) and a shuffled
//    pipeline (range(2e6).shuffle(10 000, seed)). One iterator reads 1e3 elements, saves, reads
//    on to 1e6, saves (both JSON states, really reached: no edited counters); the element after
//    each position is remembered. A sample is iterator({ state }) + the first next() (checked),
//    repeated until the sample lasts ≥ 2 ms; early and late samples alternate, 31 of each;
//    the figure is the ratio of the medians (the median of the paired ratios is given too).
//    Reading the 1e6 elements is timed too: a restore that replayed would cost that much.
//    Target: late ≤ 1.2 × early.
// 3. A MonitoredSession loop with a trivial step (getNext on an iterator of
//    range → map → batch(32), then assignAdd on the global step), with and without a
//    CheckpointSaverHook saving every 100 steps (a Saver over the iterator and the global
//    step, in a fresh temporary directory). Each run makes a new graph and session and times
//    10 000 steps; without, with (each save awaited, TensorFlow's way), async (the hook's
//    `async: true`: values taken at the step, files written by the writer thread), and the
//    hook with no save inside the loop (its per-step cost alone) alternate in rotating order,
//    --runs rounds (default 7, at least 5); the last checkpoint's step and iterator position
//    are checked, and the async runs must leave the same checkpoints on disk. A second case,
//    report only, saves a 10 000-element shuffle buffer. Target: with ≥ 98 % of the steps/s
//    without (reported for both ways of saving).
// 4. Input checkpoints next to the model's: the same trivial step, the iterator outside the
//    model's saveables, a CheckpointSaverHook saving the model (global step and one variable)
//    every 100 steps, with and without a CheckpointInputPipelineHook saving the iterator for
//    the same steps. Runs alternate as in 3; the figure is what the input checkpoints add per
//    model checkpoint (ms), and per step. `--only paired` runs this section alone.

import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  ChiefSessionCreator,
  CheckpointInputPipelineHook,
  CheckpointSaverHook,
  Dataset,
  Graph,
  GraphKeys,
  MonitoredSession,
  Operation,
  RunConfig,
  Saver,
  Scaffold,
  Variable,
  assignAdd,
  getNext,
  getCheckpointState,
  getOrCreateGlobalStep,
  latestCheckpoint,
  makeSaveableFromIterator,
  silentLogger,
} from "../dist/index.js";
import { encodeFrame } from "../dist/formats/tfrecord-frame.js";
import { JSON_OUT, intArg, log, saveJsonResult } from "./cli.mjs";
import { median, round } from "./measure.mjs";
import { jsonLine, writeJsonl } from "./pipelines.mjs";

const RUNS = Math.max(5, intArg("--runs", 7));
const DIR = mkdtempSync(join(os.tmpdir(), "checkpipe-resume-bench-"));

const SEED = 7;
const BUFFER = 10_000;
const EARLY = 1_000;
const LATE = 1_000_000;
const FILE_RECORDS = 1_200_000; // past LATE by 200 000, so the first read after either restore fills a whole buffer
const TFRECORD_BYTES = 24; // payload: the record's index, then padding

const smallObject = (i) => ({ id: i, v: i % 7, name: "x" + i });
const sameElement = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function medianOf(samples, fn) {
  const xs = [];
  for (let i = 0; i < samples; i++) xs.push(await fn());
  return median(xs);
}

// ---- 1. save and restore with a full shuffle buffer -----------------------------------------

async function shuffleBufferCost() {
  const ds = Dataset.range(1_000_000).map(smallObject).shuffle(BUFFER, { seed: SEED });
  const it = ds.iterator();
  for (let i = 0; i < 2 * BUFFER; i++) await it.next();
  // The uninterrupted next element, from a second iterator at the same place.
  const ref = ds.iterator();
  for (let i = 0; i < 2 * BUFFER; i++) await ref.next();
  const expected = (await ref.next()).value;
  await ref.return();

  // JSON state.
  let json = "";
  const saveJson = async () => {
    const t0 = performance.now();
    json = JSON.stringify(await it.save());
    return performance.now() - t0;
  };
  const restoreJson = async () => {
    const t0 = performance.now();
    const r = ds.iterator({ state: JSON.parse(json) });
    const { value } = await r.next();
    const ms = performance.now() - t0;
    await r.return();
    if (!sameElement(value, expected)) throw new Error("shuffle buffer: the restored iterator's first element differs from the uninterrupted one's");
    return ms;
  };
  for (let i = 0; i < 3; i++) {
    await saveJson();
    await restoreJson();
  }
  const jsonSaveMs = await medianOf(15, saveJson);
  const jsonRestoreMs = await medianOf(15, restoreJson);

  // A checkpoint on disk, through a Saver.
  const dir = join(DIR, "saver");
  await mkdir(dir);
  const saver = new Saver([makeSaveableFromIterator(it)], { maxToKeep: 2 });
  let step = 0;
  let prefix = "";
  const saveDisk = async () => {
    const t0 = performance.now();
    prefix = await saver.save(join(dir, "model.ckpt"), { globalStep: ++step });
    return performance.now() - t0;
  };
  const restoreDisk = async () => {
    const t0 = performance.now();
    const fresh = ds.iterator();
    await new Saver([makeSaveableFromIterator(fresh)]).restore(prefix);
    const { value } = await fresh.next();
    const ms = performance.now() - t0;
    await fresh.return();
    if (!sameElement(value, expected)) throw new Error("shuffle buffer: the iterator restored from disk gives a different first element");
    return ms;
  };
  for (let i = 0; i < 3; i++) {
    await saveDisk();
    await restoreDisk();
  }
  const diskSaveMs = await medianOf(15, saveDisk);
  const diskRestoreMs = await medianOf(15, restoreDisk);
  const files = (await readdir(dir)).filter((f) => f.startsWith(`model.ckpt-${step}.`));
  let diskBytes = 0;
  for (const f of files) diskBytes += (await stat(join(dir, f))).size;
  await it.return();
  await rm(dir, { recursive: true, force: true });

  const result = {
    pipeline: ds.toString(),
    position: `${2 * BUFFER} elements read; the buffer holds ${BUFFER} objects`,
    jsonStateBytes: Buffer.byteLength(json),
    checkpointBytes: diskBytes,
    jsonSaveMs: round(jsonSaveMs, 3),
    jsonRestoreMs: round(jsonRestoreMs, 3),
    saverSaveMs: round(diskSaveMs, 3),
    saverRestoreMs: round(diskRestoreMs, 3),
  };
  result.met = Math.max(jsonSaveMs, jsonRestoreMs, diskSaveMs, diskRestoreMs) < 20;
  return result;
}

// ---- 2. restore at 1e6 versus 1e3 -----------------------------------------------------------

function writeTFRecord(path, count) {
  const fd = openSync(path, "w");
  const frame = TFRECORD_BYTES + 16;
  const CHUNK = 10_000;
  const chunk = new Uint8Array(CHUNK * frame);
  for (let i = 0; i < count; i += CHUNK) {
    const n = Math.min(CHUNK, count - i);
    for (let k = 0; k < n; k++) {
      const payload = new Uint8Array(TFRECORD_BYTES).fill(0x5a);
      new DataView(payload.buffer).setUint32(0, i + k, true);
      chunk.set(encodeFrame(payload), k * frame);
    }
    writeSync(fd, chunk, 0, n * frame);
  }
  closeSync(fd);
}
const recordIndex = (bytes) => new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);

/**
 * Reads `EARLY` elements, saves, reads on to `LATE`, saves. Returns both JSON states (parsed
 * copies), the element after each position as `key(element)`, and how long reading took.
 */
async function statesAt(ds, key) {
  const it = ds.iterator();
  const t0 = performance.now();
  for (let i = 0; i < EARLY; i++) await it.next();
  const early = JSON.parse(JSON.stringify(await it.save()));
  const afterEarly = key((await it.next()).value);
  for (let i = EARLY + 1; i < LATE; i++) await it.next();
  const readMs = performance.now() - t0;
  const late = JSON.parse(JSON.stringify(await it.save()));
  const afterLate = key((await it.next()).value);
  await it.return();
  return { early, late, afterEarly, afterLate, readMs };
}

async function restoreVersusPosition(name, ds, key) {
  const s = await statesAt(ds, key);
  let reps = 1;
  const sample = async (state, expect) => {
    const t0 = performance.now();
    for (let k = 0; k < reps; k++) {
      const r = ds.iterator({ state });
      const got = key((await r.next()).value);
      await r.return();
      if (got !== expect) throw new Error(`${name}: restored first element ${got}, expected ${expect}`);
    }
    return (performance.now() - t0) / reps;
  };
  // Warm up, then grow the repetitions until one sample lasts 2 ms.
  for (let i = 0; i < 5; i++) {
    await sample(s.early, s.afterEarly);
    await sample(s.late, s.afterLate);
  }
  const one = await sample(s.early, s.afterEarly);
  reps = Math.max(1, Math.ceil(2 / Math.max(one, 0.001)));
  const a = [];
  const b = [];
  for (let i = 0; i < 31; i++) {
    if (i % 2 === 0) {
      a.push(await sample(s.early, s.afterEarly));
      b.push(await sample(s.late, s.afterLate));
    } else {
      b.push(await sample(s.late, s.afterLate));
      a.push(await sample(s.early, s.afterEarly));
    }
  }
  const earlyMs = median(a);
  const lateMs = median(b);
  return {
    name,
    pipeline: ds.toString(),
    stateBytes: { early: Buffer.byteLength(JSON.stringify(s.early)), late: Buffer.byteLength(JSON.stringify(s.late)) },
    restoreAt1e3Ms: round(earlyMs, 4),
    restoreAt1e6Ms: round(lateMs, 4),
    lateOverEarly: round(lateMs / earlyMs, 3),
    pairedLateOverEarly: round(median(a.map((x, i) => b[i] / x)), 3),
    readTo1e6Ms: round(s.readMs, 1),
    repsPerSample: reps,
    met: lateMs / earlyMs <= 1.2,
  };
}

async function restoreCases() {
  const jsonlPath = join(DIR, "restore.jsonl");
  const tfrecordPath = join(DIR, "restore.tfrecord");
  log(`writing ${FILE_RECORDS} JSONL lines and TFRecord records ...`);
  writeJsonl(jsonlPath, FILE_RECORDS);
  writeTFRecord(tfrecordPath, FILE_RECORDS);
  const files = { jsonlBytes: statSync(jsonlPath).size, tfrecordBytes: statSync(tfrecordPath).size, jsonlLineBytes: jsonLine(LATE).length };
  const rows = [];
  const id = (x) => x;
  const cases = [
    ["range", Dataset.range(2 * LATE), id],
    ["JSONL file", Dataset.jsonl(jsonlPath), (r) => r.id],
    ["TFRecord file", Dataset.tfrecord(tfrecordPath), recordIndex],
    ["shuffled range", Dataset.range(2 * LATE).shuffle(BUFFER, { seed: SEED }), id],
  ];
  for (const [name, ds, key] of cases) {
    log(`restore at 1e3 vs 1e6: ${name} ...`);
    rows.push(await restoreVersusPosition(name, ds, key));
  }
  return { files, rows };
}

// ---- 3. MonitoredSession with and without a CheckpointSaverHook -----------------------------

const STEPS = 10_000;
const SAVE_STEPS = 100;

/**
 * One run: a new graph, iterator and session; times STEPS steps. `mode`: "without" (no hook),
 * "with" (CheckpointSaverHook every SAVE_STEPS steps), "async" (the same with `async: true`:
 * written in the background, waited for at close) or "idle" (the same hook with saveSteps
 * 1e9: it runs its beforeRun/afterRun every step but saves only at session start and at close,
 * both outside the timed loop; it separates the hook's per-step cost from the saves').
 */
async function sessionRun(mode, makeDataset) {
  const withHook = mode !== "without";
  const graph = new Graph();
  const dir = mkdtempSync(join(DIR, "session-"));
  const { train } = graph.asDefault(() => {
    const globalStep = getOrCreateGlobalStep();
    const it = makeDataset().iterator();
    graph.addToCollection(GraphKeys.SAVEABLE_OBJECTS, makeSaveableFromIterator(it));
    const batch = getNext(it);
    const increment = assignAdd(globalStep);
    const train = new Operation("train", async (run) => {
      await run.eval(batch);
      await run.eval(increment);
    });
    return { train };
  });
  const hooks = withHook
    ? [new CheckpointSaverHook(dir, { saveSteps: mode === "idle" ? 1e9 : SAVE_STEPS, async: mode === "async", logger: silentLogger })]
    : [];
  const sess = await MonitoredSession.create({ graph, sessionCreator: new ChiefSessionCreator(), hooks, logger: silentLogger });
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) await sess.run(train);
  const ms = performance.now() - t0;
  await sess.close(); // the hook saves the last step here (and waits for background writes), outside the timed loop
  let checkpoints = 0;
  if (mode === "with" || mode === "async") {
    // Saves at step 0 (session start), then every 100 steps; Saver keeps the last 5.
    const latest = await latestCheckpoint(dir);
    if (latest === null || !latest.endsWith(`-${STEPS}`)) throw new Error(`session: latest checkpoint ${latest}, expected step ${STEPS}`);
    const kept = (await getCheckpointState(dir)).allModelCheckpointPaths.map((path) => path.slice(path.lastIndexOf("-") + 1)).join(",");
    const expected = [4, 3, 2, 1, 0].map((k) => STEPS - k * SAVE_STEPS).join(",");
    if (kept !== expected) throw new Error(`session (${mode}): the state file keeps steps ${kept}, expected ${expected}`);
    const files = (await readdir(dir)).filter((name) => name.startsWith("model.ckpt-")).length;
    if (files !== 10) throw new Error(`session (${mode}): ${files} checkpoint files on disk, expected the 5 kept checkpoints' 10`);
    checkpoints = STEPS / SAVE_STEPS;
    // The last checkpoint holds the iterator after STEPS batches.
    const fresh = makeDataset().iterator();
    await new Saver([makeSaveableFromIterator(fresh)]).restore(latest);
    const reference = makeDataset().iterator();
    for (let i = 0; i < STEPS; i++) await reference.next();
    if (!sameElement((await fresh.next()).value, (await reference.next()).value)) throw new Error("session: the checkpointed iterator is not at step 10 000");
    await fresh.return();
    await reference.return();
  }
  await rm(dir, { recursive: true, force: true });
  return { ms, checkpoints };
}

async function sessionCase(name, makeDataset, target) {
  const modes = ["without", "with", "async", "idle"];
  for (let i = 0; i < 2; i++) for (const mode of modes) await sessionRun(mode, makeDataset);
  const runs = { without: [], with: [], async: [], idle: [] };
  for (let r = 0; r < RUNS; r++) {
    for (let k = 0; k < modes.length; k++) {
      const mode = modes[(r + k) % modes.length];
      runs[mode].push((await sessionRun(mode, makeDataset)).ms);
    }
  }
  const a = median(runs.without);
  const b = median(runs.with);
  const c = median(runs.async);
  const idle = median(runs.idle);
  const saves = STEPS / SAVE_STEPS;
  const perSaveMs = (b - idle) / saves;
  return {
    name,
    pipeline: makeDataset().toString(),
    steps: STEPS,
    saveSteps: SAVE_STEPS,
    withoutStepsPerSec: Math.round(STEPS / (a / 1000)),
    withStepsPerSec: Math.round(STEPS / (b / 1000)),
    asyncStepsPerSec: Math.round(STEPS / (c / 1000)),
    idleHookStepsPerSec: Math.round(STEPS / (idle / 1000)),
    ratio: round(a / b, 4),
    asyncRatio: round(a / c, 4),
    asyncUsPerCheckpoint: round(((c - idle) / saves) * 1000, 1),
    idleHookRatio: round(a / idle, 4),
    stepUs: round((a / STEPS) * 1000, 2),
    hookUsPerStep: round(((idle - a) / STEPS) * 1000, 2),
    msPerCheckpoint: round(perSaveMs, 3),
    // The step time at which one checkpoint per 100 steps would cost 2 %: per-save cost ÷ (0.02 × 100).
    stepMsFor98: round((b - a) / saves / (0.02 * SAVE_STEPS), 3),
    runsMs: Object.fromEntries(modes.map((m) => [m, runs[m].map((x) => round(x, 1))])),
    target: target ? "with hook ≥ 98% of the steps/s without" : null,
    met: target ? a / b >= 0.98 : null,
    asyncMet: target ? a / c >= 0.98 : null,
  };
}

async function sessionCases() {
  return [
    await sessionCase(
      "trivial step, small iterator state",
      () =>
        Dataset.range(1e12)
          .map((x) => ({ id: x, v: x % 7 }))
          .batch(32),
      true,
    ),
    await sessionCase(
      "trivial step, 10 000-element shuffle buffer",
      () => Dataset.range(1e12).map(smallObject).shuffle(BUFFER, { seed: SEED }).batch(32),
      false,
    ),
  ];
}

// ---- 4. Input checkpoints next to the model's ---------------------------------------------

/**
 * One run: a new graph and session in a fresh directory; times STEPS steps. `mode`: "model"
 * (a CheckpointSaverHook saving the global step and a weight every SAVE_STEPS steps) or
 * "paired" (the same, with a CheckpointInputPipelineHook saving the iterator alongside).
 */
async function pairedRun(mode, makeDataset) {
  const graph = new Graph();
  const dir = mkdtempSync(join(DIR, "paired-"));
  const { train } = graph.asDefault(() => {
    const globalStep = getOrCreateGlobalStep();
    const w = new Variable("w", 0);
    const batch = getNext(makeDataset().iterator());
    const increment = assignAdd(globalStep);
    const train = new Operation("train", async (run) => {
      const b = await run.eval(batch);
      w.assign(w.value + b.length);
      await run.eval(increment);
    });
    return { train };
  });
  const scaffold = new Scaffold();
  const hooks = [new CheckpointSaverHook(dir, { saveSteps: SAVE_STEPS, scaffold, logger: silentLogger })];
  if (mode === "paired") {
    const config = new RunConfig({ saveCheckpointsSteps: SAVE_STEPS, tfConfig: {} });
    hooks.push(new CheckpointInputPipelineHook({ modelDir: dir, config }, { logger: silentLogger }));
  }
  const sess = await MonitoredSession.create({ graph, sessionCreator: new ChiefSessionCreator({ scaffold, checkpointDir: dir }), hooks, logger: silentLogger });
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) await sess.run(train);
  const ms = performance.now() - t0;
  await sess.close();
  const model = await latestCheckpoint(dir);
  if (model === null || !model.endsWith(`model.ckpt-${STEPS}`)) throw new Error(`paired (${mode}): latest model checkpoint ${model}`);
  if (mode === "paired") {
    const input = await latestCheckpoint(dir, "checkpoint_input");
    if (input === null || !input.endsWith(`input.ckpt-${STEPS}`)) throw new Error(`paired: latest input checkpoint ${input}`);
  }
  await rm(dir, { recursive: true, force: true });
  return ms;
}

async function pairedCases() {
  const makeDataset = () =>
    Dataset.range(1e12)
      .map((x) => ({ id: x, v: x % 7 }))
      .batch(32);
  const modes = ["model", "paired"];
  for (let i = 0; i < 2; i++) for (const mode of modes) await pairedRun(mode, makeDataset);
  const runs = { model: [], paired: [] };
  for (let r = 0; r < RUNS; r++) {
    for (let k = 0; k < modes.length; k++) {
      const mode = modes[(r + k) % modes.length];
      runs[mode].push(await pairedRun(mode, makeDataset));
    }
  }
  const a = median(runs.model);
  const b = median(runs.paired);
  const saves = STEPS / SAVE_STEPS;
  return {
    pipeline: makeDataset().toString(),
    steps: STEPS,
    saveSteps: SAVE_STEPS,
    modelStepsPerSec: Math.round(STEPS / (a / 1000)),
    pairedStepsPerSec: Math.round(STEPS / (b / 1000)),
    inputMsPerCheckpoint: round((b - a) / saves, 3),
    inputUsPerStep: round(((b - a) / STEPS) * 1000, 2),
    runsMs: Object.fromEntries(modes.map((m) => [m, runs[m].map((x) => round(x, 1))])),
  };
}

// ---- main ----------------------------------------------------------------------------------

const ONLY = (() => {
  const i = process.argv.indexOf("--only");
  return i < 0 ? null : process.argv[i + 1];
})();

async function main() {
  const started = performance.now();
  log(`checkpipe resume bench — node ${process.version}, ${os.cpus()[0]?.model ?? "cpu?"} ×${os.cpus().length}`);
  if (ONLY === "paired") {
    const paired = await pairedCases();
    process.stdout.write(JSON_OUT ? JSON.stringify(paired, null, 2) + "\n" : formatPaired(paired) + "\n");
    return;
  }
  log("save and restore with a full shuffle buffer ...");
  const shuffle = await shuffleBufferCost();
  const restore = await restoreCases();
  log("MonitoredSession with and without CheckpointSaverHook ...");
  const sessions = await sessionCases();
  log("input checkpoints next to the model's ...");
  const paired = await pairedCases();
  const totalSec = round((performance.now() - started) / 1000, 1);
  const result = {
    bench: "resume",
    node: process.version,
    cpu: os.cpus()[0]?.model ?? null,
    cores: os.cpus().length,
    runs: RUNS,
    shuffle,
    restore,
    sessions,
    paired,
    totalSec,
  };
  await saveJsonResult("resume", result);
  if (JSON_OUT) {
    const out = result;
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return;
  }
  const ok = (m) => (m ? "met" : "NOT MET");
  const out = [""];
  out.push(`checkpipe resume bench — node ${process.version}, ${os.cpus()[0]?.model ?? "cpu?"} ×${os.cpus().length}`);
  out.push(`1. ${shuffle.pipeline}, ${shuffle.position} (medians of 15; target: each < 20 ms) ${ok(shuffle.met)}`);
  out.push(
    `   JSON state (${shuffle.jsonStateBytes.toLocaleString("en-US")} bytes):  save + stringify ${shuffle.jsonSaveMs.toFixed(2)} ms   parse + restore + next ${shuffle.jsonRestoreMs.toFixed(2)} ms`,
  );
  out.push(
    `   Saver checkpoint (${shuffle.checkpointBytes.toLocaleString("en-US")} bytes on disk):  save ${shuffle.saverSaveMs.toFixed(2)} ms   restore + next ${shuffle.saverRestoreMs.toFixed(2)} ms`,
  );
  out.push(`2. restore + first next() at position 1e6 vs 1e3 (medians of 31 alternating samples; target ≤ 1.2×)`);
  for (const r of restore.rows) {
    out.push(
      `   ${r.name.padEnd(15)} ${(r.restoreAt1e3Ms * 1000).toFixed(1).padStart(8)} µs  ${(r.restoreAt1e6Ms * 1000).toFixed(1).padStart(8)} µs  ${r.lateOverEarly.toFixed(2)}× (paired ${r.pairedLateOverEarly.toFixed(2)}×)  ` +
        `state ${r.stateBytes.late} B; reading to 1e6 took ${r.readTo1e6Ms} ms  ${ok(r.met)}`,
    );
  }
  out.push(`3. MonitoredSession, ${STEPS} steps per run, CheckpointSaverHook every ${SAVE_STEPS} steps (medians of ${RUNS})`);
  for (const s of sessions) {
    out.push(
      `   ${s.name}: ${s.withoutStepsPerSec.toLocaleString("en-US")} steps/s without, ${s.withStepsPerSec.toLocaleString("en-US")} with = ${(s.ratio * 100).toFixed(1)}%` +
        `  ${s.target ? ok(s.met) : "(report only)"}`,
    );
    out.push(
      `      async: true (background writes): ${s.asyncStepsPerSec.toLocaleString("en-US")} steps/s = ${(s.asyncRatio * 100).toFixed(1)}%` +
        `  ${s.target ? ok(s.asyncMet) : "(report only)"}; each checkpoint ${s.asyncUsPerCheckpoint} µs of the loop's time`,
    );
    out.push(
      `      the hook without saves: ${(s.idleHookRatio * 100).toFixed(1)}% (+${s.hookUsPerStep} µs per step); each checkpoint ${s.msPerCheckpoint} ms; ` +
        `98% would need steps of ≥ ${s.stepMsFor98} ms`,
    );
  }
  out.push(formatPaired(paired));
  out.push(`total ${totalSec} s. Targets are reported, not enforced.`);
  process.stdout.write(out.join("\n") + "\n");
}

function formatPaired(p) {
  return (
    `4. Input checkpoints with the model's, ${p.steps} steps per run, every ${p.saveSteps} steps (medians of ${RUNS})\n` +
    `   model only ${p.modelStepsPerSec.toLocaleString("en-US")} steps/s, model + CheckpointInputPipelineHook ${p.pairedStepsPerSec.toLocaleString("en-US")} steps/s: ` +
    `the input adds ${p.inputMsPerCheckpoint} ms per checkpoint (${p.inputUsPerStep} µs per step)`
  );
}

try {
  await main();
} finally {
  rmSync(DIR, { recursive: true, force: true });
}
