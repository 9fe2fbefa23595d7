import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  defaultBaselinesPath,
  formatBaselines,
  readBaselines,
  saveBaselines,
  sha256OfFile,
} from "../../../bench/quality/baseline-file.js";
import {
  type BaselineEntry,
  type BaselineKey,
  BaselineFileSchema,
  canonicalJson,
  checkpointAt,
  covers,
  emptyBaselines,
  findBaseline,
  keyString,
  mergeBaselines,
} from "../../../bench/quality/baselines.js";

const hex = (c: string) => c.repeat(64);

function key(overrides: Partial<BaselineKey> = {}): BaselineKey {
  return {
    style: { sha256: hex("a"), size: 512 },
    photo: { name: "kodak-kodim01.jpg", sha256: hex("b") },
    width: 256,
    height: 256,
    weights: { content: 1, style: 3e-4, tv: 1e-4 },
    layers: { content: "relu2_2", style: ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] },
    vggSha256: hex("c"),
    engine: "onnxruntime/cpu",
    method: "lbfgs",
    init: "noise",
    seed: 0,
    ...overrides,
  };
}

function entry(k: BaselineKey, counts: number[], stoppedAt: number | null = null, tag = 0): BaselineEntry {
  return {
    key: k,
    styleName: "starry_night.jpg",
    checkpoints: counts.map((iterations) => ({
      iterations,
      loss: { total: 1000 / iterations + tag, content: 1, style: 2, tv: 3 },
      seconds: iterations,
    })),
    stoppedAt,
    recordedAt: "2026-12-07T22:00:00.000Z",
    machine: { cpu: "test cpu", cores: 2, threads: 2 },
  };
}

describe("quality baselines: keys", () => {
  it("gives equal strings for equal keys whatever the order of their fields", () => {
    const k = key();
    const reordered = Object.fromEntries(Object.entries(k).reverse()) as BaselineKey;
    assert.equal(keyString(reordered), keyString(k));
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: "x" } }),
      '{"a":{"c":"x","d":[2,{"e":0,"f":1}]},"b":1}',
    );
  });

  it("tells keys apart by every field the optimisation depends on", () => {
    const variants: Partial<BaselineKey>[] = [
      { style: { sha256: hex("d"), size: 512 } },
      { style: { sha256: hex("a"), size: 256 } },
      { photo: { name: "kodak-kodim03.jpg", sha256: hex("b") } },
      { photo: { name: "kodak-kodim01.jpg", sha256: hex("e") } },
      { width: 192 },
      { height: 192 },
      { weights: { content: 1, style: 1e-3, tv: 1e-4 } },
      { layers: { content: "relu3_3", style: ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] } },
      { vggSha256: hex("f") },
      { engine: "wasm" },
      { method: "adam" },
      { init: "content" },
      { seed: 1 },
    ];
    const strings = new Set([keyString(key()), ...variants.map((v) => keyString(key(v)))]);
    assert.equal(strings.size, variants.length + 1);
  });
});

describe("quality baselines: lookup", () => {
  const file = { ...emptyBaselines(), entries: [entry(key(), [50, 100, 200, 500])] };

  it("finds the entry of the same key that recorded every count asked for", () => {
    assert.equal(findBaseline(file, key(), [50, 100])?.checkpoints.length, 4);
    assert.equal(findBaseline(file, key(), [50, 100, 200, 500])?.key.photo.name, "kodak-kodim01.jpg");
  });

  it("misses a count the run did not record, and another key", () => {
    assert.equal(findBaseline(file, key(), [50, 150]), undefined);
    assert.equal(findBaseline(file, key(), [1000]), undefined);
    assert.equal(findBaseline(file, key({ engine: "wasm" }), [50]), undefined);
  });

  it("answers every count past an early L-BFGS stop with the final loss", () => {
    const stopped = entry(key(), [50, 73], 73);
    assert.ok(covers(stopped, [50, 100, 500]));
    assert.equal(checkpointAt(stopped, 500)?.iterations, 73);
    assert.equal(checkpointAt(stopped, 50)?.iterations, 50);
    assert.equal(checkpointAt(stopped, 60), undefined, "before the stop only recorded counts answer");
    assert.equal(checkpointAt(entry(key(), [50]), 100), undefined);
  });
});

