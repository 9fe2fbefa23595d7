// The loss network and the paper's three losses as ONNX, NCHW, matching
// trainer/loss-network/vgg16.ts and trainer/losses/ op for op.
import type { GraphBuilder } from "../../model/onnx/graph.js";
import * as ops from "../../model/onnx/ops.js";
import type { VggLayer } from "../loss-network/vgg16.js";

/** The loss terms' output names, in every graph that outputs them. */
export const LOSS_OUTPUTS = {
  total: "loss/total",
  content: "loss/content",
  style: "loss/style",
  tv: "loss/tv",
};

/** One VGG-16 conv's weights as ONNX initialiser data: kernel OIHW [out, in, 3, 3], bias [out]. */
export interface VggConvData {
  name: string;
  relu: VggLayer;
  block: number;
  kernel: Float32Array;
  kernelShape: [number, number, number, number];
  bias: Float32Array;
}

/** The weights' input convention folded into per-channel constants: x·scale + shift (RGB order). */
export interface VggInputAffine {
  scale: [number, number, number];
  shift: [number, number, number];
}

/** VGG-16's weights as initialisers, shared by the two passes (ŷ and the content image). */
export function addVggWeights(
  g: GraphBuilder,
  convs: readonly VggConvData[],
): Map<string, { w: string; b: string }> {
  const out = new Map<string, { w: string; b: string }>();
  for (const c of convs) {
    out.set(c.name, {
      w: g.initializer(`vgg/${c.name}/kernel`, c.kernel, c.kernelShape),
      b: g.initializer(`vgg/${c.name}/bias`, c.bias, [c.bias.length]),
    });
  }
  return out;
}

/** VGG-16's convs up to the deepest of `layers` (the rest of the network is never evaluated). */
export function vggConvsUpTo(convs: readonly VggConvData[], layers: readonly VggLayer[]): VggConvData[] {
  const places = layers.map((l) => convs.findIndex((c) => c.relu === l));
  const missing = layers.filter((_, i) => places[i]! < 0);
  if (missing.length > 0)
    throw new Error(`VGG-16: ${missing.join(", ")} is not a conv's ReLU of this network`);
  return convs.slice(0, Math.max(...places) + 1);
}

/**
 * How the backward pass finds each max-pool window's maximum: from the
 * forward MaxPool's indices output (MaxUnpool; the CPU and CUDA providers),
 * or by an ArgMax over each window (ONNX Runtime's WebGPU provider, whose
 * MaxPool has no indices output), or not at all (no backward pass).
 */
export type PoolIndices = "indices" | "window-argmax" | "none";

/**
 * Activations at `layers` for RGB in [0, 255], stopping after the deepest
 * one: preprocessing, 3×3 convs with zero padding and ReLU, 2×2 max-pools
 * between blocks. With pools "indices" they keep their argmax for the
 * backward pass.
 */
export function vggFeatures(
  g: GraphBuilder,
  rgb: string,
  convs: readonly VggConvData[],
  weights: ReadonlyMap<string, { w: string; b: string }>,
  affine: VggInputAffine,
  layers: readonly VggLayer[],
  pools: PoolIndices,
): Map<VggLayer, string> {
  const wanted = new Set(layers);
  const out = new Map<VggLayer, string>();
  const scale = g.initializer(g.fresh("vgg_scale"), Float32Array.from(affine.scale), [1, 3, 1, 1]);
  const shift = g.initializer(g.fresh("vgg_shift"), Float32Array.from(affine.shift), [1, 3, 1, 1]);
  let x = ops.add(g, ops.mul(g, rgb, scale), shift);
  let block = 1;
  for (const conv of convs) {
    if (out.size === wanted.size) break;
    if (conv.block !== block) {
      x = ops.maxPool2x2(g, x, pools === "indices").y;
      block = conv.block;
    }
    const w = weights.get(conv.name)!;
    x = ops.unary(g, "Relu", ops.conv(g, x, w.w, w.b, { pads: [1, 1, 1, 1] }));
    if (wanted.has(conv.relu)) out.set(conv.relu, x);
  }
  return out;
}

/** Eq. 2: ‖φ(ŷ) − φ(y)‖² / (C·H·W), averaged over the batch = the mean over every element. */
export function featureReconstructionLoss(g: GraphBuilder, phiYHat: string, phiY: string): string {
  const d = ops.sub(g, phiYHat, phiY);
  const rank = g.shape(d).length;
  return ops.reduce(g, "ReduceMean", ops.mul(g, d, d), [...Array(rank).keys()], false);
}

/** Eq. 3: G = ψψᵀ / (C·H·W), ψ = φ reshaped to [N, C, H·W]; [N, C, C]. */
export function gramMatrix(g: GraphBuilder, phi: string): string {
  const [n, c, h, w] = g.staticShape(phi);
  const psi = ops.reshape(g, phi, [n!, c!, h! * w!]);
  return ops.div(g, ops.matMul(g, psi, ops.transpose(g, psi, [0, 2, 1])), g.scalar(c! * h! * w!));
}

