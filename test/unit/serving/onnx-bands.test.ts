// Large images on the onnxruntime engine in overlapping bands
// (serving/onnx-bands.ts): the plan (every row's weights sum to 1, every
// contributed row at least HALO rows from a band's cut edge, bands within
// the pixel limit), what the engine refuses (instance norm above the limit,
// batch norm too wide for a band), and ONNX Runtime on a real exported
// batch-norm model, banded against whole: identical.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { FileStore } from "../../../common/storage/index.js";
import { mulberry32 } from "../../../common/mulberry32.js";
import { syntheticPhoto } from "../../support/synthetic-photo.js";
import { initInferenceEngine } from "../../../model/engine/engines.js";
import { exportModel } from "../../../model/model-export.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { HALO, onnxRefusal, planBands, runInBands, widestBanded } from "../../../serving/onnx-bands.js";
import { loadOnnxModel } from "../../../serving/onnx-session.js";

describe("onnxruntime bands", () => {
  it("plans bands within the limit whose weights sum to 1 on every row, away from their cut edges", () => {
    for (const [height, width, maxPixels] of [
      [2048, 2048, 1 << 20],
      [2048, 1532, 1 << 20],
      [640, 64, 64 * 256],
      [36, 64, 64 * 256],
    ] as const) {
      const bands = planBands(height, width, maxPixels);
      const sum = new Float64Array(height);
      for (const b of bands) {
        assert.ok((b.end - b.start) * width <= maxPixels, `band ${b.start}–${b.end} over ${maxPixels}`);
        assert.equal(b.start % 4, 0);
        assert.equal(b.end % 4, 0);
        if (b.start > 0) assert.ok(b.from - b.start >= HALO, `context above ${b.from}: ${b.from - b.start}`);
        if (b.end < height) assert.ok(b.end - b.to >= HALO, `context below ${b.to}: ${b.end - b.to}`);
        for (let y = b.from; y < b.to; y++) sum[y]! += b.weights[y - b.from]!;
      }
      for (let y = 0; y < height; y++) assert.ok(Math.abs(sum[y]! - 1) < 1e-6, `row ${y}: ${sum[y]}`);
    }
    // 2048² at the default limit: 6 bands of ≤ 512 rows (1.5× the whole image's rows).
    assert.equal(planBands(2048, 2048, 1 << 20).length, 6);
    assert.equal(widestBanded(1 << 20), 6096);
    assert.doesNotThrow(() => planBands(512, widestBanded(1 << 20), 1 << 20));
    assert.throws(() => planBands(512, widestBanded(1 << 20) + 4, 1 << 20), /at most 6096 wide/);
  });

  it("refuses instance norm above the limit and batch norm too wide for a band, naming the limit", () => {
    assert.equal(onnxRefusal(1024, 1024, 1 << 20, "instance"), undefined);
    assert.match(
      onnxRefusal(2048, 2048, 1 << 20, "instance") ?? "",
      /STYLEKUBE_ONNX_MAX_PIXELS=1048576 pixels at once.*\?maxSide=1024.*engine wasm/,
    );
    assert.equal(onnxRefusal(2048, 2048, 1 << 20, "batch"), undefined);
    assert.match(onnxRefusal(6100, 200, 1 << 20, "batch") ?? "", /at most 6096 px wide/);
  });

  describe("on ONNX Runtime", () => {
    let dir: string;
    const store = new FileStore({ durable: false });
    before(async () => {
      await initInferenceEngine("cpu");
      dir = mkdtempSync(join(tmpdir(), "onnx-bands-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const exported = async (normalization: "instance" | "batch") => {
      const net = new TransformerNet({ normalization, seed: 5 });
      const random = mulberry32(6);
      for (const v of net.buffers.values()) {
        v.assign(tf.tensor1d(Array.from({ length: v.size }, () => 0.2 + random())));
      }
      const uri = await exportModel(store, pathToFileURL(join(dir, normalization)).href + "/", net, {
        trainedSteps: 0,
        style: "s.jpg",
        imageSize: 16,
      });
      net.dispose();
      return uri;
    };

    it("stylises a tall image in bands exactly like the whole image (batch norm)", async () => {
      const uri = await exported("batch");
      const [h, w] = [640, 64];
      const maxPixels = w * 256; // bands of ≤ 256 rows: 7 of them
      const whole = await loadOnnxModel(store, uri, { providers: ["cpu"], threads: 1, maxPixels: h * w });
      const banded = await loadOnnxModel(store, uri, { providers: ["cpu"], threads: 1, maxPixels });
      const input = syntheticPhoto(h, w, 2);
      const expected = await whole.run(input, h, w);
      const got = await banded.run(input, h, w);
      // The same through runInBands directly on the whole-image runner.
      const direct = await runInBands(input, h, w, maxPixels, whole.run);
      await whole.dispose();
      await banded.dispose();
      assert.equal(planBands(h, w, maxPixels).length, 7);
      let max = 0;
      for (let i = 0; i < expected.length; i++) {
        max = Math.max(max, Math.abs(expected[i]! - got[i]!), Math.abs(expected[i]! - direct[i]!));
      }
      // Fixed statistics: every contributed row is the whole image's (float32 rounding only).
      assert.ok(max < 0.01, `batch norm: max |bands − whole| = ${max}`);
    });

    it("refuses an instance-norm image above the limit instead of splitting it", async () => {
      const model = await loadOnnxModel(store, await exported("instance"), {
        providers: ["cpu"],
        threads: 1,
        maxPixels: 64 * 64,
      });
      await assert.rejects(model.run(syntheticPhoto(128, 64, 3), 128, 64), /STYLEKUBE_ONNX_MAX_PIXELS=4096/);
      assert.equal((await model.run(syntheticPhoto(64, 64, 3), 64, 64)).length, 64 * 64 * 3);
      await model.dispose();
    });
  });
});
