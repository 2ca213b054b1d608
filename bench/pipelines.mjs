// The benchmark pipelines of issue 6, in checkpipe and as hand-written plain JavaScript, shared
// by engine.bench.mjs and peers.bench.mjs (which adds the tfjs-data side, tfjs-peer.mjs).
//
// Every side comes twice: a timed form that consumes each batch with a cheap tally (count and
// checksum, the same on every side), and a `collect` form, run once before timing, that returns
// every element in a canonical shape so that the sides can be compared element by element.

import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { Dataset } from "../dist/index.js";

// ---- sizes and shared pieces ---------------------------------------------------------------

export const N1 = 1_000_000; // P1, P2, P5, floors
export const N3 = 200_000; // P3
export const N4 = 1_000_000; // P4: JSONL lines
export const N6 = 100_000; // P6
export const SHUFFLE_BUFFER = 10_000;
export const SEED = 42;
export const P4_BATCH = 128;

export const double = (x) => x * 2;
export const toRecord = (x) => ({ id: x, v: x % 7 });
export const keep = (r) => r.v !== 3;

/** What every batch consumer does, on every side: count and fold a cheap checksum. */
export function newTally() {
  return { batches: 0, elements: 0, checksum: 0 };
}
export function tallyRecordBatch(t, b) {
  const last = b[b.length - 1];
  t.batches++;
  t.elements += b.length;
  t.checksum = (Math.imul(t.checksum ^ b.length, 0x01000193) + b[0].id * 3 + last.id + last.v) | 0;
}
/** For shuffled numbers the order differs between the sides: fold an order-free sum. */
export function tallyNumberBatch(t, b) {
  t.batches++;
  t.elements += b.length;
  let s = 0;
  for (let i = 0; i < b.length; i++) s += b[i];
  t.checksum += s;
}
/** JSONL records: first and last id of each batch. */
export function tallyObjectBatch(t, b) {
  t.batches++;
  t.elements += b.length;
  t.checksum = (Math.imul(t.checksum ^ b.length, 0x01000193) + b[0].id + b[b.length - 1].id) | 0;
}

// ---- floors --------------------------------------------------------------------------------

export function floorSync(n) {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += i;
  return sum;
}

/** A trivial async iterator: one Promise per element, nothing else. */
export function trivialAsync(n) {
  let i = 0;
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      return Promise.resolve({ value: i++, done: i > n });
    },
  };
}
export async function floorForAwait(n) {
  let sum = 0;
  for await (const x of trivialAsync(n)) sum += x;
  return sum;
}

// ---- P1: range → map(2x), element by element ----------------------------------------------

export const p1Dataset = Dataset.range(N1).map(double);
export async function p1Checkpipe() {
  let sum = 0;
  for await (const x of p1Dataset) sum += x;
  return sum;
}
export function p1Plain() {
  let sum = 0;
  for (let i = 0; i < N1; i++) sum += double(i);
  return sum;
}
export async function p1CheckpipeCollect() {
  const out = [];
  for await (const x of p1Dataset) out.push(x);
  return out;
}
export function p1PlainCollect() {
  const out = [];
  for (let i = 0; i < N1; i++) out.push(double(i));
  return out;
}

// ---- P2: range → map to records → filter → batch(32) ---------------------------------------

export const p2Dataset = Dataset.range(N1).map(toRecord).filter(keep).batch(32);
export async function p2Checkpipe() {
  const t = newTally();
  for await (const b of p2Dataset) tallyRecordBatch(t, b);
  return t;
}
/** The plain loop of P2, handing each batch to `consume`. */
function p2Loop(consume) {
  let batch = [];
  for (let i = 0; i < N1; i++) {
    const r = toRecord(i);
    if (!keep(r)) continue;
    batch.push(r);
    if (batch.length === 32) {
      consume(batch);
      batch = [];
    }
  }
  if (batch.length > 0) consume(batch);
}
export function p2Plain() {
  const t = newTally();
  p2Loop((b) => tallyRecordBatch(t, b));
  return t;
}

