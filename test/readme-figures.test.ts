/**
 * The README's figures are measured ones: every number with a unit in its Speed section
 * (ratios, percentages, rates, times, sizes) is one that bench/RESULTS.md reports.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");
const results = readFileSync(new URL("bench/RESULTS.md", root), "utf8");

/** The section under `## title`, up to the next `## `. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`## ${title}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${title}" section`);
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/**
 * Each number followed by a unit, lists and ranges split: "1.54–1.61×" gives "1.54×" and
 * "1.61×", "11.7 / 11.6 µs" gives "11.7µs" and "11.6µs".
 */
function figures(text: string): string[] {
  const found: string[] = [];
  const unit = "×|%|M/s|k/s|ms|µs|B|kB|MB";
  const number = "\\d[\\d.]*";
  for (const match of text.matchAll(new RegExp(`(${number}(?:\\s?[–/]\\s?${number})*)\\s?(${unit})(?![\\w/])`, "g"))) {
    const [, numbers, u] = match as unknown as [string, string, string];
    for (const n of numbers.split(/\s?[–/]\s?/)) found.push(`${n}${u}`);
  }
  return found;
}

/** RESULTS.md's figures, spaces before units removed, so "189 B" and "189B" compare equal. */
const reported = new Set(figures(results.replace(/(\d) (?=[×%MkmµB])/g, "$1")));

describe("README.md Speed section", () => {
  const speed = section(readme, "Speed");
  // Durations of the commands are not benchmark results.
  const measured = speed.slice(0, speed.indexOf("How long it takes here"));

  it("quotes figures", () => {
    expect(figures(measured).length).toBeGreaterThan(10);
  });

  it("quotes only figures that bench/RESULTS.md reports", () => {
    const missing = figures(measured).filter((figure) => !reported.has(figure));
    expect(missing).toEqual([]);
  });
});
