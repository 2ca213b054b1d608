/**
 * `Dataset.textLines`, `Dataset.jsonl` and `Dataset.csv`: values (CRLF, a last line without
 * newline, empty files, unicode, RFC 4180 quoting), gzip, several files, exact resume with
 * line numbers kept, errors naming file and line, and ignoreErrors skipping exactly one record.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dataset, InvalidArgumentError, NotFoundError, type IteratorState, type JsonValue } from "../src/index.js";
import { describeCheckpointing, drain, takeN } from "./harness.js";

const DIR = mkdtempSync(join(tmpdir(), "checkpipe-text-"));
const path = (name: string): string => join(DIR, name);
const write = (name: string, text: string, gzip = false): string => {
  writeFileSync(path(name), gzip ? gzipSync(Buffer.from(text)) : text);
  return path(name);
};

const LINES_A = ["first", "", "ünïcödé ✓ 𝄞", "  spaced  ", "last without newline"];
const TEXT_A = "first\r\n\nünïcödé ✓ 𝄞\r\n  spaced  \nlast without newline";
const LINES_B = Array.from({ length: 40 }, (_, i) => `line ${i} ${"x".repeat(i)}`);
const TEXT_B = LINES_B.map((l) => `${l}\n`).join("");
const JSON_VALUES: unknown[] = [{ a: 1, b: [true, null] }, "ß", 3.5, [], { nested: { deep: "✓" } }];
const JSONL = `${JSON.stringify(JSON_VALUES[0])}\r\n\n   \n${JSON_VALUES.slice(1)
  .map((v) => JSON.stringify(v))
  .join("\n")}`;
const BAD_JSONL = '{"ok":1}\n{"ok":2}\n{"ok":\n{"ok":4}\n';
const CSV = 'id,name,score\r\n1,"Smith, J.",3.5\n2,"say ""hi""",\n\n3,"two\nlines",7\r\n4,plain,8';
const CSV_ROWS = [
  { id: "1", name: "Smith, J.", score: "3.5" },
  { id: "2", name: 'say "hi"', score: "" },
  { id: "3", name: "two\nlines", score: "7" },
  { id: "4", name: "plain", score: "8" },
];
const BAD_CSV = "a,b,c\n1,2,3\n4,5\n6,7,8\n";

let files: Record<string, string> = {};

beforeAll(() => {
  files = {
    a: write("a.txt", TEXT_A),
    b: write("b.txt", TEXT_B),
    empty: write("empty.txt", ""),
    aGz: write("a.txt.gz", TEXT_A, true),
    bGz: write("b.txt.gz", TEXT_B, true),
    jsonl: write("v.jsonl", JSONL),
    jsonlGz: write("v.jsonl.gz", JSONL, true),
    badJsonl: write("bad.jsonl", BAD_JSONL),
    csv: write("t.csv", CSV),
    csvGz: write("t.csv.gz", CSV, true),
    noHeader: write("n.csv", "1,x\n2,y\n"),
    badCsv: write("bad.csv", BAD_CSV),
    semi: write("s.csv", "a;b\n1;2\n"),
    typed: write("typed.csv", "n,i,b,s\n1.5,2,true,x\n,,,\n-3e2,-7,0,y\n"),
    required: write("required.csv", "n,i\n1,2\n,3\n"),
  };
  mkdirSync(path("dir"));
});

afterAll(() => {
  rmSync(DIR, { recursive: true, force: true });
});

describe("Dataset.textLines", () => {
  it("yields UTF-8 lines without \\n or \\r\\n, a last line without newline included", async () => {
    expect(await Dataset.textLines(files.a!).toArray()).toEqual(LINES_A);
  });
  it("yields nothing for an empty file, and reads several files (and gzip) in order", async () => {
    expect(await Dataset.textLines(files.empty!).toArray()).toEqual([]);
    expect(await Dataset.textLines([files.a!, files.empty!, files.b!]).toArray()).toEqual([...LINES_A, ...LINES_B]);
    expect(await Dataset.textLines([files.aGz!, files.bGz!], { compression: "gzip" }).toArray()).toEqual([...LINES_A, ...LINES_B]);
    expect(await Dataset.textLines(Dataset.fromArray([files.b!, files.a!])).toArray()).toEqual([...LINES_B, ...LINES_A]);
  });
  it("describes itself as TextLines and saves the line number of the next line", async () => {
    expect(Dataset.textLines(files.a!).toString()).toBe("TextLines");
    const it = Dataset.textLines(files.a!).iterator();
    await takeN(it, 3);
    expect((await it.save()).root).toEqual({
      kind: "TextLines",
      version: 2,
      fileIndex: 0,
      offset: Buffer.byteLength("first\r\n\nünïcödé ✓ 𝄞\r\n"),
      line: 4,
      note: null,
    });
    await it.close();
  });
  it("reports a missing file as NotFoundError naming the path", async () => {
    const missing = path("missing.txt");
    const error = await Dataset.textLines(missing)
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toContain(`no file at ${JSON.stringify(missing)}`);
    await expect(Dataset.textLines(path("dir")).toArray()).rejects.toThrow(InvalidArgumentError);
  });
  it("validates its arguments: expected, got, fix", () => {
    expect(() => Dataset.textLines(["a", 3 as never])).toThrow("Dataset.textLines(files)[1] needs a file path (a non-empty string); got 3.");
    expect(() => Dataset.jsonl("a", { compression: "bz2" as never })).toThrow(
      `Dataset.jsonl(files, { compression }) needs "none", "gzip" or "zlib"; got "bz2".`,
    );
    expect(() => Dataset.csv(42 as never)).toThrow(InvalidArgumentError);
  });
});

describe("Dataset.jsonl", () => {
  it("parses one JSON value per line and skips blank lines", async () => {
    expect(await Dataset.jsonl(files.jsonl!).toArray()).toEqual(JSON_VALUES);
    expect(await Dataset.jsonl(files.jsonlGz!, { compression: "gzip" }).toArray()).toEqual(JSON_VALUES);
    expect(await Dataset.jsonl<{ ok: number }>([files.jsonl!, files.jsonl!]).toArray()).toEqual([...JSON_VALUES, ...JSON_VALUES]);
  });
  it("skips a UTF-8 byte order mark at the start of a file (JSONL and CSV)", async () => {
    expect(await Dataset.jsonl(write("bom.jsonl", "\uFEFF1\n2")).toArray()).toEqual([1, 2]);
    expect(await Dataset.csv(write("bom.csv", "\uFEFFa,b\n1,2"), { header: true }).toArray()).toEqual([{ a: "1", b: "2" }]);
  });
  it("reports a malformed line as InvalidArgumentError naming the file and the 1-based line", async () => {
    const error = await Dataset.jsonl(files.badJsonl!)
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^JSONL file ${escape(JSON.stringify(files.badJsonl))}, line 3: expected one JSON value; got "\\{\\\\"ok\\\\":" \\(.*\\)\\. Fix or remove the line, or skip bad lines with \\.ignoreErrors\\(\\)\\.$`,
      ),
    );
  });
  it("names the right line after a restore", async () => {
    const it = Dataset.jsonl(files.badJsonl!).iterator();
    await takeN(it, 1);
    const state = await it.save();
    await it.close();
    const resumed = Dataset.jsonl(files.badJsonl!).iterator({ state: JSON.parse(JSON.stringify(state)) as IteratorState });
    expect(await resumed.next()).toEqual({ done: false, value: { ok: 2 } });
    await expect(resumed.next()).rejects.toThrow(/, line 3: expected one JSON value/);
    expect(await resumed.next()).toEqual({ done: false, value: { ok: 4 } });
    await resumed.close();
  });
  it("restores a state saved without a line number (line unknown), naming the byte offset instead", async () => {
    const root = { kind: "JSONL", version: 1, fileIndex: 0, offset: Buffer.byteLength('{"ok":1}\n{"ok":2}\n') };
    const state: IteratorState = { format: "checkpipe.iterator", version: 1, pipeline: "JSONL", ended: false, root };
    const it = Dataset.jsonl(files.badJsonl!).iterator({ state });
    await expect(it.next()).rejects.toThrow(`line ? (byte ${root.offset}): expected one JSON value`);
    await it.close();
  });
  it("reports a missing file as NotFoundError naming the path", async () => {
    await expect(Dataset.jsonl(path("missing.jsonl")).toArray()).rejects.toThrow(NotFoundError);
    await expect(Dataset.csv(path("missing.csv")).toArray()).rejects.toThrow(`no file at ${JSON.stringify(path("missing.csv"))}`);
  });
  it("skips exactly the bad line under ignoreErrors, and a save/restore around it stays exact", async () => {
    const build = () => Dataset.jsonl(files.badJsonl!).ignoreErrors();
    expect(await build().toArray()).toEqual([{ ok: 1 }, { ok: 2 }, { ok: 4 }]);
    const it = build().iterator();
    await takeN(it, 2);
    const state = await it.save();
    expect(state.root).toMatchObject({ input: { kind: "JSONL", line: 3 } });
    expect(await drain(build().iterator({ state }))).toEqual([{ ok: 4 }]);
    await it.close();
  });
});

describe("Dataset.csv", () => {
  it("reads RFC 4180: quoted delimiters, escaped quotes, newlines in quotes, \\r\\n, empty lines, header", async () => {
    expect(await Dataset.csv(files.csv!, { header: true }).toArray()).toEqual(CSV_ROWS);
    expect(await Dataset.csv(files.csvGz!, { header: true, compression: "gzip" }).toArray()).toEqual(CSV_ROWS);
  });
  it("yields arrays without names, and records with columnNames (a header then skipped)", async () => {
    expect(await Dataset.csv(files.noHeader!).toArray()).toEqual([
      ["1", "x"],
      ["2", "y"],
    ]);
    expect(await Dataset.csv(files.noHeader!, { columnNames: ["k", "v"] }).toArray()).toEqual([
      { k: "1", v: "x" },
      { k: "2", v: "y" },
    ]);
    expect(await Dataset.csv(files.csv!, { header: true, columnNames: ["A", "B", "C"], selectCols: ["C", "A"] }).toArray()).toEqual(
      CSV_ROWS.map((r) => ({ C: r.score, A: r.id })),
    );
    expect(await Dataset.csv(files.semi!, { delimiter: ";" }).toArray()).toEqual([
      ["a", "b"],
      ["1", "2"],
    ]);
  });
  it("selects columns by name or index, in the order given", async () => {
    expect(await Dataset.csv(files.csv!, { header: true, selectCols: ["score", "id"] }).toArray()).toEqual(CSV_ROWS.map((r) => ({ score: r.score, id: r.id })));
    expect(await Dataset.csv(files.noHeader!, { selectCols: [1] }).toArray()).toEqual([["x"], ["y"]]);
  });
  it("converts typed columns and fills empty fields with defaults", async () => {
    const rows = await Dataset.csv(files.typed!, {
      header: true,
      columns: {
        n: { type: "number", default: 0 },
        i: { type: "int", default: -1 },
        b: { type: "boolean", default: false },
        s: { type: "string", default: "?" },
      },
    }).toArray();
    expect(rows).toEqual([
      { n: 1.5, i: 2, b: true, s: "x" },
      { n: 0, i: -1, b: false, s: "?" },
      { n: -300, i: -7, b: false, s: "y" },
    ]);
    expect(await Dataset.csv(files.noHeader!, { columns: { "0": { type: "int" } } }).toArray()).toEqual([
      [1, "x"],
      [2, "y"],
    ]);
  });
  it("reports an empty required field naming file, line and column", async () => {
    const error = await Dataset.csv(files.required!, { header: true, columns: { n: { type: "number" } } })
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe(
      `CSV file ${JSON.stringify(files.required)}, line 3: column "n" needs a number; got an empty field. Give the column a default (columns: { "n": { type: "number", default: … } }) or fill the field.`,
    );
  });
  it("reports a row with the wrong number of fields naming file, line and counts; ignoreErrors skips exactly it", async () => {
    const error = await Dataset.csv(files.badCsv!, { header: true })
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe(
      `CSV file ${JSON.stringify(files.badCsv)}, line 3: expected 3 fields; got 2. Quote fields that hold the delimiter, fix the row, or skip bad rows with .ignoreErrors().`,
    );
    const build = () => Dataset.csv(files.badCsv!, { header: true }).ignoreErrors();
    expect(await build().toArray()).toEqual([
      { a: "1", b: "2", c: "3" },
      { a: "6", b: "7", c: "8" },
    ]);
    const it = build().iterator();
    await takeN(it, 1);
    const state = await it.save();
    expect(await drain(build().iterator({ state }))).toEqual([{ a: "6", b: "7", c: "8" }]);
    await it.close();
  });
  it("without names, holds every row to the width of the file's first row", async () => {
    const file = write("ragged.csv", "1,2\n3\n4,5\n");
    const errors: Error[] = [];
    expect(
      await Dataset.csv(file)
        .ignoreErrors({ onError: (e) => errors.push(e as Error) })
        .toArray(),
    ).toEqual([
      ["1", "2"],
      ["4", "5"],
    ]);
    expect(errors.map((e) => e.message)).toEqual([
      `CSV file ${JSON.stringify(file)}, line 2: expected 2 fields; got 1. Quote fields that hold the delimiter, fix the row, or skip bad rows with .ignoreErrors().`,
    ]);
  });
  it("reports a field not of its column's type, and a file ending inside quotes", async () => {
    const typed = write("not-int.csv", "i\n1\n2.5\n");
    await expect(Dataset.csv(typed, { header: true, columns: { i: { type: "int" } } }).toArray()).rejects.toThrow(
      `CSV file ${JSON.stringify(typed)}, line 3: column "i" needs an int; got "2.5". Fix the field or the column's type.`,
    );
    const open = write("open-quote.csv", 'a,b\n1,"never\nclosed\n');
    const errors: Error[] = [];
    expect(
      await Dataset.csv(open, { header: true })
        .ignoreErrors({ onError: (e) => errors.push(e as Error) })
        .toArray(),
    ).toEqual([]);
    expect(errors[0]?.message).toBe(
      `CSV file ${JSON.stringify(open)}, line 2: the file ends inside a quoted field. Close the quote, or double quotes inside a quoted field ("").`,
    );
  });
  it("reports a selected column the header lacks, naming the columns", async () => {
    await expect(Dataset.csv(files.csv!, { header: true, selectCols: ["nope"] }).toArray()).rejects.toThrow(
      `CSV file ${JSON.stringify(files.csv)}: selectCols names column "nope", and the file's columns are ["id","name","score"]. Select columns that exist.`,
    );
  });
  it("validates its options: expected, got, fix", () => {
    expect(() => Dataset.csv("a.csv", { delimiter: ";;" })).toThrow("Dataset.csv(files, { delimiter }) needs one character");
    expect(() => Dataset.csv("a.csv", { selectCols: ["x"] })).toThrow("Pass header: true or columnNames, or select by 0-based index.");
    expect(() => Dataset.csv("a.csv", { header: true, columns: { x: { type: "float" as never } } })).toThrow(
      `needs "string", "number", "int" or "boolean"; got "float"`,
    );
    expect(() => Dataset.csv("a.csv", { header: true, columns: { x: { type: "int", default: "a" } } })).toThrow('needs an int; got "a"');
  });
});

describe("text readers checkpointing", () => {
  const exactly = (expected: () => readonly unknown[]) => (out: unknown[]) => expect(out).toEqual(expected());
  describeCheckpointing("textLines, several files with an empty one", () => Dataset.textLines([files.a!, files.empty!, files.b!]), {
    expectOutput: exactly(() => [...LINES_A, ...LINES_B]),
  });
  describeCheckpointing("textLines gzip", () => Dataset.textLines([files.aGz!, files.bGz!], { compression: "gzip" }), {
    expectOutput: exactly(() => [...LINES_A, ...LINES_B]),
  });
  describeCheckpointing("textLines interleaved", () => Dataset.fromArray([files.a!, files.b!]).interleave((f) => Dataset.textLines(f), { cycleLength: 2 }), {
    expectOutput: (out) => expect([...out].sort()).toEqual([...LINES_A, ...LINES_B].sort()),
  });
  describeCheckpointing("jsonl, several files", () => Dataset.jsonl([files.jsonl!, files.jsonl!]), {
    expectOutput: exactly(() => [...JSON_VALUES, ...JSON_VALUES]),
  });
  describeCheckpointing("jsonl gzip, batched", () => Dataset.jsonl(files.jsonlGz!, { compression: "gzip" }).batch(2), {
    expectOutput: (out) => expect(out.flat()).toEqual(JSON_VALUES),
  });
  describeCheckpointing("jsonl with a bad line skipped by ignoreErrors", () => Dataset.jsonl([files.badJsonl!, files.jsonl!]).ignoreErrors(), {
    expectOutput: exactly(() => [{ ok: 1 }, { ok: 2 }, { ok: 4 }, ...JSON_VALUES]),
  });
  describeCheckpointing("csv with header, several files", () => Dataset.csv([files.csv!, files.csv!], { header: true }), {
    expectOutput: exactly(() => [...CSV_ROWS, ...CSV_ROWS]),
  });
  describeCheckpointing("csv gzip", () => Dataset.csv(files.csvGz!, { header: true, compression: "gzip" }), { expectOutput: exactly(() => CSV_ROWS) });
  describeCheckpointing(
    "csv interleaved",
    () => Dataset.fromArray([files.csv!, files.typed!]).interleave((f) => Dataset.csv(f, { header: true }), { cycleLength: 2 }),
    {
      expectOutput: (out) => expect(out).toHaveLength(CSV_ROWS.length + 3),
    },
  );
  describeCheckpointing("csv with a bad row skipped by ignoreErrors", () => Dataset.csv(files.badCsv!, { header: true }).ignoreErrors(), {
    expectOutput: exactly(() => [
      { a: "1", b: "2", c: "3" },
      { a: "6", b: "7", c: "8" },
    ]),
  });
});

describe("text readers properties", () => {
  const line = fc.string({ unit: "grapheme", maxLength: 30 }).filter((s) => !s.includes("\n") && !s.includes("\r"));
  it("textLines reads back exactly the lines written, with \\n or \\r\\n, with or without a final newline", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 20 }), fc.boolean(), fc.boolean(), async (lines, crlf, final) => {
        const eol = crlf ? "\r\n" : "\n";
        const text = lines.join(eol) + (final && lines.length > 0 ? eol : "");
        const file = write(`prop-${run++}.txt`, text);
        // An empty last line without a newline leaves no trace in the file.
        const expected = !final && lines.at(-1) === "" ? lines.slice(0, -1) : lines;
        expect(await Dataset.textLines(file).toArray()).toEqual(expected);
      }),
      { numRuns: 60, seed: 20240602 },
    );
  });
  it("csv reads back exactly the records written, quoted as RFC 4180 asks", async () => {
    let run = 0;
    const field = fc.string({ unit: "grapheme", maxLength: 12 });
    const quote = (s: string): string => (/[",\r\n]/.test(s) || s === "" ? `"${s.replaceAll('"', '""')}"` : s);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }).chain((w) => fc.array(fc.array(field, { minLength: w, maxLength: w }), { maxLength: 12 })),
        fc.boolean(),
        async (rows, crlf) => {
          const text = rows.map((r) => r.map(quote).join(",")).join(crlf ? "\r\n" : "\n");
          const file = write(`prop-${run++}.csv`, text);
          expect(await Dataset.csv(file).toArray()).toEqual(rows);
        },
      ),
      { numRuns: 60, seed: 20240603 },
    );
  });
  it("jsonl reads back exactly the values written", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 15 }), async (values) => {
        const file = write(`prop-${run++}.jsonl`, values.map((v) => JSON.stringify(v)).join("\n"));
        expect(await Dataset.jsonl(file).toArray()).toEqual(JSON.parse(`[${values.map((v) => JSON.stringify(v)).join(",")}]`));
      }),
      { numRuns: 60, seed: 20240604 },
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("a restored CSV note", () => {
  it("must be what the format notes: header names with header: true, the row width without", async () => {
    const file = "test/fixtures/text/rows.csv";
    const withHeader = Dataset.csv(file, { header: true });
    const it = withHeader.iterator();
    await it.next();
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    const root = state.root as unknown as { note: JsonValue };
    const restore = (note: JsonValue, ds: Dataset<unknown> = withHeader) =>
      ds.iterator().restore({ ...state, root: { ...state.root, note } as IteratorState["root"] });
    await expect(restore(5)).rejects.toThrow(/^Cannot restore CSV: root\.note should be an array; got 5\./);
    await expect(restore([1, 2])).rejects.toThrow(/root\.note\[0\] should be a string; got 1/);
    await expect(restore({ constructor: 1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(restore(["a", "b"], Dataset.csv(file))).rejects.toThrow(
      /root\.note should be an integer ≥ 1; got \["a", "b"\]|root\.note should be an integer ≥ 1; got an array/,
    );
    await restore(root.note);
  });
});

describe("CSV column names are plain data", () => {
  const NAMES = ["constructor", "toString", "__proto__", "hasOwnProperty"];
  const text = `${NAMES.join(",")}\n1,2,3,4\n5,6,7,8\n`;

  it("names like constructor, toString and __proto__ are columns like any other, with or without columns", async () => {
    const file = write("proto-names.csv", text);
    const expected = [
      ["1", "2", "3", "4"],
      ["5", "6", "7", "8"],
    ].map((fields) => Object.fromEntries(NAMES.map((n, i) => [n, fields[i]])));
    for (const options of [{}, { columns: {} }, { columns: { toString: { type: "int" as const } } }]) {
      const rows = (await Dataset.csv(file, { header: true, ...options }).toArray()) as Record<string, unknown>[];
      expect(rows.map((row) => Object.keys(row))).toEqual([NAMES, NAMES]);
      expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
      const typed = "columns" in options && Object.hasOwn(options.columns, "toString");
      expect(rows.map((row) => Object.hasOwn(row, "__proto__") && row["__proto__"])).toEqual(["3", "7"]);
      expect(rows.map((row) => row["toString"])).toEqual(typed ? [2, 6] : ["2", "6"]);
      expect(rows.map((row) => ({ ...row }))).toEqual(typed ? expected.map((r) => ({ ...r, toString: Number(r["toString"]) })) : expected);
    }
    expect(({} as Record<string, unknown>)["1"]).toBeUndefined();
  });

  it("works through columnNames, selectCols and a typed column named constructor", async () => {
    const file = write("proto-rows.csv", "1,2,3,4\n");
    const rows = await Dataset.csv(file, {
      columnNames: NAMES,
      selectCols: ["__proto__", "constructor"],
      columns: { constructor: { type: "number" as const }, ["__proto__"]: { type: "int" as const, default: 0 } }, // a computed key: an own property
    }).toArray();
    expect(rows).toHaveLength(1);
    expect(Object.entries(rows[0] as object)).toEqual([
      ["__proto__", 3],
      ["constructor", 1],
    ]);
  });

  it("refuses a type for a column the file lacks even when the name is inherited by objects", async () => {
    const file = write("plain-names.csv", "a,b\n1,2\n");
    await expect(Dataset.csv(file, { header: true, columns: { valueOf: { type: "int" as const } } }).toArray()).rejects.toThrow(
      /columns has a type for "valueOf", which is not a column/,
    );
  });

  it("keeps a __proto__ key through a shuffle buffer's save and restore", async () => {
    const file = write("proto-shuffle.csv", `${NAMES.join(",")}\n${Array.from({ length: 6 }, (_, i) => `${i},${i},${i},${i}`).join("\n")}\n`);
    const ds = Dataset.csv(file, { header: true }).shuffle(4, { seed: 3 });
    const all = await ds.toArray();
    const it = ds.iterator();
    await takeN(it, 2);
    const state = JSON.parse(JSON.stringify(await it.save())) as IteratorState;
    const rest = await drain(ds.iterator({ state }));
    expect(rest).toEqual(all.slice(2));
    expect(rest.every((row) => Object.hasOwn(row, "__proto__") && Object.getPrototypeOf(row) === Object.prototype)).toBe(true);
  });
});

describe("record keys are plain data in zip too", () => {
  it("zips a record with a __proto__ key into elements with that own key", async () => {
    const rows = (await Dataset.zip({ ["__proto__"]: Dataset.range(2), constructor: Dataset.range(2) }).toArray()) as Record<string, unknown>[];
    expect(rows.map((row) => Object.entries(row))).toEqual([
      [
        ["__proto__", 0],
        ["constructor", 0],
      ],
      [
        ["__proto__", 1],
        ["constructor", 1],
      ],
    ]);
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
  });
});
