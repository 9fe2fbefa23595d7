// Inference of the transformation network with bounded engine memory, for
// any image size, giving the whole-image output.
//
// Why: net.apply keeps every intermediate tensor of the forward pass alive
// until it returns (one tf.tidy), about 30 float32 maps of 32–128 channels.
// At 768×768 that is several GB, beyond what the wasm engine's heap can grow
// to: the heap aborts, and it never shrinks after a large image either.
//
// How: layer by layer, each activation map of the image is kept in ordinary
// JavaScript memory (H×W×C float32, freed by the garbage collector after the
// request), and each convolution runs on the engine over horizontal strips
// of at most `maxStripPixels` output pixels, each strip with enough rows of
// context (the conv's padding, rounded up to its stride) that the rows kept
// are exactly what the whole-image conv computes; the context rows' outputs
// are dropped. Reflection padding at the image's own top and bottom comes
// from the strip that reaches them, as in the whole image. Instance norm's
// statistics are then computed over the whole map, so the result is the
// whole-image network's, not a blend of tiles with per-tile statistics
// (which shift colour from tile to tile). The engine never holds more than
// one strip's tensors: its memory is bounded by maxStripPixels, whatever the
// image size; the JavaScript maps grow with the image (at 2048×2048 the
// largest pair, a 64-channel half-resolution input and a 32-channel output,
// is ≈ 0.8 GB).
import * as tf from "@tensorflow/tfjs-core";
import {
  type Layer,
  NORM_EPSILON,
  Norm,
  ReflectConv,
  ResidualBlock,
  TransposeConv,
  UpsampleConv,
} from "./layers.js";
import { scaledTanh, type TransformerNet } from "./transformer-net.js";

/** One image's activations: height × width × channels float32, row-major. */
export interface FeatureMap {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/** Default strip size: ≈ 200 MB of engine memory at the widest layer (up2: 64 channels upsampled, padded, convolved). */
export const DEFAULT_MAX_STRIP_PIXELS = 1 << 18;

/** How a conv layer maps rows: output = input · scale, and the input rows of context a strip needs each side. */
interface ConvGeometry {
  /** Output rows per input row: 1, ½ (stride 2) or 2 (upsampling). */
  scale: number;
  /** Context rows of input above and below a strip; a multiple of the stride. */
  halo: number;
  outChannels: number;
}

function geometry(layer: Layer): ConvGeometry {
  if (layer instanceof ReflectConv) {
    const pad = Math.floor(layer.kernel / 2);
    return layer.stride === 1
      ? { scale: 1, halo: pad, outChannels: layer.outChannels }
      : {
          scale: 1 / layer.stride,
          halo: layer.stride * Math.ceil(pad / layer.stride),
          outChannels: layer.outChannels,
        };
  }
  if (layer instanceof UpsampleConv) {
    // Padding 1 at output resolution is one input row.
    return {
      scale: 2,
      halo: Math.ceil(Math.floor(layer.conv.kernel / 2) / 2),
      outChannels: layer.conv.outChannels,
    };
  }
  if (layer instanceof TransposeConv) {
    return { scale: 2, halo: Math.ceil(Math.floor(layer.kernel / 2) / 2), outChannels: layer.outChannels };
  }
  throw new Error(`strip inference: no geometry for layer ${layer.constructor.name}`);
}

/** Runs `apply` (a conv layer, maybe with a pointwise tail) over strips of `input`; returns the whole output map. */
async function convInStrips(
  input: FeatureMap,
  apply: (x: tf.Tensor4D) => tf.Tensor4D,
  geo: ConvGeometry,
  maxStripPixels: number,
): Promise<FeatureMap> {
  const { height: h, width: w, channels: c } = input;
  const outH = h * geo.scale;
  const outW = w * geo.scale;
  const outC = geo.outChannels;
  const out = new Float32Array(outH * outW * outC);
  // Even strips keep upsampling's and stride 2's row alignment whole.
  const rows = Math.max(4, Math.floor(maxStripPixels / outW / 4) * 4);
  for (let a = 0; a < outH; a += rows) {
    const b = Math.min(outH, a + rows);
    const inA = Math.max(0, Math.floor(a / geo.scale) - geo.halo);
    const inB = Math.min(h, Math.ceil(b / geo.scale) + geo.halo);
    const first = a - inA * geo.scale; // strip output row of global row a
    const strip = tf.tidy(() => {
      const x = tf.tensor4d(input.data.subarray(inA * w * c, inB * w * c), [1, inB - inA, w, c]);
      return tf.slice(apply(x), [0, first, 0, 0], [1, b - a, outW, outC]);
    });
    try {
      out.set(await strip.data(), a * outW * outC);
    } finally {
      strip.dispose();
    }
  }
  return { data: out, height: outH, width: outW, channels: outC };
}

/** Per-channel mean and (biased) variance over the whole map, as instance norm computes them. */
function channelMoments(map: FeatureMap): { mean: Float64Array; variance: Float64Array } {
  const { data, channels: c } = map;
  const n = data.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < data.length; i += c) for (let k = 0; k < c; k++) mean[k]! += data[i + k]!;
  for (let k = 0; k < c; k++) mean[k]! /= n;
  for (let i = 0; i < data.length; i += c) {
    for (let k = 0; k < c; k++) {
      const d = data[i + k]! - mean[k]!;
      variance[k]! += d * d;
    }
  }
  for (let k = 0; k < c; k++) variance[k]! /= n;
  return { mean, variance };
}

