// The tfjs-data side of peers.bench.mjs: the pipelines of bench/pipelines.mjs written with
// @tensorflow/tfjs-data on @tensorflow/tfjs-core with the CPU backend, as bench/package.json
// pins them (installed into bench/node_modules by ensure-deps.mjs; not needed by `npm test`).
//
// tfjs-data has no range source: a generator dataset yields 0..n-1, which is how its own docs
// make one. Its `batch` turns every batch into tensors (a number batch into a 1-D float32
// tensor, an object batch into an object of 1-D tensors, strings into string tensors), so the
// consumers read the values back with dataSync() and dispose the tensors, as a training loop
// must. Prod mode is on (tf.enableProdMode(): no debug checks). Ids up to 1e6 are exact in
// float32; JSONL scores are compared as float32 on every side.

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as tfd from "@tensorflow/tfjs-data";
import {
  N1,
  N3,
  SEED,
  SHUFFLE_BUFFER,
  P4_BATCH,
  double,
  keep,
  newTally,
  toRecord,
  collectJsonRecord,
  newJsonCollector,
  newNumberCollector,
  newRecordCollector,
} from "./pipelines.mjs";

tf.enableProdMode();
await tf.setBackend("cpu");
await tf.ready();

export const versions = {
  "tfjs-core": tf.version_core,
  "tfjs-data": tfd.version_data,
  backend: tf.getBackend(),
};

/** A tfjs-data dataset of 0..n-1. */
const range = (n) =>
  tfd.generator(function* () {
    for (let i = 0; i < n; i++) yield i;
  });

/** Pulls every element of a tfjs-data dataset through `consume`. */
async function drain(ds, consume) {
  const it = await ds.iterator();
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    consume(r.value);
  }
}

// ---- P1 ------------------------------------------------------------------------------------

export const p1Dataset = range(N1).map(double);
export async function p1Tfjs() {
  let sum = 0;
  await drain(p1Dataset, (x) => (sum += x));
  return sum;
}
export async function p1TfjsCollect() {
  const out = [];
  await drain(p1Dataset, (x) => out.push(x));
  return out;
}

// ---- P2 and P5: batches of {id, v} arrive as { id: Tensor1D, v: Tensor1D } ----------------

/** The same checksum as tallyRecordBatch, over column tensors. */
function tallyRecordColumns(t, b) {
  const ids = b.id.dataSync();
  const vs = b.v.dataSync();
  const n = ids.length;
  t.batches++;
  t.elements += n;
  t.checksum = (Math.imul(t.checksum ^ n, 0x01000193) + ids[0] * 3 + ids[n - 1] + vs[n - 1]) | 0;
  tf.dispose(b);
}
function collectRecordColumns(c, b) {
  const ids = b.id.dataSync();
  const vs = b.v.dataSync();
  c.sizes.push(ids.length);
  for (let i = 0; i < ids.length; i++) {
    c.ids.push(ids[i]);
    c.vs.push(vs[i]);
  }
  tf.dispose(b);
}

export const p2Dataset = range(N1).map(toRecord).filter(keep).batch(32);
export const p5Dataset = range(N1).map(toRecord).filter(keep).prefetch(100).batch(32);
const recordSides = (ds) => [
  async () => {
    const t = newTally();
    await drain(ds, (b) => tallyRecordColumns(t, b));
    return t;
  },
  async () => {
    const c = newRecordCollector();
    await drain(ds, (b) => collectRecordColumns(c, b));
    return c;
  },
];
export const [p2Tfjs, p2TfjsCollect] = recordSides(p2Dataset);
export const [p5Tfjs, p5TfjsCollect] = recordSides(p5Dataset);

// ---- P3: shuffle with tfjs-data's own seeded buffer shuffle ---------------------------------

export const p3Dataset = range(N3).shuffle(SHUFFLE_BUFFER, String(SEED)).batch(64);
export async function p3Tfjs() {
  const t = newTally();
  await drain(p3Dataset, (b) => {
    const d = b.dataSync();
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i];
    t.batches++;
    t.elements += d.length;
    t.checksum += s;
    b.dispose();
  });
  return t;
}
export async function p3TfjsCollect() {
  const c = newNumberCollector();
  await drain(p3Dataset, (b) => {
    const d = b.dataSync();
    c.sizes.push(d.length);
    for (let i = 0; i < d.length; i++) c.values.push(d[i]);
    b.dispose();
  });
  return c;
}

// ---- P4: TextLineDataset over a FileDataSource, JSON.parse, batch(128) ----------------------
// A FileDataSource made from a file:// path replaces the path by the file's bytes on its first
// iterator() (and serves them from memory after that), so every pass makes a new one. Its line
// splitter yields no empty line after the file's last newline.

export const p4Dataset = (path) => new tfd.TextLineDataset(new tfd.FileDataSource(`file://${path}`)).map(JSON.parse).batch(P4_BATCH);
export async function p4Tfjs(path) {
  const t = newTally();
  await drain(p4Dataset(path), (b) => {
    const ids = b.id.dataSync();
    const n = ids.length;
    t.batches++;
    t.elements += n;
    t.checksum = (Math.imul(t.checksum ^ n, 0x01000193) + ids[0] + ids[n - 1]) | 0;
    tf.dispose(b);
  });
  return t;
}
export async function p4TfjsCollect(path) {
  const c = newJsonCollector();
  await drain(p4Dataset(path), (b) => {
    const ids = b.id.dataSync();
    const names = b.name.arraySync();
    const scores = b.score.dataSync();
    const tags = b.tag.arraySync();
    const notes = b.note.arraySync();
    c.sizes.push(ids.length);
    for (let i = 0; i < ids.length; i++) collectJsonRecord(c, ids[i], names[i], scores[i], tags[i], notes[i]);
    tf.dispose(b);
  });
  return c;
}

/** Tensors still allocated (a leak check: should stay 0 between passes). */
export const liveTensors = () => tf.memory().numTensors;
