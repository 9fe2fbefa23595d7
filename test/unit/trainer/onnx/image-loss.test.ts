// Gatys et al.'s per-iteration evaluation on ONNX Runtime (OnnxImageLoss)
// against tfjs's autodiff of the same loss on the cpu engine: the loss terms
// and the gradient with respect to every pixel.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../../../../trainer/engine/engines.js";
import { loadVgg16 } from "../../../../trainer/loss-network/load.js";
import {
  computeStyleTargets,
  disposeStyleTargets,
  lossValues,
  styleTransferLoss,
} from "../../../../trainer/losses/index.js";
import { OnnxImageLoss, onnxOptionsOf } from "../../../../trainer/onnx/image-loss.js";

/** Relative to the largest magnitude; float32 sums in different orders. A wrong rule is off by O(1). */
const TOLERANCE = 2e-3;
const layers = { content: "relu2_2", style: ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] } as const;
const weights = { content: 1, style: 5, tv: 1e-4 };

function relativeError(want: Float32Array, got: Float32Array): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    worst = Math.max(worst, Math.abs(want[i]! - got[i]!));
  }
  return worst / Math.max(scale, 1e-30);
}

describe("OnnxImageLoss (Gatys et al. on ONNX Runtime)", () => {
  before(async () => {
    await initEngine("cpu");
  });

  it("loss terms and pixel gradient match tfjs's autodiff (caffe VGG-16, 20×16 image)", async () => {
    const vgg = await loadVgg16({ random: true, seed: 21, convention: "caffe" });
    const style = tf.randomUniform([1, 24, 24, 3], 0, 255, "float32", 22) as tf.Tensor4D;
    const content = tf.randomUniform([1, 20, 16, 3], 0, 255, "float32", 23) as tf.Tensor4D;
    const image = tf.randomUniform([1, 20, 16, 3], 0, 255, "float32", 24) as tf.Tensor4D;
    const styleTargets = computeStyleTargets(vgg, style, layers.style);
    const problem = { vgg, styleTargets, layers, weights, dispose: () => undefined };
    const evaluator = await OnnxImageLoss.forProblem(problem, content, { provider: "cpu", threads: 1 });
    try {
      let kept: tf.Scalar[] = [];
      const { value, grad } = tf.valueAndGrad((img: tf.Tensor4D) => {
        const terms = styleTransferLoss(vgg, img, content, styleTargets, layers, weights);
        kept = [terms.content, terms.style, terms.tv].map((t) => tf.keep(t));
        return terms.total;
      })(image);
      const want = await lossValues({ total: value, content: kept[0]!, style: kept[1]!, tv: kept[2]! });
      const wantGradient = (await grad.data()) as Float32Array;
      tf.dispose([value, grad, ...kept]);

      const got = await evaluator.evaluate((await image.data()) as Float32Array);
      for (const term of ["total", "content", "style", "tv"] as const) {
        const err = Math.abs(got.loss[term] - want[term]) / Math.abs(want[term]);
        assert.ok(err < TOLERANCE, `${term}: onnx ${got.loss[term]} vs tfjs ${want[term]}`);
      }
      assert.equal(got.gradient.length, wantGradient.length);
      const err = relativeError(wantGradient, got.gradient);
      assert.ok(err < TOLERANCE, `pixel gradient off by ${err} of its largest magnitude`);
    } finally {
      await evaluator.dispose();
      disposeStyleTargets(styleTargets);
      tf.dispose([style, content, image]);
      vgg.dispose();
    }
  });

  it("is used only when the onnxruntime engine is the one initialised, with at most this machine's cores", () => {
    assert.equal(onnxOptionsOf({ engine: "wasm", threads: 2 }), undefined);
    const options = onnxOptionsOf({ engine: "onnxruntime", provider: "cpu", threads: 1_000 });
    assert.equal(options?.provider, "cpu");
    assert.ok(options !== undefined && options.threads >= 1 && options.threads < 1_000);
  });
});