/** Canonical form of record batches: batch sizes, then every id and v in order. */
export function newRecordCollector() {
  return { sizes: [], ids: [], vs: [] };
}
export function collectRecordBatch(c, b) {
  c.sizes.push(b.length);
  for (const r of b) {
    c.ids.push(r.id);
    c.vs.push(r.v);
  }
}
export async function collectDataset(ds, collector, add) {
  for await (const b of ds) add(collector, b);
  return collector;
}
export const p2CheckpipeCollect = () => collectDataset(p2Dataset, newRecordCollector(), collectRecordBatch);
export function p2PlainCollect() {
  const c = newRecordCollector();
  p2Loop((b) => collectRecordBatch(c, b));
  return c;
}

// ---- P3: range → shuffle(10 000, seed) → batch(64) -----------------------------------------
// The plain side runs the same buffer-shuffle algorithm (fill the buffer, take a uniform slot,
// move the last element into it) with a fast xorshift32; the orders differ between the sides,
// so the sides are compared on batch sizes and on the multiset of elements.

export const p3Dataset = Dataset.range(N3).shuffle(SHUFFLE_BUFFER, { seed: SEED }).batch(64);
export async function p3Checkpipe() {
  const t = newTally();
  for await (const b of p3Dataset) tallyNumberBatch(t, b);
  return t;
}
function p3Loop(consume) {
  let state = SEED | 0 || 1;
  const buffer = [];
  let next = 0;
  let batch = [];
  for (;;) {
    while (next < N3 && buffer.length < SHUFFLE_BUFFER) buffer.push(next++);
    const n = buffer.length;
    if (n === 0) break;
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const i = (state >>> 0) % n;
    const out = buffer[i];
    buffer[i] = buffer[n - 1];
    buffer.pop();
    batch.push(out);
    if (batch.length === 64) {
      consume(batch);
      batch = [];
    }
  }
  if (batch.length > 0) consume(batch);
}
export function p3Plain() {
  const t = newTally();
  p3Loop((b) => tallyNumberBatch(t, b));
  return t;
}
/** Canonical form of shuffled number batches: sizes, and the elements in order (sorted when compared). */
export function newNumberCollector() {
  return { sizes: [], values: [] };
}
export function collectNumberBatch(c, b) {
  c.sizes.push(b.length);
  for (let i = 0; i < b.length; i++) c.values.push(b[i]);
}
export const p3CheckpipeCollect = () => collectDataset(p3Dataset, newNumberCollector(), collectNumberBatch);
export function p3PlainCollect() {
  const c = newNumberCollector();
  p3Loop((b) => collectNumberBatch(c, b));
  return c;
}

// ---- P5: P2 with prefetch(100) before batch -------------------------------------------------
// Prefetching adds no work to a synchronous pipeline, so the plain side is P2's loop.

export const p5Dataset = Dataset.range(N1).map(toRecord).filter(keep).prefetch(100).batch(32);
export async function p5Checkpipe() {
  const t = newTally();
  for await (const b of p5Dataset) tallyRecordBatch(t, b);
  return t;
}
export const p5CheckpipeCollect = () => collectDataset(p5Dataset, newRecordCollector(), collectRecordBatch);

// ---- P6: async map (an await per element), parallel 8, batch(64) ---------------------------
// The plain side keeps a window of 8 pending Promises and awaits the oldest.

export const asyncDouble = async (x) => {
  await null;
  return x * 2;
};
export const p6Dataset = Dataset.range(N6).map(asyncDouble, { parallel: 8 }).batch(64);
export async function p6Checkpipe() {
  const t = newTally();
  for await (const b of p6Dataset) tallyNumberBatch(t, b);
  return t;
}
async function p6Loop(consume) {
  const window = new Array(8); // ring of the pending calls, oldest at head
  let head = 0;
  let size = 0;
  let batch = [];
  for (let i = 0; i < N6 || size > 0;) {
    if (i < N6 && size < 8) {
      window[(head + size) & 7] = asyncDouble(i++);
      size++;
      continue;
    }
    const v = await window[head];
    window[head] = undefined;
    head = (head + 1) & 7;
    size--;
    batch.push(v);
    if (batch.length === 64) {
      consume(batch);
      batch = [];
    }
  }
  if (batch.length > 0) consume(batch);
}
export async function p6Plain() {
  const t = newTally();
  await p6Loop((b) => tallyNumberBatch(t, b));
  return t;
}
export const p6CheckpipeCollect = () => collectDataset(p6Dataset, newNumberCollector(), collectNumberBatch);
export async function p6PlainCollect() {
  const c = newNumberCollector();
  await p6Loop((b) => collectNumberBatch(c, b));
  return c;
}

