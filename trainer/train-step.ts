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
import type { TransformerNet } from "../model/transformer-net.js";
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

/**
 * Images one forward+backward pass may hold. wasm32 addresses at most 4 GiB
 * and tfjs keeps every activation of the step for the backward pass:
 * measured ≈2.3 GiB of wasm heap for one 256×256 image (0.9 GiB at 128×128),
 * so the wasm engine cannot hold the paper's 256×256 batch of 4 at once.
 * Other engines take the whole batch.
 */
export function imagesPerPass(engine: string, size: number, batch: number): number {
  if (engine !== "wasm") return batch;
  const bytesPerImage = 36e3 * size * size;
  return Math.max(1, Math.min(batch, Math.floor(3e9 / bytesPerImage)));
}

/**
 * computeGradients over a batch in passes of at most `perPass` images,
 * combined with weights part/N. Every loss term is a mean over images and
 * instance norm works per image, so this is the batch gradient (to float
 * rounding); with batch norm it is not (its statistics span the pass only).
 */
export async function computeGradientsInPasses(
  setup: TrainStepSetup,
  content: tf.Tensor4D,
  perPass: number,
): Promise<StepGradients> {
  const [n, h, w, c] = content.shape;
  if (perPass >= n) return computeGradients(setup, content);
  let sum: Map<string, tf.Tensor> | undefined;
  const loss = { total: 0, content: 0, style: 0, tv: 0 };
  for (let start = 0; start < n; start += perPass) {
    const size = Math.min(perPass, n - start);
    const part = tf.slice(content, [start, 0, 0, 0], [size, h, w, c]);
    const result = await computeGradients(setup, part);
    part.dispose();
    const weight = size / n;
    for (const k of ["total", "content", "style", "tv"] as const) loss[k] += result.loss[k] * weight;
    const next = new Map<string, tf.Tensor>();
    for (const [name, g] of result.grads) {
      const scaled = tf.mul(g, weight);
      const prev = sum?.get(name);
      next.set(name, prev ? tf.add(prev, scaled) : scaled);
      if (prev) tf.dispose([prev, scaled]);
      g.dispose();
    }
    sum = next;
  }
  return { loss, grads: sum ?? new Map() };
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
