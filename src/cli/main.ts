#!/usr/bin/env node
/**
 * The `checkpipe` command: `checkpipe inspect <dir | prefix> [--json]` and `checkpipe verify
 * <dir | prefix> [--json]`. See docs/cli.md.
 *
 * @module
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command, CommanderError } from "commander";
import { EXIT, inspect, UsageError, verify, type Io } from "./commands.js";

/**
 * Runs the command line `argv` (without the node and script paths) and returns the exit code.
 *
 * @example
 * process.exitCode = await main(["verify", "runs/a"]);
 */
export async function main(argv: readonly string[], io: Io = process): Promise<number> {
  // Damaged files are reported per checkpoint; the library's process warnings would repeat them.
  const quiet = (): void => {};
  process.on("warning", quiet);
  const listeners = process.listeners("warning").filter((l) => l !== quiet);
  for (const l of listeners) process.off("warning", l);
  let code: number = EXIT.OK;
  const program = new Command("checkpipe")
    .description("Inspect and verify checkpipe checkpoints (TensorFlow's layout: state files, .index and .data files).")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError();
  program
    .command("inspect")
    .description("List every state file's checkpoints (prefix, step, time, size, whole or damaged) and show each iterator state as a tree of ops.")
    .argument("<path>", "a checkpoint directory (e.g. runs/a) or one checkpoint's prefix (e.g. runs/a/model.ckpt-200)")
    .option("--json", "print one JSON document instead of text")
    .action(async (path: string, options: { json?: boolean }) => {
      code = await inspect(path, options, io);
    });
  program
    .command("verify")
    .description("Check every file and CRC; exit 0 only when the newest checkpoint of every state file is whole.")
    .argument("<path>", "a checkpoint directory (e.g. runs/a) or one checkpoint's prefix (e.g. runs/a/model.ckpt-200)")
    .option("--json", "print one JSON document instead of text")
    .action(async (path: string, options: { json?: boolean }) => {
      code = await verify(path, options, io);
    });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (error instanceof UsageError) {
      io.stderr.write(`checkpipe: ${error.message}\n`);
      return EXIT.USAGE;
    }
    throw error;
  } finally {
    process.off("warning", quiet);
    for (const l of listeners) process.on("warning", l);
  }
}

// Run when this file is the program (`node dist/cli/main.js`, or npm's bin link to it), not when imported.
const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) process.exitCode = await main(process.argv.slice(2));
