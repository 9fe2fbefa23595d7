// The correctness bar of data parallelism: N workers with batch b each,
// averaging gradients over the real NATS server, end with bit-identical
// weights, equal (to float tolerance) to 1 worker trained on the union of
// their batches. The real transformation network, at 16×16, on the cpu engine
// and on the onnxruntime engine (the whole step as one ONNX graph) with ONNX
// Runtime's CPU provider, and its WebGPU provider where that starts (in CI
// on Mesa's lavapipe).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readTestEnv } from "../../env/env-file.js";
import type { Args } from "./equivalence-worker.js";
import { ortTestProviders } from "../../support/ort-providers.js";

const WORKER = join(import.meta.dirname, "equivalence-worker.ts");
const dir = mkdtempSync(join(tmpdir(), "stylekube-equiv-"));

function run(args: Args): Promise<Float32Array> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", WORKER, JSON.stringify(args)], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, STYLEKUBE_LOG_LEVEL: "warn" },
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => {
      if (code !== 0)
        return reject(new Error(`worker ${args.rank}/${args.worldSize} exited ${code}: ${err}`));
      const b = readFileSync(args.out);
      resolve(new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4));
    });
  });
}

const base = { steps: 2, size: 16, learningRate: 1e-4 };

async function train(
  worldSize: number,
  globalBatch: number,
  engine: Args["engine"],
  provider: Args["provider"],
): Promise<Float32Array[]> {
  const jobId = `equiv-${engine}-${provider}-${worldSize}-${Date.now()}`;
  return Promise.all(
    Array.from({ length: worldSize }, (_, rank) =>
      run({
        ...base,
        natsUrl: readTestEnv().natsUrl,
        jobId,
        rank,
        worldSize,
        globalBatch,
        engine,
        provider,
        out: join(dir, `${jobId}-${rank}.bin`),
      }),
    ),
  );
}

/** ‖(a − init) − (b − init)‖ / ‖b − init‖: how far apart the two training updates are. */
function updateDifference(a: Float32Array, b: Float32Array, init: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += (b[i]! - init[i]!) ** 2;
  }
  return Math.sqrt(diff / norm);
}

function updateNorm(a: Float32Array, init: Float32Array): number {
  let norm = 0;
  for (let i = 0; i < a.length; i++) norm += (a[i]! - init[i]!) ** 2;
  return Math.sqrt(norm);
}

const webgpu = (await ortTestProviders()).find((p) => p.provider === "webgpu")!;

describe("data-parallel equivalence over NATS", () => {
  for (const [workers, engine, provider, skip] of [
    [2, "cpu", "cpu", undefined],
    [3, "cpu", "cpu", undefined],
    [2, "onnxruntime", "cpu", undefined],
    [2, "onnxruntime", "webgpu", webgpu.skip],
  ] as const) {
    const label = engine === "onnxruntime" ? `${engine} ${provider}` : engine;
    it(`${workers} workers × batch 1 = 1 worker × batch ${workers} (${label})`, { skip }, async () => {
      const [single, initial] = await Promise.all([
        train(1, workers, engine, provider).then((w) => w[0]!),
        // The initial weights (learning rate 0), whatever the engine: the cheap tfjs one.
        run({
          ...base,
          steps: 1,
          learningRate: 0,
          natsUrl: "",
          jobId: "init",
          rank: 0,
          worldSize: 1,
          globalBatch: 1,
          engine: "cpu",
          provider: "cpu",
          out: join(dir, `init-${engine}-${provider}-${workers}.bin`),
        }),
      ]);
      const parallel = await train(workers, workers, engine, provider);
      for (let r = 1; r < workers; r++) {
        assert.ok(
          Buffer.from(parallel[r]!.buffer).equals(Buffer.from(parallel[0]!.buffer)),
          `rank ${r} differs from rank 0`,
        );
      }
      // Training moved the weights, so the comparison below is not trivially true.
      assert.ok(
        updateNorm(single, initial) > 1e-3,
        `weights did not change (update norm ${updateNorm(single, initial)})`,
      );
      // Tolerance: the two runs sum the same per-sample gradients in different
      // orders (mean of per-worker means vs mean over the union) — float32 rounding.
      const diff = updateDifference(parallel[0]!, single, initial);
      assert.ok(diff < 1e-4, `the N-worker update differs from the 1-worker update by ${diff} (relative)`);
      console.log(`# ${workers} workers (${label}): relative update difference ${diff.toExponential(2)}`);
    });
  }
});
