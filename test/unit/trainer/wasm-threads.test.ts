// The threaded wasm engine (model/engine/wasm-threads.ts) against the
// single-threaded one: the same gradient computation of the real
// architecture in two fresh processes (the thread count is fixed when the
// backend first starts), with STYLEKUBE_WASM_THREADS=1 and =2. XNNPACK
// splits work by output tiles, never inside a sum, so the results must be
// bit-identical — threads are a pure speed-up (docs/benchmarks.md).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";

interface StepResult {
  threads: number;
  loss: Record<string, number>;
  grads: Record<string, string>;
}

function runStep(threads: number): StepResult {
  const r = spawnSync(process.execPath, ["--import", "tsx", "test/fixtures/wasm-step.ts"], {
    env: { ...process.env, STYLEKUBE_WASM_THREADS: String(threads), STYLEKUBE_LOG_LEVEL: "error" },
    encoding: "utf8",
    maxBuffer: 1 << 26,
    timeout: 300_000,
  });
  assert.equal(r.status, 0, `worker with ${threads} thread(s) failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as StepResult;
}

describe("wasm engine threads", () => {
  it("2 threads compute exactly what 1 thread computes (loss and all 62 gradients)", () => {
    const one = runStep(1);
    const two = runStep(2);
    assert.equal(one.threads, 1);
    assert.equal(two.threads, 2, "the threaded build started with 2 XNNPACK threads");
    assert.deepEqual(two.loss, one.loss);
    assert.equal(Object.keys(one.grads).length, 62);
    for (const [name, bytes] of Object.entries(one.grads)) {
      assert.equal(two.grads[name], bytes, `gradient of ${name} differs between 1 and 2 threads`);
    }
  });
});
