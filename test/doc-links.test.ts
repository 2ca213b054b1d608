/**
 * The documentation's links lead somewhere: every relative link in README.md and docs/*.md
 * names a file that exists and, with a `#fragment`, a heading of that file. (The API
 * reference's links are checked by `npm run docs`, which fails on a broken `{@link}`.)
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const pages = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchorsOf(path: string): Set<string> {
  const text = readFileSync(path, "utf8").replace(/```[\s\S]*?```/g, "");
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1] as string)));
}

/** The targets of `[text](target)` links outside code blocks and code spans. */
function linksOf(path: string): string[] {
  const text = readFileSync(path, "utf8")
    .replace(/```[\s\S]*?```/g, "")
    .replace(/`[^`\n]*`/g, "");
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] as string);
}

describe("documentation links", () => {
  it("finds the pages", () => {
    expect(pages.length).toBeGreaterThan(3);
  });

  for (const page of pages) {
    it(`${page}: every relative link leads to a file and heading that exist`, () => {
      const broken: string[] = [];
      for (const target of linksOf(join(root, page))) {
        if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // https:, mailto:
        const [file, fragment] = target.split("#") as [string, string | undefined];
        const path = file === "" ? join(root, page) : join(dirname(join(root, page)), decodeURI(file));
        if (!existsSync(path)) {
          broken.push(`${target} (no ${relative(root, path)})`);
          continue;
        }
        if (fragment !== undefined && fragment !== "" && path.endsWith(".md") && !anchorsOf(path).has(fragment))
          broken.push(`${target} (no heading #${fragment})`);
      }
      expect(broken).toEqual([]);
    });
  }
});
