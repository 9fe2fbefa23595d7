// Packing and sharded reading against the real MinIO of `npm run env:up`:
// pack (with an interruption and a resume) to s3://, verify the index's
// checksums, then read one epoch on two ranks and resume one mid-epoch.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../../common/log/logger.js";
import { S3Store } from "../../../common/storage/index.js";
import { readTestEnv } from "../../env/env-file.js";
import { readDatasetIndex } from "../../../trainer/data/format.js";
import { packDataset } from "../../../trainer/data/pack.js";
import { ShardedReader } from "../../../trainer/data/reader.js";
import { makePhotoFolder, recordingStore, type PhotoFolder } from "../../unit/data/helpers.js";

const quiet = createLogger("test", "silent");

describe("dataset on S3 (MinIO)", () => {
  let store: S3Store;
  let prefix: string;
  let photos: PhotoFolder;

  before(async () => {
    const { s3 } = readTestEnv();
    store = new S3Store(
      {
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: s3.forcePathStyle,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      },
      { logger: quiet },
    );
    await store.ensureBucket(s3.bucket);
    prefix = `s3://${s3.bucket}/stylekube-test/dataset/${Date.now().toString(36)}-${randomBytes(3).toString("hex")}/`;
    photos = await makePhotoFolder(40, { withBad: true });
  });
  after(async () => {
    await store.deletePrefix(prefix).catch(() => undefined);
    await store.close();
    await rm(photos.dir, { recursive: true, force: true });
  });

  it("packs with a resume after an interruption; the index is last and its checksums hold", async () => {
    const opts = { size: 32, shardSize: 6, logger: quiet };
    const failing = recordingStore(store, prefix, (name) => name === "shard-000004.tar");
    await assert.rejects(packDataset(failing.store, photos.dir, prefix, opts), /injected failure/);
    assert.equal(await store.exists(`${prefix}index.json`), false);

    const second = recordingStore(store, prefix);
    const r = await packDataset(second.store, photos.dir, prefix, opts);
    assert.equal(r.shardsResumed, 4);
    const rewritten = second.events.filter(
      (e) => e.op === "put-start" && /shard-00000[0-3]\.tar$/.test(e.name),
    );
    assert.deepEqual(rewritten, []);
    const puts = second.events.filter((e) => e.op === "put-done");
    assert.equal(puts.at(-1)?.name, "index.json");

    const idx = await readDatasetIndex(store, prefix, { verify: "sha256" });
    assert.equal(idx.samples, photos.good.length);
    assert.deepEqual(idx.skipped.map((s) => s.file).sort(), [...photos.bad].sort());
  });

  it("two ranks read disjoint halves of an epoch; a resumed reader continues exactly", async () => {
    const base = { store, prefix, worldSize: 2, batchSize: 4, seed: 3, logger: quiet, shuffleWindow: 7 };
    const seen = new Set<string>();
    const rank0: string[][] = [];
    for (const rank of [0, 1]) {
      const r = await ShardedReader.open({ ...base, rank });
      for (let i = 0; i < r.batchesPerEpoch; i++) {
        const b = await r.next();
        assert.deepEqual(b.shape, [4, 32, 32, 3]);
        if (rank === 0) rank0.push(b.keys);
        for (const k of b.keys) {
          assert.ok(!seen.has(k));
          seen.add(k);
        }
      }
      await r.close();
    }
    assert.equal(seen.size, 40 - (40 % 8));

    const first = await ShardedReader.open({ ...base, rank: 0 });
    for (let i = 0; i < 2; i++) await first.next();
    const cursor = first.cursor();
    await first.close();
    const resumed = await ShardedReader.open({ ...base, rank: 0, cursor });
    const rest: string[][] = [];
    for (let i = 2; i < rank0.length; i++) rest.push((await resumed.next()).keys);
    await resumed.close();
    assert.deepEqual(rest, rank0.slice(2));
  });
});
