// The whole training step as one ONNX graph (onnxruntime engine, CPU EP)
// against the reference tfjs cpu engine on the real architecture: the four
// loss terms and all 62 gradients, for both normalisations and both
// upsamplings, with a random VGG-16 in both input conventions.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../../../../trainer/engine/engines.js";
import { loadVgg16 } from "../../../../trainer/loss-network/load.js";
import type { Vgg16 } from "../../../../trainer/loss-network/vgg16.js";
import {
  computeStyleTargets,
  disposeStyleTargets,
  type StyleTargets,
} from "../../../../trainer/losses/index.js";
import { flattenTensors, readNamed } from "../../../../model/parameters.js";
import { TransformerNet } from "../../../../model/transformer-net.js";
import { OnnxTrainer } from "../../../../trainer/onnx/onnx-trainer.js";
import { computeGradients, type TrainStepSetup } from "../../../../trainer/train-step.js";

/**
 * Largest difference per gradient tensor, relative to that tensor's largest
 * magnitude (and per loss term, relative to the term). A conv bias followed
 * by a normalisation has a zero gradient in exact arithmetic (the norm
 * subtracts the mean), and so has a residual block's last β with
 * upsample-conv (a per-channel constant survives reflection padding and
 * convs up to up1's norm, which removes it): both engines return rounding
 * noise there, compared at the scale of the layer's weight (γ) gradient. Both compute
 * in float32 with different summation orders through ~40 layers forward and
 * back; measured ≤ 1.4e-5 here. A wrong rule is off by O(1).
 */
const TOLERANCE = 2e-3;

function largestMagnitude(values: Float32Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

describe("onnxruntime training step against the tfjs cpu engine", () => {
  const losses = new Map<"torch" | "caffe", { vgg: Vgg16; styleTargets: StyleTargets }>();
  const layers = { content: "relu2_2", style: ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] } as const;

  before(async () => {
    await initEngine("cpu");
    for (const convention of ["torch", "caffe"] as const) {
      const vgg = await loadVgg16({ random: true, seed: 3, convention });
      const style = tf.randomUniform([1, 36, 28, 3], 0, 255, "float32", 4) as tf.Tensor4D;
      losses.set(convention, { vgg, styleTargets: computeStyleTargets(vgg, style, layers.style) });
      style.dispose();
    }
  });
  after(() => {
    for (const { vgg, styleTargets } of losses.values()) {
      disposeStyleTargets(styleTargets);
      vgg.dispose();
    }
  });

  for (const normalization of ["instance", "batch"] as const) {
    for (const upsampling of ["upsample-conv", "transpose"] as const) {
      // Each input convention of the VGG-16 weights with two of the four networks.
      const convention = upsampling === "transpose" ? "caffe" : "torch";
      it(`loss terms and 62 gradients match (${normalization} norm, ${upsampling}, ${convention} VGG-16, 2×16×20)`, async (t) => {
        const { vgg, styleTargets } = losses.get(convention)!;
        const net = new TransformerNet({ normalization, upsampling, seed: 9 });
        const setup: TrainStepSetup = {
          net,
          vgg,
          styleTargets,
          layers,
          weights: { content: 1, style: 5, tv: 1e-4 },
        };
        const content = tf.randomUniform([2, 16, 20, 3], 0, 255, "float32", 5) as tf.Tensor4D;
        const buffersBefore = await readNamed(net.buffers);
        const want = await computeGradients(setup, content);
        const wantBuffers = await readNamed(net.buffers);
        // Back to the statistics before the tfjs pass, for the onnx pass to update.
        for (const [name, v] of net.buffers) v.assign(tf.tensor(buffersBefore.get(name)!.data, v.shape));
        const trainer = new OnnxTrainer(setup, { provider: "cpu", threads: 1 });
        try {
          const got = await trainer.computeGradients((await content.data()) as Float32Array, [2, 16, 20, 3]);
          for (const k of ["total", "content", "style", "tv"] as const) {
            const err = Math.abs(got.loss[k] - want.loss[k]) / Math.abs(want.loss[k]);
            assert.ok(err < TOLERANCE, `${k}: onnx ${got.loss[k]}, tfjs ${want.loss[k]}`);
          }
          const wantFlat = await flattenTensors(want.grads);
          assert.equal(got.flat.length, wantFlat.length);
          assert.equal(want.grads.size, 62);
          const maxAbs = new Map<string, number>();
          let start = 0;
          for (const [name, g] of want.grads) {
            maxAbs.set(name, largestMagnitude(wantFlat.subarray(start, start + g.size)));
            start += g.size;
          }
          let offset = 0;
          let worst = 0;
          for (const [name, g] of want.grads) {
            const zeroInExactArithmetic =
              (name.endsWith(".bias") && name !== "out.conv.bias") ||
              (upsampling === "upsample-conv" && /^res\d\.norm2\.beta$/.test(name));
            const scale = zeroInExactArithmetic
              ? maxAbs.get(name.replace(/bias$/, "weight").replace(/beta$/, "gamma"))!
              : maxAbs.get(name)!;
            let diff = 0;
            for (let i = offset; i < offset + g.size; i++) {
              diff = Math.max(diff, Math.abs(got.flat[i]! - wantFlat[i]!));
            }
            assert.ok(scale > 0, `${name}: the reference gradient is not all zero`);
            assert.ok(
              diff / scale < TOLERANCE,
              `${name}: max |onnx − tfjs| = ${diff}, max |tfjs| = ${scale}`,
            );
            worst = Math.max(worst, diff / scale);
            offset += g.size;
          }
          t.diagnostic(`worst relative gradient difference ${worst.toExponential(2)}`);
          // Batch norm's running statistics move the same way on both engines.
          for (const [name, v] of await readNamed(net.buffers)) {
            const ref = wantBuffers.get(name)!.data;
            const d = Math.max(...v.data.map((x, i) => Math.abs(x - ref[i]!)));
            assert.ok(
              d < 1e-3 * Math.max(1, ...ref.map(Math.abs)),
              `${name}: running statistic differs by ${d}`,
            );
          }
        } finally {
          await trainer.dispose();
          tf.dispose([content, ...want.grads.values()]);
          net.dispose();
        }
      });
    }
  }
});