// ---- P4: a JSONL file of 1e6 lines (~80 bytes) → JSON.parse → batch(128) --------------------

/** Line `i` of the JSONL file: about 80 bytes. */
export function jsonLine(i) {
  const name = `user-${(i * 7919) % 100_000}`;
  const score = ((i * 37) % 1000) / 10;
  const tag = i % 3 === 0 ? "alpha" : "beta-gamma";
  return `{"id":${i},"name":"${name}","score":${score},"tag":"${tag}","note":"padding-to-80"}\n`;
}

/** Writes lines `0..count-1` to `path`. */
export function writeJsonl(path, count) {
  const fd = openSync(path, "w");
  let text = "";
  for (let i = 0; i < count; i++) {
    text += jsonLine(i);
    if (text.length > 1 << 20) {
      writeSync(fd, text);
      text = "";
    }
  }
  writeSync(fd, text);
  closeSync(fd);
}

export const p4Dataset = (path) => Dataset.jsonl(path).batch(P4_BATCH);
export async function p4Checkpipe(path) {
  const t = newTally();
  for await (const b of p4Dataset(path)) tallyObjectBatch(t, b);
  return t;
}
/** Plain JavaScript: read the whole file, split it into lines, JSON.parse each, batch. */
function p4Loop(path, consume) {
  const lines = readFileSync(path, "utf8").split("\n");
  let batch = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === "") continue;
    batch.push(JSON.parse(line));
    if (batch.length === P4_BATCH) {
      consume(batch);
      batch = [];
    }
  }
  if (batch.length > 0) consume(batch);
}
export function p4Plain(path) {
  const t = newTally();
  p4Loop(path, (b) => tallyObjectBatch(t, b));
  return t;
}
/** Canonical form of JSONL batches: sizes, and every record as a tuple (score as float32, as tfjs keeps it). */
export function newJsonCollector() {
  return { sizes: [], records: [] };
}
export function collectJsonRecord(c, id, name, score, tag, note) {
  c.records.push(`${id}|${name}|${Math.fround(score)}|${tag}|${note}`);
}
export function collectJsonBatch(c, b) {
  c.sizes.push(b.length);
  for (const r of b) collectJsonRecord(c, r.id, r.name, r.score, r.tag, r.note);
}
export const p4CheckpipeCollect = (path) => collectDataset(p4Dataset(path), newJsonCollector(), collectJsonBatch);
export function p4PlainCollect(path) {
  const c = newJsonCollector();
  p4Loop(path, (b) => collectJsonBatch(c, b));
  return c;
}

// ---- comparing -----------------------------------------------------------------------------

/** Throws unless arrays `a` and `b` are equal element by element (===). */
export function sameArray(label, what, a, b) {
  if (a.length !== b.length) throw new Error(`${label}: ${what}: ${a.length} vs ${b.length} elements`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) throw new Error(`${label}: ${what}: element ${i} differs: ${a[i]} vs ${b[i]}`);
  }
}

/** Throws unless the tallies agree on `keys` (or, for plain values, are equal). */
export function sameResult(label, a, b, keys, names = "checkpipe and plain JS") {
  for (const k of keys ?? [null]) {
    const x = k === null ? a : a[k];
    const y = k === null ? b : b[k];
    if (x !== y) throw new Error(`${label}: ${names} disagree${k === null ? "" : ` on ${k}`}: ${x} vs ${y}`);
  }
}
