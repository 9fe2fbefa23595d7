import * as tf from "@tensorflow/tfjs-core";
import { BATCH_NORM_MOMENTUM, NORM_EPSILON, type Normalization, RESIDUAL_KERNEL } from "./architecture.js";
import type { ParameterMap } from "./parameters.js";

/** FNV-1a of the name, mixed with the job seed: a parameter's init depends on its name, not on creation order. */
function parameterSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Creates named variables in forward order. Initial values are a pure
 * function of (seed, name), so every data-parallel worker starts from
 * bit-identical weights without shipping them around.
 */
export class ParameterBuilder {
  readonly params: ParameterMap = new Map();
  /** Non-trainable state (batch-norm running statistics): saved with the model, never given gradients. */
  readonly buffers: ParameterMap = new Map();

  /**
   * @param prefix Prepended to the tfjs variable names only (tfjs requires
   *   process-wide unique variable names, and a process may hold several
   *   networks); the map keys stay the plain parameter names.
   */
  constructor(
    private readonly seed: number,
    private readonly prefix: string,
  ) {}

  /** U(−b, b) with b = 1/√fanIn: PyTorch's default for conv weights and biases. */
  uniform(name: string, shape: number[], fanIn: number): tf.Variable {
    const bound = 1 / Math.sqrt(fanIn);
    const v = tf.tidy(() =>
      tf.variable(
        tf.randomUniform(shape, -bound, bound, "float32", parameterSeed(this.seed, name)),
        true,
        this.prefix + name,
      ),
    );
    return this.add(this.params, name, v);
  }

  constant(name: string, shape: number[], value: number, trainable = true): tf.Variable {
    const v = tf.tidy(() => tf.variable(tf.fill(shape, value, "float32"), trainable, this.prefix + name));
    return this.add(trainable ? this.params : this.buffers, name, v);
  }

  private add(map: ParameterMap, name: string, v: tf.Variable): tf.Variable {
    if (this.params.has(name) || this.buffers.has(name)) throw new Error(`duplicate parameter name ${name}`);
    map.set(name, v);
    return v;
  }
}

export interface ApplyContext {
  /** Batch norm uses batch statistics and updates its running ones; instance norm is unaffected. */
  training: boolean;
}

export interface Layer {
  apply(x: tf.Tensor4D, ctx: ApplyContext): tf.Tensor4D;
}

/** Reflection padding of H and W: avoids the dark borders zero padding leaves in generated images. */
export function reflectPad(x: tf.Tensor4D, pad: number): tf.Tensor4D {
  if (pad === 0) return x;
  return tf.mirrorPad(
    x,
    [
      [0, 0],
      [pad, pad],
      [pad, pad],
      [0, 0],
    ],
    "reflect",
  );
}

/** Conv k×k (stride s) on a reflection-padded input, so that stride 1 keeps the size and stride 2 halves it. */
export class ReflectConv implements Layer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    b: ParameterBuilder,
    name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly stride: number,
  ) {
    const fanIn = inChannels * kernel * kernel;
    // HWIO, tfjs's conv2d filter layout.
    this.weight = b.uniform(`${name}.weight`, [kernel, kernel, inChannels, outChannels], fanIn);
    this.bias = b.uniform(`${name}.bias`, [outChannels], fanIn);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const padded = reflectPad(x, Math.floor(this.kernel / 2));
    const y = tf.conv2d(padded, this.weight as tf.Tensor4D, this.stride, "valid");
    return tf.add(y, this.bias);
  }
}

/**
 * The paper's fractionally strided conv (stride ½): doubles H and W. Zero
 * padding ("same") here, because reflection padding has no counterpart for a
 * transposed conv; the output size is exactly 2H×2W like PyTorch's
 * ConvTranspose2d(k=3, s=2, padding=1, output_padding=1).
 */
export class TransposeConv implements Layer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    b: ParameterBuilder,
    name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
  ) {
    // conv2dTranspose takes [k, k, out, in]; fan-in as PyTorch counts it for ConvTranspose2d.
    const fanIn = outChannels * kernel * kernel;
    this.weight = b.uniform(`${name}.weight`, [kernel, kernel, outChannels, inChannels], fanIn);
    this.bias = b.uniform(`${name}.bias`, [outChannels], fanIn);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w] = x.shape;
    const y = tf.conv2dTranspose(
      x,
      this.weight as tf.Tensor4D,
      [n, h * 2, w * 2, this.outChannels],
      2,
      "same",
    );
    return tf.add(y, this.bias);
  }
}

/** Nearest-neighbour ×2 then a stride-1 conv (Odena et al. 2016): same parameter count, no checkerboard artefacts. */
export class UpsampleConv implements Layer {
  readonly conv: ReflectConv;

