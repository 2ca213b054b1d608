/**
 * How the command writes: colours only on a terminal (and never under `NO_COLOR`), progress on
 * standard error only when it is a terminal, sizes and times in words.
 *
 * @module
 */
/** A stream the command writes to: standard output or error, or a test's. */
export type OutStream = NodeJS.WritableStream & { readonly isTTY?: boolean | undefined };

/** Colours for one stream: identity functions when it is not a colour terminal. */
export interface Paint {
  readonly good: (text: string) => string;
  readonly bad: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly bold: (text: string) => string;
}

/** The colours for `stream`. */
export function paintFor(stream: OutStream, env: NodeJS.ProcessEnv = process.env): Paint {
  const on = stream.isTTY === true && env["NO_COLOR"] === undefined && env["TERM"] !== "dumb";
  const sgr = (open: number, close: number) => (text: string) => (on ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return { good: sgr(32, 39), bad: sgr(31, 39), dim: sgr(2, 22), bold: sgr(1, 22) };
}

/** A progress reporter on `stream` that writes only to a terminal, and clears its line at the end. */
export function progressOn(stream: OutStream): { update: (done: number, total: number, what: string) => void; end: () => void } {
  if (stream.isTTY !== true) return { update: () => {}, end: () => {} };
  let shown = false;
  return {
    update: (done, total, what) => {
      shown = true;
      stream.write(`\r\u001b[2K[${done + 1}/${total}] reading ${what}`);
    },
    end: () => {
      if (shown) stream.write("\r\u001b[2K");
    },
  };
}

/** Bytes in words: `"812 B"`, `"12.4 kB"`, `"31.8 MB"`. */
export function bytesInWords(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** An ISO time as `"2026-12-03 20:41:07"` (UTC). */
export function timeInWords(iso: string | null): string {
  return iso === null ? "time unknown" : `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}
