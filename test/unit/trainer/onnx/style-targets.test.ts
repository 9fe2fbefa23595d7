// The onnxruntime engine's style targets G(y_s) against the tfjs cpu
// engine's computeStyleTargets, for both input conventions of VGG-16.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../../../../trainer/engine/engines.js";
import { loadVgg16 } from "../../../../trainer/loss-network/load.js";
import { computeStyleTargets, disposeStyleTargets } from "../../../../trainer/losses/index.js";
import { computeStyleTargetsOnnx } from "../../../../trainer/onnx/style-targets.js";

/** Both sum ~C·H·W float32 products in different orders; a wrong layer or layout is off by O(1). */
const TOLERANCE = 1e-4;
const LAYERS = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] as const;

describe("style targets on ONNX Runtime", () => {
  before(async () => {
    await initEngine("cpu");
  });

  for (const convention of ["torch", "caffe"] as const) {
    it(`match computeStyleTargets at every style layer (${convention} VGG-16, 40×28 style image)`, async () => {
      const vgg = await loadVgg16({ random: true, seed: 11, convention });
      const style = tf.randomUniform([1, 40, 28, 3], 0, 255, "float32", 12) as tf.Tensor4D;
      const want = computeStyleTargets(vgg, style, LAYERS);
      const data = (await style.data()) as Float32Array;
      const got = await computeStyleTargetsOnnx(vgg, { data, height: 40, width: 28 }, LAYERS, {
        provider: "cpu",
        threads: 1,
      });
      try {
        assert.deepEqual([...got.keys()], [...LAYERS]);
        for (const layer of LAYERS) {
          const w = (await want.get(layer)!.data()) as Float32Array;
          const g = (await got.get(layer)!.data()) as Float32Array;
          assert.deepEqual(got.get(layer)!.shape, want.get(layer)!.shape, layer);
          let scale = 0;
          let worst = 0;
          for (let i = 0; i < w.length; i++) {
            scale = Math.max(scale, Math.abs(w[i]!));
            worst = Math.max(worst, Math.abs(w[i]! - g[i]!));
          }
          assert.ok(scale > 0, `${layer}: the reference Gram matrix is all zeros`);
          assert.ok(worst / scale < TOLERANCE, `${layer}: off by ${worst} (scale ${scale})`);
        }
      } finally {
        disposeStyleTargets(want);
        disposeStyleTargets(got);
        style.dispose();
        vgg.dispose();
      }
    });
  }
});