/** Eq. 4 summed over the style layers: per image ‖G(ŷ) − G(y_s)‖²_F, averaged over the batch. */
export function styleReconstructionLoss(
  g: GraphBuilder,
  phiYHat: ReadonlyMap<VggLayer, string>,
  targets: ReadonlyMap<VggLayer, string>,
  layers: readonly VggLayer[],
): string {
  let total: string | undefined;
  for (const layer of layers) {
    const phi = phiYHat.get(layer);
    const target = targets.get(layer);
    if (phi === undefined || target === undefined) throw new Error(`style loss: nothing for ${layer}`);
    const diff = ops.sub(g, gramMatrix(g, phi), target);
    const perImage = ops.reduce(g, "ReduceSum", ops.mul(g, diff, diff), [1, 2], false);
    const term = ops.reduce(g, "ReduceMean", perImage, [0], false);
    total = total === undefined ? term : ops.add(g, total, term);
  }
  if (total === undefined) throw new Error("style loss: no style layers");
  return total;
}

/** ℓ_TV: squared differences of horizontal and vertical neighbours, summed, averaged over the batch. */
export function totalVariationLoss(g: GraphBuilder, images: string): string {
  const [n, , h, w] = g.staticShape(images);
  const dx = ops.sub(g, ops.slice(g, images, [3], [1], [w!]), ops.slice(g, images, [3], [0], [w! - 1]));
  const dy = ops.sub(g, ops.slice(g, images, [2], [1], [h!]), ops.slice(g, images, [2], [0], [h! - 1]));
  const sumSquares = (v: string) => ops.reduce(g, "ReduceSum", ops.mul(g, v, v), [0, 1, 2, 3], false);
  return ops.div(g, ops.add(g, sumSquares(dx), sumSquares(dy)), g.scalar(n!));
}

export interface PerceptualLossSpec {
  vgg: { convs: readonly VggConvData[]; affine: VggInputAffine };
  /** Gram matrices of the style image, [1, C, C] each. */
  styleTargets: ReadonlyMap<VggLayer, { data: Float32Array; channels: number }>;
  layers: { content: VggLayer; style: readonly VggLayer[] };
  weights: { content: number; style: number; tv: number };
  /** See PoolIndices; default "indices". */
  pools?: PoolIndices;
}

/** The values of the loss terms: the λ-weighted total and each unweighted term. */
export interface PerceptualLossValues {
  total: string;
  content: string;
  style: string;
  tv: string;
}

/**
 * The paper's loss of ŷ for the content images y (both NCHW RGB in [0, 255]):
 * λc·ℓ_feat (eq. 2) + λs·ℓ_style (eq. 4) + λTV·ℓ_TV, VGG-16 (only its convs up
 * to the deepest layer a term reads) and the style targets as initialisers.
 */
export function perceptualLoss(
  g: GraphBuilder,
  yHat: string,
  content: string,
  spec: PerceptualLossSpec,
): PerceptualLossValues {
  const outputLayers = [...new Set([spec.layers.content, ...spec.layers.style])];
  const convs = vggConvsUpTo(spec.vgg.convs, outputLayers);
  const vggWeights = addVggWeights(g, convs);
  const pools = spec.pools ?? "indices";
  const phiYHat = vggFeatures(g, yHat, convs, vggWeights, spec.vgg.affine, outputLayers, pools);
  // φ(y) of the content images needs no gradient.
  const phiY = vggFeatures(g, content, convs, vggWeights, spec.vgg.affine, [spec.layers.content], "none");
  const targets = new Map<VggLayer, string>();
  for (const [layer, t] of spec.styleTargets) {
    targets.set(layer, g.initializer(`style_target/${layer}`, t.data, [1, t.channels, t.channels]));
  }
  const contentLoss = featureReconstructionLoss(
    g,
    phiYHat.get(spec.layers.content)!,
    phiY.get(spec.layers.content)!,
  );
  const styleLoss = styleReconstructionLoss(g, phiYHat, targets, spec.layers.style);
  const tvLoss = totalVariationLoss(g, yHat);
  const weighted = (v: string, λ: number) => ops.mul(g, v, g.scalar(λ));
  const total = ops.add(
    g,
    ops.add(g, weighted(contentLoss, spec.weights.content), weighted(styleLoss, spec.weights.style)),
    weighted(tvLoss, spec.weights.tv),
  );
  return { total, content: contentLoss, style: styleLoss, tv: tvLoss };
}

/** The loss terms as the graph's outputs under LOSS_OUTPUTS's names. */
export function outputLossTerms(g: GraphBuilder, loss: PerceptualLossValues): void {
  g.namedOutput(loss.total, LOSS_OUTPUTS.total);
  g.namedOutput(loss.content, LOSS_OUTPUTS.content);
  g.namedOutput(loss.style, LOSS_OUTPUTS.style);
  g.namedOutput(loss.tv, LOSS_OUTPUTS.tv);
}
