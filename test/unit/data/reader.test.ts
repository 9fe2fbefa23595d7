// Sharded reading: who reads what (disjoint, complete up to a dropped
// remainder smaller than one global batch, equal batch counts per rank),
// seeded order, decoded batches, and exact resume from a cursor.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { createLogger } from "../../../common/log/logger.js";
import { FileStore, type ObjectStore } from "../../../common/storage/index.js";
import { readDatasetIndex, type DatasetIndex } from "../../../trainer/data/format.js";
import { packDataset } from "../../../trainer/data/pack.js";
import { DatasetTooSmallError, epochOrder, planEpoch } from "../../../trainer/data/plan.js";
import { ShardedReader, type DataCursor } from "../../../trainer/data/reader.js";
import { readShard } from "../../../trainer/data/tar.js";
import { makePhotoFolder } from "./helpers.js";

const quiet = createLogger("test", "silent");

describe("epoch plan", () => {
  const cases = [
    { shards: [5, 5, 5, 5, 3], W: 3, B: 2 },
    { shards: [10, 10, 10, 10, 10, 10, 10], W: 4, B: 4 }, // 7 shards, 4 ranks
    { shards: [4, 4, 4, 4], W: 2, B: 4 }, // divides exactly: full coverage
    { shards: [100], W: 5, B: 3 }, // more ranks than shards
    { shards: [1, 0, 9, 7, 3, 12], W: 2, B: 1 },
  ];
  for (const { shards, W, B } of cases) {
    it(`shards ${JSON.stringify(shards)}, ${W} ranks × batch ${B}: disjoint, equal, complete but for < W·B`, () => {
      const total = shards.reduce((a, b) => a + b, 0);
      for (const epoch of [0, 1, 5]) {
        const seen = new Set<string>();
        let perRank: number | undefined;
        for (let rank = 0; rank < W; rank++) {
          const order = epochOrder(
            { shardSamples: shards, seed: 7, epoch, rank, worldSize: W, batchSize: B },
            4,
          );
          perRank ??= order.length;
          assert.equal(order.length, perRank, "every rank gets the same number of samples");
          assert.equal(order.length % B, 0);
          for (const s of order) {
            const id = `${s.shard}:${s.index}`;
            assert.ok(!seen.has(id), `sample ${id} read twice in epoch ${epoch}`);
            assert.ok(s.index < shards[s.shard]!);
            seen.add(id);
          }
        }
        const dropped = total - seen.size;
        assert.ok(dropped >= 0 && dropped < W * B, `dropped ${dropped}`);
        assert.equal(dropped, total % (W * B));
        if (total % (W * B) === 0) assert.equal(seen.size, total, "full coverage");
      }
    });
  }

  it("same seed and epoch → same order; another epoch or seed → another order", () => {
    const p = { shardSamples: [8, 8, 8, 8], seed: 1, epoch: 0, rank: 0, worldSize: 2, batchSize: 2 };
    const key = (x: { shard: number; index: number }[]): string =>
      x.map((s) => `${s.shard}:${s.index}`).join(",");
    assert.equal(key(epochOrder(p, 5)), key(epochOrder(p, 5)));
    assert.notEqual(key(epochOrder(p, 5)), key(epochOrder({ ...p, epoch: 1 }, 5)));
    assert.notEqual(key(epochOrder(p, 5)), key(epochOrder({ ...p, seed: 2 }, 5)));
  });

  it("refuses a dataset smaller than one global batch", () => {
    assert.throws(
      () => planEpoch({ shardSamples: [3], seed: 0, epoch: 0, rank: 0, worldSize: 2, batchSize: 2 }),
      DatasetTooSmallError,
    );
  });
});

