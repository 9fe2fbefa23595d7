// Data pipeline benchmark: how many images/s the sharded reader delivers
// from the test environment's S3 (MinIO), decoded to Float32 batches, against
// how many the trainer consumes. The reader must stay ahead of compute, or
// GPUs wait on JPEG decoding.
//
//   npx tsx bench/data.ts [--quick] [--images N] [--size 256] [--batch 4]
//                         [--trainer-rate IMG_PER_S] [--concurrency N]
//
// A synthetic photo folder is generated and packed to s3://<bucket>/stylekube-bench/data-…/
// first (pack throughput is reported too), then read as rank 0 of 1.
// Trainer rate default: 4 images / 744 ms per worker, the WebGPU training
// step measured on an H200 in an early probe; PyTorch on the same
// GPU (15.2 ms/step, 263 img/s) is printed as the rate to aim for.
// The last line is one JSON object for tooling.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { createLogger } from "../common/log/logger.js";
import { S3Store } from "../common/storage/index.js";
import { readTestEnv } from "../test/env/env-file.js";
import { mapOrdered } from "../trainer/data/async.js";
import { packDataset } from "../trainer/data/pack.js";
import { ShardedReader } from "../trainer/data/reader.js";

const WEBGPU_STEP_MS = 744;
const PYTORCH_STEP_MS = 15.2;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    images: { type: "string" },
    size: { type: "string", default: "256" },
    batch: { type: "string", default: "4" },
    "trainer-rate": { type: "string" },
    concurrency: { type: "string" },
  },
});
const quick = values.quick;
const images = Number(values.images ?? (quick ? 200 : 2000));
const size = Number(values.size);
const batch = Number(values.batch);
const trainerRate = Number(values["trainer-rate"] ?? ((batch * 1000) / WEBGPU_STEP_MS).toFixed(2));
const concurrency = Number(values.concurrency ?? availableParallelism());
const log = createLogger("bench-data", "warn");

/** A 480×360 "photo": smooth gradients plus mild noise, so JPEG sizes (~30–60 KB) and decode cost resemble COCO's. */
async function syntheticPhoto(i: number): Promise<Buffer> {
  const w = 480;
  const h = 360;
  const raw = Buffer.alloc(w * h * 3);
  const noise = randomBytes(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const n = (noise[p]! & 31) - 16;
      raw[p * 3] = Math.max(0, Math.min(255, ((x + i * 13) % 256) + n));
      raw[p * 3 + 1] = Math.max(0, Math.min(255, ((y * 2 + i * 7) % 256) + n));
      raw[p * 3 + 2] = Math.max(0, Math.min(255, (((x ^ y) + i) % 256) + n));
    }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

const { s3 } = readTestEnv();
const store = new S3Store(
  {
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  },
  { logger: log },
);
await store.ensureBucket(s3.bucket);
const prefix = `s3://${s3.bucket}/stylekube-bench/data-${Date.now().toString(36)}/`;
const dir = await mkdtemp(join(tmpdir(), "sk-bench-photos-"));
try {
  console.log(`generating ${images} synthetic 480×360 photos …`);
  let inputBytes = 0;
  for await (const _ of mapOrdered(
    Array.from({ length: images }, (_, i) => i),
    concurrency,
    async (i) => {
      const jpg = await syntheticPhoto(i);
      inputBytes += jpg.length;
      await writeFile(join(dir, `photo-${String(i).padStart(6, "0")}.jpg`), jpg);
    },
  )) {
    // written
  }

  const shardSize = quick ? 50 : 250;
  const packStart = performance.now();
  const packed = await packDataset(store, dir, prefix, { size, shardSize, concurrency, logger: log });
  const packSeconds = (performance.now() - packStart) / 1000;
  const packRate = images / packSeconds;
  const shardBytes = packed.index.shards.reduce((n, sh) => n + sh.samples, 0);
  console.log(
    `pack: ${images} photos (${(inputBytes / 1e6).toFixed(1)} MB) → ${packed.index.shards.length} shards (${shardBytes} samples) in ${packSeconds.toFixed(1)} s = ${packRate.toFixed(1)} img/s`,
  );

  // Read: rank 0 of 1, so every sample of an epoch passes through this process.
  const reader = await ShardedReader.open({
    store,
    prefix,
    rank: 0,
    worldSize: 1,
    batchSize: batch,
    seed: 1,
    decodeConcurrency: concurrency,
    logger: log,
  });
  const warmup = 2;
  for (let i = 0; i < warmup; i++) await reader.next();
  const measured = Math.min(reader.batchesPerEpoch - warmup, quick ? 40 : 400);
  const t0 = performance.now();
  let firstLatency = 0;
  for (let i = 0; i < measured; i++) {
    const s = performance.now();
    await reader.next();
    if (i === 0) firstLatency = performance.now() - s;
  }
  const readSeconds = (performance.now() - t0) / 1000;
  await reader.close();
  const readRate = (measured * batch) / readSeconds;
  const pytorchRate = (batch * 1000) / PYTORCH_STEP_MS;
  console.log(
    `read: ${measured} batches of ${batch}×${size}×${size}×3 Float32 in ${readSeconds.toFixed(2)} s = ${readRate.toFixed(1)} img/s ` +
      `(decode concurrency ${concurrency})`,
  );
  console.log(
    `trainer consumes ${trainerRate} img/s per worker (WebGPU step, H200); reader/trainer = ${(readRate / trainerRate).toFixed(1)}×`,
  );
  console.log(
    `a PyTorch-speed step would consume ${pytorchRate.toFixed(0)} img/s per worker; reader/that = ${(readRate / pytorchRate).toFixed(1)}×`,
  );
  console.log(
    JSON.stringify({
      bench: "data",
      quick,
      images,
      imageSize: size,
      batchSize: batch,
      cpus: availableParallelism(),
      decodeConcurrency: concurrency,
      shards: packed.index.shards.length,
      packImagesPerSecond: Number(packRate.toFixed(1)),
      readImagesPerSecond: Number(readRate.toFixed(1)),
      readBatchesMeasured: measured,
      firstBatchMs: Number(firstLatency.toFixed(1)),
      trainerImagesPerSecond: trainerRate,
      readerToTrainer: Number((readRate / trainerRate).toFixed(2)),
      pytorchImagesPerSecond: Number(pytorchRate.toFixed(1)),
    }),
  );
} finally {
  await store.deletePrefix(prefix).catch(() => undefined);
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
