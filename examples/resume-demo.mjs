// A training job that is preempted mid-epoch and resumes its input exactly where it left off.
//
//   npm run demo
//
// The job reads a shuffled, mapped, batched and prefetched pipeline, saves the iterator's
// state every few steps (atomically: temporary file, then rename), and is killed without
// warning part-way through. A new process restores the last saved state and finishes the
// run. The demo checks that the two processes together saw exactly the batches of an
// uninterrupted run: each batch after the last save is read again, none is skipped.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Dataset } from "checkpipe";

const SAVE_EVERY = 5;

/** The input pipeline: the same recipe in every process. */
function inputPipeline() {
  return Dataset.range(1000)
    .shuffle(200, { seed: 2026 })
    .map(async (i) => ({ id: i, feature: Math.sin(i), label: i % 3 }), { parallel: 4 })
    .filter((example) => example.label !== 2)
    .batch(16)
    .prefetch(4)
    .repeat(2);
}

/** One worker process: restore if there is a state, train, save every SAVE_EVERY steps. */
async function worker(dir, crashAtStep) {
  const statePath = join(dir, "input-state.json");
  const logPath = join(dir, `steps-${process.pid}.jsonl`);
  const saved = existsSync(statePath) ? JSON.parse(readFileSync(statePath, "utf8")) : null;
  const it = inputPipeline().iterator(saved ? { state: saved.state } : {});
  let step = saved ? saved.step : 0;
  if (saved) console.log(`  worker ${process.pid}: restored the input at step ${step}`);
  const lines = [];
  for await (const batch of it) {
    step++;
    lines.push(JSON.stringify({ step, ids: batch.map((e) => e.id) }));
    writeFileSync(logPath, lines.join("\n") + "\n");
    if (step % SAVE_EVERY === 0) {
      const state = await it.save();
      writeFileSync(`${statePath}.tmp`, JSON.stringify({ step, state }));
      renameSync(`${statePath}.tmp`, statePath);
    }
    if (step === crashAtStep) {
      console.log(`  worker ${process.pid}: preempted at step ${step} (last save at step ${step - (step % SAVE_EVERY)})`);
      process.exit(137);
    }
  }
  console.log(`  worker ${process.pid}: input exhausted after step ${step}`);
}

function readSteps(dir, pid) {
  return readFileSync(join(dir, `steps-${pid}.jsonl`), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
}

async function main() {
  const expected = [];
  for await (const batch of inputPipeline()) expected.push(batch.map((e) => e.id));
  console.log(`pipeline: ${inputPipeline()}`);
  console.log(`an uninterrupted run yields ${expected.length} batches`);

  const dir = mkdtempSync(join(tmpdir(), "checkpipe-demo-"));
  const self = fileURLToPath(import.meta.url);
  const crashAt = 47;
  try {
    const first = spawnSync(process.execPath, [self, "--worker", dir, String(crashAt)], { stdio: ["ignore", "inherit", "inherit"] });
    const second = spawnSync(process.execPath, [self, "--worker", dir, "0"], { stdio: ["ignore", "inherit", "inherit"] });
    if (second.status !== 0) throw new Error(`the resumed worker failed with status ${second.status}`);

    const seen = new Map();
    let reread = 0;
    for (const run of [first, second]) {
      for (const { step, ids } of readSteps(dir, run.pid)) {
        if (seen.has(step)) {
          reread++;
          if (JSON.stringify(seen.get(step)) !== JSON.stringify(ids)) throw new Error(`step ${step} read different batches`);
        }
        seen.set(step, ids);
      }
    }
    const combined = [...seen.keys()].sort((a, b) => a - b).map((step) => seen.get(step));
    const same = JSON.stringify(combined) === JSON.stringify(expected);
    console.log(
      `first worker exit status ${first.status}; resumed worker read ${readSteps(dir, second.pid).length} batches (${reread} read again: those after the last save)`,
    );
    console.log(same ? "OK: the resumed job read exactly the batches of an uninterrupted run" : "MISMATCH");
    if (!same) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--worker") await worker(process.argv[3], Number(process.argv[4]));
else await main();
