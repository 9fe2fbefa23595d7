import * as tf from "@tensorflow/tfjs-core";

/**
 * Total variation regulariser ℓ_TV(ŷ) (section 3.3, after Mahendran &
 * Vedaldi and Aly & Dubois): for each image, the sum over pixels and
 * channels of squared differences between horizontal and vertical
 * neighbours,
 *
 *   Σ_{i,j,c} (ŷ_{i,j+1,c} − ŷ_{i,j,c})² + (ŷ_{i+1,j,c} − ŷ_{i,j,c})²,
 *
 * averaged over the batch. Squared differences (β = 2) as in Johnson's
 * implementation; a sum rather than a mean, on pixels in [0, 255], which is
 * the scale the paper's λ_TV of 1e-6 … 1e-4 is meant for.
 */
export function totalVariationLoss(images: tf.Tensor4D): tf.Scalar {
  const [n, h, w, c] = images.shape;
  return tf.tidy(() => {
    const dx = tf.sub(
      tf.slice(images, [0, 0, 1, 0], [n, h, w - 1, c]),
      tf.slice(images, [0, 0, 0, 0], [n, h, w - 1, c]),
    );
    const dy = tf.sub(
      tf.slice(images, [0, 1, 0, 0], [n, h - 1, w, c]),
      tf.slice(images, [0, 0, 0, 0], [n, h - 1, w, c]),
    );
    return tf.div(tf.add(tf.sum(tf.square(dx)), tf.sum(tf.square(dy))), n);
  });
}
