// Allreduce and broadcast across real worker processes over the test
// environment's nats-server.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  expectedMean,
  gradient,
  isDone,
  isJoined,
  natsUrl,
  startWorker,
  stopAll,
  type WorkerConfig,
  type WorkerHandle,
} from "./support.js";

const started: WorkerHandle[] = [];
const dirs: string[] = [];
after(async () => {
  await stopAll(started);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function run(worldSize: number, over: Partial<WorkerConfig>): { workers: WorkerHandle[]; outDir: string } {
  const outDir = mkdtempSync(join(tmpdir(), "stylekube-coll-"));
  dirs.push(outDir);
  const jobId = `it-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const workers = Array.from({ length: worldSize }, (_, rank) =>
    startWorker({
      nats: { url: natsUrl() },
      jobId,
      attempt: 1,
      rank,
      worldSize,
      mode: "allreduce",
      length: 1,
      steps: 1,
      seed: 1,
      stepTimeoutMs: 30_000,
      rendezvousTimeoutMs: 60_000,
      outDir,
      ...over,
    }),
  );
  started.push(...workers);
  return { workers, outDir };
}

function floats(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

for (const worldSize of [2, 3]) {
  it(`${worldSize} worker processes allreduce-mean chunked buffers, bit-identical on every rank`, async () => {
    // Not a multiple of 2 or 3, and ~4 MB: several chunks per slice under the
    // default 1 MiB max_payload.
    const length = 1_000_003;
    const steps = 3;
    const seed = 40 + worldSize;
    const { workers, outDir } = run(worldSize, { length, steps, seed });
    const joined = await Promise.all(workers.map((w) => w.waitFor(isJoined)));
    const sliceLen = Math.ceil(length / worldSize);
    assert.ok(
      joined[0]!.chunkElements < sliceLen,
      `chunking exercised: ${joined[0]!.chunkElements} per chunk < slice ${sliceLen}`,
    );
    await Promise.all(workers.map((w) => w.waitFor(isDone, 120_000)));
    for (let step = 0; step < steps; step++) {
      const expected = expectedMean(seed, worldSize, step, length);
      const results = workers.map((w) => readFileSync(join(outDir, `r${w.rank}-s${step}.bin`)));
      for (let r = 1; r < worldSize; r++) {
        assert.ok(results[r]!.equals(results[0]!), `step ${step}: rank ${r} bytes equal rank 0's`);
      }
      const got = floats(join(outDir, `r0-s${step}.bin`));
      assert.equal(got.length, length);
      let worst = 0;
      for (let i = 0; i < length; i++) {
        const err = Math.abs(got[i]! - expected[i]!) / Math.max(1e-6, Math.abs(expected[i]!));
        if (err > worst) worst = err;
      }
      assert.ok(worst <= 1e-6, `step ${step}: worst relative error ${worst}`);
      // The inputs really differ per rank and step, so a no-op would fail.
      assert.notDeepEqual(got.subarray(0, 8), gradient(seed, 0, step, 8));
    }
    assert.deepEqual(
      await Promise.all(workers.map((w) => w.exited)),
      workers.map(() => 0),
    );
  });
}

it("broadcast delivers the root's weights to every worker", async () => {
  const length = 300_001;
  const seed = 7;
  // Root 1, small chunks: the root is not always rank 0, and there are many chunks.
  const { workers, outDir } = run(3, {
    mode: "broadcast",
    length,
    steps: 2,
    seed,
    root: 1,
    maxChunkBytes: 64 * 1024,
  });
  await Promise.all(workers.map((w) => w.waitFor(isDone, 120_000)));
  for (let step = 0; step < 2; step++) {
    const want = Buffer.from(gradient(seed, 1, step, length).buffer);
    for (const w of workers) {
      assert.ok(
        readFileSync(join(outDir, `r${w.rank}-s${step}.bin`)).equals(want),
        `rank ${w.rank} step ${step}`,
      );
    }
  }
});

describe("sanity of the test data", () => {
  it("differs between ranks and steps", () => {
    assert.notDeepEqual(gradient(1, 0, 0, 4), gradient(1, 1, 0, 4));
    assert.notDeepEqual(gradient(1, 0, 0, 4), gradient(1, 0, 1, 4));
  });
});
