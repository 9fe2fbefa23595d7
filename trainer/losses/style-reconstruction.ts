import * as tf from "@tensorflow/tfjs-core";
import type { Vgg16, VggLayer } from "../loss-network/vgg16.js";

/**
 * Gram matrix, eq. 3 of the paper: G_j^φ(x)_{c,c'} = Σ_{h,w} φ_j(x)_{h,w,c} φ_j(x)_{h,w,c'} / (C_j·H_j·W_j).
 * Reshaping φ_j(x) to ψ of shape C_j × H_jW_j gives G = ψψᵀ / (C_j·H_j·W_j).
 * Input [N, H, W, C] (NHWC, so ψ here is the transpose: G = ψᵀψ), output [N, C, C].
 */
export function gramMatrix(phi: tf.Tensor4D): tf.Tensor3D {
  const [n, h, w, c] = phi.shape;
  return tf.tidy(() => {
    const psi = tf.reshape(phi, [n, h * w, c]);
    return tf.div(tf.matMul(psi, psi, true, false), c * h * w);
  });
}

/** Gram matrices of the style image at each style layer, [1, C, C] each. */
export type StyleTargets = Map<VggLayer, tf.Tensor3D>;

/**
 * Style reconstruction loss, eq. 4 of the paper, summed over the style
 * layers J (section 3.2):
 *
 *   ℓ_style^{φ,J}(ŷ, y_s) = Σ_{j∈J} ‖G_j^φ(ŷ) − G_j^φ(y_s)‖²_F
 *
 * Per image, averaged over the batch. The Gram matrices are C_j × C_j
 * whatever the image sizes, so the style image may differ in size from ŷ.
 * A target of batch 1 applies to every image of the batch.
 */
export function styleReconstructionLoss(
  phiYHat: ReadonlyMap<VggLayer, tf.Tensor4D>,
  targets: StyleTargets,
  layers: readonly VggLayer[] = [...targets.keys()],
): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Scalar = tf.scalar(0);
    for (const layer of layers) {
      const phi = phiYHat.get(layer);
      const target = targets.get(layer);
      if (phi === undefined || target === undefined) {
        throw new Error(
          `style reconstruction loss: no ${phi === undefined ? "activation" : "style target"} for ${layer}`,
        );
      }
      const diff = tf.sub(gramMatrix(phi), target);
      // ‖·‖²_F per image, then the batch mean.
      total = tf.add(total, tf.mean(tf.sum(tf.square(diff), [1, 2])));
    }
    return total;
  });
}

/**
 * The style targets of a job: Gram matrices of the style image's VGG-16
 * activations. Called once per job, before the first step; the tensors are
 * kept (outside any tidy) until the caller disposes them.
 *
 * @param styleImage RGB in [0, 255], [1, H, W, 3]; any size (the paper
 *   keeps the style image's own size, or resizes it to the training size).
 */
export function computeStyleTargets(
  vgg: Vgg16,
  styleImage: tf.Tensor4D,
  layers: readonly VggLayer[],
): StyleTargets {
  if (styleImage.shape[0] !== 1)
    throw new Error(`style image must be a batch of 1, got ${styleImage.shape[0]}`);
  const grams = tf.tidy(() => {
    const features = vgg.features(styleImage, layers);
    return layers.map((layer) => {
      const phi = features.get(layer);
      if (phi === undefined) throw new Error(`VGG-16 returned no ${layer}`);
      return gramMatrix(phi);
    });
  });
  return new Map(layers.map((layer, i) => [layer, grams[i] as tf.Tensor3D]));
}

export function disposeStyleTargets(targets: StyleTargets): void {
  for (const t of targets.values()) t.dispose();
}