  constructor(b: ParameterBuilder, name: string, inChannels: number, outChannels: number, kernel: number) {
    this.conv = new ReflectConv(b, name, inChannels, outChannels, kernel, 1);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return this.conv.apply(upsampleNearest2x(x));
  }
}

/**
 * Nearest-neighbour ×2 upsampling with its gradient written out: forward is
 * tf.image.resizeNearestNeighbor (every output pixel copies input pixel
 * (⌊i/2⌋, ⌊j/2⌋)), backward gives each input pixel the sum of the 2×2
 * block of output gradients it was copied to, as 4 × avgPool(dy, 2×2).
 * Both are fast native kernels on every backend, and the gradient does not
 * depend on any backend's ResizeNearestNeighborGrad: tfjs 4.22's cpu one
 * returns wrong gradients for every image after the first in a batch, which
 * once silently broke batch > 1 training and data-parallel equivalence.
 * (×4 after the average is exact in float32: both are powers of two.)
 */
export const upsampleNearest2x: (x: tf.Tensor4D) => tf.Tensor4D = tf.customGrad(
  (...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = inputs[0] as tf.Tensor4D;
    const [, h, w] = x.shape;
    return {
      value: tf.image.resizeNearestNeighbor(x, [2 * h, 2 * w]),
      gradFunc: (dy: tf.Tensor) => tf.mul(tf.avgPool(dy as tf.Tensor4D, 2, 2, "valid"), 4),
    };
  },
) as (x: tf.Tensor4D) => tf.Tensor4D;

/** Per-channel affine normalisation; instance norm over (H, W) of each image, batch norm over (N, H, W). */
export class Norm implements Layer {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable | undefined;
  readonly runningVar: tf.Variable | undefined;

  constructor(
    b: ParameterBuilder,
    name: string,
    readonly kind: Normalization,
    channels: number,
  ) {
    this.gamma = b.constant(`${name}.gamma`, [channels], 1);
    this.beta = b.constant(`${name}.beta`, [channels], 0);
    if (kind === "batch") {
      this.runningMean = b.constant(`${name}.runningMean`, [channels], 0, false);
      this.runningVar = b.constant(`${name}.runningVar`, [channels], 1, false);
    }
  }

  apply(x: tf.Tensor4D, ctx: ApplyContext): tf.Tensor4D {
    let mean: tf.Tensor;
    let variance: tf.Tensor;
    if (this.kind === "instance") {
      ({ mean, variance } = tf.moments(x, [1, 2], true));
    } else if (ctx.training || this.runningMean === undefined || this.runningVar === undefined) {
      ({ mean, variance } = tf.moments(x, [0, 1, 2], true));
      this.updateRunningStats(mean, variance, x.shape[0] * x.shape[1] * x.shape[2]);
    } else {
      mean = this.runningMean;
      variance = this.runningVar;
    }
    const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, NORM_EPSILON)));
    return tf.add(tf.mul(normed, this.gamma), this.beta);
  }

  /** Exponential moving average with the unbiased variance, as PyTorch keeps it. */
  private updateRunningStats(mean: tf.Tensor, variance: tf.Tensor, count: number): void {
    const rm = this.runningMean;
    const rv = this.runningVar;
    if (rm === undefined || rv === undefined) return;
    const m = BATCH_NORM_MOMENTUM;
    const unbiased = count > 1 ? count / (count - 1) : 1;
    // These values are not on the path to the loss, so the gradient tape
    // ignores them; tidy keeps only what the variables now hold.
    tf.tidy(() => {
      rm.assign(tf.add(tf.mul(rm, 1 - m), tf.mul(tf.reshape(mean, rm.shape), m)));
      rv.assign(tf.add(tf.mul(rv, 1 - m), tf.mul(tf.reshape(variance, rv.shape), m * unbiased)));
    });
  }
}

/** conv3×3 → norm → ReLU → conv3×3 → norm, plus the identity (no ReLU after the sum, as in the paper's supplement). */
export class ResidualBlock implements Layer {
  readonly conv1: ReflectConv;
  readonly norm1: Norm;
  readonly conv2: ReflectConv;
  readonly norm2: Norm;

  constructor(b: ParameterBuilder, name: string, channels: number, norm: Normalization) {
    this.conv1 = new ReflectConv(b, `${name}.conv1`, channels, channels, RESIDUAL_KERNEL, 1);
    this.norm1 = new Norm(b, `${name}.norm1`, norm, channels);
    this.conv2 = new ReflectConv(b, `${name}.conv2`, channels, channels, RESIDUAL_KERNEL, 1);
    this.norm2 = new Norm(b, `${name}.norm2`, norm, channels);
  }

  apply(x: tf.Tensor4D, ctx: ApplyContext): tf.Tensor4D {
    const h = tf.relu(this.norm1.apply(this.conv1.apply(x), ctx));
    return tf.add(x, this.norm2.apply(this.conv2.apply(h), ctx));
  }
}
