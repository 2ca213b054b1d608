/**
 * `npm run torture`: kills trainers with SIGKILL at seeded random instants, hundreds of times,
 * and checks that every way of training ends with the model an uninterrupted run ends with.
 *
 *   npm run torture                                   (216 kills: 3 modes × 4 directories × 18, then trained to step 288)
 *   npm run torture -- --kills 30 --chains 2 --seed 7 --modes fit,estimator-hook --steps 96
 *
 * Exits with 1 when any mode fails.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { describeReport, passed, torture } from "./harness.js";
import { BATCHES_PER_EPOCH, MODES, type Mode } from "./trainer.js";

const { values } = parseArgs({
  options: {
    kills: { type: "string", default: "18" },
    chains: { type: "string", default: "4" },
    steps: { type: "string", default: String(12 * BATCHES_PER_EPOCH) },
    seed: { type: "string", default: "20261203" },
    modes: { type: "string", default: MODES.join(",") },
    parallel: { type: "string", default: String(availableParallelism()) },
  },
});

const integer = (name: keyof typeof values, least: number): number => {
  const value = Number(values[name]);
  if (!Number.isSafeInteger(value) || value < least) throw new Error(`--${name} needs an integer ≥ ${least}; got ${values[name]}`);
  return value;
};
const modes = String(values.modes).split(",") as Mode[];
for (const mode of modes) if (!MODES.includes(mode)) throw new Error(`--modes: unknown mode ${mode}; the modes are ${MODES.join(", ")}`);
const steps = integer("steps", BATCHES_PER_EPOCH);
if (steps % BATCHES_PER_EPOCH !== 0) throw new Error(`--steps needs a whole number of epochs (a multiple of ${BATCHES_PER_EPOCH}); got ${steps}`);

const options = {
  modes,
  steps,
  chainsPerMode: integer("chains", 1),
  killsPerChain: integer("kills", 0),
  seed: integer("seed", 0),
  parallel: integer("parallel", 1),
};
process.stdout.write(
  `checkpipe torture: ${modes.join(", ")}; ${options.chainsPerMode} directories per mode, each killed ${options.killsPerChain} times with SIGKILL, ` +
    `then trained to step ${steps}; seed ${options.seed}, ${options.parallel} trainers at a time\n`,
);
const started = performance.now();
const reports = await torture({ ...options, progress: (line) => process.stderr.write(`${line}\n`) });
process.stdout.write(`\n${reports.map(describeReport).join("\n")}\n`);
const kills = reports.reduce((n, r) => n + r.kills, 0);
const ok = reports.every(passed);
process.stdout.write(
  `\n${kills} kills in ${((performance.now() - started) / 1000).toFixed(1)} s: ${ok ? "every model equals its uninterrupted run's" : "FAILED"}\n`,
);
process.exitCode = ok ? 0 : 1;
