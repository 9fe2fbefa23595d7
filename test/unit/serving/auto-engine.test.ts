// The model server's engine "auto" (serving/inference-worker.ts) tries tfjs's
// webgpu first, on a hardware adapter only: where Dawn's only adapter is a
// software one (Mesa's lavapipe, as CI installs, or SwiftShader) or there is
// none, it starts ONNX Runtime on the CPU and says why webgpu was skipped.
// A real worker thread.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "../../../common/log/logger.js";
import { dawnAdapter } from "../../../model/engine/webgpu.js";
import { InferencePool } from "../../../serving/inference-pool.js";

describe("the model server's engine auto", () => {
  it("never picks a software WebGPU adapter", async () => {
    const adapter = await dawnAdapter((s) => import(s) as Promise<unknown>).catch((err: unknown) =>
      err instanceof Error ? err.message : String(err),
    );
    const pool = await InferencePool.start({ engine: "auto", threads: 1, log: createLogger("test") });
    try {
      const engine = pool.engine;
      assert.ok(engine !== undefined);
      if (typeof adapter !== "string" && !adapter.software) {
        assert.equal(engine.engine, "webgpu", `hardware adapter ${adapter.name}`);
        return;
      }
      assert.deepEqual([engine.engine, engine.provider], ["onnxruntime", "cpu"]);
      const why = engine.skipped?.find((s) => s.startsWith("webgpu: ")) ?? "";
      if (typeof adapter === "string") assert.match(why, /no WebGPU adapter found|could not be loaded/);
      else {
        assert.match(why, /software \(CPU-emulated\)/);
        assert.ok(why.includes(adapter.name.slice(0, 12)), `${why} names the adapter ${adapter.name}`);
      }
    } finally {
      await pool.close();
    }
  });
});
