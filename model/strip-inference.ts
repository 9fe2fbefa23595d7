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
// image size.
//
// The JavaScript maps grow with the image: at 2048×2048 the two 32-channel
// full-resolution maps (after conv1 and after up2) are 512 MB each, and
// holding one beside its neighbour took a 2048² request past a replica's
// 2 GiB. So a map larger than `largestMapBytes` is never held: the conv that
// makes it runs twice, strip by strip — once for its norm's statistics (sums
// only; batch norm needs none), then again for each strip of the next conv,
// normalised and rectified on the engine and fed straight into that conv.
// It costs the first conv's work again (conv1 and up2, ≈ a third of the
// network's multiply-adds at 2048²), only for images that large.
import * as tf from "@tensorflow/tfjs-core";
import { NORM_EPSILON } from "./architecture.js";
import { type Layer, Norm, ReflectConv, ResidualBlock, TransposeConv, UpsampleConv } from "./layers.js";
import { scaledTanh, type TransformerNet } from "./transformer-net.js";

/** One image's activations: height × width × channels float32, row-major. */
export interface FeatureMap {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/**
 * Default strip size, 2^16 output pixels. The engine's memory grows with a
 * strip's pixels times its channels (128 at quarter resolution), and the
 * wasm heap keeps its high-water mark: at 2^18 a 2048² image grew it to
 * 1478 MiB (the process to 2005 MiB), at 2^16 to 375 MiB (1012 MiB), with
 * no loss of speed measured (docs/benchmarks.md).
 */
export const DEFAULT_MAX_STRIP_PIXELS = 1 << 16;

/** Default largest activation map held in JavaScript memory: 128 MiB (32 channels at 1024², float32). */
export const DEFAULT_LARGEST_MAP_BYTES = 1 << 27;

export interface StripOptions {
  /** Output pixels of one conv strip on the engine. */
  maxStripPixels?: number;
  /** A conv whose output map would be larger (float32 bytes) is fused with the next (see above). */
  largestMapBytes?: number;
}

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

type Apply = (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * Rows [a, b) of `apply`'s output over `input`, exactly as the whole-image
 * conv computes them: the input rows they need plus `geo.halo` rows of
 * context each side (clipped at the image, where the conv's own reflection
 * padding is the whole image's). Call inside tf.tidy.
 */
function convRows(input: FeatureMap, apply: Apply, geo: ConvGeometry, a: number, b: number): tf.Tensor4D {
  const { height: h, width: w, channels: c } = input;
  const inA = Math.max(0, Math.floor(a / geo.scale) - geo.halo);
  const inB = Math.min(h, Math.ceil(b / geo.scale) + geo.halo);
  const first = a - inA * geo.scale; // strip output row of global row a
  const x = tf.tensor4d(input.data.subarray(inA * w * c, inB * w * c), [1, inB - inA, w, c]);
  const y = apply(x);
  return tf.slice(y, [0, first, 0, 0], [1, b - a, y.shape[2], y.shape[3]]);
}

/** Rows per strip: at most maxStripPixels of `width`, a multiple of 4 (keeps stride-2 and ×2 rows aligned). */
const stripRows = (maxStripPixels: number, width: number) =>
  Math.max(4, Math.floor(maxStripPixels / width / 4) * 4);

/** Runs `apply` (a conv layer, maybe with a pointwise tail) over strips of `input`; returns the whole output map. */
async function convInStrips(
  input: FeatureMap,
  apply: Apply,
  geo: ConvGeometry,
  maxStripPixels: number,
): Promise<FeatureMap> {
  const outH = input.height * geo.scale;
  const outW = input.width * geo.scale;
  const outC = geo.outChannels;
  const out = new Float32Array(outH * outW * outC);
  const rows = stripRows(maxStripPixels, outW);
  for (let a = 0; a < outH; a += rows) {
    const b = Math.min(outH, a + rows);
    const strip = tf.tidy(() => convRows(input, apply, geo, a, b));
    try {
      out.set(await strip.data(), a * outW * outC);
    } finally {
      strip.dispose();
    }
  }
  return { data: out, height: outH, width: outW, channels: outC };
}

/**
 * Instance norm's per-channel mean and variance of `apply`'s output over
 * `input`, strip by strip, without keeping the output: each strip's moments
 * combined in float64 (Chan et al.'s pairwise update, so a large mean does
 * not cancel the variance away).
 */
async function convMomentsInStrips(
  input: FeatureMap,
  apply: Apply,
  geo: ConvGeometry,
  maxStripPixels: number,
): Promise<{ mean: Float64Array; variance: Float64Array }> {
  const outH = input.height * geo.scale;
  const outW = input.width * geo.scale;
  const c = geo.outChannels;
  const mean = new Float64Array(c);
  const m2 = new Float64Array(c);
  let n = 0;
  const rows = stripRows(maxStripPixels, outW);
  for (let a = 0; a < outH; a += rows) {
    const b = Math.min(outH, a + rows);
    const moments = tf.tidy(() => {
      const m = tf.moments(convRows(input, apply, geo, a, b), [0, 1, 2]);
      return tf.stack([m.mean, m.variance]);
    });
    const values = await moments.data();
    moments.dispose();
    const k = (b - a) * outW;
    for (let ch = 0; ch < c; ch++) {
      const delta = values[ch]! - mean[ch]!;
      mean[ch]! += (delta * k) / (n + k);
      m2[ch]! += values[c + ch]! * k + (delta * delta * n * k) / (n + k);
    }
    n += k;
  }
  return { mean, variance: m2.map((v) => v / n) };
}

/**
 * conv A → norm → ReLU → conv B without holding A's output: A's norm
 * statistics first (instance norm; batch norm has running ones), then for
 * each strip of B's output, the rows of A it needs (B's context included)
 * recomputed, normalised and rectified on the engine, and B applied.
 */
async function fusedConvNormConv(
  input: FeatureMap,
  a: { apply: Apply; geo: ConvGeometry; norm: Norm },
  b: { apply: Apply; geo: ConvGeometry },
  maxStripPixels: number,
): Promise<FeatureMap> {
  const aH = input.height * a.geo.scale;
  const aW = input.width * a.geo.scale;
  const outH = aH * b.geo.scale;
  const outW = aW * b.geo.scale;
  const outC = b.geo.outChannels;
  const { scale, shift } = await normAffine(a.norm, () =>
    convMomentsInStrips(input, a.apply, a.geo, maxStripPixels),
  );
  const scaleT = tf.tensor1d(Float32Array.from(scale));
  const shiftT = tf.tensor1d(Float32Array.from(shift));
  // B's strip: its rows of A (≈ rows / B's scale) stay within maxStripPixels of A's width.
  const rows = Math.max(4, Math.floor(((maxStripPixels / aW) * b.geo.scale) / 4) * 4);
  const out = new Float32Array(outH * outW * outC);
  try {
    for (let r = 0; r < outH; r += rows) {
      const e = Math.min(outH, r + rows);
      const strip = tf.tidy(() => {
        // The A rows B's strip reads (the same arithmetic as convRows, one level up).
        const ra = Math.max(0, Math.floor(r / b.geo.scale) - b.geo.halo);
        const rb = Math.min(aH, Math.ceil(e / b.geo.scale) + b.geo.halo);
        const h = tf.relu(tf.add(tf.mul(convRows(input, a.apply, a.geo, ra, rb), scaleT), shiftT));
        const y = b.apply(h as tf.Tensor4D);
        return tf.slice(y, [0, r - ra * b.geo.scale, 0, 0], [1, e - r, outW, outC]);
      });
      try {
        out.set(await strip.data(), r * outW * outC);
      } finally {
        strip.dispose();
      }
    }
  } finally {
    scaleT.dispose();
    shiftT.dispose();
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
 * The norm as y = x · scale + shift per channel: y = (x − μ) / √(σ² + ε) · γ + β,
 * with instance norm's μ, σ² from `moments` and batch norm's running ones.
 */
async function normAffine(
  norm: Norm,
  moments: () => Promise<{ mean: ArrayLike<number>; variance: ArrayLike<number> }>,
): Promise<{ scale: Float64Array; shift: Float64Array }> {
  let mean: ArrayLike<number>;
  let variance: ArrayLike<number>;
  if (norm.kind === "instance" || norm.runningMean === undefined || norm.runningVar === undefined) {
    ({ mean, variance } = await moments());
  } else {
    [mean, variance] = await Promise.all([norm.runningMean.data(), norm.runningVar.data()]);
  }
  const [gamma, beta] = await Promise.all([norm.gamma.data(), norm.beta.data()]);
  const c = gamma.length;
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    scale[k] = gamma[k]! / Math.sqrt(variance[k]! + NORM_EPSILON);
    shift[k] = beta[k]! - mean[k]! * scale[k]!;
  }
  return { scale, shift };
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
  const { scale, shift } = await normAffine(norm, async () => channelMoments(map));
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

/** A conv stage: its layer applied in inference mode, and its geometry. */
function convStage(
  layer: Layer,
  tail?: (y: tf.Tensor4D) => tf.Tensor4D,
): { apply: Apply; geo: ConvGeometry } {
  const apply: Apply = (t) => layer.apply(t, { training: false });
  return { apply: tail ? (t) => tail(apply(t)) : apply, geo: geometry(layer) };
}

/**
 * Stylises one image, [0, 255] RGB of H×W (multiples of 4), with the
 * engine holding at most one strip of maxStripPixels output pixels at a
 * time and JavaScript no activation map larger than largestMapBytes where
 * the next conv's output is smaller (see the top of the file). Returns
 * [0, 255] RGB of H×W.
 */
export async function stylizeInStrips(
  net: TransformerNet,
  rgb: FeatureMap,
  options: StripOptions | number = {},
): Promise<FeatureMap> {
  const { maxStripPixels = DEFAULT_MAX_STRIP_PIXELS, largestMapBytes = DEFAULT_LARGEST_MAP_BYTES } =
    typeof options === "number" ? { maxStripPixels: options } : options;
  if (rgb.channels !== 3) throw new Error(`expected RGB (3 channels), got ${rgb.channels}`);
  if (rgb.height % 4 !== 0 || rgb.width % 4 !== 0) {
    throw new Error(
      `H and W must be multiples of 4 (two stride-2 downsamplings), got ${rgb.height}×${rgb.width}`,
    );
  }
  // The network's input scaling (TransformerNet.apply divides by 255).
  let x: FeatureMap = { ...rgb, data: rgb.data.map((v) => v / 255) };
  const stages = net.stages;
  const output = convStage(net.output, scaledTanh);
  const mapBytes = (geo: ConvGeometry) => x.height * x.width * geo.scale ** 2 * geo.outChannels * 4;
  for (let i = 0; i < stages.length; i++) {
    const { layer, relu } = stages[i]!;
    if (layer instanceof ResidualBlock) {
      x = await residualBlock(x, layer, maxStripPixels);
    } else if (layer instanceof Norm) {
      await normalize(x, layer, { relu });
    } else {
      if (relu) throw new Error("strip inference: ReLU straight after a conv is not part of this network");
      const conv = convStage(layer);
      const norm = stages[i + 1];
      const after = stages[i + 2];
      // The conv after the norm: the next stage's, or the output conv at the end.
      const next =
        i + 2 === stages.length
          ? output
          : after && !(after.layer instanceof ResidualBlock) && !(after.layer instanceof Norm)
            ? convStage(after.layer)
            : undefined;
      const nextBytes = next
        ? mapBytes(conv.geo) * next.geo.scale ** 2 * (next.geo.outChannels / conv.geo.outChannels)
        : 0;
      if (
        next &&
        norm?.layer instanceof Norm &&
        norm.relu &&
        mapBytes(conv.geo) > largestMapBytes &&
        nextBytes < mapBytes(conv.geo)
      ) {
        x = await fusedConvNormConv(x, { ...conv, norm: norm.layer }, next, maxStripPixels);
        if (i + 2 === stages.length) return x; // the output conv was the one fused
        i += 2;
        continue;
      }
      x = await convInStrips(x, conv.apply, conv.geo, maxStripPixels);
    }
  }
  return convInStrips(x, output.apply, output.geo, maxStripPixels);
}
