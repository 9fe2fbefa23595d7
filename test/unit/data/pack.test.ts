// `dataset pack` on file:// stores with generated photos: output format,
// skipped inputs, determinism, zip input, resume after an interruption, and
// the index written last.
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { FileStore, joinUri, readManifest } from "../../../common/storage/index.js";
import { ProgressRenderer, formatProgress } from "../../../cli/dataset.js";
import {
  DATASET_INDEX_NAME,
  DatasetIndexDataSchema,
  readDatasetIndex,
} from "../../../trainer/data/format.js";
import { packDataset, sampleKey, type PackProgress } from "../../../trainer/data/pack.js";
import { readShard } from "../../../trainer/data/tar.js";
import { makePhotoFolder, makeZip, recordingStore, type PhotoFolder } from "./helpers.js";
import { readFile } from "node:fs/promises";
import { createLogger } from "../../../common/log/logger.js";

const quiet = createLogger("test", "silent");
const store = new FileStore({ durable: false, logger: quiet });
let photos: PhotoFolder;
let out: string;
let n = 0;
const freshPrefix = (): string => `${pathToFileURL(out).href}/ds-${n++}/`;

before(async () => {
  photos = await makePhotoFolder(23, { withBad: true });
  out = await mkdtemp(join(tmpdir(), "sk-pack-"));
});
after(async () => {
  await rm(photos.dir, { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
});

describe("dataset pack", () => {
  it("writes square JPEG shards and an index; skips a corrupt JPEG and a text file with reasons", async () => {
    const prefix = freshPrefix();
    const progress: PackProgress[] = [];
    const r = await packDataset(store, photos.dir, prefix, {
      size: 24,
      shardSize: 5,
      logger: quiet,
      onProgress: (p) => progress.push(p),
    });
    const idx = await readDatasetIndex(store, prefix, { verify: "sha256" });
    assert.equal(idx.samples, photos.good.length);
    assert.equal(idx.imageSize, 24);
    assert.equal(idx.shards.length, Math.ceil((photos.good.length + photos.bad.length) / 5));
    assert.deepEqual(idx.skipped.map((s) => s.file).sort(), [...photos.bad].sort());
    assert.match(idx.skipped.find((s) => s.file === "notes.txt")!.reason, /not an image/);
    assert.match(idx.skipped.find((s) => s.file.includes("corrupt"))!.reason, /corrupt or truncated jpeg/);
    assert.equal(r.shardsWritten, idx.shards.length);
    // The index is the storage layer's manifest: readManifest understands it too.
    const m = await readManifest(store, prefix, DatasetIndexDataSchema, {
      manifestName: DATASET_INDEX_NAME,
      verify: "sha256",
    });
    assert.equal(m.objects.length, idx.shards.length);
    // Every member is <key>.jpg, a 24×24 JPEG; keys are unique and dot-free.
    const keys: string[] = [];
    for (const s of idx.shards) {
      let count = 0;
      for await (const sample of readShard(await store.get(s.uri))) {
        const meta = await sharp(sample.bytes).metadata();
        assert.equal(meta.format, "jpeg");
        assert.equal(meta.width, 24);
        assert.equal(meta.height, 24);
        assert.ok(!sample.key.includes("."));
        keys.push(sample.key);
        count++;
      }
      assert.equal(count, s.samples);
    }
    assert.equal(new Set(keys).size, photos.good.length);
    // Markers are gone once the index is there.
    assert.deepEqual(
      (await readdir(new URL(prefix))).filter((f) => f.startsWith("_")),
      [],
    );
    const last = progress.at(-1)!;
    assert.equal(last.phase, "done");
    assert.equal(last.filesDone, last.filesTotal);
    assert.equal(last.samples, photos.good.length);
    assert.equal(last.skipped, photos.bad.length);
  });

  it("is deterministic: the same input gives byte-identical shards", async () => {
    const pa = freshPrefix();
    const pb = freshPrefix();
    await packDataset(store, photos.dir, pa, { size: 16, shardSize: 7, logger: quiet });
    await packDataset(store, photos.dir, pb, { size: 16, shardSize: 7, logger: quiet, concurrency: 1 });
    const ia = await readDatasetIndex(store, pa);
    const ib = await readDatasetIndex(store, pb);
    assert.deepEqual(
      ia.shards.map((s) => s.sha256),
      ib.shards.map((s) => s.sha256),
    );
  });

  it("reads a zip the same way as the folder it was made from", async () => {
    const files = [...photos.good, ...photos.bad].sort();
    const zipPath = join(out, "photos.zip");
    await writeFile(
      zipPath,
      makeZip([
        { name: "train/", bytes: Buffer.alloc(0) },
        ...(await Promise.all(
          files.map(async (f) => ({ name: f, bytes: await readFile(join(photos.dir, f)) })),
        )),
      ]),
    );
    const pf = freshPrefix();
    const pz = freshPrefix();
    await packDataset(store, photos.dir, pf, { size: 16, shardSize: 6, logger: quiet });
    await packDataset(store, zipPath, pz, { size: 16, shardSize: 6, logger: quiet });
    const f = await readDatasetIndex(store, pf);
    const z = await readDatasetIndex(store, pz);
    assert.equal(z.record.data.source.kind, "zip");
    assert.deepEqual(z.skipped, f.skipped);
    assert.deepEqual(
      z.shards.map((s) => s.sha256),
      f.shards.map((s) => s.sha256),
    );
  });

  it("resumes an interrupted pack without rewriting finished shards, and writes the index last", async () => {
    const prefix = freshPrefix();
    const opts = { size: 16, shardSize: 4, logger: quiet };
    // Run 1 dies writing shard 3 (shards 0-2 are done).
    const first = recordingStore(store, prefix, (name) => name === "shard-000003.tar");
    await assert.rejects(packDataset(first.store, photos.dir, prefix, opts), /injected failure/);
    assert.equal(
      await store.exists(joinUri(prefix, DATASET_INDEX_NAME)),
      false,
      "no index after a failed pack",
    );
    await assert.rejects(readDatasetIndex(store, prefix), { name: "NotFoundError" });
    const mtimes = await Promise.all(
      [0, 1, 2].map(async (k) => (await stat(new URL(`shard-00000${k}.tar`, prefix))).mtimeMs),
    );

    // Run 2 resumes.
    const second = recordingStore(store, prefix);
    const r = await packDataset(second.store, photos.dir, prefix, opts);
    assert.equal(r.shardsResumed, 3);
    assert.equal(r.shardsWritten, r.index.shards.length - 3);
    const written = second.events.filter((e) => e.op === "put-start").map((e) => e.name);
    for (const k of [0, 1, 2]) assert.ok(!written.includes(`shard-00000${k}.tar`), `shard ${k} rewritten`);
    assert.deepEqual(
      await Promise.all(
        [0, 1, 2].map(async (k) => (await stat(new URL(`shard-00000${k}.tar`, prefix))).mtimeMs),
      ),
      mtimes,
    );
    // The index is the last object written, after every shard completed.
    const puts = second.events.filter((e) => e.op === "put-start" || e.op === "put-done");
    const indexStart = puts.findIndex((e) => e.name === DATASET_INDEX_NAME);
    assert.equal(indexStart, puts.length - 2);
    assert.ok(puts.slice(0, indexStart).every((e) => e.name !== DATASET_INDEX_NAME));
    // Same result as a pack that was never interrupted.
    const clean = freshPrefix();
    await packDataset(store, photos.dir, clean, opts);
    const a = await readDatasetIndex(store, prefix, { verify: "sha256" });
    const b = await readDatasetIndex(store, clean);
    assert.deepEqual(a.record.data, b.record.data);
    assert.deepEqual(a.record.objects, b.record.objects);
  });

  it("does nothing when the same input is already packed; replaces the index first for a different one", async () => {
    const prefix = freshPrefix();
    await packDataset(store, photos.dir, prefix, { size: 16, shardSize: 8, logger: quiet });
    const again = recordingStore(store, prefix);
    const r = await packDataset(again.store, photos.dir, prefix, { size: 16, shardSize: 8, logger: quiet });
    assert.equal(r.alreadyComplete, true);
    assert.deepEqual(again.events, []);
    // Other options: the old index goes before any shard is written.
    const other = recordingStore(store, prefix);
    await packDataset(other.store, photos.dir, prefix, { size: 20, shardSize: 8, logger: quiet });
    assert.deepEqual(other.events[0], { op: "delete", name: DATASET_INDEX_NAME });
    assert.equal((await readDatasetIndex(store, prefix)).imageSize, 20);
  });

  it("keys are stable, unique and dot-free", () => {
    assert.equal(sampleKey(7, "a/b.c/COCO_1.jpg"), "00000007_a_b_c_COCO_1");
    assert.ok(!sampleKey(1, "x.y.z.png").includes("."));
  });
});

describe("pack progress output", () => {
  const p: PackProgress = {
    phase: "packing",
    filesTotal: 200,
    filesDone: 50,
    samples: 49,
    skipped: 1,
    shardsTotal: 4,
    shardsDone: 1,
    shardsResumed: 0,
    bytesWritten: 2_500_000,
  };

  it("formats a bar with rate and ETA", () => {
    const line = formatProgress(p, 10, 50);
    assert.match(
      line,
      /^\[######-+\] {2}25\.0% 50\/200 files · 5 img\/s · ETA 30s · shards 1\/4 · skipped 1 · 2\.5 MB$/,
    );
  });

  it("prints plain lines, throttled, when stderr is not a terminal", () => {
    const lines: string[] = [];
    const fake = { write: (s: string) => lines.push(s), isTTY: false } as unknown as NodeJS.WriteStream;
    const r = new ProgressRenderer(fake, { intervalMs: 60_000 });
    r.update(p);
    r.update({ ...p, filesDone: 51 });
    r.update({ ...p, filesDone: 200, phase: "done" });
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => l.endsWith("\n") && !l.includes("\r")));
  });

  it("redraws one line on a terminal", () => {
    const chunks: string[] = [];
    const fake = {
      write: (s: string) => chunks.push(s),
      isTTY: true,
      columns: 200,
    } as unknown as NodeJS.WriteStream;
    const r = new ProgressRenderer(fake, { intervalMs: 0 });
    r.update(p);
    r.update({ ...p, filesDone: 200, phase: "done" });
    assert.ok(chunks[0]!.startsWith("\r"));
    assert.equal(chunks.at(-1), "\n");
  });
});