describe("quality baselines: merge", () => {
  it("adds entries of new keys and sorts by photo name", () => {
    const b = entry(key({ photo: { name: "sun-abbey.jpg", sha256: hex("1") } }), [50]);
    const a = entry(key({ photo: { name: "kodak-kodim03.jpg", sha256: hex("2") } }), [50]);
    const merged = mergeBaselines({ ...emptyBaselines(), entries: [b] }, [a]);
    assert.deepEqual(
      merged.entries.map((e) => e.key.photo.name),
      ["kodak-kodim03.jpg", "sun-abbey.jpg"],
    );
  });

  it("replaces an entry of the same key with the new run", () => {
    const merged = mergeBaselines({ ...emptyBaselines(), entries: [entry(key(), [50, 100], null, 0)] }, [
      entry(key(), [50, 100], null, 7),
    ]);
    assert.equal(merged.entries.length, 1);
    assert.equal(merged.entries[0]!.checkpoints[0]!.loss.total, 1000 / 50 + 7);
  });

  it("keeps the existing entry when it answers strictly more counts", () => {
    const merged = mergeBaselines(
      { ...emptyBaselines(), entries: [entry(key(), [50, 100, 200, 500], null, 0)] },
      [entry(key(), [50, 100], null, 7)],
    );
    assert.deepEqual(
      merged.entries[0]!.checkpoints.map((c) => c.iterations),
      [50, 100, 200, 500],
    );
    const other = mergeBaselines({ ...emptyBaselines(), entries: [entry(key(), [50, 100], null, 0)] }, [
      entry(key(), [200, 500], null, 7),
    ]);
    assert.deepEqual(
      other.entries[0]!.checkpoints.map((c) => c.iterations),
      [200, 500],
      "neither answers all of the other's counts: the newer one wins",
    );
  });
});

describe("quality baselines: the file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "quality-baselines-"));
  after(() => rm(dir, { recursive: true, force: true }));

  it("is empty when missing, and each save merges into what is on disk", async () => {
    const path = join(dir, "nested", "starry_night-256.json");
    assert.deepEqual(await readBaselines(path), emptyBaselines());
    await saveBaselines(path, [entry(key(), [50])]);
    const other = key({ photo: { name: "sun-abbey.jpg", sha256: hex("9") } });
    const saved = await saveBaselines(path, [entry(other, [50])]);
    assert.equal(saved.entries.length, 2);
    const read = await readBaselines(path);
    assert.deepEqual(read, saved);
    assert.ok(findBaseline(read, key(), [50]));
    assert.ok(findBaseline(read, other, [50]));
    const text = await readFile(path, "utf8");
    assert.equal(text.split("\n").filter((l) => l.includes('"key"')).length, 2, "one entry a line");
    assert.deepEqual(
      BaselineFileSchema.parse(JSON.parse(formatBaselines(emptyBaselines()))),
      emptyBaselines(),
    );
  });

  it("names the file and the way out when it is not a baselines file", async () => {
    const path = join(dir, "bad.json");
    await writeFile(path, JSON.stringify({ kind: "something else", version: 1, entries: [] }));
    await assert.rejects(
      readBaselines(path),
      (err: Error) => err.message.includes(path) && /--baselines/.test(err.message),
    );
    await writeFile(path, "{not json");
    await assert.rejects(readBaselines(path), /is not JSON/);
  });

  it("lives under the cache folder, one file per painting and size", () => {
    assert.equal(
      defaultBaselinesPath("/work/shared/styles/starry_night.jpg", 256, { XDG_CACHE_HOME: "/c" }),
      "/c/stylekube/quality/starry_night-256.json",
    );
    assert.match(
      defaultBaselinesPath("s3://b/the wave.jpg", 512, {}),
      /\.cache\/stylekube\/quality\/the-wave-512\.json$/,
    );
  });

  it("hashes a file's bytes", async () => {
    const path = join(dir, "abc.txt");
    await writeFile(path, "abc");
    assert.equal(
      await sha256OfFile(path),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});
