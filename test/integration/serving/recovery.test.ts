// An inference worker whose run fails is recycled, on
// every engine that runs here (wasm, cpu, onnxruntime): only that request
// fails, the pool counts no healthy worker (so the server's readiness is
// false) until the replacement has its engine and models, and a request
// that arrives meanwhile is served by the replacement. Real worker threads
// and a real exported model; the failure is a run the worker cannot do (a
// model it does not hold), which takes the same path as an engine that
// throws. (Over HTTP, with ONNX Runtime itself failing a run and readiness
// answering 503: onnxruntime.test.ts.)
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, describe, it } from "node:test";
import { createLogger } from "../../../common/log/logger.js";
import { FileStore } from "../../../common/storage/index.js";
import { InferenceError, InferencePool } from "../../../serving/inference-pool.js";
import { trainAndExport } from "./support.js";

const store = new FileStore({ durable: false });
const dir = mkdtempSync(join(tmpdir(), "stylekube-serving-recovery-"));

function image(side: number): { data: Uint8Array; width: number; height: number } {
  return { data: new Uint8Array(side * side * 3).fill(120), width: side, height: side };
}

describe("inference worker recovery", { timeout: 300_000 }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const engine of ["wasm", "cpu", "onnxruntime"] as const) {
    it(`${engine}: recycles a worker whose run failed, fails only that request and is not healthy meanwhile`, async () => {
      const uri = await trainAndExport(store, `${pathToFileURL(dir).href}/${engine}/`, {
        seed: 2,
        style: "r",
      });
      const restarts: string[] = [];
      const pool = await InferencePool.start({
        engine,
        threads: 1,
        log: createLogger("test"),
        onRestart: (reason) => restarts.push(reason),
      });
      try {
        const { modelId } = await pool.load(uri);
        assert.equal(pool.healthy, 1);
        await assert.rejects(pool.run(modelId + 1000, image(16)), InferenceError);
        assert.equal(pool.healthy, 0, "the failed worker takes no more jobs");
        // Queued while the only worker is being replaced; served by the replacement.
        const result = await pool.run(modelId, image(16));
        assert.deepEqual([result.image.width, result.image.height], [16, 16]);
        assert.equal(pool.healthy, 1);
        assert.deepEqual(restarts, ["engine_failed"]);
      } finally {
        await pool.close();
      }
    });
  }
});
