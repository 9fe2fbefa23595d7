// The whole training step as one ONNX graph (onnxruntime engine) against the
// reference tfjs cpu engine on the real architecture: the four loss terms
// and all 62 gradients, for both normalisations and both upsamplings, with a
// random VGG-16 in both input conventions. On ONNX Runtime's CPU provider,
// and on its WebGPU provider where that starts (test/support/ort-providers.ts;
// in CI on Mesa's lavapipe).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../../../../trainer/engine/engines.js";
import { loadVgg16 } from "../../../../trainer/loss-network/load.js";
import type { Vgg16 } from "../../../../trainer/loss-network/vgg16.js";
import {
  computeStyleTargets,
  disposeStyleTargets,
  type LossValues,
  type StyleTargets,
} from "../../../../trainer/losses/index.js";
import { flattenTensors, readNamed } from "../../../../model/parameters.js";
import { TransformerNet } from "../../../../model/transformer-net.js";
import { OnnxTrainer } from "../../../../trainer/onnx/onnx-trainer.js";
import { computeGradients, type TrainStepSetup } from "../../../../trainer/train-step.js";
import { ortTestProviders } from "../../../support/ort-providers.js";

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
/**
 * The same bound on ONNX Runtime's WebGPU provider. Measured on Mesa's
 * lavapipe (llvmpipe, Mesa 25.0.7, 2026-11-30): worst relative gradient
 * difference 1.6e-5 (instance norm, upsample-conv; the CPU provider: 1.4e-5),
 * loss terms alike; float32 throughout, only the summation orders differ.
 * A GPU's own kernels may sum differently again; a wrong rule is O(1).
 */
const WEBGPU_TOLERANCE = 2e-3;

function largestMagnitude(values: Float32Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

const layers = { content: "relu2_2", style: ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] } as const;
const SHAPE = [2, 16, 20, 3] as const;
type Normalization = "instance" | "batch";
type Upsampling = "upsample-conv" | "transpose";

/** A random VGG-16 and its style targets per input convention, built once for every provider. */
const losses = new Map<"torch" | "caffe", { vgg: Vgg16; styleTargets: StyleTargets }>();

/** What the tfjs cpu engine computes for one network: loss terms, gradients, batch statistics after the pass. */
interface Reference {
  loss: LossValues;
  /** Gradient tensors' names and sizes, in the network's order. */
  sizes: [string, number][];
  flat: Float32Array;
  buffers: Map<string, { data: Float32Array }>;
}
const references = new Map<string, Promise<Reference>>();

function setupFor(net: TransformerNet, convention: "torch" | "caffe"): TrainStepSetup {
  const { vgg, styleTargets } = losses.get(convention)!;
  return { net, vgg, styleTargets, layers, weights: { content: 1, style: 5, tv: 1e-4 } };
}

/** The content batch, the same on every engine. */
async function contentBatch(): Promise<Float32Array> {
  const content = tf.randomUniform([...SHAPE], 0, 255, "float32", 5) as tf.Tensor4D;
  const data = (await content.data()) as Float32Array;
  content.dispose();
  return data;
}

/** The tfjs cpu engine's step for this network, once per network whatever the providers tested. */
function reference(normalization: Normalization, upsampling: Upsampling, convention: "torch" | "caffe") {
  const key = `${normalization}/${upsampling}`;
  let entry = references.get(key);
  if (entry === undefined) {
    entry = (async () => {
      const net = new TransformerNet({ normalization, upsampling, seed: 9 });
      const content = tf.tensor4d(await contentBatch(), [...SHAPE]);
      try {
        const want = await computeGradients(setupFor(net, convention), content);
        const flat = await flattenTensors(want.grads);
        const sizes: [string, number][] = [...want.grads].map(([name, g]) => [name, g.size]);
        tf.dispose([...want.grads.values()]);
        return { loss: want.loss, sizes, flat, buffers: await readNamed(net.buffers) };
      } finally {
        content.dispose();
        net.dispose();
      }
    })();
    references.set(key, entry);
  }
  return entry;
}

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

for (const { provider, skip } of await ortTestProviders()) {
  const tolerance = provider === "cpu" ? TOLERANCE : WEBGPU_TOLERANCE;
  describe(`onnxruntime training step (${provider} provider) against the tfjs cpu engine`, { skip }, () => {
    for (const normalization of ["instance", "batch"] as const) {
      for (const upsampling of ["upsample-conv", "transpose"] as const) {
        // Each input convention of the VGG-16 weights with two of the four networks.
        const convention = upsampling === "transpose" ? "caffe" : "torch";
        it(`loss terms and 62 gradients match (${normalization} norm, ${upsampling}, ${convention} VGG-16, 2×16×20)`, async (t) => {
          const want = await reference(normalization, upsampling, convention);
          // A fresh network with the same weights and the statistics before the tfjs pass.
          const net = new TransformerNet({ normalization, upsampling, seed: 9 });
          const trainer = new OnnxTrainer(setupFor(net, convention), { provider, threads: 1 });
          try {
            const got = await trainer.computeGradients(await contentBatch(), [...SHAPE]);
            for (const k of ["total", "content", "style", "tv"] as const) {
              const err = Math.abs(got.loss[k] - want.loss[k]) / Math.abs(want.loss[k]);
              assert.ok(err < tolerance, `${k}: onnx ${got.loss[k]}, tfjs ${want.loss[k]}`);
            }
            assert.equal(got.flat.length, want.flat.length);
            assert.equal(want.sizes.length, 62);
            const maxAbs = new Map<string, number>();
            let start = 0;
            for (const [name, size] of want.sizes) {
              maxAbs.set(name, largestMagnitude(want.flat.subarray(start, start + size)));
              start += size;
            }
            let offset = 0;
            let worst = 0;
            for (const [name, size] of want.sizes) {
              const zeroInExactArithmetic =
                (name.endsWith(".bias") && name !== "out.conv.bias") ||
                (upsampling === "upsample-conv" && /^res\d\.norm2\.beta$/.test(name));
              const scale = zeroInExactArithmetic
                ? maxAbs.get(name.replace(/bias$/, "weight").replace(/beta$/, "gamma"))!
                : maxAbs.get(name)!;
              let diff = 0;
              for (let i = offset; i < offset + size; i++) {
                diff = Math.max(diff, Math.abs(got.flat[i]! - want.flat[i]!));
              }
              assert.ok(scale > 0, `${name}: the reference gradient is not all zero`);
              assert.ok(
                diff / scale < tolerance,
                `${name}: max |onnx − tfjs| = ${diff}, max |tfjs| = ${scale}`,
              );
              worst = Math.max(worst, diff / scale);
              offset += size;
            }
            t.diagnostic(`worst relative gradient difference ${worst.toExponential(2)}`);
            // Batch norm's running statistics move the same way on both engines.
            for (const [name, v] of await readNamed(net.buffers)) {
              const ref = want.buffers.get(name)!.data;
              const d = Math.max(...v.data.map((x, i) => Math.abs(x - ref[i]!)));
              assert.ok(
                d < 1e-3 * Math.max(1, ...ref.map(Math.abs)),
                `${name}: running statistic differs by ${d}`,
              );
            }
          } finally {
            await trainer.dispose();
            net.dispose();
          }
        });
      }
    }
  });
}
