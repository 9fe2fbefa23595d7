import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../../../trainer/engine/engines.js";
import { loadVgg16 } from "../../../trainer/loss-network/load.js";
import {
  computeStyleTargets,
  featureReconstructionLoss,
  gramMatrix,
  styleReconstructionLoss,
  totalLoss,
  totalVariationLoss,
} from "../../../trainer/losses/index.js";

/**
 * φ(ŷ) of shape 1×2×2×2 (N, H, W, C):
 *   (h0,w0) = [1, 2]   (h0,w1) = [3, 4]
 *   (h1,w0) = [5, 6]   (h1,w1) = [7, 8]
 * so channel 0 reads [1, 3, 5, 7] and channel 1 reads [2, 4, 6, 8].
 */
const phiYHat = (): tf.Tensor4D => tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
const ones = (): tf.Tensor4D => tf.ones([1, 2, 2, 2]) as tf.Tensor4D;
const value = (t: tf.Tensor): number => t.dataSync()[0] ?? NaN;

function close(actual: number, expected: number, tol = 1e-5): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${actual} ≉ ${expected}`);
}

describe("losses (hand-computed on 1×2×2×2)", () => {
  before(async () => {
    await initEngine("cpu");
  });

  it("feature reconstruction loss, eq. 2: ‖φ(ŷ)−φ(y)‖² / (C·H·W)", () => {
    // φ(ŷ) − 1 = 0..7; Σ squares = 0+1+4+9+16+25+36+49 = 140; C·H·W = 8 → 17.5.
    close(value(featureReconstructionLoss(phiYHat(), ones())), 17.5);
  });

  it("feature reconstruction loss averages over the batch", () => {
    // Second image equals its target (loss 0): (17.5 + 0) / 2.
    const a = tf.concat([phiYHat(), ones()]);
    const b = tf.concat([ones(), ones()]);
    close(value(featureReconstructionLoss(a, b)), 8.75);
  });

  it("Gram matrix, eq. 3: ψψᵀ / (C·H·W)", () => {
    // G00 = 1+9+25+49 = 84, G01 = 2+12+30+56 = 100, G11 = 4+16+36+64 = 120; / 8.
    const g = gramMatrix(phiYHat());
    assert.deepEqual(g.shape, [1, 2, 2]);
    assert.deepEqual([...g.dataSync()], [10.5, 12.5, 12.5, 15]);
  });

  it("style reconstruction loss, eq. 4: squared Frobenius norm of the Gram difference", () => {
    // Gram of ones = 4/8 = 0.5 everywhere; difference [[10, 12], [12, 14.5]];
    // 100 + 144 + 144 + 210.25 = 598.25.
    const targets = new Map([["relu1_2" as const, gramMatrix(ones())]]);
    close(value(styleReconstructionLoss(new Map([["relu1_2", phiYHat()]]), targets)), 598.25);
  });

  it("style reconstruction loss works when the style image is smaller than the output", () => {
    // Style features 1×1×1×2 = [3, 4]: Gram [[9, 12], [12, 16]] / (2·1·1) = [[4.5, 6], [6, 8]].
    // Difference to [[10.5, 12.5], [12.5, 15]]: [[6, 6.5], [6.5, 7]] → 36 + 42.25 + 42.25 + 49 = 169.5.
    const targets = new Map([["relu2_2" as const, gramMatrix(tf.tensor4d([3, 4], [1, 1, 1, 2]))]]);
    close(value(styleReconstructionLoss(new Map([["relu2_2", phiYHat()]]), targets)), 169.5);
  });

  it("style reconstruction loss sums over layers", () => {
    const targets = new Map([
      ["relu1_2" as const, gramMatrix(ones())],
      ["relu2_2" as const, gramMatrix(tf.tensor4d([3, 4], [1, 1, 1, 2]))],
    ]);
    const phi = new Map([
      ["relu1_2" as const, phiYHat()],
      ["relu2_2" as const, phiYHat()],
    ]);
    close(value(styleReconstructionLoss(phi, targets)), 598.25 + 169.5);
  });

  it("total variation loss: squared neighbour differences, summed", () => {
    // Horizontal: [3,4]−[1,2] and [7,8]−[5,6] are all 2 → 4 × 4 = 16.
    // Vertical:   [5,6]−[1,2] and [7,8]−[3,4] are all 4 → 4 × 16 = 64. Total 80.
    close(value(totalVariationLoss(phiYHat())), 80);
    close(value(totalVariationLoss(ones())), 0);
  });

  it("total loss λc·ℓfeat + λs·ℓstyle + λtv·ℓTV returns each term", () => {
    const terms = totalLoss(
      { content: tf.scalar(17.5), style: tf.scalar(598.25), tv: tf.scalar(80) },
      { content: 1, style: 2, tv: 0.5 },
    );
    // 17.5 + 1196.5 + 40 = 1254.
    close(value(terms.total), 1254);
    close(value(terms.content), 17.5);
    close(value(terms.style), 598.25);
    close(value(terms.tv), 80);
  });

  it("style targets: one C×C Gram per layer, zero style loss for the style image itself", async () => {
    const vgg = await loadVgg16({ random: true, seed: 3 });
    const layers = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] as const;
    const style = tf.randomUniform([1, 16, 24, 3], 0, 255, "float32", 1) as tf.Tensor4D;
    const targets = computeStyleTargets(vgg, style, layers);
    assert.deepEqual(
      [...targets].map(([l, g]) => [l, g.shape]),
      [
        ["relu1_2", [1, 64, 64]],
        ["relu2_2", [1, 128, 128]],
        ["relu3_3", [1, 256, 256]],
        ["relu4_3", [1, 512, 512]],
      ],
    );
    const self = tf.tidy(() => value(styleReconstructionLoss(vgg.features(style, layers), targets)));
    close(self, 0);
    // A differently sized image still gets a well-defined loss against the same targets.
    const other = tf.randomUniform([2, 8, 8, 3], 0, 255, "float32", 2) as tf.Tensor4D;
    const loss = tf.tidy(() => value(styleReconstructionLoss(vgg.features(other, layers), targets)));
    assert.ok(Number.isFinite(loss) && loss > 0);
    vgg.dispose();
  });
});
