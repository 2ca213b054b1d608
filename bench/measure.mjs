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
 * Measures the sides of one case (an object of name → async function running one pass):
 * grows each side's pass count until one timed run lasts `minMs` (aiming 30 % above it; a side
 * whose warm-up pass, given in `warmMs`, already took that long runs one pass without a
 * separate calibration), then runs `runs` rounds, each timing every side once in rotating
 * order so that drift, GC debt and thermal changes hit all sides alike. `check(name, result)`
 * is called on every run's result. Returns per side: passes, the runs in ms, the median run,
 * elements/s = elements × passes ÷ median time, and the last result.
 */
export async function measure(sides, { elements, runs, minMs, warmMs = {}, check = () => {} }) {
  const names = Object.keys(sides);
  const state = {};
  for (const name of names) {
    let passes = 1;
    const warm = warmMs[name];
    if (!(warm >= minMs * 1.3)) {
      if (warm > 0) passes = Math.max(1, Math.ceil((minMs * 1.3) / warm));
      let calib = await timed(sides[name], passes);
      while (calib.ms < minMs) {
        passes = Math.ceil((passes * minMs * 1.3) / Math.max(calib.ms, 0.01));
        calib = await timed(sides[name], passes);
      }
      check(name, calib.result);
    }
    state[name] = { passes, runs: [], result: undefined };
  }
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length];
      const s = state[name];
      const run = await timed(sides[name], s.passes);
      check(name, run.result);
      s.runs.push(run.ms);
      s.result = run.result;
    }
  }
  const out = {};
  for (const name of names) {
    const s = state[name];
    const ms = median(s.runs);
    out[name] = {
      passes: s.passes,
      elementsPerPass: elements,
      runsMs: s.runs.map((x) => round(x, 2)),
      medianMs: round(ms, 2),
      elemPerSec: (elements * s.passes) / (ms / 1000),
      result: s.result,
    };
  }
  return out;
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
  const line = (cells) => cells.map((c, i) => (right[i] ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join("  ").trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
}
