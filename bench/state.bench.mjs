// State-size benchmark (issue 15): what a checkpoint of a shuffle holds, and what restoring costs.
//
//   npm run bench                 (builds, runs every bench)
//   node bench/state.bench.mjs    (needs a built dist/)
//   node bench/state.bench.mjs --json --runs 5
//
// Cases:
//   S1 range(1e6) → globalShuffle({ seed }) versus range(1e6) → shuffle(10 000, { seed }),
//      consumed in batches of 256: elements/s (median of --runs passes, after a warm-up).
//   S2 range(1e9) → globalShuffle: the state's size (JSON bytes) after 10^3 and 10^6 elements,
//      and the time to restore there and take the next element (median of --runs), compared.
//   S3 range(1e5) → map to Float32Array(784) → shuffle(10 000, saveBuffer "elements"): the
//      state's size, against globalShuffle over the same pipeline.
//   S4 4 indexed TFRecord files of 30 000 Examples (~3 KB each) → parseExample → shuffle(10 000):
//      the state (binary, as a checkpoint holds it), its save time on this thread, and restore +
//      100 elements, with saveBuffer "positions" and "elements"; the resumed streams are checked.
//   S5 range(60 000) → map to Float32Array(784) → filter (keeps 2 in 3) → shuffle(10 000): the
//      state (binary) after 2000 elements and restore + 100 elements (median of --runs), with
//      saveBuffer "positions" (the filter passes its input's positions on) and "elements";
//      the resumed streams are checked.

import { performance } from "node:perf_hooks";
import { Dataset } from "../dist/index.js";
import { JSON_OUT, intArg, log, saveJsonResult } from "./cli.mjs";
import { median, round } from "./measure.mjs";

const RUNS = intArg("--runs", 5);
const results = { cases: {} };

async function passes(build, count) {
  const times = [];
  for (let r = 0; r <= RUNS; r++) {
    const t0 = performance.now();
    let n = 0;
    for await (const batch of build()) n += batch.length;
    if (n !== count) throw new Error(`expected ${count} elements, got ${n}`);
    if (r > 0) times.push(performance.now() - t0);
  }
  return { medianMs: round(median(times), 1), perSecond: Math.round((count * 1000) / median(times)) };
}

log("S1: globalShuffle vs shuffle(10 000) over range(1e6)");
{
  const global = await passes(() => Dataset.range(1e6).globalShuffle({ seed: 1 }).batch(256), 1e6);
  const buffered = await passes(() => Dataset.range(1e6).shuffle(10_000, { seed: 1 }).batch(256), 1e6);
  results.cases.S1 = { globalShuffle: global, "shuffle(10000)": buffered, ratio: round(global.perSecond / buffered.perSecond, 2) };
}

log("S2: range(1e9).globalShuffle: state size and restore time at 10^3 and 10^6");
{
  const build = () => Dataset.range(1e9).globalShuffle({ seed: 5 });
  const it = build().iterator();
  for (let i = 0; i < 1e3; i++) await it.next();
  const early = await it.save();
  for (let i = 1e3; i < 1e6; i++) await it.next();
  const late = await it.save();
  await it.close();
  const restore = async (state) => {
    const times = [];
    for (let r = 0; r <= RUNS; r++) {
      const t0 = performance.now();
      const resumed = build().iterator({ state });
      await resumed.next();
      times.push(performance.now() - t0);
      await resumed.close();
    }
    return round(median(times.slice(1)), 3);
  };
  const at1e3 = await restore(early);
  const at1e6 = await restore(late);
  results.cases.S2 = {
    bytesAt1e3: JSON.stringify(early).length,
    bytesAt1e6: JSON.stringify(late).length,
    restoreMsAt1e3: at1e3,
    restoreMsAt1e6: at1e6,
    ratio: round(at1e6 / at1e3, 2),
  };
}

log("S3: the state of shuffle(10 000) of Float32Array(784) elements, against globalShuffle");
{
  const vectors = () => Dataset.range(1e5).map((i) => new Float32Array(784).fill(i));
  const measureState = async (ds) => {
    const it = ds.iterator();
    for (let i = 0; i < 100; i++) await it.next();
    const t0 = performance.now();
    const encoded = await it.saveEncoded();
    const ms = performance.now() - t0;
    const bytes = JSON.stringify(encoded.tree).length + encoded.blobs.reduce((s, b) => s + b.byteLength, 0);
    await it.close();
    return { bytes, saveMs: round(ms, 1) };
  };
  results.cases.S3 = {
    "shuffle(10000)": await measureState(vectors().shuffle(10_000, { seed: 2, saveBuffer: "elements" })),
    globalShuffle: await measureState(vectors().globalShuffle({ seed: 2 })),
  };
}

