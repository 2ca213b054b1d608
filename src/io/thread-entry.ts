/**
 * Finding the entry module of one of the library's worker threads, next to the module that
 * starts it: the compiled `.js` (the built package), or, when the library runs from its
 * TypeScript sources (tests, `node --import tsx`), the `.ts` file, loaded through tsx (a
 * development dependency), which register-tsx.mjs (in this folder) registers in the thread.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Where a thread's entry module is, and the `execArgv` that loads it. */
export interface ThreadEntry {
  readonly url: URL;
  /**
   * The thread's Node options. None of this process's are passed on: the threads need none,
   * and some (`--input-type`) would break the loading of a file.
   */
  readonly execArgv: string[];
}

/**
 * The entry module `name` (without extension) next to `base` (an `import.meta.url`).
 *
 * @throws when neither the compiled nor the source file is there.
 */
export function threadEntry(base: string, name: string): ThreadEntry {
  const compiled = new URL(`./${name}.js`, base);
  if (existsSync(fileURLToPath(compiled))) return { url: compiled, execArgv: [] };
  const source = new URL(`./${name}.ts`, base);
  const register = new URL("./register-tsx.mjs", import.meta.url);
  if (existsSync(fileURLToPath(source)) && existsSync(fileURLToPath(register))) return { url: source, execArgv: ["--import", register.href] };
  throw new Error(`no thread module ${name} next to ${fileURLToPath(base)}`);
}
