import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dataset } from "../../dataset/dataset.js";
import { DataLossError, InvalidArgumentError, RuntimeError } from "../../errors.js";
import { encodeFrame } from "../../formats/tfrecord-frame.js";
import { FILE_VERSION, decodeEvent, encodeEvent } from "./event-proto.js";
import { readEvents, scalarsOf } from "./read-events.js";
import { SummaryWriter } from "./summary-writer.js";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "checkpipe-summary-"));
});
afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

/** A clock fixed at 1700000000.5 s since the epoch. */
const clock = (): number => 1_700_000_000_500;
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("SummaryWriter", () => {
  it("names the file as TensorFlow does: events.out.tfevents.<10-digit seconds>.<hostname><suffix>", async () => {
    const before = Math.floor(Date.now() / 1000);
    const writer = await SummaryWriter.open(join(dir, "name"));
    await writer.close();
    const after = Math.floor(Date.now() / 1000);
    const name = basename(writer.path);
    const match = new RegExp(`^events\\.out\\.tfevents\\.(\\d{10})\\.${escape(hostname())}$`).exec(name);
    expect(match).not.toBeNull();
    expect(Number(match?.[1])).toBeGreaterThanOrEqual(before);
    expect(Number(match?.[1])).toBeLessThanOrEqual(after);

    const eval_ = await SummaryWriter.open(join(dir, "name"), { clock, filenameSuffix: ".eval" });
    await eval_.close();
    expect(eval_.path).toBe(join(dir, "name", `events.out.tfevents.1700000000.${hostname()}.eval`));
    const early = await SummaryWriter.open(join(dir, "name"), { clock: () => 5_999 });
    await early.close();
    expect(basename(early.path)).toBe(`events.out.tfevents.0000000005.${hostname()}`); // printf("%010lld")
    expect(String(early)).toBe(`SummaryWriter(${JSON.stringify(early.path)})`);
  });

  it("creates a missing logdir, parents included", async () => {
    const logdir = join(dir, "a", "b", "run-1");
    const writer = await SummaryWriter.open(logdir, { clock });
    await writer.close();
    expect(await readdir(logdir)).toEqual([basename(writer.path)]);
  });

  it("writes TFRecord-framed Events, the file version first at whole seconds, that Dataset.tfrecord reads with CRCs verified", async () => {
    const writer = await SummaryWriter.open(join(dir, "framed"), { clock });
    await writer.addScalar("loss", 0.25, 300);
    await writer.close();
    const expected = [
      { wallTime: 1_700_000_000, step: 0, fileVersion: FILE_VERSION },
      { wallTime: 1_700_000_000.5, step: 300, summary: { value: [{ tag: "loss", simpleValue: 0.25 }] } },
    ];
    expect(new Uint8Array(await readFile(writer.path))).toEqual(new Uint8Array(Buffer.concat(expected.map((e) => encodeFrame(encodeEvent(e))))));
    const records = await Dataset.tfrecord(writer.path, { verifyCrc: true }).toArray();
    expect(records.map((r) => decodeEvent(r))).toEqual(expected);
  });

  it("round-trips scalars at float32 precision, several tags per event, steps above 2^31", async () => {
    const writer = await SummaryWriter.open(join(dir, "scalars"), { clock });
    await writer.addScalar("loss", 0.1, 1);
    await writer.addScalars({ loss: 1 / 3, "global_step/sec": 12.5, nan: Number.NaN }, 2 ** 31 + 5);
    await writer.addScalar("big", -7.75, Number.MAX_SAFE_INTEGER);
    await writer.close();
    const events = await readEvents(writer.path);
    expect(events).toHaveLength(4);
    expect(events[0]).toEqual({ wallTime: 1_700_000_000, step: 0, fileVersion: "brain.Event:2" });
    const wallTime = 1_700_000_000.5;
    expect(scalarsOf(events)).toEqual([
      { step: 1, tag: "loss", value: Math.fround(0.1), wallTime },
      { step: 2 ** 31 + 5, tag: "loss", value: Math.fround(1 / 3), wallTime },
      { step: 2 ** 31 + 5, tag: "global_step/sec", value: 12.5, wallTime },
      { step: 2 ** 31 + 5, tag: "nan", value: Number.NaN, wallTime },
      { step: Number.MAX_SAFE_INTEGER, tag: "big", value: -7.75, wallTime },
    ]);
  });

  it("keeps events in order and loses none that were added before close, awaited or not", async () => {
    const writer = await SummaryWriter.open(join(dir, "many"), { clock });
    const pending = Array.from({ length: 500 }, (_, i) => writer.addScalar("i", i, i));
    const closed = writer.close();
    expect(writer.close()).toBe(closed);
    await Promise.all([...pending, closed]);
    await writer.close();
    expect(scalarsOf(await readEvents(writer.path)).map((s) => [s.step, s.value])).toEqual(Array.from({ length: 500 }, (_, i) => [i, i]));
  });

  it("makes every event added so far readable on flush, before close", async () => {
    const writer = await SummaryWriter.open(join(dir, "flush"), { clock });
    await writer.addScalar("loss", 2, 10);
    await writer.flush();
    expect(scalarsOf(await readEvents(writer.path))).toEqual([{ step: 10, tag: "loss", value: 2, wallTime: 1_700_000_000.5 }]);
    await writer.close();
    await writer.flush();
  });

  it("refuses events after close, naming the file", async () => {
    const writer = await SummaryWriter.open(join(dir, "closed"), { clock });
    await writer.close();
    await expect(writer.addScalar("loss", 1, 1)).rejects.toThrow(RuntimeError);
    await expect(writer.addScalar("loss", 1, 1)).rejects.toThrow(
      `SummaryWriter for ${JSON.stringify(writer.path)}: adding an event needs an open writer; it was closed.`,
    );
  });

  it("refuses a bad tag, value or step, naming the file and writing nothing", async () => {
    const writer = await SummaryWriter.open(join(dir, "args"), { clock });
    const at = `SummaryWriter(${JSON.stringify(writer.path)})`;
    await expect(writer.addScalar("loss", 1, 1.5)).rejects.toThrow(InvalidArgumentError);
    await expect(writer.addScalar("loss", 1, 2 ** 53)).rejects.toThrow(
      `${at}.addScalar(tag, value, step): step needs an integer with |step| ≤ 2⁵³ − 1 (Number.MAX_SAFE_INTEGER); got 9007199254740992.`,
    );
    await expect(writer.addScalar("loss", 1n as unknown as number, 1)).rejects.toThrow(
      `${at}.addScalar(tag, value, step): the value of "loss" needs a number; got 1n.`,
    );
    await expect(writer.addScalar(3 as unknown as string, 1, 1)).rejects.toThrow(`${at}.addScalar(tag, value, step): tag needs a string; got 3.`);
    await expect(writer.addScalars([1] as unknown as Record<string, number>, 1)).rejects.toThrow(
      `${at}.addScalars(scalars, step) needs an object of tag → number`,
    );
    await writer.close();
    expect(await readEvents(writer.path)).toHaveLength(1);
  });

  it("refuses a bad logdir or option with the fix", async () => {
    await expect(SummaryWriter.open("")).rejects.toThrow('SummaryWriter.open(logdir) needs a directory path (a non-empty string); got "".');
    await expect(SummaryWriter.open(dir, { filenameSuffix: "/x" })).rejects.toThrow("needs a string without path separators");
    await expect(SummaryWriter.open(dir, { clock: () => Number.NaN })).rejects.toThrow("a finite number ≥ 0");
    const file = join(dir, "not-a-dir");
    await writeFile(file, "x");
    await expect(SummaryWriter.open(file, { clock })).rejects.toThrow(InvalidArgumentError);
    await expect(SummaryWriter.open(join(file, "run"), { clock })).rejects.toThrow(
      `SummaryWriter.open: cannot create ${JSON.stringify(join(file, "run", `events.out.tfevents.1700000000.${hostname()}`))}: its logdir (or a parent of it) is not a directory`,
    );
  });
});

