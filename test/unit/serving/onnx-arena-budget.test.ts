// The onnxruntime engine's budget for memory its sessions keep between
// requests (serving/onnx-arena-budget.ts): a session whose arena grew past
// the keep limit is recycled after its request, the least recently used
// others when the kept arenas together exceed the budget, and shutdown can
// wait for the recycles under way; and a real ONNX Runtime session recycled
// by it between runs gives the same output.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it } from "node:test";
import { FileStore } from "../../../common/storage/index.js";
import { initInferenceEngine } from "../../../model/engine/engines.js";
import { exportModel } from "../../../model/model-export.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { ArenaBudget, type Recyclable } from "../../../serving/onnx-arena-budget.js";
import { loadOnnxModel, type OnnxModel } from "../../../serving/onnx-session.js";

class FakeSession implements Recyclable {
  recycled = 0;
  finish: (() => void) | undefined;
  constructor(readonly name: string) {}
  recycle(): Promise<void> {
    this.recycled++;
    return new Promise((resolve) => (this.finish = resolve));
  }
}

const names = (sessions: FakeSession[]) => sessions.map((s) => s.name);

describe("onnxruntime arena budget", () => {
  it("recycles a session that ran more than the keep limit, and keeps one that did not", () => {
    const budget = new ArenaBudget<FakeSession>(100, 300);
    const a = new FakeSession("a");
    assert.deepEqual(names(budget.ran(a, 100)), []);
    assert.equal(budget.kept, 100);
    assert.deepEqual(names(budget.ran(a, 101)), ["a"]);
    assert.equal(budget.kept, 0, "a starts again with an empty arena");
    assert.deepEqual(names(budget.ran(a, 50)), []);
    assert.equal(budget.kept, 50);
  });

  it("recycles the least recently used sessions until the kept arenas fit the budget", () => {
    const budget = new ArenaBudget<FakeSession>(100, 250);
    const [a, b, c, d] = ["a", "b", "c", "d"].map((n) => new FakeSession(n)) as [
      FakeSession,
      FakeSession,
      FakeSession,
      FakeSession,
    ];
    assert.deepEqual(names(budget.ran(a, 100)), []);
    assert.deepEqual(names(budget.ran(b, 100)), []);
    assert.deepEqual(names(budget.ran(a, 20)), [], "a's high-water mark stays 100; a is now the most recent");
    assert.equal(budget.kept, 200);
    // c brings the total to 300 > 250: b, least recently used, goes.
    assert.deepEqual(names(budget.ran(c, 100)), ["b"]);
    assert.equal(budget.kept, 200);
    // d: 300 again; a is now the least recently used with an arena.
    assert.deepEqual(names(budget.ran(d, 100)), ["a"]);
    assert.equal(budget.kept, 200);
    budget.forget(c);
    assert.equal(budget.kept, 100);
  });

  it("recycles through afterRun and settles when every recycle has finished", async () => {
    const budget = new ArenaBudget<FakeSession>(100, 100);
    const a = new FakeSession("a");
    budget.afterRun(a, 400);
    assert.equal(a.recycled, 1);
    let settled = false;
    const waiting = budget.settled().then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, "a's recycle is still under way");
    a.finish?.();
    await waiting;
    assert.equal(settled, true);
  });

  it("recycles a real ONNX Runtime session between runs without changing its output", async () => {
    await initInferenceEngine("cpu");
    const dir = mkdtempSync(join(tmpdir(), "onnx-arena-"));
    try {
      const net = new TransformerNet({ seed: 3 });
      const uri = await exportModel(new FileStore({ durable: false }), `${pathToFileURL(dir).href}/m/`, net, {
        trainedSteps: 0,
        style: "a",
        imageSize: 16,
      });
      net.dispose();
      const budget = new ArenaBudget<OnnxModel>(16 * 16, 16 * 16);
      const options = { providers: ["cpu" as const], threads: 1, maxPixels: 64 * 64 };
      const model = await loadOnnxModel(new FileStore({ durable: false }), uri, options, budget);
      let recycled = 0;
      const recycle = model.recycle.bind(model);
      model.recycle = () => (recycled++, recycle());
      const input = new Float32Array(32 * 32 * 3).map((_, i) => (i * 37) % 256);
      const first = await model.run(input, 32, 32);
      assert.equal(recycled, 1, "32² is above the 16² keep limit: recycled after the run");
      await budget.settled();
      const second = await model.run(input, 32, 32);
      assert.deepEqual(second, first);
      assert.equal((await model.run(input.subarray(0, 16 * 16 * 3), 16, 16)).length, 16 * 16 * 3);
      assert.equal(recycled, 2, "16² is kept");
      await model.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
