// A batch computed in passes (as the wasm engine must, for memory) gives the
// batch's loss and gradient: the real network at 16×16 on the cpu engine.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../../../trainer/engine/engines.js";
import { loadVgg16 } from "../../../trainer/loss-network/load.js";
import { computeStyleTargets } from "../../../trainer/losses/style-reconstruction.js";
import { flattenTensors } from "../../../model/parameters.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import {
  computeGradients,
  computeGradientsInPasses,
  imagesPerPass,
  type TrainStepSetup,
} from "../../../trainer/train-step.js";

describe("gradients in passes", () => {
  let setup: TrainStepSetup;
  before(async () => {
    await initEngine("cpu");
    const vgg = await loadVgg16({ random: true, seed: 2 });
    const style = tf.randomUniform([1, 16, 16, 3], 0, 255, "float32", 9) as tf.Tensor4D;
    setup = {
      net: new TransformerNet({ seed: 4 }),
      vgg,
      styleTargets: computeStyleTargets(vgg, style, ["relu1_2", "relu2_2"]),
      layers: { content: "relu1_2", style: ["relu1_2", "relu2_2"] },
      weights: { content: 1, style: 5, tv: 1e-6 },
    };
  });

  it("3 images in passes of 2 + 1 = the whole batch", async () => {
    const content = tf.randomUniform([3, 16, 16, 3], 0, 255, "float32", 5) as tf.Tensor4D;
    const whole = await computeGradients(setup, content);
    const parts = await computeGradientsInPasses(setup, content, 2);
    assert.ok(Math.abs(parts.loss.total - whole.loss.total) <= 1e-5 * Math.abs(whole.loss.total));
    const a = await flattenTensors(whole.grads);
    const b = await flattenTensors(parts.grads);
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < a.length; i++) {
      diff += (a[i]! - b[i]!) ** 2;
      norm += a[i]! ** 2;
    }
    assert.ok(norm > 0, "the gradient is not zero");
    assert.ok(
      Math.sqrt(diff / norm) < 1e-5,
      `passes differ from the batch by ${Math.sqrt(diff / norm)} (relative)`,
    );
  });

  it("sizes passes to wasm's 4 GiB only on wasm", () => {
    assert.equal(imagesPerPass("wasm", 256, 4), 1);
    assert.equal(imagesPerPass("wasm", 64, 4), 4);
    assert.equal(imagesPerPass("webgpu", 256, 4), 4);
    assert.equal(imagesPerPass("cpu", 512, 8), 8);
  });
});
