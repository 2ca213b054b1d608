// Measuring helpers shared by peers.bench.mjs and resume.bench.mjs: medians, interleaved timed
// rounds over several sides of one case, and formatting.

import { performance } from "node:perf_hooks";

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Times `passes` passes of `fn`; returns milliseconds and the last result. */
export async function timed(fn, passes) {
  let result;
  const t0 = performance.now();
  for (let p = 0; p < passes; p++) result = await fn();
  return { ms: performance.now() - t0, result };
}

/**
 * Measures the sides of one case (an object of name → async function running one pass).
 * Calibration: each side's pass count is grown until a timed run lasts `minMs` (the first guess
 * comes from the side's warm-up pass time in `warmMs`, when given); unless that run took over
 * 3 × `minMs`, two more runs follow and the count is scaled so that the fastest of the three
 * would last 1.5 × `minMs`. Then `runs` rounds, each timing every side once in rotating order
 * so that drift, GC debt and thermal changes hit all sides alike. If a side's median run still
 * came out under `minMs` (it sped up after calibration), its pass count is doubled and the
 * rounds are run again (at most twice). `check(name, result)` is called on every run's result.
 * Returns per side: passes, the runs in ms, the median and shortest run, elements/s =
 * elements × passes ÷ median time, and the last result.
 */
export async function measure(sides, { elements, runs, minMs, warmMs = {}, check = () => {} }) {
  const names = Object.keys(sides);
  const passes = {};
  for (const name of names) {
    const warm = warmMs[name];
    let n = warm > 0 ? Math.max(1, Math.ceil((minMs * 1.5) / warm)) : 1;
    let calib = await timed(sides[name], n);
    while (calib.ms < minMs) {
      n = Math.ceil((n * minMs * 1.5) / Math.max(calib.ms, 0.01));
      calib = await timed(sides[name], n);
    }
    check(name, calib.result);
    if (calib.ms < 3 * minMs) {
      let fastest = calib.ms;
      for (let k = 0; k < 2; k++) {
        const again = await timed(sides[name], n);
        check(name, again.result);
        fastest = Math.min(fastest, again.ms);
      }
      n = Math.max(n, Math.ceil((n * minMs * 1.5) / fastest));
    }
    passes[name] = n;
  }
  for (let attempt = 0; ; attempt++) {
    const state = Object.fromEntries(names.map((name) => [name, { runs: [], result: undefined }]));
    for (let r = 0; r < runs; r++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(r + k) % names.length];
        const run = await timed(sides[name], passes[name]);
        check(name, run.result);
        state[name].runs.push(run.ms);
        state[name].result = run.result;
      }
    }
    const short = names.filter((name) => median(state[name].runs) < minMs);
    if (short.length > 0 && attempt < 2) {
      for (const name of short) passes[name] *= 2;
      continue;
    }
    const out = {};
    for (const name of names) {
      const s = state[name];
      const ms = median(s.runs);
      out[name] = {
        passes: passes[name],
        elementsPerPass: elements,
        runsMs: s.runs.map((x) => round(x, 2)),
        medianMs: round(ms, 2),
        shortestRunMs: round(Math.min(...s.runs), 2),
        elemPerSec: (elements * passes[name]) / (ms / 1000),
        result: s.result,
      };
    }
    return out;
  }
}

export function fmtRate(x) {
  if (x === null || x === undefined) return "—";
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G/s`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M/s`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k/s`;
  return `${x.toFixed(0)} /s`;
}

/** A plain-text table: `right[i]` right-aligns column i. */
export function table(head, body, right) {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => String(row[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => (right[i] ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
}
