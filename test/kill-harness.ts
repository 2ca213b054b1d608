/**
 * What the SIGKILL tests (test/crash.test.ts, test/estimator-kill.test.ts) share: a child process
 * that runs a TypeScript fixture and prints one event a line, which the test waits on, kills
 * with SIGKILL and checks the end of; and the seeded generators of their kill plans.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";

/** The longest wait for a line of a child before the test gives up on it. */
export const LINE_TIMEOUT_MS = 30_000;

const root = fileURLToPath(new URL("..", import.meta.url));

/** How a child ended: its exit code, or the signal that ended it. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * One run of a fixture, `node --import tsx <fixture> <args>` in the repository's root, from
 * spawn to its end. A subclass reads what each line of its output says.
 */
export abstract class LineChild {
  readonly pid: number;
  /** `performance.now()` just before the spawn. */
  readonly spawnedAt = performance.now();
  /** Resolves with how the child ended, once its output is all read. */
  readonly ended: Promise<Exit>;
  private readonly child: ChildProcessByStdio<null, Readable, Readable>;
  private stdout = "";
  private stderr = "";
  /** Lines of output that {@link onLine} did not expect. */
  private readonly unexpected: string[] = [];
  private closed = false;
  private readonly listeners = new Set<() => void>();

  /**
   * @param name - the child in error messages, e.g. `the writer in /tmp/run-0`
   * @param fixture - the absolute path of the TypeScript file to run
   * @param args - its command-line arguments
   */
  constructor(
    private readonly name: string,
    fixture: string,
    args: readonly string[],
  ) {
    this.child = spawn(process.execPath, ["--import", "tsx", fixture, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    if (this.child.pid === undefined) throw new Error(`could not spawn ${fixture}`);
    this.pid = this.child.pid;
    this.child.stdout.setEncoding("utf8").on("data", (text: string) => this.onOutput(text));
    this.child.stderr.setEncoding("utf8").on("data", (text: string) => {
      this.stderr += text;
    });
    this.ended = new Promise((resolve) => {
      this.child.on("close", (code, signal) => {
        this.closed = true;
        this.notify();
        resolve({ code, signal });
      });
    });
  }

  /**
   * Reads one line of output (without its newline); returns false for a line it does not
   * expect. Output arrives asynchronously, so this is called only once the subclass is built.
   */
  protected abstract onLine(line: string): boolean;

  private onOutput(text: string): void {
    this.stdout += text;
    const lines = this.stdout.split("\n");
    this.stdout = lines.pop() ?? "";
    for (const line of lines) if (!this.onLine(line)) this.unexpected.push(line);
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  /** Resolves once `ready()` holds; rejects if the child ends first or is silent too long. */
  until(ready: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error?: Error): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        if (error === undefined) resolve();
        else reject(error);
      };
      const check = (): void => {
        if (ready()) done();
        else if (this.closed) done(new Error(`${this.name} ended before ${what}:\n${this.stderr}`));
      };
      const timer = setTimeout(() => done(new Error(`${this.name} did not reach ${what} in ${LINE_TIMEOUT_MS} ms:\n${this.stderr}`)), LINE_TIMEOUT_MS);
      this.listeners.add(check);
      check();
    });
  }

  /** Kills the child with SIGKILL unless it is gone already. */
  stop(): void {
    if (!this.closed) this.child.kill("SIGKILL");
  }

  /**
   * Waits `delayMs`, kills the child with SIGKILL and waits until it is gone.
   * @throws if it ended by itself before the kill, or printed a line it should not have
   */
  async killAfter(delayMs: number): Promise<void> {
    await sleep(delayMs);
    this.child.kill("SIGKILL");
    const { code, signal } = await this.ended;
    if (signal !== "SIGKILL") throw new Error(`${this.name} ended by itself (code ${code}) before the kill:\n${this.stderr}`);
    this.checkLines();
  }

  /**
   * Waits for a child that is to end by itself.
   * @throws unless it exited with code 0 and printed only lines it should have
   */
  async endsCleanly(): Promise<void> {
    const { code, signal } = await this.ended;
    if (code !== 0) throw new Error(`${this.name} ended with code ${code} (signal ${signal}):\n${this.stderr}`);
    this.checkLines();
  }

  private checkLines(): void {
    if (this.unexpected.length > 0) throw new Error(`${this.name} printed unexpected lines:\n${this.unexpected.join("\n")}`);
  }
}

/**
 * `count` generators split off in order from one seeded with `seed`, one per chain of runs, so
 * that each chain's kill plans do not depend on how the runs of the others interleave.
 */
export function chainGenerators(seed: number, count: number): RandomGenerator[] {
  const rng = xoroshiro128plus(seed);
  return Array.from({ length: count }, () => xoroshiro128plus(uniformInt(rng, 0, 0x7fff_ffff)));
}