describe("readEvents", () => {
  it("throws DataLossError naming the file when a record is corrupt (CRCs are verified)", async () => {
    const writer = await SummaryWriter.open(join(dir, "corrupt"), { clock });
    await writer.addScalar("loss", 0.25, 300);
    await writer.close();
    const bytes = await readFile(writer.path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 6) ^ 0xff, bytes.length - 6); // inside the last record's data
    await writeFile(writer.path, bytes);
    await expect(readEvents(writer.path)).rejects.toThrow(DataLossError);
    await expect(readEvents(writer.path)).rejects.toThrow(JSON.stringify(writer.path));
  });

  it("names the file and record of a well-framed record that is not an Event", async () => {
    const path = join(dir, "not-events.tfrecord");
    await writeFile(path, encodeFrame(Uint8Array.of(0x0f)));
    await expect(readEvents(path)).rejects.toThrow(`events file ${JSON.stringify(path)}, record 0: malformed Event at byte 1 of 1`);
  });

  it("lists only simple values among the scalars", () => {
    const events = [
      { wallTime: 1, step: 0, fileVersion: FILE_VERSION },
      { wallTime: 2, step: 5, summary: { value: [{ tag: "histogram" }, { tag: "x", simpleValue: 1 }] } },
    ];
    expect(scalarsOf(events)).toEqual([{ step: 5, tag: "x", value: 1, wallTime: 2 }]);
  });
});
