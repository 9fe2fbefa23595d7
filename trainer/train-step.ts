import * as tf from "@tensorflow/tfjs-core";
import "./engine/tfjs.js";
import type { Vgg16 } from "./loss-network/vgg16.js";
import {
  type LossLayers,
  type LossValues,
  type LossWeights,
  lossValues,
  styleTransferLoss,
} from "./losses/index.js";
import type { StyleTargets } from "./losses/style-reconstruction.js";
import type { TransformerNet } from "./model/transformer-net.js";
import { Adam, type Optimizer } from "./optimizer/adam.js";

/** Paper section 4.1: Adam, learning rate 1e-3. */
export const PAPER_LEARNING_RATE = 1e-3;

export interface TrainStepSetup {
  net: TransformerNet;
  vgg: Vgg16;
  /** From computeStyleTargets, once per job. */
  styleTargets: StyleTargets;
  layers: LossLayers;
  weights: LossWeights;
}

export interface StepGradients {
  loss: LossValues;
  /** Gradient of the total loss per parameter name, in the network's parameter order (the order of the averaged buffer). */
  grads: Map<string, tf.Tensor>;
}

/**
 * Loss and gradients of one batch, without touching the weights: the part of
 * a step each data-parallel worker does before gradients are averaged.
 *
 * @param content RGB in [0, 255], [N, H, W, 3].
 */
export async function computeGradients(setup: TrainStepSetup, content: tf.Tensor4D): Promise<StepGradients> {
  const { net, vgg, styleTargets, layers, weights } = setup;
  let kept: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const output = net.apply(content, { training: true });
    const terms = styleTransferLoss(vgg, output, content, styleTargets, layers, weights);
    // variableGrads disposes everything but the returned total; keep the
    // per-term scalars for logging.
    kept = [terms.content, terms.style, terms.tv].map((t) => tf.keep(t));
    return terms.total;
  }, [...net.params.values()]);
  const [contentTerm, styleTerm, tvTerm] = kept;
  if (contentTerm === undefined || styleTerm === undefined || tvTerm === undefined)
    throw new Error("loss terms missing");
  const loss = await lossValues({ total: value, content: contentTerm, style: styleTerm, tv: tvTerm });
  tf.dispose([value, ...kept]);

  const ordered = new Map<string, tf.Tensor>();
  for (const [name, v] of net.params) {
    const g = grads[v.name];
    if (g === undefined) throw new Error(`no gradient for parameter ${name}`);
    ordered.set(name, g);
  }
  return { loss, grads: ordered };
}

/** Applies (possibly averaged) gradients by parameter name with the optimizer, which disposes them. */
export function applyGradients(
  net: TransformerNet,
  optimizer: Optimizer,
  grads: Map<string, tf.Tensor>,
): void {
  optimizer.apply(net.params, grads);
}

/** Adam with the paper's learning rate. */
export function createOptimizer(learningRate = PAPER_LEARNING_RATE): Adam {
  return new Adam(learningRate);
}

/** One single-worker step: loss, gradients, Adam update. Returns the loss before the update. */
export async function trainStep(
  setup: TrainStepSetup,
  optimizer: Optimizer,
  content: tf.Tensor4D,
): Promise<LossValues> {
  const { loss, grads } = await computeGradients(setup, content);
  applyGradients(setup.net, optimizer, grads);
  return loss;
}
