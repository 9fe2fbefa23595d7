// What the command-line tools need to evaluate or minimise the paper's loss
// for single images: the frozen VGG-16, the style image's Gram targets at a
// chosen size, and the content photo resized to the generated image's size
// (as `stylekube loss` and Gatys's optimisation compare them).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import * as tf from "@tensorflow/tfjs-core";
import sharp from "sharp";
import { HyperparametersSchema, type VggLayer } from "../../common/api/index.js";
import { decodeRgb, rgbToFloat } from "../../common/images/codec.js";
import { openStore } from "../../common/storage/index.js";
import { loadVgg16 } from "../loss-network/load.js";
import { defaultWeightsDir, vgg16CachePath } from "../loss-network/pull.js";
import type { Vgg16 } from "../loss-network/vgg16.js";
import {
  type LossLayers,
  type LossValues,
  type LossWeights,
  lossValues,
  styleTransferLoss,
} from "../losses/perceptual-loss.js";
import { computeStyleTargets, type StyleTargets } from "../losses/style-reconstruction.js";
import type { OnnxTrainerOptions } from "../onnx/onnx-trainer.js";
import { computeStyleTargetsOnnx } from "../onnx/style-targets.js";

/** The environment variable the CLI tools read the VGG-16 weights URI from when no flag gives it. */
export const VGG16_WEIGHTS_ENV = "STYLEKUBE_VGG16_WEIGHTS";

/** The paper's layers and the project's default λs (common/api/style-training.ts). */
export function defaultLossSettings(): { layers: LossLayers; weights: LossWeights } {
  const hp = HyperparametersSchema.parse({});
  return {
    layers: { content: hp.contentLayer, style: hp.styleLayers as VggLayer[] },
    weights: { content: hp.contentWeight, style: hp.styleWeight, tv: hp.tvWeight },
  };
}

/** Reads a local path or any URI the project's storage reads (file://, s3://). */
export async function readImageBytes(pathOrUri: string): Promise<Uint8Array> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(pathOrUri)) return openStore(pathOrUri).getBytes(pathOrUri);
  return readFile(pathOrUri);
}

/**
 * An image as a [1, H, W, 3] tensor in [0, 255]. `maxSide` scales the longer
 * side down (never up); `fill` resizes to exactly that size, aspect ratio
 * not kept (libvips's filter, not a bilinear tensor resize, so a large photo
 * shrunk a lot does not alias).
 */
export async function imageTensor(
  pathOrUri: string,
  resize: { maxSide?: number; fill?: { width: number; height: number } } = {},
): Promise<tf.Tensor4D> {
  let bytes = await readImageBytes(pathOrUri);
  if (resize.fill !== undefined) {
    bytes = await sharp(bytes)
      .rotate()
      .resize(resize.fill.width, resize.fill.height, { fit: "fill" })
      .png()
      .toBuffer();
  }
  const rgb = await decodeRgb(bytes, resize.maxSide !== undefined ? { maxSide: resize.maxSide } : {});
  return tf.tensor4d(rgbToFloat(rgb), [1, rgb.height, rgb.width, 3]);
}

export interface LossProblem {
  vgg: Vgg16;
  styleTargets: StyleTargets;
  layers: LossLayers;
  weights: LossWeights;
  dispose(): void;
}

export interface LossProblemOptions {
  /** VGG-16 weights URI or path; undefined: vggWeightsOrDefault's default. */
  vggWeights: string | undefined;
  style: string;
  /** Longer side of the style image before its Gram matrices are taken. */
  styleSize: number;
  layers: LossLayers;
  weights: LossWeights;
  /**
   * Set when the onnxruntime engine runs: the style targets come from ONNX
   * Runtime, since that engine's tfjs backend (cpu) is far too slow for
   * VGG-16 on the style image.
   */
  onnx?: OnnxTrainerOptions;
}

export class MissingVggWeightsError extends Error {
  constructor(cachePath: string) {
    super(
      `no VGG-16 weights: none cached at ${cachePath}. Run \`stylekube weights pull vgg16\` once (it fetches ` +
        `and verifies them), or pass --vgg-weights <path or URI>, or set ${VGG16_WEIGHTS_ENV}`,
    );
    this.name = "MissingVggWeightsError";
  }
}

/**
 * The VGG-16 weights of the CLI tools: the one given, else
 * $STYLEKUBE_VGG16_WEIGHTS, else the file `stylekube weights pull vgg16`
 * cached on this machine; MissingVggWeightsError when there is none.
 */
export function vggWeightsOrDefault(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (given !== undefined && given !== "") return given;
  const fromEnv = env[VGG16_WEIGHTS_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const cached = vgg16CachePath(defaultWeightsDir(env));
  if (existsSync(cached)) return cached;
  throw new MissingVggWeightsError(cached);
}

export async function loadLossProblem(options: LossProblemOptions): Promise<LossProblem> {
  const weights = vggWeightsOrDefault(options.vggWeights);
  const vgg = await loadVgg16({
    weights,
    readUri: (uri) => openStore(uri).getBytes(uri),
  });
  const style = await imageTensor(options.style, { maxSide: options.styleSize });
  const [, height, width] = style.shape;
  const styleTargets =
    options.onnx === undefined
      ? computeStyleTargets(vgg, style, options.layers.style)
      : await computeStyleTargetsOnnx(
          vgg,
          { data: (await style.data()) as Float32Array, height, width },
          options.layers.style,
          options.onnx,
        );
  style.dispose();
  return {
    vgg,
    styleTargets,
    layers: options.layers,
    weights: options.weights,
    dispose() {
      for (const t of styleTargets.values()) t.dispose();
      vgg.dispose();
    },
  };
}

/** The loss terms of `image` (unweighted, and the λ-weighted total) for the content photo `content`, resized to the image's size if it differs. */
export async function imageLoss(
  problem: LossProblem,
  image: tf.Tensor4D,
  content: tf.Tensor4D,
): Promise<LossValues> {
  const [, h, w] = image.shape;
  const terms = tf.tidy(() => {
    const target =
      content.shape[1] === h && content.shape[2] === w
        ? content
        : (tf.image.resizeBilinear(content, [h, w]) as tf.Tensor4D);
    const t = styleTransferLoss(
      problem.vgg,
      image,
      target,
      problem.styleTargets,
      problem.layers,
      problem.weights,
    );
    return [t.total, t.content, t.style, t.tv] as const;
  });
  const values = await lossValues({ total: terms[0], content: terms[1], style: terms[2], tv: terms[3] });
  tf.dispose([...terms]);
  return values;
}
