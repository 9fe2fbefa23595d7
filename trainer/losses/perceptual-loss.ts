import * as tf from "@tensorflow/tfjs-core";
import type { Vgg16, VggLayer } from "../loss-network/vgg16.js";
import { featureReconstructionLoss } from "./feature-reconstruction.js";
import { type StyleTargets, styleReconstructionLoss } from "./style-reconstruction.js";
import { totalVariationLoss } from "./total-variation.js";

export interface LossWeights {
  /** λc */
  content: number;
  /** λs */
  style: number;
  /** λTV */
  tv: number;
}

export interface LossLayers {
  content: VggLayer;
  style: readonly VggLayer[];
}

/** The weighted total and each unweighted term, as scalars (for the gradient and for logging). */
export interface LossTerms {
  total: tf.Scalar;
  content: tf.Scalar;
  style: tf.Scalar;
  tv: tf.Scalar;
}

/** The same as numbers, for logs and StyleTraining.status.progress.loss. */
export interface LossValues {
  total: number;
  content: number;
  style: number;
  tv: number;
}

/** λc·ℓfeat + λs·ℓstyle + λtv·ℓTV (section 3.3 / 4.1). */
export function totalLoss(terms: Omit<LossTerms, "total">, weights: LossWeights): LossTerms {
  const total = tf.tidy(() =>
    tf.addN([
      tf.mul(terms.content, weights.content),
      tf.mul(terms.style, weights.style),
      tf.mul(terms.tv, weights.tv),
    ]),
  ) as tf.Scalar;
  return { total, ...terms };
}

/**
 * All loss terms of style transfer for one batch: ŷ = the network's output,
 * y_c = the content images (the network's input, the content target of the
 * paper), y_s given by the precomputed style targets. VGG-16 runs once on ŷ
 * (up to the deepest layer any term needs) and once on y_c (up to the
 * content layer only). Not wrapped in tidy: call inside the gradient scope.
 */
export function styleTransferLoss(
  vgg: Vgg16,
  output: tf.Tensor4D,
  content: tf.Tensor4D,
  styleTargets: StyleTargets,
  layers: LossLayers,
  weights: LossWeights,
): LossTerms {
  const outputFeatures = vgg.features(output, [...new Set([layers.content, ...layers.style])]);
  const contentTarget = vgg.features(content, [layers.content]).get(layers.content);
  const outputContent = outputFeatures.get(layers.content);
  if (contentTarget === undefined || outputContent === undefined)
    throw new Error(`VGG-16 returned no ${layers.content}`);
  return totalLoss(
    {
      content: featureReconstructionLoss(outputContent, contentTarget),
      style: styleReconstructionLoss(outputFeatures, styleTargets, layers.style),
      tv: totalVariationLoss(output),
    },
    weights,
  );
}

export async function lossValues(terms: LossTerms): Promise<LossValues> {
  const [total, content, style, tv] = await Promise.all([
    terms.total.data(),
    terms.content.data(),
    terms.style.data(),
    terms.tv.data(),
  ]);
  return { total: total[0] ?? NaN, content: content[0] ?? NaN, style: style[0] ?? NaN, tv: tv[0] ?? NaN };
}
