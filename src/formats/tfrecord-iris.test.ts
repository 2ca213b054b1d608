/**
 * Proof against files TensorFlow wrote itself: the Iris fixtures (test/fixtures/tfrecord-iris,
 * written by TensorFlow's TFRecordWriter). Framing, masked CRC32C and the Example wire format
 * are read, and written back byte for byte.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, inflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExample, serializeExample, type ExampleSpec } from "./example.js";
import { decodeFrame } from "./tfrecord-frame.js";
import { TFRecordWriter } from "./tfrecord-writer.js";

const FIXTURES = fileURLToPath(new URL("../../test/fixtures/tfrecord-iris/", import.meta.url));
const FILES = ["train", "eval"].flatMap((split) => [0, 1, 2].map((i) => `${split}/part-0000${i}-of-00003.tfrecords`));

const float1 = { kind: "fixed", dtype: "float32", shape: [1] } as const;
const classFeature = { kind: "fixed", dtype: "float32", shape: [1], default: 0 } as const;
const IRIS_SPEC = {
  sepal_length: float1,
  sepal_width: float1,
  petal_length: float1,
  petal_width: float1,
  class_name_Iris_setosa: classFeature,
  class_name_Iris_versicolor: classFeature,
  class_name_Iris_virginica: classFeature,
} satisfies ExampleSpec;

interface IrisFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly records: Uint8Array[];
}

let files: IrisFile[] = [];
let dir = "";

beforeAll(async () => {
  files = await Promise.all(
    FILES.map(async (name) => {
      const bytes = new Uint8Array(await readFile(join(FIXTURES, name)));
      const records: Uint8Array[] = [];
      let offset = 0;
      for (let f = decodeFrame(bytes, 0, { source: name, position: 0 }); f !== null; f = decodeFrame(bytes, offset, { source: name, position: offset })) {
        records.push(f.data);
        offset = f.end;
      }
      expect(offset, `${name} ends on a frame boundary`).toBe(bytes.length);
      return { name, bytes, records };
    }),
  );
  dir = await mkdtemp(join(tmpdir(), "checkpipe-iris-"));
});

afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

const file = (name: string): IrisFile => files.find((f) => f.name === name)!;

describe("TFRecord files written by TensorFlow (Iris)", () => {
  it("decode into 130 training and 20 evaluation records, every CRC verified", () => {
    const counts = Object.fromEntries(files.map((f) => [f.name, f.records.length]));
    console.log("Iris TFRecord record counts:", counts);
    expect(counts).toEqual({
      "train/part-00000-of-00003.tfrecords": 43,
      "train/part-00001-of-00003.tfrecords": 43,
      "train/part-00002-of-00003.tfrecords": 44,
      "eval/part-00000-of-00003.tfrecords": 6,
      "eval/part-00001-of-00003.tfrecords": 7,
      "eval/part-00002-of-00003.tfrecords": 7,
    });
  });

  it("parse with a spec: four measurements and a one-hot class whose missing entries default to 0", () => {
    const classes = { train: [0, 0, 0], eval: [0, 0, 0] };
    for (const f of files) {
      for (const record of f.records) {
        const row = parseExample(record, IRIS_SPEC);
        const oneHot = [row.class_name_Iris_setosa[0]!, row.class_name_Iris_versicolor[0]!, row.class_name_Iris_virginica[0]!];
        expect(oneHot.sort()).toEqual([0, 0, 1]);
        const split = f.name.startsWith("train") ? classes.train : classes.eval;
        split[[row.class_name_Iris_setosa[0], row.class_name_Iris_versicolor[0], row.class_name_Iris_virginica[0]].indexOf(1)]! += 1;
        for (const m of [row.sepal_length, row.sepal_width, row.petal_length, row.petal_width]) {
          expect(m).toBeInstanceOf(Float32Array);
          expect(Math.abs(m[0]!)).toBeLessThan(4); // standardized
        }
      }
    }
    console.log("Iris classes [setosa, versicolor, virginica]:", classes);
    expect(classes).toEqual({ train: [42, 44, 44], eval: [8, 6, 6] });
  });

  it("hold the values TensorFlow wrote", () => {
    const first = parseExample(file("eval/part-00000-of-00003.tfrecords").records[0]!, IRIS_SPEC);
    expect(first).toEqual({
      sepal_length: new Float32Array([-1.2844066619873047]),
      sepal_width: new Float32Array([-1.3129767179489136]),
      petal_length: new Float32Array([-0.90068119764328]),
      petal_width: new Float32Array([0.8006542325019836]),
      class_name_Iris_setosa: new Float32Array([1]),
      class_name_Iris_versicolor: new Float32Array([0]),
      class_name_Iris_virginica: new Float32Array([0]),
    });
    const last = parseExample(file("eval/part-00000-of-00003.tfrecords").records[5]!, IRIS_SPEC);
    expect(last.petal_length[0]).toBe(2.249683380126953);
    expect(last.class_name_Iris_virginica[0]).toBe(1);
    expect(last.class_name_Iris_setosa[0]).toBe(0);
    const train = parseExample(file("train/part-00002-of-00003.tfrecords").records[1]!);
    expect(train).toEqual({
      petal_length: [-0.05250607803463936],
      petal_width: [-1.0505694150924683],
      sepal_length: [0.13723589479923248],
      sepal_width: [0.0017529729520902038],
      class_name_Iris_versicolor: [1],
    });
    expect(Object.keys(train)).toEqual(["petal_length", "petal_width", "sepal_length", "sepal_width", "class_name_Iris_versicolor"]);
  });

  it("re-serialize to the very bytes TensorFlow wrote (packed lists, the record's key order)", () => {
    for (const f of files) for (const record of f.records) expect(serializeExample(parseExample(record))).toEqual(record);
  });

  it("written back with TFRecordWriter, are byte-identical to the originals", async () => {
    for (const f of files) {
      const path = join(dir, f.name.replace("/", "-"));
      const writer = await TFRecordWriter.open(path);
      for (const record of f.records) await writer.write(record);
      await writer.close();
      expect(new Uint8Array(await readFile(path)), f.name).toEqual(f.bytes);
    }
  });

  it("written with gzip or zlib compression, decompress to the same framing", async () => {
    const f = file("train/part-00000-of-00003.tfrecords");
    for (const [compression, decompress] of [
      ["gzip", gunzipSync],
      ["zlib", inflateSync],
    ] as const) {
      const path = join(dir, `train-0.${compression}.tfrecord`);
      const writer = await TFRecordWriter.open(path, { compression });
      for (const record of f.records) await writer.write(record);
      await writer.close();
      const written = await readFile(path);
      expect(written.length).toBeLessThan(f.bytes.length);
      expect(new Uint8Array(decompress(written)), compression).toEqual(f.bytes);
    }
  });
});
