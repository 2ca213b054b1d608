// The command line every bench script shares: --json, and integer options such as --runs.

const argv = process.argv.slice(2);

/** True when the results should be printed as JSON instead of a table. */
export const JSON_OUT = argv.includes("--json");

/** The positive integer after `name` on the command line, or `fallback`. */
export function intArg(name, fallback) {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} needs a positive integer, got ${argv[i + 1]}`);
  return v;
}

/** Progress on stderr (silent with --json). */
export const log = JSON_OUT ? () => {} : (...a) => process.stderr.write(a.join(" ") + "\n");

/**
 * When the environment variable BENCH_JSON_DIR names a directory, writes `result` there as
 * `<name>-<time>.json` (for collecting the results of several `npm run bench` runs).
 */
export async function saveJsonResult(name, result) {
  const dir = process.env.BENCH_JSON_DIR;
  if (!dir) return;
  const { mkdirSync, writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`), JSON.stringify(result, null, 2) + "\n");
}
