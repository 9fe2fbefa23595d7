// The optimisation-based style transfer of Gatys et al. (2016), the paper's
// baseline (section 4.1): the image itself is the variable, minimising the
// same λ-weighted loss the networks are trained with (same VGG-16, layers
// and weights), by projected L-BFGS (pixels clipped to [0, 255] after every
// step, as the paper does for a fair comparison with the network's bounded
// output) or by Adam.
import * as tf from "@tensorflow/tfjs-core";
import { mulberry32 } from "../../common/mulberry32.js";
import type { Vgg16 } from "../loss-network/vgg16.js";
import {
  type LossLayers,
  type LossValues,
  type LossWeights,
  lossValues,
  styleTransferLoss,
} from "../losses/perceptual-loss.js";
import type { StyleTargets } from "../losses/style-reconstruction.js";
import { Adam } from "../optimizer/adam.js";
import { dot, Lbfgs } from "./lbfgs.js";

export type GatysMethod = "lbfgs" | "adam";
/**
 * noise: the ImageNet mean colour plus white noise of tiny amplitude, as
 * neural-style (the paper's authors' Gatys implementation) starts; content:
 * the content photo itself.
 */
export type GatysInit = "noise" | "content";

export const GATYS_DEFAULT_LEARNING_RATE: Record<GatysMethod, number> = {
  lbfgs: 1,
  // Pixels are in [0, 255]: a step of ≈2 grey levels per iteration.
  adam: 2,
};

export interface GatysOptions {
  vgg: Vgg16;
  /** The content photo y_c, RGB in [0, 255], [1, H, W, 3]; the output has its size. */
  content: tf.Tensor4D;
  styleTargets: StyleTargets;
  layers: LossLayers;
  weights: LossWeights;
  method: GatysMethod;
  iterations: number;
  learningRate?: number;
  init?: GatysInit;
  seed?: number;
  /**
   * The loss and pixel gradient of an image; by default tfjs on the current
   * backend. The onnxruntime engine passes OnnxImageLoss's (trainer/onnx/).
   */
  evaluate?: (image: Float32Array) => Promise<Evaluated>;
  /** Called with the loss of the image after `iteration` updates (0 = the start), after every iteration. */
  onIteration?: (iteration: number, loss: LossValues, seconds: number) => void;
}

export interface GatysResult {
  /** RGB in [0, 255], H×W×3 row-major. */
  image: Float32Array;
  loss: LossValues;
  iterations: number;
  seconds: number;
}

const IMAGENET_MEAN_RGB = [123.68, 116.779, 103.939] as const;

export function initialImage(content: tf.Tensor4D, init: GatysInit, seed: number): Float32Array {
  if (init === "content") return content.dataSync() as Float32Array;
  const rand = mulberry32(seed);
  const out = new Float32Array(content.size);
  for (let i = 0; i < out.length; i++) out[i] = IMAGENET_MEAN_RGB[i % 3]! + (rand() - 0.5) * 2;
  return out;
}

function clipToPixels(x: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i] = Math.min(255, Math.max(0, x[i]!));
}

/** The loss of `image` and its gradient with respect to the pixels. */
export interface Evaluated {
  loss: LossValues;
  gradient: Float32Array;
}

async function lossAndGradient(options: GatysOptions, image: Float32Array): Promise<Evaluated> {
  if (options.evaluate !== undefined) return options.evaluate(image);
  const { vgg, content, styleTargets, layers, weights } = options;
  const x = tf.tensor4d(image, content.shape);
  let kept: tf.Scalar[] = [];
  const { value, grad } = tf.valueAndGrad((img: tf.Tensor4D) => {
    const terms = styleTransferLoss(vgg, img, content, styleTargets, layers, weights);
    kept = [terms.content, terms.style, terms.tv].map((t) => tf.keep(t));
    return terms.total;
  })(x);
  const [c, s, tv] = kept;
  const loss = await lossValues({ total: value, content: c!, style: s!, tv: tv! });
  const gradient = (await grad.data()) as Float32Array;
  tf.dispose([x, value, grad, ...kept]);
  return { loss, gradient };
}

/** Backtracking halvings of an L-BFGS step before the iteration gives up. */
const MAX_BACKTRACKS = 12;

/** Runs Gatys et al.'s optimisation for `iterations` updates and returns the image and its loss. */
export async function optimizeImage(options: GatysOptions): Promise<GatysResult> {
  const lr = options.learningRate ?? GATYS_DEFAULT_LEARNING_RATE[options.method];
  let image = initialImage(options.content, options.init ?? "noise", options.seed ?? 0);
  const start = performance.now();
  const seconds = (): number => (performance.now() - start) / 1000;
  let current = await lossAndGradient(options, image);
  options.onIteration?.(0, current.loss, seconds());
  let done = 0;
  if (options.method === "lbfgs") {
    const lbfgs = new Lbfgs();
    for (; done < options.iterations;) {
      const d = lbfgs.direction(current.gradient);
      // The first direction is the raw gradient: scale it so no pixel moves
      // by more than a few grey levels; later ones carry L-BFGS's curvature.
      let t = lbfgs.pairs === 0 ? (lr * 8) / Math.max(1e-12, maxAbs(d)) : lr;
      let accepted: { image: Float32Array; evaluated: Evaluated } | undefined;
      for (let k = 0; k < MAX_BACKTRACKS && accepted === undefined; k++, t /= 2) {
        const candidate = clipped(image.map((v, i) => v + t * d[i]!));
        const evaluated = await lossAndGradient(options, candidate);
        // Armijo on the step actually taken (after clipping).
        const step = candidate.map((v, i) => v - image[i]!);
        if (evaluated.loss.total <= current.loss.total + 1e-4 * dot(current.gradient, step))
          accepted = { image: candidate, evaluated };
      }
      if (accepted === undefined) break; // no decrease along the direction: converged
      const s = accepted.image.map((v, i) => v - image[i]!);
      const y = accepted.evaluated.gradient.map((v, i) => v - current.gradient[i]!);
      lbfgs.remember(s, y);
      image = accepted.image;
      current = accepted.evaluated;
      done++;
      options.onIteration?.(done, current.loss, seconds());
    }
  } else {
    const adam = new Adam(lr);
    const variable = tf.variable(tf.tensor4d(image, options.content.shape), false);
    try {
      for (; done < options.iterations;) {
        const grads = new Map([["image", tf.tensor4d(current.gradient, options.content.shape)]]);
        adam.apply(new Map([["image", variable]]), grads);
        image = clipped(await variable.data());
        const projected = tf.tensor4d(image, options.content.shape);
        variable.assign(projected);
        projected.dispose();
        current = await lossAndGradient(options, image);
        done++;
        options.onIteration?.(done, current.loss, seconds());
      }
    } finally {
      variable.dispose();
    }
  }
  return { image, loss: current.loss, iterations: done, seconds: seconds() };
}

function maxAbs(values: Float32Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

function clipped(values: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(values);
  clipToPixels(out);
  return out;
}
