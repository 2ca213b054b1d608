// A plain loop with side effects, checkpointed: reads a JSONL file, adds fields to each record,
// writes JSONL output, and checkpoints every 500 records. Kill it at any instant and run it
// again: the output ends identical to an uninterrupted run's, no record missing or twice.
//
//   npm run build && node examples/jsonl-to-jsonl.mjs [input.jsonl] [output.jsonl] [checkpoint-dir]
//
// Without arguments it generates runs/jsonl-example/input.jsonl (20,000 records) first.
import { existsSync } from "node:fs";
import { mkdir, open, truncate, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CheckpointedLoop, Dataset } from "../dist/index.js";

const base = "runs/jsonl-example";
const input = process.argv[2] ?? join(base, "input.jsonl");
const output = process.argv[3] ?? join(base, "output.jsonl");
const checkpoints = process.argv[4] ?? join(base, "checkpoints");
const saveEvery = Number(process.env.SAVE_EVERY ?? 500);
const progressEvery = Number(process.env.PROGRESS_EVERY ?? 5000);

if (process.argv[2] === undefined && !existsSync(input)) {
  await mkdir(base, { recursive: true });
  const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ id: i, text: `record ${i}`, value: (i * 7919) % 1000 }));
  await writeFile(input, lines.join("\n") + "\n");
  process.stderr.write(`generated ${input} (20,000 records)\n`);
}
await mkdir(checkpoints, { recursive: true });
await mkdir(dirname(output), { recursive: true });

const transform = (record) => ({ ...record, words: record.text.split(" ").length, even: record.value % 2 === 0 });

const loop = await CheckpointedLoop.open(checkpoints, Dataset.jsonl(input), { progress: { bytes: 0 }, saveEvery });
// Whatever was written after the last checkpoint is written again: cut it off.
if (existsSync(output)) await truncate(output, loop.progress.bytes);
else if (loop.progress.bytes > 0) throw new Error(`${output} is missing but ${checkpoints} says ${loop.progress.bytes} bytes of it were written`);
if (loop.restoredFrom !== null) process.stderr.write(`resuming from ${loop.restoredFrom}: ${loop.index} records done\n`);

const out = await open(output, "a");
let bytes = loop.progress.bytes;
for await (const { value, index } of loop) {
  const { bytesWritten } = await out.write(JSON.stringify(transform(value)) + "\n");
  bytes += bytesWritten;
  // The output is durable before the checkpoint records its length.
  if (loop.saveDue) await out.sync();
  await loop.commit({ bytes });
  if ((index + 1) % progressEvery === 0) process.stderr.write(`${index + 1} records\n`);
}
await out.sync();
await out.close();
await loop.close();
process.stderr.write(`done: ${loop.index} records in ${output}\n`);