/**
 * Normalises `map` in place (instance norm: its own statistics; batch norm:
 * the running ones), then adds `residual` and/or applies ReLU.
 */
async function normalize(
  map: FeatureMap,
  norm: Norm,
  tail: { relu: boolean; residual?: FeatureMap },
): Promise<void> {
  const c = map.channels;
  let mean: ArrayLike<number>;
  let variance: ArrayLike<number>;
  if (norm.kind === "instance" || norm.runningMean === undefined || norm.runningVar === undefined) {
    ({ mean, variance } = channelMoments(map));
  } else {
    [mean, variance] = await Promise.all([norm.runningMean.data(), norm.runningVar.data()]);
  }
  const [gamma, beta] = await Promise.all([norm.gamma.data(), norm.beta.data()]);
  // y = (x − μ) / √(σ² + ε) · γ + β = x · scale + shift
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    scale[k] = gamma[k]! / Math.sqrt(variance[k]! + NORM_EPSILON);
    shift[k] = beta[k]! - mean[k]! * scale[k]!;
  }
  const { data } = map;
  const res = tail.residual?.data;
  for (let i = 0; i < data.length; i += c) {
    for (let k = 0; k < c; k++) {
      let v = data[i + k]! * scale[k]! + shift[k]!;
      if (res) v += res[i + k]!;
      if (tail.relu && v < 0) v = 0;
      data[i + k] = v;
    }
  }
}

async function residualBlock(
  x: FeatureMap,
  block: ResidualBlock,
  maxStripPixels: number,
): Promise<FeatureMap> {
  const conv = (m: FeatureMap, layer: ReflectConv) =>
    convInStrips(m, (t) => layer.apply(t), geometry(layer), maxStripPixels);
  const h = await conv(x, block.conv1);
  await normalize(h, block.norm1, { relu: true });
  const y = await conv(h, block.conv2);
  await normalize(y, block.norm2, { relu: false, residual: x });
  return y;
}

/**
 * Stylises one image, [0, 255] RGB of H×W (multiples of 4), with the
 * engine holding at most one strip of maxStripPixels output pixels at a
 * time. Returns [0, 255] RGB of H×W.
 */
export async function stylizeInStrips(
  net: TransformerNet,
  rgb: FeatureMap,
  maxStripPixels = DEFAULT_MAX_STRIP_PIXELS,
): Promise<FeatureMap> {
  if (rgb.channels !== 3) throw new Error(`expected RGB (3 channels), got ${rgb.channels}`);
  if (rgb.height % 4 !== 0 || rgb.width % 4 !== 0) {
    throw new Error(
      `H and W must be multiples of 4 (two stride-2 downsamplings), got ${rgb.height}×${rgb.width}`,
    );
  }
  // The network's input scaling (TransformerNet.apply divides by 255).
  let x: FeatureMap = { ...rgb, data: rgb.data.map((v) => v / 255) };
  const stages = net.stages;
  for (let i = 0; i < stages.length; i++) {
    const { layer, relu } = stages[i]!;
    if (layer instanceof ResidualBlock) {
      x = await residualBlock(x, layer, maxStripPixels);
    } else if (layer instanceof Norm) {
      await normalize(x, layer, { relu });
    } else {
      const next = await convInStrips(
        x,
        (t) => layer.apply(t, { training: false }),
        geometry(layer),
        maxStripPixels,
      );
      if (relu) throw new Error("strip inference: ReLU straight after a conv is not part of this network");
      x = next;
    }
  }
  const output = net.output;
  return convInStrips(x, (t) => scaledTanh(output.apply(t)), geometry(output), maxStripPixels);
}