describe("ShardedReader", () => {
  const store = new FileStore({ durable: false, logger: quiet });
  let dir: string;
  let photosDir: string;
  let prefix: string;
  let index: DatasetIndex;
  /** key of sample (shard, index) */
  const keyOf = new Map<string, string>();

  before(async () => {
    const photos = await makePhotoFolder(29);
    photosDir = photos.dir;
    dir = await mkdtemp(join(tmpdir(), "sk-read-"));
    prefix = `${pathToFileURL(dir).href}/ds/`;
    await packDataset(store, photos.dir, prefix, { size: 8, shardSize: 4, logger: quiet });
    index = await readDatasetIndex(store, prefix);
    for (const [k, s] of index.shards.entries())
      for await (const sample of readShard(await store.get(s.uri)))
        keyOf.set(`${k}:${sample.index}`, sample.key);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(photosDir, { recursive: true, force: true });
  });

  const open = (o: { rank: number; worldSize: number; cursor?: DataCursor; store?: ObjectStore }) =>
    ShardedReader.open({
      store: o.store ?? store,
      prefix,
      rank: o.rank,
      worldSize: o.worldSize,
      batchSize: 3,
      seed: 42,
      shuffleWindow: 5, // does not divide the batch or the shard size: windows straddle both
      prefetchBatches: 2,
      logger: quiet,
      ...(o.cursor ? { cursor: o.cursor } : {}),
    });

  async function take(r: ShardedReader, n: number): Promise<string[][]> {
    const out: string[][] = [];
    for (let i = 0; i < n; i++) out.push((await r.next()).keys);
    return out;
  }

  it("yields [B, H, W, 3] Float32 RGB 0–255 batches of this rank's planned samples, disjoint across ranks", async () => {
    const W = 3;
    const all = new Set<string>();
    let batches: number | undefined;
    for (let rank = 0; rank < W; rank++) {
      const r = await open({ rank, worldSize: W });
      batches ??= r.batchesPerEpoch;
      assert.equal(r.batchesPerEpoch, batches);
      const b = await r.next();
      assert.deepEqual(b.shape, [3, 8, 8, 3]);
      assert.equal(b.data.length, 3 * 8 * 8 * 3);
      assert.ok(b.data.every((v) => v >= 0 && v <= 255 && Number.isInteger(v)));
      assert.ok(b.data.some((v) => v > 0));
      const keys = [b.keys, ...(await take(r, r.batchesPerEpoch - 1))].flat();
      await r.close();
      const planned = epochOrder(
        {
          shardSamples: index.shards.map((s) => s.samples),
          seed: 42,
          epoch: 0,
          rank,
          worldSize: W,
          batchSize: 3,
        },
        5,
      ).map((s) => keyOf.get(`${s.shard}:${s.index}`));
      assert.deepEqual(keys, planned);
      for (const k of keys) {
        assert.ok(!all.has(k), `${k} read by two ranks`);
        all.add(k);
      }
    }
    assert.equal(all.size, index.samples - (index.samples % (W * 3)));
  });

  it("continues into the next epoch with a new order, and the cursor follows", async () => {
    const r = await open({ rank: 1, worldSize: 2 });
    const e0 = (await take(r, r.batchesPerEpoch)).flat();
    assert.deepEqual(r.cursor(), { epoch: 1, position: 0, seed: 42, worldSize: 2, batchSize: 3 });
    const b = await r.next();
    assert.equal(b.epoch, 1);
    assert.deepEqual(r.cursor(), { epoch: 1, position: 3, seed: 42, worldSize: 2, batchSize: 3 });
    await r.close();
    assert.notDeepEqual(b.keys, e0.slice(0, 3));
  });

  for (const k of [0, 1, 2, 4, 7]) {
    it(`resumes from a cursor after ${k} batch(es): exactly the remaining sequence`, async () => {
      const full = await open({ rank: 0, worldSize: 2 });
      const reference = await take(full, 12); // crosses the epoch boundary (4 batches per epoch)
      await full.close();

      const first = await open({ rank: 0, worldSize: 2 });
      const head = await take(first, k);
      const saved = JSON.parse(JSON.stringify(first.cursor())) as DataCursor; // as a checkpoint stores it
      await first.close();
      const resumed = await open({ rank: 0, worldSize: 2, cursor: saved });
      const tail = await take(resumed, 12 - k);
      await resumed.close();
      assert.deepEqual([...head, ...tail], reference);
    });
  }

  it("refuses a cursor from another world size", async () => {
    await assert.rejects(
      open({
        rank: 0,
        worldSize: 3,
        cursor: { epoch: 0, position: 3, seed: 42, worldSize: 2, batchSize: 3 },
      }),
      /saved with 2 worker/,
    );
  });

  it("re-requests a shard whose body fails mid-stream and continues where it stopped", async () => {
    let failures = 0;
    const flaky: ObjectStore = {
      schemes: store.schemes,
      getBytes: (uri, o) => store.getBytes(uri, o),
      put: (uri, b, o) => store.put(uri, b, o),
      stat: (uri) => store.stat(uri),
      exists: (uri) => store.exists(uri),
      list: (p) => store.list(p),
      delete: (uri) => store.delete(uri),
      deletePrefix: (p) => store.deletePrefix(p),
      close: () => store.close(),
      get: async (uri, o) => {
        const src = await store.get(uri, o);
        if (failures >= 2) return src;
        failures++;
        // Pass the first 3 KB, then fail like a reset connection.
        const out = new PassThrough();
        let sent = 0;
        src.on("data", (c: Buffer) => {
          if (sent + c.length > 3000) {
            out.write(c.subarray(0, 3000 - sent));
            src.destroy();
            out.destroy(new Error("ECONNRESET (injected)"));
            return;
          }
          sent += c.length;
          out.write(c);
        });
        src.on("end", () => out.end());
        return out;
      },
    };
    const good = await open({ rank: 0, worldSize: 1 });
    const expected = await take(good, good.batchesPerEpoch);
    await good.close();
    const r = await open({ rank: 0, worldSize: 1, store: flaky });
    const got = await take(r, r.batchesPerEpoch);
    await r.close();
    assert.equal(failures, 2);
    assert.deepEqual(got, expected);
  });
});