log("S4: shuffle(10 000) of ~3 KB TFRecord Examples, positions versus elements");
{
  const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const os = await import("node:os");
  const { parseExample, serializeExample } = await import("../dist/index.js");
  const { encodeFrame } = await import("../dist/formats/tfrecord-frame.js");
  const dir = mkdtempSync(join(os.tmpdir(), "checkpipe-state-bench-"));
  try {
    const files = [0, 1, 2, 3].map((f) => {
      const frames = [];
      for (let i = f; i < 30_000; i += 4)
        frames.push(encodeFrame(serializeExample({ id: [BigInt(i)], pixels: Float32Array.from({ length: 750 }, (_, k) => ((i + k) % 255) / 255) })));
      const file = join(dir, `part-${f}.tfrecord`);
      writeFileSync(file, Buffer.concat(frames));
      return file;
    });
    const spec = { id: { kind: "fixed", dtype: "int64", shape: [1] }, pixels: { kind: "fixed", dtype: "float32", shape: [750] } };
    const build = (saveBuffer) =>
      Dataset.tfrecord(files, { index: true })
        .map((bytes) => parseExample(bytes, spec))
        .shuffle(10_000, { seed: 1, saveBuffer });
    const side = async (saveBuffer) => {
      const it = build(saveBuffer).iterator();
      for (let i = 0; i < 2000; i++) await it.next();
      const saves = [];
      let encoded;
      for (let r = 0; r < RUNS; r++) {
        const t0 = performance.now();
        encoded = await it.saveEncoded();
        saves.push(performance.now() - t0);
      }
      const bytes = JSON.stringify(encoded.tree).length + encoded.blobs.reduce((sum, b) => sum + b.byteLength, 0);
      const state = await it.save();
      const expected = [];
      for (let i = 0; i < 100; i++) expected.push(Number((await it.next()).value.id[0]));
      await it.close();
      const t0 = performance.now();
      const resumed = build(saveBuffer).iterator({ state });
      const got = [];
      for (let i = 0; i < 100; i++) got.push(Number((await resumed.next()).value.id[0]));
      const restoreMs = performance.now() - t0;
      await resumed.close();
      if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${saveBuffer}: the resumed stream differs`);
      return { bytes, saveMs: round(median(saves), 1), restoreMs: round(restoreMs, 1) };
    };
    results.cases.S4 = { positions: await side("positions"), elements: await side("elements") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

log("S5: shuffle(10 000) over a filtered pipeline of Float32Array(784), positions versus elements");
{
  const build = (saveBuffer) =>
    Dataset.range(60_000)
      .map((i) => new Float32Array(784).fill(i))
      .filter((v) => v[0] % 3 !== 0)
      .shuffle(10_000, { seed: 3, saveBuffer });
  const side = async (saveBuffer) => {
    const it = build(saveBuffer).iterator();
    for (let i = 0; i < 2000; i++) await it.next();
    const encoded = await it.saveEncoded();
    const bytes = JSON.stringify(encoded.tree).length + encoded.blobs.reduce((sum, b) => sum + b.byteLength, 0);
    const state = await it.save();
    const expected = [];
    for (let i = 0; i < 100; i++) expected.push((await it.next()).value[0]);
    await it.close();
    const times = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      const resumed = build(saveBuffer).iterator({ state });
      const got = [];
      for (let i = 0; i < 100; i++) got.push((await resumed.next()).value[0]);
      times.push(performance.now() - t0);
      await resumed.close();
      if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${saveBuffer}: the resumed stream differs`);
    }
    return { bytes, restoreMs: round(median(times), 1) };
  };
  results.cases.S5 = { positions: await side("positions"), elements: await side("elements") };
}

await saveJsonResult("state", results);
if (JSON_OUT) process.stdout.write(JSON.stringify(results, null, 2) + "\n");
else {
  const { S1, S2, S3 } = results.cases;
  console.log("\nstate bench");
  console.log(
    `  S1 globalShuffle ${round(S1.globalShuffle.perSecond / 1e6, 2)} M/s, shuffle(10000) ${round(S1["shuffle(10000)"].perSecond / 1e6, 2)} M/s (×${S1.ratio})`,
  );
  console.log(
    `  S2 state ${S2.bytesAt1e3} B at 10^3, ${S2.bytesAt1e6} B at 10^6 (target < 2 KB); restore + next ${S2.restoreMsAt1e3} ms at 10^3, ${S2.restoreMsAt1e6} ms at 10^6 (×${S2.ratio}, target ≤ 1.2)`,
  );
  const { S4, S5 } = results.cases;
  console.log(
    `  S4 shuffle(10000) of 3 KB TFRecord Examples: positions ${round(S4.positions.bytes / 1e3, 1)} kB (save ${S4.positions.saveMs} ms, restore + 100 elements ${S4.positions.restoreMs} ms); elements ${round(S4.elements.bytes / 1e6, 1)} MB (save ${S4.elements.saveMs} ms, restore ${S4.elements.restoreMs} ms); resumed streams checked`,
  );
  console.log(
    `  S5 shuffle(10000) over map -> filter of Float32Array(784): positions ${round(S5.positions.bytes / 1e3, 1)} kB (restore + 100 elements ${S5.positions.restoreMs} ms); elements ${round(S5.elements.bytes / 1e6, 1)} MB (restore ${S5.elements.restoreMs} ms); resumed streams checked`,
  );
  console.log(
    `  S3 state of shuffle(10000) of Float32Array(784): ${round(S3["shuffle(10000)"].bytes / 1e6, 1)} MB (save ${S3["shuffle(10000)"].saveMs} ms); globalShuffle: ${S3.globalShuffle.bytes} B (save ${S3.globalShuffle.saveMs} ms)`,
  );
}
