import * as tf from "@tensorflow/tfjs-core";

/**
 * Feature reconstruction loss, eq. 2 of the paper:
 *
 *   ℓ_feat^{φ,j}(ŷ, y) = ‖φ_j(ŷ) − φ_j(y)‖²₂ / (C_j·H_j·W_j)
 *
 * for activations [N, H, W, C]; per image, then averaged over the batch.
 * Summing squares over C·H·W and dividing by C·H·W is the mean over those
 * axes, so the whole thing is the mean over all N·H·W·C elements.
 */
export function featureReconstructionLoss(phiYHat: tf.Tensor4D, phiY: tf.Tensor4D): tf.Scalar {
  if (!phiYHat.shape.every((d, i) => d === phiY.shape[i])) {
    throw new Error(
      `feature reconstruction loss: shapes [${phiYHat.shape.join(",")}] and [${phiY.shape.join(",")}] differ`,
    );
  }
  return tf.tidy(() => tf.mean(tf.squaredDifference(phiYHat, phiY)));
}
